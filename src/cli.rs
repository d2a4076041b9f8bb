//! Command line (clap derive). Each subcommand's arguments live next to its
//! implementation in `cmd/<name>.rs`; this file only lists them.

use clap::{Parser, Subcommand};

use crate::cmd;

#[derive(Debug, Parser)]
#[command(
    name = "healthmon",
    version,
    about = "Health monitor for email sites: round trips through every MTA and MMP, host checks, isolation, alerts",
    after_help = "Exit codes: 0 all passed, 1 a check failed (warning/critical), 2 a check could not run (error), 3 configuration error, 4 internal error. `healthmon check` (the Nagios plugin) exits 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN instead.\n\nExamples:\n  healthmon validate suites/local.yaml\n  healthmon run suites/local.yaml\n  healthmon run suites/local.yaml --host mta1"
)]
pub struct Cli {
    /// More diagnostics on stderr (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter suite from what an MTA, an MMP/store and one test account's servers say (read-only).
    Init(cmd::init::Args),
    /// Check suites without touching the site (or, with --resolve, probe banners only).
    Validate(cmd::validate::Args),
    /// Print the test cases a suite expands into.
    List(cmd::list::Args),
    /// The suite as healthmon sees it (includes, defaults, ${ENV}; secrets hidden); --cases: each case's effective settings.
    Render(cmd::render::Args),
    /// Run the suites' cases against the site.
    Run(cmd::run::Args),
    /// The daily report: availability, latency, failures by root cause, peaks, baseline.
    Report(cmd::report::Args),
    /// Alert routes and state: send a test notice, show the state, process a results file.
    Alert(cmd::alert::Args),
    /// Mail log statistics (Postfix, Sun Messaging Server): rates, sizes, delays, rejects.
    Logstats(cmd::logstats::Args),
    /// Scheduler daemon: runs the jobs of etc/schedule.yaml, serves /metrics and /healthz.
    Daemon(cmd::daemon::Args),
    /// Agent on a site machine: runs its hosts' checks on schedule, serves them to the central monitor.
    Agent(cmd::agent::Args),
    /// Print crontab lines for suites (rotation, host checks, daily report).
    Cron(cmd::cron::Args),
    /// Nagios/Icinga plugin: `run --format nagios` with -t (exit 0 OK, 1 WARNING, 2 CRITICAL incl. unreachable, 3 UNKNOWN).
    Check(cmd::check::Args),
    /// Shell completions (bash, zsh, fish, elvish, powershell) on stdout.
    Completions(cmd::completions::Args),
    /// The manual page(s), generated from this command line.
    Man(cmd::man::Args),
}
