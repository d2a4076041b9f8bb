//! `healthmon run` command-line behaviour that sends no probe: config
//! errors, the run lock, rotation slots and shards.
//!
//! Live only because suites/local.yaml loads only where the site's files are
//! (its password files under target/mailsite, readable by root); the running
//! site is not used, so no site lock is taken.

use crate::support::run::*;

#[test]
fn a_second_run_on_the_same_reports_dir_exits_2() {
    let reports = tempfile::tempdir().unwrap();
    let f = std::fs::File::create(reports.path().join(".healthmon.lock")).unwrap();
    f.lock().unwrap();
    let o = run(&local_suite(), reports.path(), &["--only", "nothing"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("another run of this suite holds the lock"),
        "{}",
        show(&o)
    );
    drop(f);
    // Lock free: runs (nothing selected → everything skipped, exit 0).
    let o = run(&local_suite(), reports.path(), &["--only", "nothing"]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let run = last_run(reports.path());
    assert!(
        run.results
            .iter()
            .all(|r| r.status == healthmon::result::Status::Skipped)
    );
}

#[test]
fn config_errors_exit_3() {
    let reports = tempfile::tempdir().unwrap();
    let o = run(&root().join("no/such/suite.yaml"), reports.path(), &[]);
    assert_eq!(o.status.code(), Some(3), "{}", show(&o));
    let o = run(&local_suite(), reports.path(), &["--format", "xml"]);
    assert_eq!(o.status.code(), Some(3), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown --format `xml`"));
    let o = run(&local_suite(), reports.path(), &["--host", "nosuchhost"]);
    assert_eq!(o.status.code(), Some(3), "{}", show(&o));
}

#[test]
fn unwritable_reports_exit_4_without_panic() {
    let reports = tempfile::tempdir().unwrap();
    // The JUnit target is a directory: the write must fail cleanly.
    let junit = reports.path().join("junit-dir");
    std::fs::create_dir(&junit).unwrap();
    let o = run(
        &local_suite(),
        reports.path(),
        &["--only", "nothing", "--junit", junit.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(4), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("junit report failed") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn rotate_slot_and_shard_select_the_right_cases() {
    let reports = tempfile::tempdir().unwrap();
    // Slot 5 (minute 7 → slot 5): ims2 via mta2 → mmp2 over imap, nothing else.
    let o = run(
        &local_suite(),
        reports.path(),
        &["--slot", "7", "--skip", "*"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    let (suites, _) = healthmon::suite::load_all(&[local_suite()]).unwrap();
    let opts = |m: Option<u32>, shard: Option<(u32, u32)>| healthmon::app::RunOptions {
        rotate_minute: m,
        shard,
        ..Default::default()
    };
    let (sel, skipped) = healthmon::app::select(&suites, &opts(Some(7), None));
    let ids: Vec<&str> = sel.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["rndtrip/ims2/mta2/mmp2/imap"]);
    let (all, none) = healthmon::app::select(&suites, &opts(None, None));
    assert!(none.is_empty());
    assert_eq!(sel.len() + skipped.len(), all.len());
    // Minute 3 wraps to... slot 0 (minute 0 is a slot).
    let (sel, _) = healthmon::app::select(&suites, &opts(Some(3), None));
    assert_eq!(
        sel.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        ["rndtrip/ims1/mta1/mmp1/pop3"]
    );
    // Shards 1/3, 2/3, 3/3 partition the cases.
    let mut seen: Vec<String> = (1..=3)
        .flat_map(|k| healthmon::app::select(&suites, &opts(None, Some((k, 3)))).0)
        .map(|c| c.id)
        .collect();
    seen.sort();
    let mut want: Vec<String> = all.iter().map(|c| c.id.clone()).collect();
    want.sort();
    assert_eq!(seen, want);
}
