//! smtp_relay against a relay on loopback that is not part of the suite (a
//! small SMTP sink in the test), and `validate` refusing a relay that is one
//! of the suite's hosts (by name, by address, by resolution).

use crate::support::alert::*;
use healthmon::alert::{process_at, validate};
use healthmon::suite::Severity;

#[tokio::test]
async fn relay_outside_the_site_delivers_firing_and_resolved_mail() {
    let (port, mails) = smtp_sink().await;
    let d = tempfile::tempdir().unwrap();
    let pw = d.path().join("relay.pass");
    std::fs::write(&pw, "relay-pw-42\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = suite(&format!(
        r#"
alerting:
  failure_threshold: 1
  success_threshold: 1
  channels:
    mail:
      smtp_relay:
        host: 127.0.0.1
        port: {port}
        tls: none
        username: healthmon
        password_file: {}
        from: healthmon@monitor.example.net
        to: [ops@example.net, oncall@example.net]
  routes:
    - {{name: mail, channels: [mail]}}
"#,
        pw.display()
    ));
    // The relay is not a suite host: validate has nothing against its host.
    let v = validate(&s);
    assert!(
        !v.iter()
            .any(|(k, sev, _)| k.ends_with(".host") || *sev == Severity::Error),
        "{v:?}"
    );

    let state = d.path().join("state");
    let r = process_at(t(0), &run(0, true), &s, &state).await;
    assert_eq!(r.delivered, vec!["store1 firing -> mail/mail"], "{r:?}");
    let r = process_at(t(5), &run(5, false), &s, &state).await;
    assert_eq!(r.resolved, vec!["store1"]);
    let got = mails.lock().unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    let m = &got[0];
    assert_eq!(m.from, "MAIL FROM:<healthmon@monitor.example.net>");
    assert_eq!(
        m.rcpt,
        ["RCPT TO:<ops@example.net>", "RCPT TO:<oncall@example.net>"]
    );
    // AUTH PLAIN with the password from the file (base64 of \0user\0pass).
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode("\0healthmon\0relay-pw-42");
    assert_eq!(m.auth, [format!("AUTH PLAIN {b64}")]);
    assert!(
        m.data
            .contains("Subject: [healthmon local] FIRING critical store1"),
        "{}",
        m.data
    );
    assert!(
        m.data
            .contains("verdict: store1: imap: IMAP refused on store1")
    );
    assert!(!m.data.contains("relay-pw-42"));
    assert!(
        got[1]
            .data
            .contains("Subject: [healthmon local] RESOLVED critical store1")
    );
}

fn relay_suite(host: &str, extra: &str) -> healthmon::suite::model::SuiteSpec {
    suite(&format!(
        r#"
alerting:
  channels:
    mail:
      smtp_relay: {{host: "{host}", port: 587, from: a@example.net, to: [b@example.net]{extra}}}
    hook:
      webhook: {{url: "http://127.0.1.1:8080/alerts"}}
  routes:
    - {{name: r, channels: [mail, hook]}}
"#
    ))
}

fn errors_at(s: &healthmon::suite::model::SuiteSpec, key: &str) -> Vec<(Severity, String)> {
    validate(s)
        .into_iter()
        .filter(|(k, _, _)| k == key)
        .map(|(_, s, m)| (s, m))
        .collect()
}

#[test]
fn validate_refuses_a_relay_that_is_a_suite_host() {
    let key = "alerting.channels.mail.smtp_relay.host";
    // By name.
    let e = errors_at(&relay_suite("store1", ""), key);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, Severity::Error);
    assert!(e[0].1.contains("suite host store1"), "{e:?}");
    // By address.
    let e = errors_at(&relay_suite("127.0.1.1", ""), key);
    assert_eq!(e[0].0, Severity::Error);
    assert!(e[0].1.contains("has the address suite host mta1"), "{e:?}");
    // By resolution: localhost resolves to 127.0.0.1, a suite host's address
    // here. Only the DNS half (validate, daemon start) sees it; loading a
    // suite does no DNS.
    let mut s = relay_suite("localhost", "");
    s.hosts.get_mut("mmp1").unwrap().address = "127.0.0.1".into();
    assert_eq!(errors_at(&s, key), [], "loading resolved a name");
    let e: Vec<_> = healthmon::suite::alerting::validate::validate_resolved(&s)
        .into_iter()
        .filter(|(k, _, _)| k == key)
        .map(|(_, s, m)| (s, m))
        .collect();
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, Severity::Error);
    assert!(e[0].1.contains("resolves to 127.0.0.1"), "{e:?}");
    // Explicit override: a warning, not an error.
    let e = errors_at(&relay_suite("store1", ", allow_site_relay: true"), key);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].0, Severity::Warning);
    // Any other channel pointing at a suite host: a warning.
    let e = errors_at(
        &relay_suite("relay.example.invalid", ""),
        "alerting.channels.hook.webhook.url",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, Severity::Warning);
    assert!(e[0].1.contains("depends on the monitored site"));
}

#[test]
fn validate_reports_unknown_channels_and_bad_values() {
    let s = suite(
        r#"
alerting:
  channels:
    hook: {webhook: {url: "ftp://example.net/x"}}
  routes:
    - {name: a, channels: [hook, nope], fallback: [gone], match: {severity: [fatal], hosts: [mta9]}}
    - {name: a, channels: [hook]}
  heartbeat: {channels: [missing]}
"#,
    );
    let v = validate(&s);
    let has = |k: &str, sev: Severity, m: &str| {
        v.iter()
            .any(|(kk, s, mm)| kk == k && *s == sev && mm.contains(m))
    };
    assert!(
        has(
            "alerting.channels.hook.webhook.url",
            Severity::Error,
            "scheme ftp"
        ),
        "{v:?}"
    );
    assert!(
        has(
            "alerting.routes[0].channels[1]",
            Severity::Error,
            "unknown channel nope (declared: hook)"
        ),
        "{v:?}"
    );
    assert!(
        has(
            "alerting.routes[0].fallback[0]",
            Severity::Error,
            "unknown channel gone"
        ),
        "{v:?}"
    );
    assert!(
        has(
            "alerting.routes[0].match.severity[0]",
            Severity::Error,
            "unknown severity fatal"
        ),
        "{v:?}"
    );
    assert!(
        has(
            "alerting.routes[0].match.hosts[0]",
            Severity::Warning,
            "no host mta9"
        ),
        "{v:?}"
    );
    assert!(
        has(
            "alerting.routes[1].name",
            Severity::Error,
            "duplicate route name a"
        ),
        "{v:?}"
    );
    assert!(
        has(
            "alerting.heartbeat.channels[0]",
            Severity::Error,
            "unknown channel missing"
        ),
        "{v:?}"
    );
}

#[test]
fn example_alarms_file_validates_in_a_suite() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let d = tempfile::tempdir().unwrap();
    let suite = d.path().join("s.yaml");
    std::fs::write(
        &suite,
        format!(
            "{HOSTS}include:\n  - {}\n",
            root.join("etc/alarms.yaml").display()
        ),
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_healthmon"))
        .args(["validate", suite.to_str().unwrap()])
        .env_remove("HEALTHMON_RELAY_PASSWORD")
        .output()
        .unwrap();
    let err = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("password_env: environment variable HEALTHMON_RELAY_PASSWORD is not set"),
        "{err}"
    );
}
