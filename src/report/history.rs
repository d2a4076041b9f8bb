//! `<reports>/history/<YYYY-MM-DD>.jsonl`: each run appends its compacted
//! summary as one JSON line to the file of its UTC start day (what the daily
//! report and its baseline read). Compacted = transcripts only for cases that
//! did not pass; everything else (phases, metrics, facts, limits, verdicts)
//! is kept. `app::retention` gzips finished days and prunes old ones.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::{Outputs, Reporter};
use crate::result::{RunSummary, Status};

pub const DIR: &str = "history";

/// `history/<day>.jsonl` (the day being written).
pub fn day_file(reports: &Path, day: NaiveDate) -> PathBuf {
    reports.join(DIR).join(format!("{day}.jsonl"))
}

/// `history/<day>.jsonl.gz` (a finished day).
pub fn day_file_gz(reports: &Path, day: NaiveDate) -> PathBuf {
    reports.join(DIR).join(format!("{day}.jsonl.gz"))
}

/// The day a history file holds (`2026-01-10.jsonl[.gz]`).
pub fn day_of(name: &str) -> Option<NaiveDate> {
    let stem = name
        .strip_suffix(".jsonl.gz")
        .or_else(|| name.strip_suffix(".jsonl"))?;
    NaiveDate::parse_from_str(stem, "%Y-%m-%d").ok()
}

/// The run without what history does not need: transcripts of passing and
/// skipped cases.
pub fn compact(run: &RunSummary) -> RunSummary {
    let mut c = run.clone();
    for r in &mut c.results {
        if matches!(r.status, Status::Pass | Status::Skipped) {
            r.observation.transcript = Vec::new();
        }
    }
    c
}

/// One line: the compacted run, then `\n`.
pub fn line(run: &RunSummary) -> String {
    // RunSummary holds only strings, numbers and maps: serialisation cannot fail.
    let mut s = serde_json::to_string(&compact(run)).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

pub struct HistoryFile;

impl Reporter for HistoryFile {
    fn name(&self) -> &'static str {
        "history"
    }
    fn report(&self, run: &RunSummary, out: &Outputs) -> Result<(), String> {
        let p = day_file(&out.reports_dir, run.started_at.date_naive());
        crate::logfile::append(&p, line(run).as_bytes())
            .map_err(|e| format!("cannot append to {}: {e}", p.display()))
    }
}

/// Runs recorded for `day` (its `.jsonl.gz`, then its `.jsonl`), and what
/// did not parse (file, `line N: reason`). A missing file is no run.
pub fn read_day(reports: &Path, day: NaiveDate) -> (Vec<RunSummary>, Vec<(PathBuf, String)>) {
    use std::io::BufRead;
    let mut runs = Vec::new();
    let mut bad = Vec::new();
    for p in [day_file_gz(reports, day), day_file(reports, day)] {
        let f = match std::fs::File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                bad.push((p, e.to_string()));
                continue;
            }
        };
        let r: Box<dyn std::io::Read> = if p.extension().is_some_and(|x| x == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(f))
        } else {
            Box::new(f)
        };
        for (i, l) in std::io::BufReader::new(r).split(b'\n').enumerate() {
            let parsed = l
                .map_err(|e| e.to_string())
                .and_then(|l| serde_json::from_slice::<RunSummary>(&l).map_err(|e| e.to_string()));
            match parsed {
                Ok(run) => runs.push(run),
                Err(e) => bad.push((p.clone(), format!("line {}: {e}", i + 1))),
            }
        }
    }
    (runs, bad)
}
