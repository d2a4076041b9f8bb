//! What accumulates stays bounded: per-run results of finished days fold
//! into per-day history (transcripts only for cases that did not pass),
//! finished days are gzipped, days past the retention are deleted, and the
//! daily report reads the compacted days.

use crate::support::status::{path, run};

use chrono::{DateTime, Duration, TimeZone, Utc};
use healthmon::report::{Outputs, Reporter, history, json};
use healthmon::result::{RunSummary, Status};

fn at(day: i64, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 20, hour, 0, 0).unwrap() + Duration::days(day)
}

/// A run at `t` with one passing and one failing path, both with transcripts.
fn run_at(t: DateTime<Utc>) -> RunSummary {
    let mut ok = path("ims1 store1 mta1 store1 pop3", Status::Pass, 40.0);
    let mut bad = path("ims2 store2 mta2 store2 imap", Status::Critical, 9000.0);
    for r in [&mut ok, &mut bad] {
        r.observation.transcript = vec!["S: +OK ready".into()];
        r.started_at = t;
    }
    let id = format!("{}-abcdef", t.format("%Y%m%dT%H%M%SZ"));
    run(&id, t, vec![ok, bad], vec![])
}

fn write(dir: &std::path::Path, r: &RunSummary, reporter: &dyn Reporter) {
    let out = Outputs {
        reports_dir: dir.to_path_buf(),
        junit: dir.join("junit.xml"),
        rotation: Default::default(),
        host: "monitor1".into(),
    };
    reporter.report(r, &out).unwrap();
}

#[test]
fn finished_days_fold_into_gzipped_history_and_old_days_go() {
    let d = tempfile::tempdir().unwrap();
    let rep = d.path();
    // A per-run file from before history existed (day -2), runs recorded
    // both ways (day -1), a day past the retention (day -20), today's run.
    let legacy = run_at(at(-2, 10));
    write(rep, &legacy, &json::ResultFiles);
    let yesterday = run_at(at(-1, 23));
    write(rep, &yesterday, &json::ResultFiles);
    write(rep, &yesterday, &history::HistoryFile);
    let ancient = run_at(at(-20, 5));
    write(rep, &ancient, &history::HistoryFile);
    let ancient_file = run_at(at(-25, 5));
    write(rep, &ancient_file, &json::ResultFiles);
    let today = run_at(at(0, 0));
    write(rep, &today, &json::ResultFiles);
    write(rep, &today, &history::HistoryFile);

    // 00:30: yesterday ended less than an hour ago, its files stay.
    let errs = healthmon::app::retention::tidy(rep, 15, at(0, 0) + Duration::minutes(30));
    assert!(errs.is_empty(), "{errs:?}");
    assert!(json::result_path_in(rep, &yesterday.run_id).exists());
    assert!(
        !json::result_path_in(rep, &legacy.run_id).exists(),
        "day -2 not folded"
    );
    // Finished days are gzipped; the day past the retention is gone.
    let day = |n: i64| at(n, 0).date_naive();
    assert!(history::day_file_gz(rep, day(-2)).exists());
    assert!(history::day_file_gz(rep, day(-1)).exists());
    assert!(!history::day_file(rep, day(-1)).exists());
    assert!(history::day_file(rep, day(0)).exists(), "today stays plain");
    assert!(!history::day_file(rep, day(-20)).exists());
    assert!(!history::day_file_gz(rep, day(-20)).exists());
    assert!(!json::result_path_in(rep, &ancient_file.run_id).exists());
    assert!(
        !history::day_file(rep, day(-25)).exists(),
        "folded past the retention"
    );
    assert!(!history::day_file_gz(rep, day(-25)).exists());

    // 01:30: yesterday's per-run file goes too, without a second record.
    let errs = healthmon::app::retention::tidy(rep, 15, at(0, 1) + Duration::minutes(30));
    assert!(errs.is_empty(), "{errs:?}");
    assert!(!json::result_path_in(rep, &yesterday.run_id).exists());
    let (runs, bad) = history::read_day(rep, day(-1));
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(runs.len(), 1, "folded twice");

    // The daily report reads the compacted days: transcripts only where a
    // case did not pass, everything else intact.
    let loaded = healthmon::daily_report::collect::load(rep, at(-2, 0), at(0, 0), None);
    assert!(loaded.bad.is_empty(), "{:?}", loaded.bad);
    let ids: Vec<_> = loaded.runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(ids, [legacy.run_id.as_str(), yesterday.run_id.as_str()]);
    for (got, want) in loaded.runs.iter().zip([&legacy, &yesterday]) {
        assert_eq!(got, &history::compact(want));
        assert!(got.results[0].observation.transcript.is_empty());
        assert_eq!(got.results[1].observation.transcript, ["S: +OK ready"]);
        assert_eq!(got.results[1].message, want.results[1].message);
    }
}
