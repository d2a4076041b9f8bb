//! `healthmon cron SUITE...`: print ready-to-install crontab lines — the
//! round-trip rotation every 5 minutes, the agents' pull and the daily
//! report on the central monitor, each host's own checks (or its agent) on
//! that host — with absolute paths and `MAILTO=""` (cron mail would travel
//! through the very site being watched). `--central` / `--host NAME` print
//! one machine's lines; the plain form prints every machine's block,
//! labelled, with a warning not to install them all on one box.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::exit;
use crate::suite::LoadedSuite;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    healthmon cron suites/local.yaml\n  \
    healthmon cron suites/isp.yaml --central --reports /var/lib/healthmon/reports | crontab -   # on the monitor\n  \
    healthmon cron suites/isp.yaml --host mta1 | crontab -                                      # on mta1\n  \
    healthmon cron suites/isp.yaml --central --env-file /etc/healthmon/env | crontab -        # secrets for cron's jobs\n\
    Paths are made absolute: cron starts jobs in $HOME with a minimal PATH.")]
pub struct Args {
    /// Suite files.
    #[arg(required = true)]
    pub suites: Vec<PathBuf>,
    /// Reports directory for every line (default: the suite's reports.dir, else ./reports), made absolute.
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
    /// Binary to put in the lines (default: this binary).
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Only the lines of the machine carrying this suite host.
    #[arg(long, value_name = "NAME", conflicts_with = "central")]
    pub host: Option<String>,
    /// Only the central monitor's lines.
    #[arg(long)]
    pub central: bool,
    /// A root-only file of `VAR=value` lines each job reads first: the
    /// suite's password_env variables (cron's environment has none).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

/// Absolute without requiring the path to exist yet (reports dir).
fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p)
        .or_else(|_| std::path::absolute(p))
        .unwrap_or_else(|_| p.to_path_buf())
}

/// Quote for /bin/sh when needed; `%` is special to cron (newline) and is
/// escaped as `\%`.
fn sh(p: &Path) -> String {
    let s = p.to_string_lossy();
    let q = if s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    };
    q.replace('%', r"\%")
}

/// Which machine's lines to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Machine {
    /// Every machine, in labelled blocks, with a warning.
    All,
    /// The central monitor only.
    Central,
    /// The machine carrying this suite host.
    Host(String),
}

/// What wraps every job: the env file read first (cron's environment has no
/// secrets), stdout and stderr appended to `<reports>/cron.log` (cron mail
/// is off, and a failing job must leave a trace an operator finds).
struct Job {
    pre: String,
    post: String,
}

impl Job {
    fn new(env_file: Option<&Path>, reports: &Path) -> Job {
        let log = sh(&reports.join("cron.log"));
        match env_file {
            // In braces, so a missing env file is logged too.
            Some(f) => Job {
                pre: format!("{{ set -a && . {} && set +a && ", sh(&absolute(f))),
                post: format!("; }} >>{log} 2>&1"),
            },
            None => Job {
                pre: String::new(),
                post: format!(" >>{log} 2>&1"),
            },
        }
    }
}

/// The suite's `password_env` variables, which cron's environment lacks.
fn secrets_note(o: &mut String, s: &LoadedSuite, env_file: Option<&Path>) {
    let vars: Vec<&str> = s
        .spec
        .accounts
        .values()
        .filter_map(|a| a.password_env.as_deref())
        .collect();
    if vars.is_empty() {
        return;
    }
    match env_file {
        Some(f) => {
            let _ = writeln!(
                o,
                "# {} come from {} (root-only, `VAR=value` lines)",
                vars.join(", "),
                f.display()
            );
        }
        None => {
            let _ = writeln!(
                o,
                "# NOTE: this suite reads {} from the environment, which cron does not give its jobs.\n\
                 # Put them in a root-only file of `VAR=value` lines and print the lines again with\n\
                 # --env-file FILE, or give the accounts a password_file instead.",
                vars.join(", ")
            );
        }
    }
}

/// The crontab text for loaded suites.
pub fn render(
    suites: &[LoadedSuite],
    bin: &Path,
    reports: Option<&Path>,
    m: &Machine,
    env_file: Option<&Path>,
) -> String {
    let bin = sh(bin);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# healthmon — generated by `healthmon cron`; install with `crontab -e`."
    );
    let _ = writeln!(
        o,
        "# No cron mail: it would go through the monitored site. Results: the reports dirs below;\n\
         # each job's own output (errors only) is appended to <reports>/cron.log."
    );
    if *m == Machine::All {
        let machines = suites
            .iter()
            .flat_map(|s| s.spec.hosts.values())
            .filter(|h| !h.checks.is_empty() || h.agent.is_some())
            .count();
        let _ = writeln!(
            o,
            "# WARNING: blocks for the central monitor and {machines} site machine(s). Install each block on\n\
             # its own machine (`healthmon cron SUITE --central`, `--host NAME` print one), never all on one\n\
             # box: host checks measure the machine they run on, whatever host name they are given."
        );
    }
    let _ = writeln!(o, "MAILTO=\"\"");
    for s in suites {
        let suite = sh(&absolute(&s.path));
        let dir = crate::app::reports_dir(reports, std::slice::from_ref(s));
        let dir = absolute(&dir);
        let rep = sh(&dir);
        let job = Job::new(env_file, &dir);
        let (pre, post) = (&job.pre, &job.post);
        let _ = writeln!(o, "\n# site {} ({})", s.spec.site, s.path.display());
        secrets_note(&mut o, s, env_file);
        if matches!(m, Machine::All | Machine::Central) {
            central(&mut o, s, &bin, &suite, &rep, &job);
        }
        for (name, h) in &s.spec.hosts {
            let wanted = match m {
                Machine::All => !h.checks.is_empty() || h.agent.is_some(),
                Machine::Host(n) => n == name,
                Machine::Central => false,
            };
            if !wanted {
                continue;
            }
            let _ = writeln!(o, "\n# ===== on machine {name} ({}) =====", h.address);
            if h.agent.is_some() {
                let _ = writeln!(
                    o,
                    "# its agent runs the host checks and serves them to the central monitor; run it as a\n\
                     # service (etc/systemd/healthmon-agent.service), or from cron at boot:\n\
                     @reboot {pre}{bin} agent {suite} --host {name} --reports {rep} --quiet{post}"
                );
            } else if h.checks.is_empty() {
                let _ = writeln!(
                    o,
                    "# no host checks declared for {name}: nothing to run there"
                );
            } else {
                let _ = writeln!(o, "# its host checks, every 5 minutes");
                let _ = writeln!(
                    o,
                    "*/5 * * * * {pre}{bin} run {suite} --host {name} --reports {rep} --quiet{post}"
                );
            }
        }
    }
    o
}

/// The central monitor's block: round trips, agent pulls, daily report.
fn central(o: &mut String, s: &LoadedSuite, bin: &str, suite: &str, rep: &str, j: &Job) {
    let (pre, post) = (&j.pre, &j.post);
    let _ = writeln!(o, "\n# ===== on the central monitor =====");
    let rotates = s
        .spec
        .roundtrip
        .as_ref()
        .is_some_and(|r| !r.rotation.is_empty());
    let agents = s.spec.hosts.values().any(|h| h.agent.is_some());
    if rotates {
        let _ = writeln!(
            o,
            "# the rotation path of the current slot, every 5 minutes"
        );
        let _ = writeln!(
            o,
            "*/5 * * * * {pre}{bin} run {suite} --rotate --reports {rep} --quiet{post}"
        );
        if agents {
            // Off the rotation's minutes: both take the reports dir's run lock.
            let _ = writeln!(
                o,
                "# every agent's host checks (pulled, not run here), every 5 minutes off the rotation's minute"
            );
            let _ = writeln!(
                o,
                "2-59/5 * * * * {pre}{bin} run {suite} --only 'host/*' --only 'agent/*' --reports {rep} --quiet{post}"
            );
        }
    } else {
        let what = if agents {
            "every case (host checks pulled from the agents)"
        } else {
            "every case (the suite has no rotation table)"
        };
        let _ = writeln!(o, "# {what}, every 5 minutes");
        let _ = writeln!(
            o,
            "*/5 * * * * {pre}{bin} run {suite} --reports {rep} --quiet{post}"
        );
    }
    let _ = writeln!(o, "# the daily report of the day now ending, at 23:59");
    let _ = writeln!(
        o,
        // Report days are UTC days.
        "59 23 * * * {pre}{bin} report {suite} --reports {rep} --date \"$(date -u +\\%F)\"{post}"
    );
}

pub fn run(args: Args) -> i32 {
    // Printing crontab lines needs no secrets (cron's jobs do).
    let secrets = crate::suite::Secrets::Deferred;
    let suites = match crate::suite::load::load_for_cli_with(&args.suites, secrets) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let bin = match args
        .binary
        .clone()
        .map(Ok)
        .unwrap_or_else(std::env::current_exe)
    {
        Ok(b) => absolute(&b),
        Err(e) => {
            eprintln!("healthmon cron: cannot find this binary's path: {e}");
            return exit::INTERNAL;
        }
    };
    let m = match (&args.host, args.central) {
        (Some(h), _) => {
            if !suites.iter().any(|s| s.spec.hosts.contains_key(h)) {
                eprintln!("healthmon cron: --host {h}: no such host in the suites");
                return exit::CONFIG;
            }
            Machine::Host(h.clone())
        }
        (None, true) => Machine::Central,
        (None, false) => Machine::All,
    };
    // The jobs append to <reports>/cron.log: the directory must exist
    // before the first job's shell opens the file.
    for s in &suites {
        let dir = absolute(&crate::app::reports_dir(
            args.reports.as_deref(),
            std::slice::from_ref(s),
        ));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!(
                "healthmon cron: cannot create {} ({e}): create it before the jobs run",
                dir.display()
            );
        }
    }
    let env = args.env_file.as_deref();
    print!(
        "{}",
        render(&suites, &bin, args.reports.as_deref(), &m, env)
    );
    exit::OK
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn shell_quoting_and_cron_percent() {
        assert_eq!(sh(Path::new("/usr/bin/healthmon")), "/usr/bin/healthmon");
        assert_eq!(sh(Path::new("/a b/it's")), r"'/a b/it'\''s'");
        assert_eq!(sh(Path::new("/x/50%")), r"'/x/50\%'");
    }
}
