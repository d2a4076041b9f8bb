//! files check: a log that stops growing trips max_age; existence, size,
//! directory counts and disk space.
//!
//! Live only because suites/local.yaml loads only where the site's files are
//! (its password files under target/mailsite, readable by root); the running
//! site is not used, so no site lock is taken.

use std::io::Write;
use std::time::Duration;

use crate::support::check::*;
use healthmon::result::Status;

#[tokio::test]
async fn a_log_that_stops_growing_trips_max_age() {
    let suite = local_suite();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    let c = spec(&format!(
        "files: {{paths: [{{path: '{}', max_age: 1s}}]}}",
        log.display()
    ));
    let mut f = std::fs::File::create(&log).unwrap();
    writeln!(f, "line 1").unwrap();
    let o = run(&suite, "mta1", c.clone()).await;
    assert_eq!(o.status, Status::Pass, "{o:?}");
    // Nobody writes for longer than max_age.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let o = run(&suite, "mta1", c.clone()).await;
    assert_eq!(o.status, Status::Critical, "{o:?}");
    assert_eq!(
        o.message,
        format!("{} not modified for 1s (max 1s)", log.display())
    );
    // It grows again: fresh.
    writeln!(f, "line 2").unwrap();
    f.sync_all().unwrap();
    let o = run(&suite, "mta1", c).await;
    assert_eq!(o.status, Status::Pass, "{o:?}");
}

#[tokio::test]
async fn existence_size_count_and_disk() {
    let suite = local_suite();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        std::fs::write(dir.path().join(format!("f{i}")), vec![b'x'; 100]).unwrap();
    }
    let d = dir.path().display();
    let c = spec(&format!(
        "files: {{disks: [{{mount: '{d}'}}], paths: [\
           {{path: '{d}/f0', max_size: 99}}, \
           {{path: '{d}/missing'}}, \
           {{path: '{d}/f1', exists: false}}, \
           {{path: '{d}/gone', exists: false}}, \
           {{path: '{d}', count: {{critical: 2}}}}]}}"
    ));
    let o = run(&suite, "mta1", c).await;
    assert_eq!(o.status, Status::Critical, "{o:?}");
    assert_eq!(
        o.message,
        format!(
            "{d}/f0 is 100 bytes > max 99; {d}/missing is missing; {d}/f1 exists, expected absent; count:{d} 3 > critical 2"
        )
    );
    let free = metric(&o, &format!("free_percent:{d}"));
    assert!((0.0..=100.0).contains(&free) && free > 0.0, "{free}");
    // Independent: df's view of the same filesystem (used% + free% = 100, df rounds used up).
    let df = std::process::Command::new("df")
        .args(["--output=pcent", &d.to_string()])
        .output()
        .unwrap();
    let used: f64 = String::from_utf8_lossy(&df.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!(
        (0.0..1.0).contains(&(used + free - 100.0)),
        "df used {used}% vs free {free}%"
    );
    // Disk limits are judged.
    let o = run(
        &suite,
        "mta1",
        spec(&format!(
            "files: {{disks: [{{mount: '{d}', free_percent: {{critical_below: 101}}}}]}}"
        )),
    )
    .await;
    assert_eq!(o.status, Status::Critical, "{o:?}");
    let o = run(
        &suite,
        "mta1",
        spec("files: {disks: [{mount: /nonexistent-mount}]}"),
    )
    .await;
    assert_eq!(o.status, Status::Error, "{o:?}");
}
