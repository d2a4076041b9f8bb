//! `healthmon daemon`: run the jobs of a schedule file until SIGTERM, serving
//! `/metrics`, `/healthz` and the status page (`/`, `/api/v1/status`). SIGHUP re-reads the schedule.

use std::path::PathBuf;

use crate::exit;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    healthmon daemon etc/schedule.yaml\n  \
    healthmon daemon etc/schedule.yaml --listen 127.0.0.1:9782\n  \
    healthmon daemon etc/schedule.yaml --check     # validate and exit\n\
    Signals: SIGHUP reloads (an invalid file is refused, the old schedule keeps running); SIGTERM/SIGINT stop after running jobs finish (grace period), exit 0.")]
pub struct Args {
    /// Schedule file (jobs with cron expressions).
    #[arg(default_value = "etc/schedule.yaml")]
    pub schedule: PathBuf,
    /// Address for the status page, /api/v1, /metrics and /healthz (overrides `listen:`; default 127.0.0.1:9782).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    /// Validate the schedule and its suites, print the jobs' next due times, exit.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: Args) -> i32 {
    let cfg = match crate::daemon::schedule::load(&args.schedule) {
        Ok(c) => c,
        Err(errs) => {
            for e in &errs {
                eprintln!("{e}");
            }
            return exit::CONFIG;
        }
    };
    // The alert route check's DNS half, once per daemon start (runs and
    // reloads do none).
    let mut bad_route = false;
    let mut seen = std::collections::BTreeSet::new();
    for s in cfg.jobs.iter().flat_map(|j| &j.suites) {
        if !seen.insert(&s.path) {
            continue;
        }
        for d in crate::suite::validate::validate_resolved(s) {
            eprintln!("{d}");
            bad_route |= d.severity == crate::suite::Severity::Error;
        }
    }
    if bad_route {
        return exit::CONFIG;
    }
    if args.check {
        let now = chrono::Local::now();
        for j in &cfg.jobs {
            let next = j
                .when
                .next_after(now)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S %z").to_string())
                .unwrap_or_else(|| "never".into());
            println!("{:<20} next {next}", j.name);
        }
        return exit::OK;
    }
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(crate::daemon::run(cfg, args.listen)),
        Err(e) => {
            eprintln!("healthmon daemon: cannot start the async runtime: {e}");
            exit::INTERNAL
        }
    }
}
