//! Alert state machine through real channels: a local webhook receiver and a
//! command script capture exact payloads; each `process_at` call is a fresh
//! call with only the state directory in common (a cron run after a restart).

use crate::support::alert::*;
use healthmon::alert::{process_at, spool};

fn alerting(webhook: &str, program: &std::path::Path, extra: &str) -> String {
    format!(
        r#"
alerting:
  failure_threshold: 2
  success_threshold: 2
  reminder_interval: 1h
  channels:
    hook:
      webhook:
        url: {webhook}/hook
        headers_env: {{X-Token: HM_TEST_WEBHOOK_TOKEN}}
        timeout: 3s
    script:
      command:
        program: {}
        timeout: 5s
{extra}
  routes:
    - name: all
      channels: [hook, script]
"#,
        program.display()
    )
}

#[tokio::test]
async fn one_alert_per_verdict_survives_restart_reminds_and_resolves() {
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("HM_TEST_WEBHOOK_TOKEN", "s3cr3t-token-value") };
    let rx = Receiver::start().await;
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("state");
    let script = recorder_script(d.path());
    let s = suite(&alerting(&rx.url, &script, ""));

    // Run 1: failing, below the threshold: nothing sent.
    let r = process_at(t(0), &run(0, true), &s, &state).await;
    assert!(r.fired.is_empty() && r.delivered.is_empty(), "{r:?}");
    assert!(rx.take().is_empty());

    // Run 2 (a new process, same state dir): fires once, for the verdict.
    let r = process_at(t(5), &run(5, true), &s, &state).await;
    assert_eq!(r.fired, vec!["store1"], "{r:?}");
    assert!(
        r.failed.is_empty() && r.spooled.is_empty() && r.errors.is_empty(),
        "{r:?}"
    );
    let reqs = rx.take();
    assert_eq!(reqs.len(), 1, "exactly one webhook call: {reqs:?}");
    let q = &reqs[0];
    assert_eq!((q.method.as_str(), q.path.as_str()), ("POST", "/hook"));
    assert_eq!(
        q.headers.get("x-token").map(String::as_str),
        Some("s3cr3t-token-value")
    );
    assert_eq!(
        q.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let body = q.json();
    let expected = serde_json::json!({
        "version": 1,
        "kind": "alert",
        "run_id": "run-5",
        "site": "local",
        "suite": "local",
        "key": "store1",
        "state": "firing",
        "severity": "critical",
        "host": "store1",
        "verdict": {
            "host": "store1", "protocol": "imap", "reason": "IMAP refused on store1",
            "evidence": ["store1:143 connection refused"], "confidence": "isolated",
            "cases": ["rndtrip/ims1/mta1/mmp1/imap", "rndtrip/ims2/mta1/mmp1/imap"]
        },
        "cases": [
            {"id": "rndtrip/ims1/mta1/mmp1/imap", "status": "critical", "message": "retrieve: connection refused (refused)", "duration_ms": 1234.0},
            {"id": "rndtrip/ims2/mta1/mmp1/imap", "status": "critical", "message": "retrieve: connection refused (refused)", "duration_ms": 1234.0}
        ],
        "message": "store1: imap: IMAP refused on store1 — store1:143 connection refused (2 cases)",
        "timings": {"connect": 12.0, "delivery": 800.0, "total": 1234.0},
        "started_at": t(0).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "at": t(5).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "consecutive_failures": 2
    });
    assert_eq!(body, expected);
    // The command got the same JSON on stdin and the HEALTHMON_* variables.
    assert_eq!(recorded(d.path()), vec![expected.clone()]);
    let env = std::fs::read_to_string(d.path().join("env.log")).unwrap();
    for l in [
        "HEALTHMON_KEY=store1",
        "HEALTHMON_STATE=firing",
        "HEALTHMON_SEVERITY=critical",
        "HEALTHMON_SITE=local",
        "HEALTHMON_RUN_ID=run-5",
    ] {
        assert!(env.lines().any(|x| x == l), "{l} missing in {env}");
    }

    // Runs 3..: still failing within the reminder interval: no duplicate.
    for m in [10, 15, 60] {
        let r = process_at(t(m), &run(m, true), &s, &state).await;
        assert!(
            r.fired.is_empty() && r.reminded.is_empty(),
            "minute {m}: {r:?}"
        );
    }
    assert!(rx.take().is_empty());
    // One hour after the first notice: a reminder, once.
    let r = process_at(t(65), &run(65, true), &s, &state).await;
    assert_eq!(r.reminded, vec!["store1"]);
    let reqs = rx.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].json()["state"], "reminder");
    assert_eq!(reqs[0].json()["started_at"], expected["started_at"]);

    // Recovery: two passing runs, one resolved notice.
    let r = process_at(t(70), &run(70, false), &s, &state).await;
    assert!(r.resolved.is_empty());
    let r = process_at(t(75), &run(75, false), &s, &state).await;
    assert_eq!(r.resolved, vec!["store1"]);
    let reqs = rx.take();
    assert_eq!(reqs.len(), 1);
    let b = reqs[0].json();
    assert_eq!(b["state"], "resolved");
    assert_eq!(b["cases"][0]["status"], "pass");
    let r = process_at(t(80), &run(80, false), &s, &state).await;
    assert_eq!(r, healthmon::alert::AlertReport::default());
    assert_eq!(
        recorded(d.path()).len(),
        3,
        "firing, reminder, resolved via the command too"
    );

    // The secret never reaches the state file, the spool or the payloads.
    let st = std::fs::read_to_string(state.join("alert-state.json")).unwrap();
    assert!(!st.contains("s3cr3t"));
    assert!(
        !std::fs::read_to_string(d.path().join("stdin.log"))
            .unwrap()
            .contains("s3cr3t")
    );
}

#[tokio::test]
async fn failing_channel_uses_fallback_then_spool_then_retries_in_order() {
    let rx = Receiver::start().await;
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("state");
    let script = recorder_script(d.path());
    // Primary webhook; the command is the fallback.
    let yaml = format!(
        r#"
alerting:
  failure_threshold: 1
  success_threshold: 1
  spool_max_age: 2h
  channels:
    hook: {{webhook: {{url: "{}/hook", timeout: 3s}}}}
    script: {{command: {{program: {}, timeout: 5s}}}}
  routes:
    - name: main
      channels: [hook]
      fallback: [script]
"#,
        rx.url,
        script.display()
    );
    let s = suite(&yaml);

    // Webhook answers 500: the fallback delivers, nothing is spooled.
    rx.set_status(500);
    let r = process_at(t(0), &run(0, true), &s, &state).await;
    assert_eq!(r.fired, vec!["store1"]);
    assert_eq!(
        r.delivered,
        vec!["store1 firing -> main/script (fallback for hook)"]
    );
    assert!(
        r.failed
            .iter()
            .any(|f| f.contains("hook (webhook)") && f.contains("HTTP 500")),
        "{r:?}"
    );
    assert!(r.spooled.is_empty());
    assert_eq!(rx.take().len(), 1);
    assert_eq!(recorded(d.path()).len(), 1);

    // Both fail (script exits 3): the resolve notice is spooled.
    std::fs::write(d.path().join("exit"), "3").unwrap();
    let r = process_at(t(5), &run(5, false), &s, &state).await;
    assert_eq!(r.resolved, vec!["store1"]);
    assert_eq!(r.spooled.len(), 1, "{r:?}");
    assert!(
        r.failed.iter().any(|f| f.contains("exit status 3")),
        "{r:?}"
    );
    assert_eq!(spool::list(&state).len(), 1);
    rx.take();

    // Next run (new failure fires again) while the webhook is still down:
    // the spooled item stays first, the new one queues behind it.
    let r = process_at(t(10), &run(10, true), &s, &state).await;
    assert_eq!(r.fired, vec!["store1"]);
    let items: Vec<_> = spool::list(&state)
        .iter()
        .map(|p| spool::read(p).unwrap())
        .collect();
    assert_eq!(
        items
            .iter()
            .map(|i| i.notice.state.as_str())
            .collect::<Vec<_>>(),
        ["resolved", "firing"]
    );
    assert_eq!(items[0].attempts, 2);
    // The dead webhook was tried once in that run, not once per notice.
    assert_eq!(rx.take().len(), 1);

    // Webhook back: the spool drains in order, before anything new.
    rx.set_status(200);
    let r = process_at(t(15), &run(15, true), &s, &state).await;
    assert_eq!(r.retried.len(), 2, "{r:?}");
    assert!(spool::list(&state).is_empty());
    let states: Vec<String> = rx
        .take()
        .iter()
        .map(|q| q.json()["state"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(states, ["resolved", "firing"]);

    // An item older than spool_max_age is set aside and reported, not retried.
    rx.set_status(500);
    let r = process_at(t(20), &run(20, false), &s, &state).await;
    assert_eq!(spool::list(&state).len(), 1, "{r:?}");
    rx.take();
    rx.set_status(200);
    let r = process_at(t(20 + 150), &run(170, false), &s, &state).await;
    assert_eq!(r.expired.len(), 1, "{r:?}");
    assert!(rx.take().is_empty());
    let expired: Vec<_> = std::fs::read_dir(state.join("spool/expired"))
        .unwrap()
        .collect();
    assert_eq!(expired.len(), 1);
}

#[tokio::test]
async fn heartbeat_pings_every_run_and_routes_filter_by_severity_and_role() {
    let rx = Receiver::start().await;
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("state");
    let yaml = format!(
        r#"
alerting:
  failure_threshold: 1
  channels:
    hb: {{webhook: {{url: "{u}/ping", method: GET}}}}
    stores: {{webhook: {{url: "{u}/stores"}}}}
    mtas: {{webhook: {{url: "{u}/mtas"}}}}
    warn: {{webhook: {{url: "{u}/warn"}}}}
  routes:
    - {{name: stores, match: {{roles: [store], severity: [critical]}}, channels: [stores]}}
    - {{name: mtas, match: {{hosts: [mta1]}}, channels: [mtas]}}
    - {{name: warnings, match: {{severity: [warning]}}, channels: [warn]}}
  heartbeat:
    channels: [hb]
"#,
        u = rx.url
    );
    let s = suite(&yaml);
    let r = process_at(t(0), &run(0, false), &s, &state).await;
    assert_eq!(r.heartbeat, vec!["hb"]);
    let reqs = rx.take();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        (
            reqs[0].method.as_str(),
            reqs[0].path.as_str(),
            reqs[0].body.len()
        ),
        ("GET", "/ping", 0)
    );
    let r = process_at(t(5), &run(5, true), &s, &state).await;
    assert_eq!(r.fired, vec!["store1"]);
    let mut paths: Vec<String> = rx.take().into_iter().map(|q| q.path).collect();
    paths.sort();
    assert_eq!(paths, ["/ping", "/stores"]);
}

#[tokio::test]
async fn corrupt_state_is_set_aside_not_fatal() {
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("alert-state.json"), b"{not json").unwrap();
    let s = suite("");
    let r = process_at(t(0), &run(0, true), &s, &state).await;
    assert_eq!(r.errors.len(), 1, "{r:?}");
    assert!(r.errors[0].contains("not valid"));
    let aside = std::fs::read_dir(&state)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("alert-state.corrupt-")
        })
        .count();
    assert_eq!(aside, 1);
    // The new state file is valid and has the key pending.
    let st: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("alert-state.json")).unwrap()).unwrap();
    assert_eq!(st["sites"]["local"]["store1"]["status"], "pending");
}

#[tokio::test]
async fn unusable_state_dir_is_reported_not_a_panic() {
    let d = tempfile::tempdir().unwrap();
    let not_a_dir = d.path().join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    let s = suite("");
    let r = healthmon::alert::process(&run(0, true), &s, &not_a_dir, None).await;
    assert_eq!(r.errors.len(), 1, "{r:?}");
    assert!(r.fired.is_empty() && r.delivered.is_empty());
}
