//! `healthmon run`: run the suites' cases against the site, then report.
//! [`prepare`] and [`execute`] are shared with the plugin mode (`check`,
//! `run --format nagios`), which says every ending in its own way.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::app::{self, Finished, LockError, Outcome, Request, RunOptions};
use crate::event::RunEvent;
use crate::exit;
use crate::report::{self, Reporter};
use crate::suite::{Diagnostic, LoadedSuite, Severity};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    healthmon run suites/local.yaml\n  \
    healthmon run suites/local.yaml --only 'rndtrip/ims1/*' --format json\n  \
    healthmon run suites/local.yaml --rotate            # from cron, every 5 minutes\n  \
    healthmon run suites/local.yaml --host mta1         # host checks of mta1 only\n\
    Outputs: <reports>/systest.log, <reports>/junit.xml, <reports>/last-run.json, <reports>/results/<run-id>.json")]
pub struct Args {
    /// Suite files.
    #[arg(required = true)]
    pub suites: Vec<PathBuf>,
    #[command(flatten)]
    pub select: super::select::Selection,
    /// Output on stdout (every name `report::FORMATS` registers).
    #[arg(long, default_value = "text", help = format_help())]
    pub format: String,
    /// JUnit XML file (default: <reports>/junit.xml).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Reports directory (default: the suite's `reports.dir`, else reports/).
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
    /// Do not diagnose failures (no follow-up probes).
    #[arg(long)]
    pub no_isolate: bool,
    /// Do not run the alert state machine (no notifications, state untouched).
    #[arg(long)]
    pub no_alerts: bool,
    /// Nagios range on each case's total time in ms (e.g. 5000, @0:10); replaces the suite's `total` warning.
    #[arg(long, value_name = "RANGE", value_parser = crate::nagios_range::parse)]
    pub warning: Option<crate::nagios_range::Range>,
    /// Nagios range on each case's total time in ms (e.g. 15000); replaces the suite's `total` critical.
    #[arg(long, value_name = "RANGE", value_parser = crate::nagios_range::parse)]
    pub critical: Option<crate::nagios_range::Range>,
    /// Also write Prometheus metrics to DIR/healthmon_<site>.prom, or healthmon_<site>_host_<h>.prom etc. for a partial selection (node_exporter textfile collector).
    #[arg(long, value_name = "DIR")]
    pub textfile: Option<PathBuf>,
}

/// Suites loaded and arguments checked: a run ready to start.
pub struct Prepared {
    suites: Vec<LoadedSuite>,
    opts: RunOptions,
}

/// Why a run ended without results to report.
pub enum Stopped {
    /// The run lock was not taken: nothing ran.
    Lock {
        reports_dir: PathBuf,
        error: LockError,
    },
    /// The async runtime did not start.
    Runtime(String),
    /// The deadline passed: the run was dropped — its cases, their child
    /// processes (`kill_on_drop`) and the run lock with it.
    TimedOut,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::Lock { error, .. } => write!(f, "{error}"),
            Stopped::Runtime(e) => write!(f, "cannot start the async runtime: {e}"),
            Stopped::TimedOut => f.write_str("the run did not finish before its deadline"),
        }
    }
}

pub fn run(args: Args) -> i32 {
    let Some(stdout_report) = report::format(&args.format) else {
        eprintln!(
            "healthmon run: unknown --format `{}` (one of: {})",
            args.format,
            report::format_names().join(", ")
        );
        return exit::CONFIG;
    };
    let Ok(ready) = prepare(&args) else {
        return exit::CONFIG;
    };
    let done = match execute(&args, ready, Some(stdout_report), None) {
        Ok(done) => done,
        Err(stopped) => {
            eprintln!("healthmon run: {stopped}");
            return match stopped {
                Stopped::Lock {
                    error: LockError::Held(_),
                    ..
                } => exit::ERROR,
                _ => exit::INTERNAL,
            };
        }
    };
    for e in &done.report_errors {
        eprintln!("healthmon run: {e}");
    }
    for e in &done.alert_errors {
        tracing::warn!("alert: {e}");
    }
    if !done.report_errors.is_empty() {
        return exit::INTERNAL;
    }
    done.summary.worst().exit_code()
}

/// Load the suites and check the selection arguments. The problems go to
/// stderr; the error is one line saying where, without values (a status
/// line for `healthmon check`).
pub fn prepare(args: &Args) -> Result<Prepared, String> {
    let suites = match crate::suite::load::load_all(&args.suites) {
        Ok((suites, warnings)) => {
            for w in &warnings {
                eprintln!("{w}");
            }
            suites
        }
        Err(diags) => {
            for d in &diags {
                eprintln!("{d}");
            }
            return Err(config_reason(&diags));
        }
    };
    if let Some(h) = &args.select.host {
        let name = (!h.is_empty()).then_some(h.as_str());
        if !suites
            .iter()
            .any(|s| crate::hostcheck::select_host(&s.spec, name).is_some())
        {
            let what = format!(
                "--host {}: no host of the suite has that name or hostname",
                name.map(String::from)
                    .unwrap_or_else(|| "(this machine)".into())
            );
            eprintln!("healthmon run: {what}");
            return Err(what);
        }
        // Host checks measure the machine they run on: say so when NAME is
        // another machine (a host with an agent is pulled from it instead).
        for s in &suites {
            let Some(host) = crate::hostcheck::select_host(&s.spec, name) else {
                continue;
            };
            let (me, mine) = crate::hostcheck::this_machine(&s.spec);
            let pulled = s.spec.hosts.get(&host).is_some_and(|x| x.agent.is_some());
            if !pulled && !mine.contains(&host) {
                eprintln!(
                    "healthmon run: warning: {host} is not this machine (hostname `{}`): its host checks measure this machine; run them on {host} (or its agent)",
                    me.unwrap_or_default()
                );
            }
        }
    }
    let opts = RunOptions {
        isolate: !args.no_isolate,
        ..args.select.options()
    };
    Ok(Prepared { suites, opts })
}

/// `invalid configuration: 2 errors, the first at suites/x.yaml:3:5
/// hosts.mta1.port (details on stderr)`: a place and a key path, never the
/// message (it may quote a value).
fn config_reason(diags: &[Diagnostic]) -> String {
    let errors: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    let Some(d) = errors.first() else {
        return "invalid configuration (details on stderr)".into();
    };
    let plural = if errors.len() == 1 { "" } else { "s" };
    let key = if d.path.is_empty() {
        String::new()
    } else {
        format!(" {}", d.path)
    };
    format!(
        "invalid configuration: {} error{plural}, the first at {}:{}:{}{key} (details on stderr)",
        errors.len(),
        d.file.display(),
        d.line,
        d.col
    )
}

/// Run the prepared suites: lock, cases, file reports, then `stdout`, then
/// alerts, with progress on stderr. A run still going at `deadline` is
/// dropped — its tasks aborted, their child processes killed, the run lock
/// released — before this returns [`Stopped::TimedOut`].
/// Time the alert step leaves before a `-t` deadline to spool and save.
const ALERT_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

pub fn execute(
    args: &Args,
    ready: Prepared,
    stdout: Option<Box<dyn Reporter>>,
    deadline: Option<Instant>,
) -> Result<Finished, Stopped> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Stopped::Runtime(e.to_string()))?;
    let req = Request {
        suites: &ready.suites,
        opts: ready.opts,
        reports: args.reports.clone(),
        junit: args.junit.clone(),
        alerts: !args.no_alerts,
        state_dir: None,
        total: (args.warning, args.critical),
        textfile: args.textfile.clone(),
        stdout,
        // A second before the plugin's deadline: notices not sent by then
        // are spooled and the state written, not lost with the run.
        alert_until: deadline.map(|d| d.checked_sub(ALERT_MARGIN).unwrap_or(d)),
    };
    let work = async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let progress = tokio::spawn(async move {
            let mut p = report::terminal::Progress::new();
            while let Some(ev) = rx.recv().await {
                if let RunEvent::RunStarted { total: 0, .. } = ev {
                    eprintln!(
                        "healthmon run: no case selected (check --only/--skip/--rotate/--host/--shard)"
                    );
                }
                p.on_event(&ev);
            }
        });
        let o = app::run_once(req, tx).await;
        let _ = progress.await;
        o
    };
    let outcome = match deadline {
        None => rt.block_on(work),
        Some(at) => {
            let at = tokio::time::Instant::from_std(at);
            match rt.block_on(async { tokio::time::timeout_at(at, work).await }) {
                Ok(o) => o,
                Err(_) => {
                    // The run's future is gone (lock file closed, JoinSet
                    // aborted); dropping the runtime's tasks kills the
                    // children they started.
                    rt.shutdown_timeout(SHUTDOWN);
                    return Err(Stopped::TimedOut);
                }
            }
        }
    };
    match outcome {
        Outcome::Finished(f) => Ok(f),
        Outcome::Refused { reports_dir, error } => Err(Stopped::Lock { reports_dir, error }),
    }
}

/// How long a run dropped at its deadline may take to wind down its tasks.
const SHUTDOWN: Duration = Duration::from_millis(500);

/// `--format`'s help, listing every registered stdout format.
fn format_help() -> String {
    format!(
        "Output on stdout: {} (text: the summary table; json: the whole run; nagios: plugin output as `healthmon check` prints it)",
        crate::report::format_names().join(", ")
    )
}
