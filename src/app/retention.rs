//! What accumulates in a reports directory stays bounded. After each run
//! (under the run lock):
//!
//! - per-run `results/<run_id>.json` files of a finished UTC day (an hour
//!   after it ended, so a run across midnight still finds its neighbours)
//!   are folded into `history/<day>.jsonl` (the runs it lacks: files written
//!   before history existed) and deleted;
//! - `history/<day>.jsonl` of a finished day is gzipped to `.jsonl.gz`;
//! - history older than `retention_days` (today included) is deleted, and
//!   so are per-run files that old (without folding them first).
//!
//! Each step is idempotent, so a crash between two just repeats it next time.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::report::history::{self, DIR};
use crate::report::json::RESULTS_DIR;

/// Default days of history kept: the default 14-day baseline plus the day
/// reported.
pub const DEFAULT_RETENTION_DAYS: u32 = 15;

/// How long after a day ends its per-run files are folded into history.
const FOLD_AFTER: Duration = Duration::hours(1);

/// Fold, gzip and prune; problems come back one line each (never fatal:
/// the run itself is recorded already).
pub fn tidy(reports: &Path, retention_days: u32, now: DateTime<Utc>) -> Vec<String> {
    let mut errors = Vec::new();
    let today = now.date_naive();
    let oldest_kept = today - Duration::days(i64::from(retention_days.max(1)) - 1);
    fold_run_files(
        reports,
        (now - FOLD_AFTER).date_naive(),
        oldest_kept,
        &mut errors,
    );
    for (day, files) in history_files(reports) {
        let r = if day < oldest_kept {
            files.iter().try_for_each(std::fs::remove_file)
        } else if day < today
            && files
                .iter()
                .any(|f| f.extension().is_some_and(|x| x == "jsonl"))
        {
            gzip_day(reports, day)
        } else {
            Ok(())
        };
        if let Err(e) = r {
            errors.push(format!("history {day}: {e}"));
        }
    }
    errors
}

/// Per-run files by UTC day (from the run id `20260110T000504Z-…`).
fn run_files(reports: &Path) -> BTreeMap<NaiveDate, Vec<PathBuf>> {
    let mut out: BTreeMap<NaiveDate, Vec<PathBuf>> = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(reports.join(RESULTS_DIR)) else {
        return out;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let day = name
            .strip_suffix(".json")
            .and_then(|id| id.get(..8))
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y%m%d").ok());
        if let Some(day) = day {
            out.entry(day).or_default().push(e.path());
        }
    }
    out
}

/// Move the runs of days before `before` into history; delete the files.
/// A file that does not parse is kept until the retention drops it.
fn fold_run_files(
    reports: &Path,
    before: NaiveDate,
    oldest_kept: NaiveDate,
    errors: &mut Vec<String>,
) {
    for (day, files) in run_files(reports).range(..before) {
        if *day < oldest_kept {
            // Past the retention: history would drop the day at once.
            for f in files {
                if let Err(e) = std::fs::remove_file(f) {
                    errors.push(format!("cannot remove {}: {e}", f.display()));
                }
            }
            continue;
        }
        let (runs, _) = history::read_day(reports, *day);
        let known: BTreeSet<String> = runs.into_iter().map(|r| r.run_id).collect();
        for f in files {
            let keep = match crate::report::json::read(f) {
                Ok(run) if known.contains(&run.run_id) => false,
                Ok(run) => {
                    let p = history::day_file(reports, *day);
                    match crate::logfile::append(&p, history::line(&run).as_bytes()) {
                        Ok(()) => false,
                        Err(e) => {
                            errors.push(format!("cannot append to {}: {e}", p.display()));
                            true
                        }
                    }
                }
                // Unreadable: kept for a person to look at until the retention.
                Err(_) => true,
            };
            if !keep && let Err(e) = std::fs::remove_file(f) {
                errors.push(format!("cannot remove {}: {e}", f.display()));
            }
        }
    }
}

/// History files by day.
fn history_files(reports: &Path) -> BTreeMap<NaiveDate, Vec<PathBuf>> {
    let mut out: BTreeMap<NaiveDate, Vec<PathBuf>> = BTreeMap::new();
    let Ok(rd) = std::fs::read_dir(reports.join(DIR)) else {
        return out;
    };
    for e in rd.flatten() {
        if let Some(day) = history::day_of(&e.file_name().to_string_lossy()) {
            out.entry(day).or_default().push(e.path());
        }
    }
    out
}

/// `<day>.jsonl` (after what an earlier `.jsonl.gz` holds) → `<day>.jsonl.gz`.
fn gzip_day(reports: &Path, day: NaiveDate) -> io::Result<()> {
    let plain = history::day_file(reports, day);
    let gz = history::day_file_gz(reports, day);
    crate::atomic::write_with(&gz, |w| {
        let mut enc = flate2::write::GzEncoder::new(w, flate2::Compression::default());
        match std::fs::File::open(&gz) {
            Ok(f) => {
                io::copy(&mut flate2::read::MultiGzDecoder::new(f), &mut enc)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        io::copy(&mut std::fs::File::open(&plain)?, &mut enc)?;
        enc.finish()?.flush()
    })?;
    std::fs::remove_file(&plain)
}
