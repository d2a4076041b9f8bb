//! `healthmon daemon` as a real process against the live site: schedules,
//! serves /metrics that promtool accepts, reloads on SIGHUP (an invalid file
//! keeps the old schedule), stops on SIGTERM with exit 0 (a slow job never
//! stacked: hermetic/daemon/process.rs).

use crate::support::site;

use std::time::Duration;

use crate::support::modes::*;

#[test]
fn daemon_schedules_serves_metrics_reloads_and_stops() {
    let _site = site::site_shared();
    let d = tempfile::tempdir().unwrap();
    fast_suite(d.path());
    let sched = d.path().join("schedule.yaml");
    let write = |body: &str| {
        // Atomic like an editor's save, so a reload never sees half a file.
        let tmp = d.path().join("schedule.tmp");
        std::fs::write(&tmp, body).unwrap();
        std::fs::rename(&tmp, &sched).unwrap();
    };
    write(
        "grace: 20s\nreports: reports\njobs:\n  fast:\n    every: 500ms\n    suites: [fast.yaml]\n",
    );
    let (mut p, addr) = start_daemon(&sched, d.path());

    // Schedules: several runs within a few seconds.
    let h = wait_for(Duration::from_secs(20), || {
        let h = healthz(&addr);
        (job_field(&h, "fast", "runs") >= 3).then_some(h)
    })
    .expect("job `fast` did not run 3 times in 20s");
    assert_eq!(h["status"], "ok");
    assert_eq!(job_field(&h, "fast", "skipped_overlap"), 0, "{h}");

    // Metrics of the runs, accepted by promtool.
    let (st, m) = http_get(&addr, "/metrics").unwrap();
    assert_eq!(st, 200);
    assert!(
        m.contains(r#"healthmon_probe_success{site="fast",suite="fast",case="host/mta1/port",kind="host",component="mta1"} 1"#),
        "{m}"
    );
    assert!(m.contains(r#"healthmon_job_runs_total{job="fast"}"#), "{m}");
    // Per job: how its last run ended and when (the port check passes: 0).
    assert!(
        m.contains("healthmon_job_last_exit_code{job=\"fast\"} 0\n"),
        "{m}"
    );
    let finished: f64 = m
        .lines()
        .find_map(|l| {
            l.strip_prefix(r#"healthmon_job_last_finished_timestamp_seconds{job="fast"} "#)
        })
        .unwrap_or_else(|| panic!("no last-finished time: {m}"))
        .parse()
        .unwrap();
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 120.0..=now + 1.0).contains(&finished),
        "{finished} vs {now}"
    );
    promtool_check(&m).unwrap_or_else(|e| panic!("promtool: {e}\n{m}"));
    // Results were written like a `healthmon run` (reports dir of the schedule).
    assert!(d.path().join("reports/last-run.json").is_file());

    // SIGHUP with a valid new schedule: 6-field cron (seconds), new job name.
    write(
        "grace: 20s\nreports: reports\njobs:\n  everysecond:\n    cron: \"* * * * * *\"\n    suites: [fast.yaml]\n",
    );
    p.signal(libc::SIGHUP);
    let h = wait_for(Duration::from_secs(15), || {
        let h = healthz(&addr);
        (job_field(&h, "everysecond", "runs") >= 2).then_some(h)
    })
    .expect("the reloaded schedule did not run");
    assert_eq!(h["reloads"]["ok"], 1, "{h}");

    // SIGHUP with an invalid file: refused, the running schedule goes on.
    write("jobs:\n  broken:\n    cron: \"61 * * * *\"\n    suites: [fast.yaml]\n");
    p.signal(libc::SIGHUP);
    let h = wait_for(Duration::from_secs(10), || {
        let h = healthz(&addr);
        (h["reloads"]["failed"] == 1).then_some(h)
    })
    .expect("invalid reload not reported");
    let why = h["reloads"]["last_error"].as_str().unwrap_or("");
    assert!(why.contains("jobs.broken") && why.contains("61"), "{why}");
    let before = job_field(&h, "everysecond", "runs");
    wait_for(Duration::from_secs(10), || {
        (job_field(&healthz(&addr), "everysecond", "runs") > before).then_some(())
    })
    .expect("old schedule stopped after a refused reload");
    assert!(healthz(&addr)["jobs"].get("broken").is_none());

    // SIGTERM: exit 0, well within the grace period.
    p.signal(libc::SIGTERM);
    let st = p
        .wait_timeout(Duration::from_secs(20))
        .expect("daemon did not stop on SIGTERM");
    assert_eq!(st.code(), Some(0));
}
