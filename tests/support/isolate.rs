//! Fault runs shared by the isolation tests of both site variants
//! (`live/isolate/faults.rs`, `live/isolate/variant_b.rs`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use healthmon::result::{RunSummary, Status};

use super::site;

/// `healthmon run SUITE --only ...` from the repository root (suites may name
/// paths relative to it); the run's summary and its wall time.
pub fn run(suite: &Path, reports: &Path, only: &[&str]) -> (RunSummary, Duration) {
    let mut cmd = Command::new(site::bin());
    cmd.current_dir(site::root())
        .arg("run")
        .arg(suite)
        .arg("--reports")
        .arg(reports)
        .arg("--format")
        .arg("json");
    for o in only {
        cmd.arg("--only").arg(o);
    }
    let t = Instant::now();
    let out = cmd.output().unwrap();
    let took = t.elapsed();
    let text = std::fs::read_to_string(reports.join("last-run.json")).unwrap_or_else(|e| {
        panic!(
            "no last-run.json ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (serde_json::from_str(&text).unwrap(), took)
}

/// Verdicts and non-skipped results, for assertion messages.
pub fn show(s: &RunSummary) -> String {
    let mut o = String::new();
    for v in &s.verdicts {
        o.push_str(&format!(
            "verdict {} ({:?}): {} [{} cases]\n",
            v.key(),
            v.confidence,
            v.reason,
            v.cases.len()
        ));
    }
    for r in &s.results {
        if r.status != Status::Skipped {
            o.push_str(&format!("{} {} {}\n", r.id, r.status, r.message));
        }
    }
    o
}

/// An `--only`-style glob match on a case id.
pub fn glob(p: &str, s: &str) -> bool {
    healthmon::filter::Filter::new(vec![p.to_string()], vec![]).matches(s)
}
