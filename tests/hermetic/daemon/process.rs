//! `healthmon daemon` as a real process on a tarpit (no site): a slow job is
//! never stacked and finishes on SIGTERM with exit 0 (schedules, metrics and
//! reloads against the site: live/daemon/process.rs).

use std::time::Duration;

use crate::support::modes::*;

#[test]
fn slow_job_is_never_stacked_and_finishes_on_sigterm() {
    let d = tempfile::tempdir().unwrap();
    // Each run waits 3s on a tarpit; the job is due every 200ms.
    let tarpit = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    slow_suite(d.path(), tarpit.local_addr().unwrap().port());
    let sched = d.path().join("schedule.yaml");
    std::fs::write(
        &sched,
        "grace: 60s\nreports: reports\njobs:\n  slow:\n    every: 200ms\n    suites: [slow.yaml]\n",
    )
    .unwrap();
    let (mut p, addr) = start_daemon(&sched, d.path());
    let h = wait_for(Duration::from_secs(60), || {
        let h = healthz(&addr);
        (job_field(&h, "slow", "skipped_overlap") >= 3 && h["jobs"]["slow"]["running"] == true)
            .then_some(h)
    })
    .expect("no overlap skipped while a run was in progress");
    let started = job_field(&h, "slow", "runs");
    p.signal(libc::SIGTERM);
    let st = p
        .wait_timeout(Duration::from_secs(60))
        .expect("daemon did not stop within grace");
    assert_eq!(st.code(), Some(0));
    // Every started run (including the one running at SIGTERM) wrote its result.
    let files = std::fs::read_dir(d.path().join("reports/results"))
        .unwrap()
        .count() as u64;
    assert!(
        files >= started,
        "{files} result files for {started} started runs"
    );
    let log = std::fs::read_to_string(d.path().join("daemon.log")).unwrap();
    assert!(log.contains("skipped"), "{log}");
    // Never stacked: a stacked run would have hit the run lock.
    assert!(!log.contains("holds the lock"), "{log}");
}
