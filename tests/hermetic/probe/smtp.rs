//! SMTP client behaviour on the wire, against the scriptable fake: what it
//! sends (dot-stuffed DATA, SASL exchanges, LHLO, RSET instead of DATA) and
//! what it records (phases, queue id, redacted transcript).

use crate::support::fakes;

use std::time::Duration;

use crate::support::fakes::smtp::Script;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use healthmon::probe::smtp::{self, SubmitRequest};
use healthmon::result::{ErrorKind, Observation};
use healthmon::secret::Secret;
use healthmon::suite::model::{AuthMech, Proto, TlsMode};
use healthmon::suite::resolve::Endpoint;

const STEP: Duration = Duration::from_secs(3);
const PASSWORD: &str = "Fake-Pa55word!";

fn req<'a>(
    ep: &'a Endpoint,
    message: &'a [u8],
    auth: Option<(&'a str, &'a Secret)>,
) -> SubmitRequest<'a> {
    SubmitRequest {
        ep,
        helo: "probe.example.test",
        from: "hm@healthmon.invalid",
        to: "ims1@example.test",
        message,
        auth,
        step_timeout: STEP,
    }
}

/// No form of the password in anything the probe produced.
fn assert_no_secret(obs: &Observation, extra: &str) {
    let plain_b64 = B64.encode(format!("\0ims1\0{PASSWORD}"));
    let pw_b64 = B64.encode(PASSWORD);
    let all = format!("{obs:?}{extra}");
    for needle in [PASSWORD, plain_b64.as_str(), pw_b64.as_str()] {
        assert!(!all.contains(needle), "secret form {needle:?} leaked");
    }
}

#[tokio::test]
async fn submit_times_every_phase_and_parses_the_queue_id() {
    let f = Script::default().start().await;
    let ep = f.endpoint(Proto::Smtp, TlsMode::None);
    let mut obs = Observation::default();
    let out = smtp::submit(&req(&ep, b"Subject: t\r\n\r\nhello\r\n", None), &mut obs)
        .await
        .unwrap();
    assert_eq!(out.queue_id.as_deref(), Some("4FakeQ1d"));
    assert_eq!(obs.facts["queue_id"], "4FakeQ1d");
    assert_eq!(obs.facts["banner"], "fake.example.test ESMTP");
    let phases: Vec<&str> = obs.phases.iter().map(|p| p.phase.as_str()).collect();
    assert_eq!(
        phases,
        [
            "connect", "greeting", "ehlo", "mail", "rcpt", "data", "quit"
        ]
    );
    assert!(obs.phases.iter().all(|p| p.ms >= 0.0 && p.ms < 3000.0));
    assert_eq!(
        f.rec.lines(),
        [
            "EHLO probe.example.test",
            "MAIL FROM:<hm@healthmon.invalid>",
            "RCPT TO:<ims1@example.test>",
            "DATA",
            "QUIT"
        ]
    );
}

#[tokio::test]
async fn data_body_is_dot_stuffed_on_the_wire() {
    let script = Script::default();
    let bodies = script.bodies.clone();
    let f = script.start().await;
    let ep = f.endpoint(Proto::Smtp, TlsMode::None);
    let msg = b"Subject: dots\r\n\r\n.\r\n..two\r\nmid.dot\r\n.\r\nlast line without CRLF";
    let mut obs = Observation::default();
    smtp::submit(&req(&ep, msg, None), &mut obs).await.unwrap();
    let got = bodies
        .lock()
        .unwrap()
        .pop()
        .expect("the fake received a body");
    assert_eq!(
        got,
        b"Subject: dots\r\n\r\n..\r\n...two\r\nmid.dot\r\n..\r\nlast line without CRLF\r\n"
    );
    // Undoing the stuffing gives the message back (plus the final CRLF).
    let unstuffed: Vec<u8> = got
        .split(|&b| b == b'\n')
        .map(|l| l.strip_prefix(b".").unwrap_or(l).to_vec())
        .collect::<Vec<_>>()
        .join(&b'\n');
    assert_eq!(&unstuffed[..msg.len()], msg);
    assert!(
        obs.transcript
            .iter()
            .any(|l| l.starts_with("C: <") && l.ends_with(" bytes>"))
    );
    assert!(
        !obs.transcript.iter().any(|l| l.contains("mid.dot")),
        "message body in transcript"
    );
}

async fn auth_submit(
    mech: AuthMech,
    password: &str,
) -> (
    Result<smtp::SubmitOutcome, healthmon::result::ProbeError>,
    Observation,
    Vec<String>,
) {
    let f = Script {
        ext: vec!["AUTH PLAIN LOGIN".into()],
        password: Some(PASSWORD.into()),
        ..Script::default()
    }
    .start()
    .await;
    let mut ep = f.endpoint(Proto::Submission, TlsMode::None);
    ep.auth = Some(mech);
    let secret = Secret::new(password);
    let mut obs = Observation::default();
    let r = smtp::submit(
        &req(&ep, b"Subject: a\r\n\r\nx\r\n", Some(("ims1", &secret))),
        &mut obs,
    )
    .await;
    (r, obs, f.rec.lines())
}

#[tokio::test]
async fn auth_plain_is_sent_right_and_shown_redacted() {
    let (r, obs, seen) = auth_submit(AuthMech::Plain, PASSWORD).await;
    r.expect("the fake accepts the right password");
    assert_eq!(
        seen[1],
        format!("AUTH PLAIN {}", B64.encode(format!("\0ims1\0{PASSWORD}")))
    );
    assert!(
        obs.transcript
            .contains(&"C: AUTH PLAIN <redacted>".to_string()),
        "{:?}",
        obs.transcript
    );
    assert!(obs.phase_ms("auth").is_some());
    // Plain-text endpoint: the cleartext credential use is recorded.
    assert_eq!(obs.facts["auth_cleartext"], "true");
    assert_no_secret(&obs, "");
}

#[tokio::test]
async fn auth_login_is_sent_right_and_shown_redacted() {
    let (r, obs, seen) = auth_submit(AuthMech::Login, PASSWORD).await;
    r.expect("the fake accepts the right password");
    assert_eq!(
        seen[1..4],
        [
            "AUTH LOGIN".to_string(),
            B64.encode("ims1"),
            B64.encode(PASSWORD)
        ]
    );
    let t = obs.transcript.join("\n");
    assert!(
        t.contains("C: AUTH LOGIN\n") && t.contains("C: <redacted>"),
        "{t}"
    );
    assert_no_secret(&obs, "");
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_and_nothing_is_sent_after() {
    for mech in [AuthMech::Plain, AuthMech::Login] {
        let (r, obs, seen) = auth_submit(mech, "wrong-password").await;
        let e = r.err().expect("535 must fail");
        assert_eq!((e.phase.as_str(), e.kind), ("auth", ErrorKind::Auth), "{e}");
        assert!(e.message.starts_with("535 "), "{e}");
        assert!(!seen.iter().any(|l| l.starts_with("MAIL")), "{seen:?}");
        assert_eq!(
            seen.last().map(String::as_str),
            Some("QUIT"),
            "polite QUIT after a clean rejection"
        );
        let all = format!("{obs:?}{e:?}");
        assert!(!all.contains("wrong-password") && !all.contains(&B64.encode("wrong-password")));
    }
}

#[tokio::test]
async fn auth_not_offered_is_a_capability_error() {
    let f = Script::default().start().await;
    let ep = f.endpoint(Proto::Submission, TlsMode::None);
    let secret = Secret::new(PASSWORD);
    let mut obs = Observation::default();
    let e = smtp::submit(&req(&ep, b"x\r\n", Some(("ims1", &secret))), &mut obs)
        .await
        .err()
        .unwrap();
    assert_eq!(
        (e.phase.as_str(), e.kind),
        ("auth", ErrorKind::Capability),
        "{e}"
    );
    assert!(!f.rec.saw("AUTH") && !f.rec.saw("MAIL"));
}

#[tokio::test]
async fn rejected_recipient_is_a_perm_reject_at_rcpt() {
    let f = Script {
        rcpt_reply: "550 5.1.1 <ims1@example.test>: Recipient address rejected".into(),
        ..Script::default()
    }
    .start()
    .await;
    let ep = f.endpoint(Proto::Smtp, TlsMode::None);
    let mut obs = Observation::default();
    let e = smtp::submit(&req(&ep, b"x\r\n", None), &mut obs)
        .await
        .err()
        .unwrap();
    assert_eq!(
        (e.phase.as_str(), e.kind),
        ("rcpt", ErrorKind::PermReject),
        "{e}"
    );
    assert!(!f.rec.saw("DATA"));
}

/// try_rcpt against a fake answering MAIL and RCPT as given.
async fn try_rcpt_with(mail: &str, rcpt: &str) -> (smtp::Reply, Observation, Vec<String>) {
    let f = Script {
        mail_reply: mail.into(),
        rcpt_reply: rcpt.into(),
        ..Script::default()
    }
    .start()
    .await;
    let ep = f.endpoint(Proto::Smtp, TlsMode::None);
    let mut obs = Observation::default();
    let (helo, from) = ("probe.example.test", "hm@healthmon.invalid");
    let r = smtp::try_rcpt(&ep, helo, from, "x@foreign.invalid", STEP, &mut obs)
        .await
        .unwrap();
    (r, obs, f.rec.lines())
}

#[tokio::test]
async fn try_rcpt_returns_the_refusal_and_never_sends_data() {
    let relay = "454 4.7.1 <x@foreign.invalid>: Relay access denied";
    let (r, obs, seen) = try_rcpt_with("250 2.1.0 Ok", relay).await;
    assert_eq!(r.code, 454);
    assert_eq!(r.line(), relay);
    assert_eq!(obs.facts["refused_at"], "rcpt");
    assert_eq!(&seen[seen.len() - 2..], ["RSET", "QUIT"], "{seen:?}");
    assert!(!seen.iter().any(|l| l == "DATA"), "{seen:?}");
}

#[tokio::test]
async fn try_rcpt_reports_a_refused_mail_from() {
    let (r, obs, seen) = try_rcpt_with("553 5.7.1 Sender address rejected", "250 Ok").await;
    assert_eq!(r.code, 553);
    assert_eq!(obs.facts["refused_at"], "mail");
    assert!(!seen.iter().any(|l| l.starts_with("RCPT")), "{seen:?}");
}

#[tokio::test]
async fn lmtp_greets_with_lhlo() {
    let f = Script::default().start().await;
    let ep = f.endpoint(Proto::Lmtp, TlsMode::None);
    let mut obs = Observation::default();
    let g = smtp::greet(&ep, "probe.example.test", true, STEP, &mut obs)
        .await
        .unwrap();
    assert_eq!(g.code, 220);
    assert_eq!(g.extensions, ["PIPELINING", "8BITMIME"]);
    assert_eq!(f.rec.lines(), ["LHLO probe.example.test", "QUIT"]);
}

#[tokio::test]
async fn command_injection_through_addresses_is_refused_locally() {
    let f = Script::default().start().await;
    let ep = f.endpoint(Proto::Smtp, TlsMode::None);
    let mut obs = Observation::default();
    let mut r = req(&ep, b"x\r\n", None);
    r.to = "a@b>\r\nRCPT TO:<victim@elsewhere.invalid";
    let e = smtp::submit(&r, &mut obs).await.err().unwrap();
    assert_eq!(e.kind, ErrorKind::Local);
    assert_eq!(
        f.rec.connections.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "nothing was sent"
    );
}

#[tokio::test]
async fn server_without_esmtp_gets_helo_and_no_starttls_downgrade() {
    let f = fakes::FakeServer::start(|mut p| async move {
        p.say("220 old.example.test SMTP").await;
        while let Some(l) = p.line().await {
            let reply = match l.split(' ').next().unwrap_or("") {
                "EHLO" => "502 5.5.2 Error: command not recognized",
                "QUIT" => "221 Bye",
                _ => "250 Ok",
            };
            p.say(reply).await;
        }
    })
    .await;
    let mut obs = Observation::default();
    let ep = f.endpoint(Proto::Smtp, TlsMode::None);
    let g = smtp::greet(&ep, "probe.example.test", false, STEP, &mut obs)
        .await
        .unwrap();
    assert!(g.extensions.is_empty());
    assert_eq!(
        f.rec.lines()[..2],
        ["EHLO probe.example.test", "HELO probe.example.test"]
    );
    // STARTTLS required: HELO-only servers cannot offer it.
    let mut obs = Observation::default();
    let ep = f.endpoint(Proto::Smtp, TlsMode::Starttls);
    let e = smtp::greet(&ep, "probe.example.test", false, STEP, &mut obs)
        .await
        .err()
        .unwrap();
    assert_eq!(
        (e.phase.as_str(), e.kind),
        ("starttls", ErrorKind::Capability)
    );
}
