//! The application layer between the command line / daemon and the engine:
//! one run of suites from selection to alerts ([`run_once`]), shared by
//! `healthmon run` and `check` (and so by the runs `healthmon cron` installs)
//! and by the daemon's jobs.
//!
//! - `select`  — which cases run: `--only/--skip`, rotation slot, `--host`, `--shard`.
//! - `lock`    — the run lock of a reports dir; notes of runs it refused.
//! - `probe_key` — the installation's probe key in the state dir, once per run.
//! - `execute` — runs the cases concurrently, isolation, events.
//! - `remote`  — host checks of hosts with an agent: pulled from it, not run here.
//! - `judge`   — the limits each case is judged against (kept in its result),
//!   `--warning/--critical`.
//! - `scrub`   — no account password reaches a report.
//! - `textfile` — which Prometheus textfile a run's selection writes.
//! - `retention` — folds per-run results into per-day history, gzips, prunes.
//! - `once`    — [`run_once`]: lock, select, execute, judge, file reports, alerts.

pub mod execute;
pub mod judge;
pub mod lock;
mod once;
pub mod probe_key;
pub mod remote;
pub mod retention;
pub mod scrub;
pub mod select;
pub mod textfile;

use std::path::{Path, PathBuf};

pub use execute::suite_name;
pub use lock::LockError;
pub use once::{Finished, Outcome, Request, run_once};
pub use select::{RunOptions, Selector, parse_shard, select};

use crate::suite::LoadedSuite;

/// The reports directory of a run: the one given (`--reports`, the
/// schedule's `reports:`), else the first `reports.dir` of the suites, else
/// `reports/`.
pub fn reports_dir(given: Option<&Path>, suites: &[LoadedSuite]) -> PathBuf {
    given
        .map(Path::to_path_buf)
        .or_else(|| {
            suites
                .iter()
                .find_map(|s| s.spec.reports.as_ref().and_then(|r| r.dir.clone()))
        })
        .unwrap_or_else(|| PathBuf::from("reports"))
}

/// Rotation of the run's logs: the first `reports.rotate` of the suites,
/// else daily with 14 kept.
pub fn rotation(suites: &[LoadedSuite]) -> crate::logfile::Rotation {
    suites
        .iter()
        .find_map(|s| s.spec.reports.as_ref()?.rotate.as_ref())
        .map(|r| r.rotation())
        .unwrap_or_default()
}

/// Days of history kept: the first `reports.retention_days` of the suites,
/// else [`retention::DEFAULT_RETENTION_DAYS`].
pub fn retention_days(suites: &[LoadedSuite]) -> u32 {
    suites
        .iter()
        .find_map(|s| s.spec.reports.as_ref()?.retention_days)
        .unwrap_or(retention::DEFAULT_RETENTION_DAYS)
}

/// The state directory of a run (alert state, spool, the probe key): the
/// one given (the schedule's `state_dir:`), else `<reports>/state`.
pub fn state_dir(given: Option<&Path>, reports_dir: &Path) -> PathBuf {
    given
        .map(Path::to_path_buf)
        .unwrap_or_else(|| reports_dir.join("state"))
}
