//! What a run writes after it measured (every file reporter, then the
//! retention step) with a 1 GB systest.log and qmonitor.log present, against
//! the same with empty logs, in the same run. The logs are appended to with
//! `O_APPEND` and only their last MiB is read, so the ratio must stay
//! ≤ 1.05. The big logs are sparse files (a hole, then real tables at the
//! end) in a temp dir under target/, made in milliseconds.
//! Run: `cargo bench --bench appends`.

#[path = "common/runs.rs"]
mod runs;
#[path = "../tests/support/site.rs"]
#[allow(dead_code)]
mod site;
#[path = "../tests/support/status.rs"]
#[allow(dead_code)]
mod status;

use std::path::Path;
use std::time::Instant;

use healthmon::report::{Outputs, file_reporters, qmonitor, systest};
use healthmon::result::RunSummary;

const ROUNDS: usize = 150;
const GOAL: f64 = 1.05;
const BIG: u64 = 1 << 30;

fn local_like_run(i: usize) -> RunSummary {
    runs::local_like_run(chrono::Utc::now(), i)
}

/// A sparse `BIG`-byte log whose last few MiB are real tables.
fn big_log(path: &Path, tail: &str) {
    let mut text = String::new();
    while text.len() < 4 << 20 {
        text.push_str(tail);
    }
    let f = std::fs::File::create(path).unwrap();
    f.set_len(BIG - text.len() as u64).unwrap();
    drop(f);
    healthmon::logfile::append(path, text.as_bytes()).unwrap();
    assert!(std::fs::metadata(path).unwrap().len() >= BIG);
}

/// What `app::run_once` does after execution: file reports, then retention.
fn write_reports(dir: &Path, run: &RunSummary) -> f64 {
    let out = Outputs {
        reports_dir: dir.to_path_buf(),
        junit: dir.join("junit.xml"),
        rotation: Default::default(),
        host: "monitor1".into(),
    };
    let t = Instant::now();
    for r in file_reporters() {
        r.report(run, &out).unwrap();
    }
    let errs = healthmon::app::retention::tidy(dir, 15, chrono::Utc::now());
    assert!(errs.is_empty(), "{errs:?}");
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let (empty, big) = (tmp.path().join("empty"), tmp.path().join("big"));
    std::fs::create_dir_all(&big).unwrap();
    let sample = local_like_run(0);
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&chrono::Local).naive_local();
    let t = Instant::now();
    big_log(
        &big.join(systest::FILE),
        &systest::render(&sample, None, local),
    );
    let q = qmonitor::render("", "host0", &sample, local(sample.started_at));
    big_log(&big.join(qmonitor::FILE), &q);
    println!(
        "made two sparse 1 GiB logs in {:.0} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );

    let (mut e, mut b) = (Vec::new(), Vec::new());
    for i in 0..ROUNDS {
        let run = local_like_run(i + 1);
        // Empty logs: gone before each run (the run starts them).
        for f in [systest::FILE, qmonitor::FILE] {
            let _ = std::fs::remove_file(empty.join(f));
        }
        // Alternate the order so drift on a shared machine hits both sides.
        if i % 2 == 0 {
            e.push(write_reports(&empty, &run));
            b.push(write_reports(&big, &run));
        } else {
            b.push(write_reports(&big, &run));
            e.push(write_reports(&empty, &run));
        }
    }
    let (me, mb) = (median(e), median(b));
    let ratio = mb / me;
    println!("reports step, median of {ROUNDS}: empty logs {me:.2} ms, 1 GiB logs {mb:.2} ms");
    println!(
        "ratio 1GiB/empty = {ratio:.3} (goal <= {GOAL}) {}",
        if ratio <= GOAL { "OK" } else { "MISSED" }
    );
}
