//! A run refused by the lock is an "unknown" result (Nagios exit 3, not
//! CRITICAL), and the next run that gets the lock reports it in its notes.

use crate::support::site;

use std::process::Command;

#[test]
fn refused_run_is_unknown_and_reported_by_the_next_run() {
    let d = tempfile::tempdir().unwrap();
    let reports = d.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let suite = site::root().join("suites/isp.yaml");
    let run = |format: &str| {
        Command::new(site::bin())
            .args([
                "run",
                "--no-alerts",
                "--only",
                "no-such-case",
                "--format",
                format,
                "--reports",
            ])
            .arg(&reports)
            .arg(&suite)
            .envs((1..=4).map(|i| (format!("HM_IMS{i}_PASS"), "x".to_string())))
            .output()
            .unwrap()
    };
    let lock = site::hold_run_lock(&reports);
    let o = run("nagios");
    assert_eq!(
        o.status.code(),
        Some(3),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .starts_with("HEALTHMON UNKNOWN - another run holds the lock")
    );
    let o = run("text");
    assert_eq!(o.status.code(), Some(2));
    lock.unlock().unwrap();

    let o = run("json");
    assert_eq!(
        o.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let s: healthmon::result::RunSummary =
        serde_json::from_str(&std::fs::read_to_string(reports.join("last-run.json")).unwrap())
            .unwrap();
    assert!(
        s.notes.iter().any(
            |n| n.starts_with("2 earlier run(s) did not run because another run held the lock")
        ),
        "{:?}",
        s.notes
    );
    // Reported once: the run after that has no such note.
    run("json");
    let s: healthmon::result::RunSummary =
        serde_json::from_str(&std::fs::read_to_string(reports.join("last-run.json")).unwrap())
            .unwrap();
    assert!(
        !s.notes.iter().any(|n| n.contains("held the lock")),
        "{:?}",
        s.notes
    );
}
