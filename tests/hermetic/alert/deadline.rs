//! Issue 16, items 1 and 3: no alert channel can hold a run (a relay that
//! accepts and never greets, a receiver that stalls), what is not delivered
//! is spooled, and a webhook URL's path or query (where Slack-style services
//! keep their token) never appears in a report, a spool file or stderr.

use std::time::{Duration, Instant};

use crate::support::alert::*;
use healthmon::alert::process_at;

/// A TCP server that accepts and then says nothing, holding every
/// connection open (the stalling relay of the issue).
async fn silent_server() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    port
}

fn spool_text(state: &std::path::Path) -> String {
    let mut out = String::new();
    let Ok(rd) = std::fs::read_dir(state.join("spool")) else {
        return out;
    };
    for e in rd.flatten() {
        if e.path().is_file() {
            out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_never_greets_is_cut_at_the_channel_timeout_and_spooled() {
    for tls in ["none", "starttls", "implicit"] {
        let port = silent_server().await;
        let d = tempfile::tempdir().unwrap();
        let s = suite(&format!(
            r#"
alerting:
  failure_threshold: 1
  channels:
    mail:
      smtp_relay: {{host: 127.0.0.1, port: {port}, tls: {tls}, from: a@example.net, to: [b@example.net], timeout: 1s}}
  routes:
    - {{name: mail, channels: [mail]}}
"#
        ));
        let state = d.path().join("state");
        let t0 = Instant::now();
        let r = tokio::time::timeout(
            Duration::from_secs(20),
            process_at(t(0), &run(0, true), &s, &state),
        )
        .await
        .unwrap_or_else(|_| panic!("tls {tls}: the alert step hung"));
        let took = t0.elapsed();
        assert!(took < Duration::from_secs(5), "tls {tls}: took {took:?}");
        assert!(r.delivered.is_empty(), "{r:?}");
        assert_eq!(r.spooled.len(), 1, "tls {tls}: {r:?}");
        assert!(
            r.failed.iter().any(|f| f.contains("within 1s")),
            "tls {tls}: {r:?}"
        );
        assert!(
            spool_text(&state).contains("\"key\": \"store1\""),
            "tls {tls}"
        );
        // The state was saved: the next run knows the alert fired.
        assert!(state.join("alert-state.json").exists(), "tls {tls}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_alert_step_stops_at_its_deadline_and_spools_the_rest() {
    let a = silent_server().await;
    let b = silent_server().await;
    let c = silent_server().await;
    let d = tempfile::tempdir().unwrap();
    // Three stalling channels of 5s each (15s in sequence); the step's
    // deadline is 2s.
    let s = suite(&format!(
        r#"
alerting:
  failure_threshold: 1
  deadline: 2s
  channels:
    a: {{smtp_relay: {{host: 127.0.0.1, port: {a}, tls: none, from: a@example.net, to: [b@example.net], timeout: 5s}}}}
    b: {{webhook: {{url: "http://127.0.0.1:{b}/x", timeout: 5s}}}}
    c: {{alertmanager: {{urls: ["http://127.0.0.1:{c}"], timeout: 5s}}}}
  routes:
    - {{name: all, channels: [a, b, c]}}
"#
    ));
    let state = d.path().join("state");
    let t0 = Instant::now();
    let r = process_at(t(0), &run(0, true), &s, &state).await;
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(4), "took {took:?}: {r:?}");
    assert_eq!(r.spooled.len(), 3, "{r:?}");
    assert!(
        r.failed.iter().any(|f| f.contains("deadline")),
        "a channel after the deadline is not tried: {r:?}"
    );
}

const SECRET_PATH: &str = "services/T0ABC/B0DEF/SECRETPART";
const SECRET_QUERY: &str = "token=QUERYSECRET";

fn assert_no_url_secret(what: &str, text: &str) {
    for s in ["SECRETPART", "QUERYSECRET", "T0ABC", "B0DEF"] {
        assert!(!text.contains(s), "{what} leaks {s}: {text}");
    }
}

#[tokio::test]
async fn a_failing_webhook_names_only_scheme_host_and_port() {
    let recv = Receiver::start().await;
    recv.set_status(500);
    let d = tempfile::tempdir().unwrap();
    let url_file = d.path().join("hook.url");
    std::fs::write(
        &url_file,
        format!("{}/{SECRET_PATH}?{SECRET_QUERY}\n", recv.url),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("HM_TEST_HOOK_URL", format!("{}/{SECRET_PATH}", recv.url)) };
    for (n, key) in [
        (
            "inline",
            format!("url: \"{}/{SECRET_PATH}?{SECRET_QUERY}\"", recv.url),
        ),
        ("env", "url_env: HM_TEST_HOOK_URL".to_string()),
        ("file", format!("url_file: {}", url_file.display())),
    ] {
        let s = suite(&format!(
            r#"
alerting:
  failure_threshold: 1
  channels:
    hook: {{webhook: {{{key}, timeout: 2s}}}}
  routes:
    - {{name: hook, channels: [hook]}}
"#
        ));
        let state = d.path().join(format!("state-{n}"));
        let r = process_at(t(0), &run(0, true), &s, &state).await;
        assert_eq!(r.spooled.len(), 1, "{n}: {r:?}");
        let failed = r.failed.join("\n");
        assert!(failed.contains("HTTP 500"), "{n}: {failed}");
        assert!(
            failed.contains(&recv.url.replace("http://", "http://").to_string()),
            "{n}: the host is still named: {failed}"
        );
        assert_no_url_secret(n, &failed);
        assert_no_url_secret(n, &spool_text(&state));
        assert_no_url_secret(n, &format!("{r:?}"));
        // It did reach the right path.
        let got = recv.take();
        assert_eq!(got.len(), 1, "{n}");
        assert!(got[0].path.starts_with(&format!("/{SECRET_PATH}")), "{n}");
    }
}

#[test]
fn validate_accepts_url_references_and_never_prints_the_url() {
    let s = suite(&format!(
        r#"
alerting:
  channels:
    a: {{webhook: {{url: "ftp://hooks.example/{SECRET_PATH}"}}}}
    b: {{webhook: {{url_env: HM_UNSET_HOOK_URL_FOR_TEST}}}}
    c: {{webhook: {{url: "https://hooks.example/{SECRET_PATH}", url_env: X}}}}
    d: {{webhook: {{url: "not a url/{SECRET_PATH}"}}}}
  routes:
    - {{name: r, channels: [a, b, c, d]}}
"#
    ));
    let v = healthmon::alert::validate(&s);
    let text = format!("{v:?}");
    assert_no_url_secret("validate", &text);
    let has = |k: &str, m: &str| v.iter().any(|(p, _, msg)| p.contains(k) && msg.contains(m));
    assert!(has("channels.a", "scheme ftp"), "{text}");
    assert!(
        has("channels.b", "HM_UNSET_HOOK_URL_FOR_TEST is not set"),
        "{text}"
    );
    assert!(
        has("channels.c", "exactly one of url, url_env, url_file"),
        "{text}"
    );
    assert!(has("channels.d", "invalid URL"), "{text}");
}

#[test]
fn alert_test_on_the_command_line_hides_the_url_at_trace() {
    // A receiver that is down: connection refused, the error printed on stderr.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let d = tempfile::tempdir().unwrap();
    let suite_file = d.path().join("s.yaml");
    std::fs::write(
        &suite_file,
        format!(
            r#"site: t
hosts:
  mta1: {{roles: [mta], address: 127.0.0.1, endpoints: {{smtp: {{port: 25}}}}}}
alerting:
  channels:
    hook: {{webhook: {{url: "http://127.0.0.1:{port}/{SECRET_PATH}?{SECRET_QUERY}", timeout: 2s}}}}
  routes:
    - {{name: hook, channels: [hook]}}
"#
        ),
    )
    .unwrap();
    for v in ["-q", "-v", "-vv"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_healthmon"))
            .args(["alert", v, "test", "hook"])
            .arg(&suite_file)
            .arg("--state-dir")
            .arg(d.path().join("state"))
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(all.contains(&format!("127.0.0.1:{port}")), "{v}: {all}");
        assert_no_url_secret(v, &all);
        assert_no_url_secret(v, &spool_text(&d.path().join("state")));
    }
}
