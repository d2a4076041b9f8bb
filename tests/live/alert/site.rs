//! End to end on the real loopback site: a fault (mmp1 stopped) seen by
//! `healthmon run` on two cron-like runs produces exactly one alert per root
//! cause through each channel (webhook, command), and after the repair
//! exactly one recovery notice. Each step is a separate process sharing only
//! the state directory (`healthmon alert process`), like cron runs.

use crate::support::site;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::alert::{Receiver, recorded, recorder_script};

fn suite(dir: &Path, hook: &str, script: &Path) -> PathBuf {
    let st = site::site_state();
    let st = st.display();
    let text = format!(
        r#"
site: alerts
defaults:
  timeout: 20s
  step_timeout: 3s
  sender: healthmon@monitor.example.test
  tls: {{ca_file: {st}/ca/ca.pem}}
hosts:
  mta1: {{roles: [mta], address: 127.0.1.1, endpoints: {{smtp: {{tls: starttls}}}}}}
  mmp1: {{roles: [mmp], address: 127.0.3.1, tls: {{server_name: mmp1.example.test}}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}}}}}
  mmp2: {{roles: [mmp], address: 127.0.3.2, tls: {{server_name: mmp2.example.test}}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}}}}}
  store1: {{roles: [store], address: 127.0.2.1, tls: {{server_name: store1.example.test}}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}, lmtp: {{port: 24}}}}}}
  ldap1: {{roles: [ldap], address: 127.0.4.1, endpoints: {{ldap: {{port: 389}}}}}}
accounts:
  ims1: {{address: ims1@example.test, store: store1, password_file: {st}/secrets/ims1.pass}}
  ims2: {{address: ims2@example.test, store: store1, password_file: {st}/secrets/ims2.pass}}
roundtrip:
  arrival_timeout: 6s
  matrix:
    - submit: [mta1]
      retrieve: [mmp1, mmp2, store]
      protocol: [pop3]
alerting:
  failure_threshold: 2
  success_threshold: 2
  channels:
    hook: {{webhook: {{url: "{hook}/alerts", timeout: 5s}}}}
    script: {{command: {{program: {}, timeout: 10s}}}}
  routes:
    - {{name: ops, channels: [hook, script]}}
"#,
        script.display()
    );
    let p = dir.join("alerts.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// One cron run: probe, then feed the results to the alert state machine.
fn cron_run(suite: &Path, reports: &Path, state: &Path) -> serde_json::Value {
    // `run` alerts by itself (state in <reports>/state); this cron line keeps
    // the two steps apart to exercise `alert process` on a results file.
    let out = Command::new(site::bin())
        .arg("run")
        .arg(suite)
        .arg("--no-alerts")
        .arg("--reports")
        .arg(reports)
        .output()
        .unwrap();
    let last = reports.join("last-run.json");
    assert!(
        last.exists(),
        "no results: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(site::bin())
        .args(["alert", "process", "--results"])
        .arg(&last)
        .arg("--state-dir")
        .arg(state)
        .arg(suite)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&last).unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_on_the_site_alerts_once_per_root_cause_and_recovers() {
    let _g = site::site_exclusive();
    let rx = Receiver::start().await;
    let d = tempfile::tempdir().unwrap();
    let script = recorder_script(d.path());
    let suite = suite(d.path(), &rx.url, &script);
    let reports = d.path().join("reports");
    let state = d.path().join("state");

    // No channel goes through the monitored site.
    let (spec, _) = healthmon::suite::load(&suite).unwrap();
    let v = healthmon::alert::validate(&spec.spec);
    assert!(v.is_empty(), "{v:?}");

    let suite2 = suite.clone();
    let (reports2, state2) = (reports.clone(), state.clone());
    let fault_runs = tokio::task::spawn_blocking(move || {
        site::mailsite(&["stop", "mmp1"]);
        let guard = site::Restart("mmp1");
        let a = cron_run(&suite2, &reports2, &state2);
        let b = cron_run(&suite2, &reports2, &state2);
        drop(guard);
        site::mailsite(&["start", "mmp1"]);
        (a, b)
    })
    .await
    .unwrap();
    let (first, second) = fault_runs;
    assert_eq!(first["fired"], serde_json::json!([]), "{first:#}");
    let fired = second["fired"].as_array().unwrap();
    assert_eq!(
        fired.len(),
        1,
        "one alert for the root cause, not one per path: {second:#}"
    );
    let key = fired[0].as_str().unwrap().to_string();
    assert_eq!(key, "mmp1", "host + component, whatever the protocols");

    let hooks = rx.take();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    let body = hooks[0].json();
    assert_eq!(body["key"], key.as_str());
    assert_eq!(body["state"], "firing");
    assert_eq!(body["verdict"]["host"], "mmp1");
    let cases: Vec<&str> = body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        cases.len() >= 2 && cases.iter().all(|c| c.contains("/mmp1/")),
        "{cases:?}"
    );
    assert_eq!(recorded(d.path()).len(), 1);

    // After the repair: two passing runs, one recovery notice per channel.
    let suite2 = suite.clone();
    let after = tokio::task::spawn_blocking(move || {
        let mut out = vec![];
        for _ in 0..4 {
            let r = cron_run(&suite2, &reports, &state);
            let done = !r["resolved"].as_array().unwrap().is_empty();
            out.push(r);
            if done {
                break;
            }
        }
        out
    })
    .await
    .unwrap();
    let resolved: Vec<&serde_json::Value> = after
        .iter()
        .flat_map(|r| r["resolved"].as_array().unwrap())
        .collect();
    assert_eq!(resolved, [&serde_json::json!(key)], "{after:#?}");
    assert!(
        after
            .iter()
            .all(|r| r["fired"].as_array().unwrap().is_empty()),
        "{after:#?}"
    );
    let hooks = rx.take();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].json()["state"], "resolved");
    let cmd = recorded(d.path());
    assert_eq!(cmd.len(), 2);
    assert_eq!(cmd[1]["state"], "resolved");
}
