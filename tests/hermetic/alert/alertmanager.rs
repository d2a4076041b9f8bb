//! Against a real Alertmanager (Debian prometheus-alertmanager) on loopback:
//! the alert fires after the threshold with the documented labels, is kept
//! active by refreshes, and resolves after recovery. A second listed URL (a
//! recording receiver) gets the same POST: every replica is posted to.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::alert::*;
use crate::support::modes::free_port;
use chrono::Utc;
use healthmon::alert::process_at;

struct Am {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Am {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_am() -> Am {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("am.yml");
    std::fs::write(
        &cfg,
        "route:\n  receiver: blackhole\n  group_wait: 1s\nreceivers:\n  - name: blackhole\n",
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus-alertmanager")
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.path={}", dir.path().display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "prometheus-alertmanager must be installed (apt-get install prometheus-alertmanager)",
        );
    let am = Am {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{}/-/ready", am.url)).await
            && r.status().is_success()
        {
            return am;
        }
        assert!(
            Instant::now() < deadline,
            "alertmanager did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn alerts(am: &Am) -> Vec<serde_json::Value> {
    reqwest::get(format!("{}/api/v2/alerts", am.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn fires_after_threshold_with_stable_labels_and_resolves() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let am = start_am().await;
    let rx = Receiver::start().await;
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("state");
    let s = suite(&format!(
        r#"
alerting:
  failure_threshold: 2
  success_threshold: 2
  channels:
    am: {{alertmanager: {{urls: ["{}", "{}"], ends_after: 30m}}}}
  routes:
    - {{name: oncall, channels: [am]}}
"#,
        am.url, rx.url
    ));

    let r = process_at(Utc::now(), &run(0, true), &s, &state).await;
    assert!(r.fired.is_empty());
    assert!(alerts(&am).await.is_empty(), "nothing before the threshold");

    let r = process_at(Utc::now(), &run(5, true), &s, &state).await;
    assert_eq!(r.fired, vec!["store1"], "{r:?}");
    assert!(r.failed.is_empty(), "{r:?}");
    let list = alerts(&am).await;
    assert_eq!(list.len(), 1, "{list:#?}");
    let a = &list[0];
    assert_eq!(
        a["labels"],
        serde_json::json!({"alertname": "HealthmonFault", "site": "local", "component": "store1", "severity": "critical"})
    );
    assert!(
        a["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("IMAP refused on store1")
    );
    assert!(
        a["annotations"]["description"]
            .as_str()
            .unwrap()
            .contains("store1:143 connection refused")
    );
    assert_ne!(a["status"]["state"], "resolved");
    let ends = chrono::DateTime::parse_from_rfc3339(a["endsAt"].as_str().unwrap()).unwrap();
    assert!(
        ends > Utc::now() + chrono::Duration::minutes(25),
        "endsAt {ends}"
    );
    // The other listed URL got the same array.
    let posts = rx.take();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, "/api/v2/alerts");
    assert_eq!(posts[0].json()[0]["labels"]["component"], "store1");

    // Still failing, no new notice: refreshed (same labels, no duplicate).
    let r = process_at(Utc::now(), &run(10, true), &s, &state).await;
    assert!(r.fired.is_empty() && r.failed.is_empty(), "{r:?}");
    assert_eq!(rx.take().len(), 1, "refresh posted");
    assert_eq!(alerts(&am).await.len(), 1);

    // Recovery after two passing runs: endsAt = now, gone from the active list.
    process_at(Utc::now(), &run(15, false), &s, &state).await;
    assert_eq!(alerts(&am).await.len(), 1, "one pass does not resolve");
    assert_eq!(rx.take().len(), 1, "still firing: refreshed");
    let r = process_at(Utc::now(), &run(20, false), &s, &state).await;
    assert_eq!(r.resolved, vec!["store1"]);
    let resolved = rx.take();
    assert_eq!(resolved.len(), 1);
    let ends =
        chrono::DateTime::parse_from_rfc3339(resolved[0].json()[0]["endsAt"].as_str().unwrap())
            .unwrap();
    assert!(ends <= Utc::now());
    tokio::time::sleep(Duration::from_millis(50)).await;
    let list = alerts(&am).await;
    assert!(
        list.iter().all(|a| a["status"]["state"] == "resolved"
            || chrono::DateTime::parse_from_rfc3339(a["endsAt"].as_str().unwrap()).unwrap()
                <= Utc::now()),
        "still active after resolve: {list:#?}"
    );
    assert!(
        list.is_empty(),
        "Alertmanager lists only unresolved alerts: {list:#?}"
    );
}
