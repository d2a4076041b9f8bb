//! Structured results: the whole `RunSummary` as JSON, for the alert, report
//! and status consumers. Files: `<reports>/results/<run_id>.json` (the
//! current day's runs; `app::retention` folds finished days into
//! `history/`) and `<reports>/last-run.json` (the latest run).

use std::path::PathBuf;

use super::{Outputs, Reporter};
use crate::result::RunSummary;

pub const LAST_RUN: &str = "last-run.json";
pub const RESULTS_DIR: &str = "results";

pub fn to_json(run: &RunSummary) -> String {
    // RunSummary holds only strings, numbers and maps: serialisation cannot fail.
    let mut s = serde_json::to_string_pretty(run).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// `<reports>/results/<run_id>.json`.
pub fn result_path(out: &Outputs, run_id: &str) -> PathBuf {
    result_path_in(&out.reports_dir, run_id)
}

/// `<reports>/results/<run_id>.json` of a reports directory.
pub fn result_path_in(reports: &std::path::Path, run_id: &str) -> PathBuf {
    reports.join(RESULTS_DIR).join(format!("{run_id}.json"))
}

/// Writes both result files.
pub struct ResultFiles;

impl Reporter for ResultFiles {
    fn name(&self) -> &'static str {
        "json files"
    }
    fn report(&self, run: &RunSummary, out: &Outputs) -> Result<(), String> {
        let data = to_json(run);
        for p in [
            result_path(out, &run.run_id),
            out.reports_dir.join(LAST_RUN),
        ] {
            crate::atomic::write(&p, data.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        }
        Ok(())
    }
}

/// `--format json`: the same document on stdout.
pub struct Stdout;

impl Reporter for Stdout {
    fn name(&self) -> &'static str {
        "json"
    }
    fn report(&self, run: &RunSummary, _out: &Outputs) -> Result<(), String> {
        use std::io::Write;
        std::io::stdout()
            .lock()
            .write_all(to_json(run).as_bytes())
            .map_err(|e| format!("stdout: {e}"))
    }
}

/// Read a results file back (consumers: alerts, status, reports).
pub fn read(path: &std::path::Path) -> Result<RunSummary, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}
