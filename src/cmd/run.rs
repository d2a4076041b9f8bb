//! `healthmon run`: run the suites' cases against the site, then report.

use std::path::PathBuf;

use crate::exit;
use crate::report::{self, Outputs, Reporter};
use crate::runner::{self, RunOptions};

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
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
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

pub fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}`: expected K/N, e.g. 1/3"))?;
    let k: u32 = k
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: K is not a number"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{s}`: N is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("`{s}`: need 1 <= K <= N"));
    }
    Ok((k, n))
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
            .any(|s| crate::check::select_host(&s.spec, name).is_some())
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
    let reports_dir = args
        .reports
        .clone()
        .or_else(|| {
            suites
                .iter()
                .find_map(|s| s.spec.reports.as_ref().and_then(|r| r.dir.clone()))
        })
        .unwrap_or_else(|| PathBuf::from("reports"));
    let out = Outputs {
        junit: args
            .junit
            .clone()
            .unwrap_or_else(|| reports_dir.join("junit.xml")),
        reports_dir,
    };
    let nagios = args.format == "nagios";
    let _lock = match runner::lock(&out.reports_dir) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("healthmon run: {e}");
            return match e {
                runner::LockError::Held(_) => {
                    // Unknown, not critical: nothing was measured. The next run
                    // that gets the lock reports that this one was skipped.
                    runner::note_skipped_run(&out.reports_dir);
                    if nagios {
                        println!(
                            "HEALTHMON UNKNOWN - another run holds the lock in {}",
                            out.reports_dir.display()
                        );
                        exit::nagios_for_status(crate::result::Status::Error)
                    } else {
                        exit::ERROR
                    }
                }
                runner::LockError::Io(_) => exit::INTERNAL,
            };
        }
    };
    let skipped_runs = runner::take_skipped_runs(&out.reports_dir);
    let (cases, skipped) = runner::select(&suites, &opts);
    if cases.is_empty() {
        eprintln!("healthmon run: no case selected (check --only/--skip/--rotate/--host/--shard)");
    }

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
    let mut summary = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let progress = tokio::spawn(async move {
            let mut p = report::terminal::Progress::new();
            while let Some(ev) = rx.recv().await {
                p.on_event(&ev);
            }
        });
        let s = runner::run(&suites, cases, skipped, &opts, tx).await;
        let _ = progress.await;
        s
    });
    summary.notes.extend(skipped_runs);

    // Files first (they are the record), then stdout.
    let mut failed = false;
    let limits = (args.warning, args.critical);
    report::nagios::apply_total(&mut summary, &suites, limits);
    let stdout_report: Box<dyn Reporter> = match nagios {
        true => Box::new(report::nagios::Nagios::new(&suites, limits)),
        false => stdout_report,
    };
    let mut reporters: Vec<Box<dyn Reporter>> = report::file_reporters();
    reporters.push(stdout_report);
    if let Some(dir) = &args.textfile
        && let Err(e) = report::metrics::write_textfile(dir, &summary)
    {
        eprintln!("healthmon run: textfile: {e}");
        failed = true;
    }
    for r in &reporters {
        if let Err(e) = r.report(&summary, &out) {
            eprintln!("healthmon run: {} report failed: {e}", r.name());
            failed = true;
        }
    }
    // Alerts after the record is written: state machine + channels, per suite.
    if !args.no_alerts {
        let state_dir = out.reports_dir.join("state");
        for s in &suites {
            let a = rt.block_on(crate::alert::process(&summary, &s.spec, &state_dir));
            for e in a.errors.iter().chain(&a.failed) {
                tracing::warn!("alert: {e}");
            }
        }
    }
    if failed {
        return exit::INTERNAL;
    }
    match nagios {
        true => exit::nagios_for_status(summary.worst()),
        false => exit::for_status(summary.worst()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn shard_syntax() {
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("3").is_err());
        assert!(parse_shard("a/3").is_err());
    }
}
