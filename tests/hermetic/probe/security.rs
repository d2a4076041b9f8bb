//! Issue 16, item 2: a must-refuse probe passes only on the refusal that
//! proves the point. Fake relays that hide behind temporary errors, refuse
//! the sender, or refuse only unroutable domains must not pass.

use std::sync::Arc;

use crate::support::fakes::{FakeServer, Peer};
use healthmon::judge::judge_security;
use healthmon::probe::security;
use healthmon::result::SecurityOutcome;
use healthmon::result::{Observation, Status};
use healthmon::suite::model::{SecuritySpec, SuiteSpec};

/// How the fake answers MAIL and RCPT: a function of the argument.
type Answer = Arc<dyn Fn(&str, &str) -> String + Send + Sync>;

async fn relay(answer: Answer) -> FakeServer {
    FakeServer::start(move |p| serve(answer.clone(), p)).await
}

async fn serve(answer: Answer, mut p: Peer) {
    if !p.say("220 relay.example.test ESMTP").await {
        return;
    }
    while let Some(line) = p.line().await {
        let up = line.to_ascii_uppercase();
        let reply = if up.starts_with("EHLO") || up.starts_with("HELO") {
            "250-relay.example.test\r\n250-AUTH PLAIN\r\n250 8BITMIME".to_string()
        } else if up.starts_with("MAIL") {
            answer("MAIL", &line)
        } else if up.starts_with("RCPT") {
            answer("RCPT", &line)
        } else if up.starts_with("RSET") {
            "250 2.0.0 Ok".into()
        } else if up.starts_with("QUIT") {
            let _ = p.say("221 2.0.0 Bye").await;
            return;
        } else {
            "502 5.5.2 Error".into()
        };
        if !p.say(&reply).await {
            return;
        }
    }
}

fn suite(port: u16, yaml_security: &str) -> SuiteSpec {
    let text = format!(
        r#"
site: t
hosts:
  mta1:
    roles: [mta]
    address: 127.0.0.1
    endpoints:
      smtp: {{port: {port}}}
      submission: {{port: {port}}}
accounts:
  a1: {{address: a1@example.test, store: mta1, password_env: HM_UNUSED}}
security:
  - {yaml_security}
"#
    );
    serde_yaml::with::singleton_map_recursive::deserialize(serde_yaml::Deserializer::from_str(
        &text,
    ))
    .unwrap_or_else(|e| panic!("bad test suite: {e}\n{text}"))
}

async fn verdict(answer: Answer, security: &str) -> (Status, String) {
    let fake = relay(answer).await;
    let s = suite(fake.addr.port(), security);
    let spec: &SecuritySpec = &s.security[0];
    let mut obs = Observation::default();
    let r = security::run(spec, &s, &mut obs).await;
    let outcome: Option<SecurityOutcome> = match r {
        Ok(o) => Some(o),
        Err(e) => {
            obs.error = Some(e);
            None
        }
    };
    judge_security(&obs, outcome.as_ref())
}

fn fixed(mail: &'static str, rcpt: &'static str) -> Answer {
    Arc::new(move |verb, _| if verb == "MAIL" { mail } else { rcpt }.to_string())
}

#[tokio::test]
async fn open_relay_hidden_behind_a_temporary_error_for_unroutable_domains_fails() {
    // 450 for an unroutable (.invalid) domain, 250 for anything real.
    let sneaky: Answer = Arc::new(|verb, line| {
        if verb == "RCPT" && line.to_ascii_lowercase().contains(".invalid") {
            "450 4.1.2 <x@y.invalid>: Recipient address rejected: Domain not found".into()
        } else {
            "250 2.1.5 Ok".into()
        }
    });
    let (st, msg) = verdict(sneaky, "open_relay: {host: mta1}").await;
    assert_eq!(st, Status::Critical, "{msg}");
    assert!(msg.contains("open relay"), "{msg}");
}

#[tokio::test]
async fn open_relay_refusals_that_prove_nothing_are_errors_not_passes() {
    for (name, mail, rcpt, phase) in [
        (
            "4xx at RCPT",
            "250 2.1.0 Ok",
            "450 4.1.2 Domain not found",
            "rcpt",
        ),
        (
            "greylisting",
            "250 2.1.0 Ok",
            "451 4.7.1 Try again later",
            "rcpt",
        ),
        (
            "sender refused",
            "553 5.1.8 Sender address rejected: Domain not found",
            "250 Ok",
            "mail",
        ),
        (
            "4xx at MAIL",
            "421 4.3.2 Service shutting down",
            "250 Ok",
            "mail",
        ),
    ] {
        let (st, msg) = verdict(
            fixed(mail, rcpt),
            "open_relay: {host: mta1, to: relay-test@example.com}",
        )
        .await;
        assert_eq!(st, Status::Error, "{name}: {msg}");
        assert!(
            msg.starts_with(&format!("{phase}: inconclusive")),
            "{name}: {msg}"
        );
        assert!(
            msg.contains(&mail[..3]) || msg.contains(&rcpt[..3]),
            "{name}: the reply is shown: {msg}"
        );
    }
}

#[tokio::test]
async fn open_relay_passes_only_on_a_permanent_refusal_at_rcpt() {
    let (st, msg) = verdict(
        fixed(
            "250 2.1.0 Ok",
            "554 5.7.1 <relay-test@example.com>: Relay access denied",
        ),
        "open_relay: {host: mta1}",
    )
    .await;
    assert_eq!(st, Status::Pass, "{msg}");
}

#[tokio::test]
async fn the_default_relay_recipient_is_a_routable_domain() {
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let s2 = seen.clone();
    let rec: Answer = Arc::new(move |verb, line| {
        if verb == "RCPT" {
            *s2.lock().unwrap() = line.to_string();
            "554 5.7.1 Relay access denied".into()
        } else {
            "250 Ok".into()
        }
    });
    let (st, _) = verdict(rec, "open_relay: {host: mta1}").await;
    assert_eq!(st, Status::Pass);
    let to = seen.lock().unwrap().clone();
    assert!(to.contains("@example.com>"), "{to}");
    assert!(!to.contains(".invalid"), "{to}");
}

#[tokio::test]
async fn submission_without_auth_needs_an_auth_refusal() {
    for (name, mail, rcpt, want) in [
        (
            "530 at MAIL",
            "530 5.7.0 Authentication required",
            "250 Ok",
            Status::Pass,
        ),
        (
            "5.7.1 at MAIL",
            "550 5.7.1 Authentication required",
            "250 Ok",
            Status::Pass,
        ),
        (
            "5xx at RCPT",
            "250 Ok",
            "554 5.7.1 Client host rejected: Access denied",
            Status::Pass,
        ),
        (
            "sender unknown",
            "553 5.1.8 Sender domain not found",
            "250 Ok",
            Status::Error,
        ),
        ("temporary", "250 Ok", "450 4.7.1 Try later", Status::Error),
        ("accepted", "250 Ok", "250 2.1.5 Ok", Status::Critical),
    ] {
        let (st, msg) = verdict(fixed(mail, rcpt), "submission_without_auth: {host: mta1}").await;
        assert_eq!(st, want, "{name}: {msg}");
    }
}
