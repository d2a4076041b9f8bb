//! Issue 15: no false alarms on a healthy site. The whole local suite —
//! round trips, security probes and every host check — runs back to back and
//! every case of every run must pass: a host check that pages at 3 a.m.
//! because it caught a probe in flight or a forking daemon is a bug.

use crate::support::run::*;
use healthmon::result::Status;

/// Back-to-back runs (the issue asks for at least 50).
const RUNS: usize = 50;

#[test]
fn fifty_healthy_runs_have_no_non_pass_case() {
    // Exclusive: another run of the same case ids would reap this run's
    // in-flight probes as leftovers (one monitor per case).
    let _g = site_exclusive();
    let reports = tempfile::tempdir().unwrap();
    let mut bad = Vec::new();
    let mut cases = 0;
    let t = std::time::Instant::now();
    for i in 0..RUNS {
        run(&local_suite(), reports.path(), &[]);
        let run = last_run(reports.path());
        cases += run.results.len();
        for r in run.results.iter().filter(|r| r.status != Status::Pass) {
            bad.push(format!("run {i}: {} {}: {}", r.id, r.status, r.message));
        }
    }
    eprintln!("{RUNS} runs, {cases} cases in {:?}", t.elapsed());
    assert!(cases >= RUNS * 100, "only {cases} cases");
    assert!(
        bad.is_empty(),
        "{} non-pass cases:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
