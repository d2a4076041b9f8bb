//! `healthmon run`: run the suites' cases against the site, then report.

use std::path::PathBuf;

use crate::app::{self, LockError, Outcome, Request, RunOptions};
use crate::event::RunEvent;
use crate::exit;
use crate::report;

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
    /// Only cases whose id matches one of these globs (repeatable).
    #[arg(long)]
    pub only: Vec<String>,
    /// Skip cases whose id matches one of these globs (repeatable).
    #[arg(long)]
    pub skip: Vec<String>,
    /// Run only the rotation path of the current slot of the hour (cron use).
    #[arg(long, conflicts_with = "slot")]
    pub rotate: bool,
    /// Run only the rotation path of the slot in force at minute N (0-59).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..60))]
    pub slot: Option<u32>,
    /// Only the host checks of NAME (default: this machine's hostname).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "")]
    pub host: Option<String>,
    /// Output on stdout: text (summary table) or json (the whole run).
    #[arg(long, default_value = "text")]
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
    /// Run the K-th of N deterministic partitions of the cases (e.g. 2/3).
    #[arg(long, value_name = "K/N", value_parser = app::parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Nagios range on each case's total time in ms (e.g. 5000, @0:10); replaces the suite's `total` warning.
    #[arg(long, value_name = "RANGE", value_parser = crate::nagios_range::parse)]
    pub warning: Option<crate::nagios_range::Range>,
    /// Nagios range on each case's total time in ms (e.g. 15000); replaces the suite's `total` critical.
    #[arg(long, value_name = "RANGE", value_parser = crate::nagios_range::parse)]
    pub critical: Option<crate::nagios_range::Range>,
    /// Also write Prometheus metrics to DIR/healthmon_<site>.prom (node_exporter textfile collector).
    #[arg(long, value_name = "DIR")]
    pub textfile: Option<PathBuf>,
}

pub fn run(args: Args) -> i32 {
    let suites = match crate::suite::load::load_for_cli(&args.suites) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let Some(stdout_report) = report::format(&args.format) else {
        eprintln!(
            "healthmon run: unknown --format `{}` (one of: {})",
            args.format,
            report::format_names().join(", ")
        );
        return exit::CONFIG;
    };
    if let Some(h) = &args.host {
        let name = (!h.is_empty()).then_some(h.as_str());
        if !suites
            .iter()
            .any(|s| crate::hostcheck::select_host(&s.spec, name).is_some())
        {
            eprintln!(
                "healthmon run: --host {}: no host of the suite has that name or hostname",
                name.map(String::from)
                    .unwrap_or_else(|| "(this machine)".into())
            );
            return exit::CONFIG;
        }
    }
    let rotate_minute = match (args.rotate, args.slot) {
        (_, Some(n)) => Some(n),
        (true, None) => Some(chrono::Timelike::minute(&chrono::Local::now())),
        (false, None) => None,
    };
    let opts = RunOptions {
        only: args.only.clone(),
        skip: args.skip.clone(),
        rotate_minute,
        host: args.host.clone(),
        isolate: !args.no_isolate,
        shard: args.shard,
    };
    let nagios = args.format == "nagios";
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("healthmon run: cannot start the async runtime: {e}");
            return exit::INTERNAL;
        }
    };
    let req = Request {
        suites: &suites,
        opts,
        reports: args.reports.clone(),
        junit: args.junit.clone(),
        alerts: !args.no_alerts,
        state_dir: None,
        total: (args.warning, args.critical),
        textfile: args.textfile.clone(),
        stdout: Some(stdout_report),
    };
    let outcome = rt.block_on(async {
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
    });
    let done = match outcome {
        Outcome::Finished(f) => f,
        Outcome::Refused { reports_dir, error } => {
            eprintln!("healthmon run: {error}");
            return match error {
                // Unknown, not critical: nothing was measured.
                LockError::Held(_) if nagios => {
                    println!(
                        "HEALTHMON UNKNOWN - another run holds the lock in {}",
                        reports_dir.display()
                    );
                    crate::result::NagiosState::Unknown.code()
                }
                LockError::Held(_) => exit::ERROR,
                LockError::Io(_) => exit::INTERNAL,
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
    match nagios {
        true => done.summary.nagios_state().code(),
        false => done.summary.worst().exit_code(),
    }
}
