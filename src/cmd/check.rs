//! `healthmon check`: the Nagios/Icinga plugin (also `run --format nagios`).
//! Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN — always one of these, with
//! one status line on stdout, whatever happens: a site that cannot be
//! reached is CRITICAL; bad arguments, an invalid configuration, the run
//! lock held, a report that cannot be written, the `-t` timeout and an
//! internal error are UNKNOWN (details on stderr).

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::run::{self as run_cmd, Stopped};
use crate::app::LockError;
use crate::report::nagios::{self, Nagios, Perfdata};
use crate::result::NagiosState;

/// Default of `-t`: below the 60 s Nagios and Icinga give a check before
/// they kill it, so that healthmon, not the scheduler, says what happened.
pub const DEFAULT_TIMEOUT_S: u64 = 50;

/// After the timeout, how long the run may take to wind down before the
/// process exits regardless (a hang outside the async runtime).
const BACKSTOP: Duration = Duration::from_secs(1);

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    healthmon check suites/local.yaml --rotate\n  \
    healthmon check suites/local.yaml --only 'rndtrip/ims1/*' --warning 5000 --critical 15000\n  \
    healthmon check suites/local.yaml --rotate -t 30\n  \
    healthmon check suites/local.yaml --perfdata cases --max-output 65536   # NRPE v3+, per-case graphs\n\
    Ranges (Nagios syntax, milliseconds of each case's total time): 10, 10:, ~:10, 10:20, @10:20.\n\
    States: a site that refuses, times out, breaks the protocol or loses the probe is CRITICAL;\n\
    UNKNOWN is healthmon's own failure (arguments, configuration, lock, reports, -t, bug).\n\
    --format is ignored: the output is always the plugin format.")]
#[group(skip)]
pub struct Args {
    #[command(flatten)]
    pub run: run_cmd::Args,
    /// Seconds the whole plugin run may take (like check_smtp's -t); then
    /// `HEALTHMON UNKNOWN - plugin timed out`, exit 3. Keep it below the
    /// scheduler's own check timeout.
    #[arg(short = 't', long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT_S,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// summary: counts and the worst/median round trip (a few hundred
    /// bytes); cases: also one item per case, phase and metric (large).
    #[arg(long, value_enum, default_value_t = Perfdata::Summary)]
    pub perfdata: Perfdata,
    /// Bytes the whole output may take; the long text (one line per failing
    /// case) gives way, the status line and perfdata never. 1024 is NRPE
    /// v2's packet; NRPE v3+ carries 65536; 0: no limit.
    #[arg(long, value_name = "BYTES", default_value_t = nagios::DEFAULT_MAX_OUTPUT)]
    pub max_output: usize,
}

pub fn run(args: Args) -> i32 {
    let out = Nagios {
        perfdata: args.perfdata,
        max_output: args.max_output,
    };
    plugin(args.run, args.timeout, out)
}

/// `healthmon run --format nagios`: the same plugin, default timeout and
/// output.
pub fn run_nagios(args: run_cmd::Args) -> i32 {
    plugin(args, DEFAULT_TIMEOUT_S, Nagios::default())
}

/// One plugin run under `timeout_s` seconds: prints exactly one output and
/// returns its exit code (0-3).
fn plugin(mut args: run_cmd::Args, timeout_s: u64, output: Nagios) -> i32 {
    args.format = "nagios".into();
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    backstop(deadline + BACKSTOP, timeout_s);
    // A panic outside the cases (they catch their own) is an internal
    // error: its message is on stderr (panic hook), not in the status line.
    let (out, code) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        measure(&args, deadline, timeout_s, output)
    }))
    .unwrap_or_else(|_| unknown("internal error (a panic; details on stderr)"));
    if !speak(&out) {
        // The backstop has spoken and is ending the process with its code.
        loop {
            std::thread::park();
        }
    }
    code
}

fn measure(
    args: &run_cmd::Args,
    deadline: Instant,
    timeout_s: u64,
    output: Nagios,
) -> (String, i32) {
    let ready = match run_cmd::prepare(args) {
        Ok(r) => r,
        Err(reason) => return unknown(&reason),
    };
    let done = match run_cmd::execute(args, ready, None, Some(deadline)) {
        Ok(done) => done,
        Err(stopped) => {
            eprintln!("healthmon check: {stopped}");
            return unknown(&match stopped {
                Stopped::Lock {
                    reports_dir,
                    error: LockError::Held(_),
                } => format!("another run holds the lock in {}", reports_dir.display()),
                Stopped::Lock {
                    error: LockError::Io(e),
                    ..
                } => format!("cannot use the reports directory: {e}"),
                Stopped::TimedOut => format!("plugin timed out after {timeout_s}s"),
                other => other.to_string(),
            });
        }
    };
    for e in &done.report_errors {
        eprintln!("healthmon check: {e}");
    }
    for e in &done.alert_errors {
        tracing::warn!("alert: {e}");
    }
    // A report that could not be written is healthmon's failure: never OK.
    let (out, state) = output.render_with(&done.summary, &done.report_errors);
    (out, state.code())
}

fn unknown(reason: &str) -> (String, i32) {
    (nagios::unknown(reason), NagiosState::Unknown.code())
}

/// Set by the first output: a plugin run prints exactly one.
static SPOKEN: AtomicBool = AtomicBool::new(false);

/// Print the plugin output unless one was printed already.
fn speak(out: &str) -> bool {
    if SPOKEN.swap(true, Ordering::SeqCst) {
        return false;
    }
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(out.as_bytes()).and_then(|_| o.flush());
    true
}

/// The last resort behind the run's own deadline: a run that has not ended
/// `at` (stuck outside the async runtime, e.g. reading a suite from a hung
/// file system) gets the timeout's status line and exit 3 here.
fn backstop(at: Instant, timeout_s: u64) {
    let spawned = std::thread::Builder::new()
        .name("plugin-timeout".into())
        .spawn(move || {
            std::thread::sleep(at.saturating_duration_since(Instant::now()));
            if speak(&nagios::unknown(&format!(
                "plugin timed out after {timeout_s}s"
            ))) {
                eprintln!("healthmon check: the run did not stop at its timeout; exiting");
                std::process::exit(NagiosState::Unknown.code());
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the timeout thread: {e}");
    }
}

/// A command line clap refused. In plugin mode (`check`, `run --format
/// nagios`) that is UNKNOWN with a status line (clap's own exit code 2
/// would read as CRITICAL); elsewhere, and for --help/--version, clap's
/// usual exit.
pub fn bad_arguments(e: clap::Error, argv: &[String]) -> ! {
    if !e.use_stderr() || !plugin_mode(argv) {
        e.exit()
    }
    let text = e.render().to_string();
    eprint!("{text}");
    let first = text.lines().next().unwrap_or("");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    speak(&nagios::unknown(&format!("bad arguments: {first}")));
    std::process::exit(NagiosState::Unknown.code())
}

/// Is this command line (without the program name) the plugin? The first
/// word that is not an option is the subcommand (the global options take
/// no value).
fn plugin_mode(argv: &[String]) -> bool {
    let Some(i) = argv.iter().position(|a| !a.starts_with('-')) else {
        return false;
    };
    let rest = &argv[i + 1..];
    match argv[i].as_str() {
        "check" => true,
        "run" => {
            rest.windows(2)
                .any(|w| w[0] == "--format" && w[1] == "nagios")
                || rest.iter().any(|a| a == "--format=nagios")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn plugin_mode_is_check_or_run_with_nagios_format() {
        assert!(plugin_mode(&argv("check suites/x.yaml --bogus")));
        assert!(plugin_mode(&argv("-v -q check")));
        assert!(plugin_mode(&argv(
            "run x.yaml --format nagios --critical 2:1"
        )));
        assert!(plugin_mode(&argv("run --format=nagios x.yaml")));
        assert!(!plugin_mode(&argv("run x.yaml --format json --bogus")));
        assert!(!plugin_mode(&argv("validate check")));
        assert!(!plugin_mode(&argv("--bogus")));
        assert!(!plugin_mode(&[]));
    }

    /// `bad_arguments` shows clap's first line without its `error: `.
    #[test]
    fn clap_errors_start_with_the_error_prefix() {
        use clap::Parser as _;
        let a = argv("healthmon check --critical 20:10 x.yaml");
        let e = crate::cli::Cli::try_parse_from(&a).unwrap_err();
        assert!(e.use_stderr());
        assert!(plugin_mode(&a[1..]));
        let text = e.render().to_string();
        assert!(text.starts_with("error: "), "{text}");
    }
}
