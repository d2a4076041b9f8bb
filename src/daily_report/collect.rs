//! Read run summaries whose start falls in a time range: the per-day
//! history (`<reports>/history/<day>.jsonl[.gz]`, compacted, one line per
//! run) of the days the range touches, then the per-run files
//! (`<reports>/results/<run_id>.json`, the current day's) it lacks. Per-run
//! files older than the range (by mtime) are skipped without parsing;
//! unreadable files and lines are listed, never fatal.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use crate::report::history;
use crate::result::RunSummary;

pub const RESULTS_DIR: &str = "results";

#[derive(Debug, Default)]
pub struct Loaded {
    /// Sorted by start time.
    pub runs: Vec<RunSummary>,
    /// Files that could not be read or parsed, with the reason.
    pub bad: Vec<(PathBuf, String)>,
}

/// Runs of `site` (all sites when None) started in `[from, to)`.
pub fn load(reports: &Path, from: DateTime<Utc>, to: DateTime<Utc>, site: Option<&str>) -> Loaded {
    let mut out = Loaded::default();
    let keep = |r: &RunSummary| {
        r.started_at >= from && r.started_at < to && site.is_none_or(|s| s == r.site)
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut day = from.date_naive();
    while day <= (to - chrono::Duration::nanoseconds(1)).date_naive() {
        let (runs, bad) = history::read_day(reports, day);
        for r in runs {
            if seen.insert(r.run_id.clone()) && keep(&r) {
                out.runs.push(r);
            }
        }
        out.bad.extend(bad);
        day = day.succ_opt().unwrap_or(day);
        if day == NaiveDate::MAX {
            break;
        }
    }
    let dir = reports.join(RESULTS_DIR);
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return sorted(out);
    };
    // A results file is written when its run ends: one written before the
    // range began cannot hold a run that started inside it.
    let oldest = std::time::SystemTime::from(from - chrono::Duration::hours(2));
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        if e.metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|m| m < oldest)
        {
            continue;
        }
        let parsed = std::fs::read(&p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<RunSummary>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(r) if keep(&r) && seen.insert(r.run_id.clone()) => out.runs.push(r),
            Ok(_) => {}
            Err(e) => out.bad.push((p, e)),
        }
    }
    sorted(out)
}

fn sorted(mut out: Loaded) -> Loaded {
    out.runs.sort_by(|a, b| {
        a.started_at
            .cmp(&b.started_at)
            .then(a.run_id.cmp(&b.run_id))
    });
    out.bad.sort();
    out
}
