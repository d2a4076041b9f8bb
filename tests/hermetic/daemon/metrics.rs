//! The daemon's `/metrics` keeps each case's last result across runs that
//! did not include it (a rotation job between full runs), with the time it
//! was measured, and drops it once stale (3 × its job's period, at least
//! 5 minutes).

use std::time::Duration;

use healthmon::daemon::DaemonState;
use healthmon::daemon::http::render_metrics_at;
use healthmon::result::Status;

use crate::support::modes::promtool_check;
use crate::support::status::{host_check, path, run, t};

fn sample(text: &str, family: &str, case: &str) -> Option<f64> {
    let head = format!(r#"{family}{{site="isp",suite="local",case="{case}","#);
    text.lines()
        .find(|l| l.starts_with(&head))
        .map(|l| l.rsplit_once(' ').unwrap().1.parse().unwrap())
}

#[test]
fn a_case_outlives_runs_without_it_until_stale() {
    let st = DaemonState::new();
    let five = Duration::from_secs(300);
    // The full run at t(0) measures a round trip and a host check.
    let rt = path("ims1 store1 mta1 mmp1 pop3", Status::Pass, 800.0);
    let queue = host_check("mta1", "queue", Status::Warning, &[("deferred", 7.0)]);
    st.record_every(
        run("full", t(0), vec![rt.clone(), queue.clone()], vec![]),
        five,
    );
    // A rotation run at t(120) measures the round trip only; the host check
    // is skipped there (as `app::select` reports what it filtered out).
    let mut rt2 = rt.clone();
    rt2.started_at = t(120);
    rt2.status = Status::Critical;
    let mut skipped = queue.clone();
    skipped.status = Status::Skipped;
    st.record_every(
        run("rot", t(120), vec![rt2, skipped], vec![]),
        Duration::from_secs(3600),
    );

    let rt_id = "rndtrip/ims1/mta1/mmp1/pop3";
    let m = render_metrics_at(&st, t(130));
    promtool_check(&m).unwrap_or_else(|e| panic!("promtool: {e}\n{m}"));
    // The round trip is the rotation run's; the host check still the full run's.
    assert_eq!(
        sample(&m, "healthmon_probe_success", rt_id),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        sample(&m, "healthmon_case_last_run_timestamp_seconds", rt_id),
        Some(t(120).timestamp() as f64 + 0.8)
    );
    assert_eq!(
        sample(&m, "healthmon_check_state", "host/mta1/queue"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "healthmon_case_last_run_timestamp_seconds",
            "host/mta1/queue"
        ),
        Some(t(0).timestamp() as f64 + 0.003)
    );
    assert!(m.contains(r#"queue="deferred"} 7"#), "{m}");
    // The run-level series are the latest run's.
    assert!(m.contains(&format!(
        "healthmon_last_run_timestamp_seconds{{site=\"isp\",suite=\"local\"}} {}",
        t(120).timestamp()
    )));

    // Still there just before 3 × 5 min after the full run, gone after.
    let before = render_metrics_at(&st, t(899));
    assert!(sample(&before, "healthmon_check_state", "host/mta1/queue").is_some());
    let after = render_metrics_at(&st, t(901));
    assert_eq!(
        sample(&after, "healthmon_check_state", "host/mta1/queue"),
        None,
        "{after}"
    );
    assert!(!after.contains("host/mta1/queue"), "{after}");
    // The rotation's case stands 3 h (its path comes round hourly).
    assert!(sample(&after, "healthmon_probe_success", rt_id).is_some());
    promtool_check(&after).unwrap_or_else(|e| panic!("promtool: {e}\n{after}"));

    // A later run drops what is stale from memory too, not only the page.
    st.record_every(
        run("rot2", t(1000), vec![], vec![]),
        Duration::from_secs(3600),
    );
    let g = st.read();
    let kept: Vec<&String> = g.cases["local"].keys().collect();
    assert_eq!(kept, [rt_id]);
}
