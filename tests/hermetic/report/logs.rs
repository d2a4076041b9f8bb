//! systest.log and qmonitor.log as append-only logs: a run appends whole
//! records after what is there (a partial last record left by a crash is
//! ended first), finds its last header near the end only (repeating it at
//! least once per `HEADER_WINDOW`), and rotates by size keeping N files.

use crate::support::status::{host_check, path, run};

use healthmon::logfile::rotate::{Every, rotated};
use healthmon::logfile::{HEADER_WINDOW, Rotation};
use healthmon::report::{Outputs, Reporter, qmonitor, systest};
use healthmon::result::{RunSummary, Status};

fn a_run(i: usize) -> RunSummary {
    let at = chrono::Utc::now();
    let mut rt = path("ims1 store1 mta1 mmp1 pop3", Status::Pass, 40.0);
    rt.started_at = at;
    let mut q = host_check("mta1", "queue", Status::Pass, &[("active", 3.0)]);
    q.started_at = at;
    run(&format!("r{i}"), at, vec![rt, q], vec![])
}

fn write(dir: &std::path::Path, r: &RunSummary, rotation: Rotation) {
    let out = Outputs {
        reports_dir: dir.to_path_buf(),
        junit: dir.join("junit.xml"),
        rotation,
        host: "monitor1".into(),
    };
    systest::SystestLog.report(r, &out).unwrap();
    qmonitor::QmonitorLog.report(r, &out).unwrap();
}

const NEVER: Rotation = Rotation {
    every: Every::Never,
    keep: 1,
};

#[test]
fn a_crash_cut_record_is_ended_and_the_old_bytes_stay() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), &a_run(0), NEVER);
    let log = d.path().join(systest::FILE);
    // A run killed mid-write left half a row.
    let mut before = std::fs::read(&log).unwrap();
    before.extend_from_slice(b"| 12:00:01 | ims1 | mt");
    std::fs::write(&log, &before).unwrap();
    write(d.path(), &a_run(1), NEVER);
    let after = std::fs::read(&log).unwrap();
    assert!(after.starts_with(&before), "old bytes rewritten");
    let rest = String::from_utf8_lossy(&after[before.len()..]).into_owned();
    assert!(
        rest.starts_with('\n'),
        "the cut record was not ended: {rest:?}"
    );
    assert_eq!(rest.matches("| ims1 ").count(), 1, "{rest}");
    assert!(rest.ends_with('\n'));
}

#[test]
fn the_header_is_found_near_the_end_and_repeated_once_per_window() {
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join(systest::FILE);
    write(d.path(), &a_run(0), NEVER);
    let one = std::fs::metadata(&log).unwrap().len();
    let header_count = || {
        std::fs::read_to_string(&log)
            .unwrap()
            .matches("DATE COLLECTED:")
            .count()
    };
    // Runs of the same day: one header, until a window of rows separates
    // the end from it; then exactly one more.
    let mut i = 1;
    while std::fs::metadata(&log).unwrap().len() < HEADER_WINDOW - 2 * one {
        write(d.path(), &a_run(i), NEVER);
        i += 1;
    }
    assert_eq!(header_count(), 1);
    for _ in 0..(2 * HEADER_WINDOW / one) {
        write(d.path(), &a_run(i), NEVER);
        i += 1;
    }
    let n = header_count();
    assert!(
        (2..=3).contains(&n),
        "{n} headers in {} bytes",
        std::fs::metadata(&log).unwrap().len()
    );
}

#[test]
fn logs_rotate_by_size_keeping_n() {
    let d = tempfile::tempdir().unwrap();
    let by_size = Rotation {
        every: Every::Size(4 << 10),
        keep: 2,
    };
    for i in 0..60 {
        write(d.path(), &a_run(i), by_size);
    }
    for f in [systest::FILE, qmonitor::FILE] {
        let p = d.path().join(f);
        for q in [p.clone(), rotated(&p, 1), rotated(&p, 2)] {
            let text =
                std::fs::read_to_string(&q).unwrap_or_else(|e| panic!("{}: {e}", q.display()));
            assert!(
                text.starts_with("DATE COLLECTED:"),
                "{} starts without its header",
                q.display()
            );
            assert!(
                text.len() <= 4 << 10,
                "{} is {} bytes",
                q.display(),
                text.len()
            );
        }
        assert!(!rotated(&p, 3).exists(), "more than keep = 2 files of {f}");
    }
}
