//! The SMTP probe and `validate --resolve` endpoint reports against the real
//! loopback site (tests/site/mailsite): STARTTLS verified with the site CA,
//! submission on 25 / 587 (AUTH PLAIN and LOGIN) / 465 (implicit TLS) with
//! queue ids, each probe read back and deleted through the store, relay and
//! unauthenticated submission refused, wrong CA / name / password refused.

use crate::support::fakes;
use crate::support::mailprobe;
use crate::support::site;

use std::time::{Duration, Instant};

use crate::support::mailprobe::{STEP, ep};
use healthmon::probe::banner;
use healthmon::probe::smtp::{self, SubmitRequest};
use healthmon::probe::{pop3, tls};
use healthmon::result::{ErrorKind, Observation};
use healthmon::secret::Secret;
use healthmon::suite::model::{AuthMech, Proto, TlsMode};
use healthmon::suite::resolve::Endpoint;

const HELO: &str = "healthmon.invalid";
const FROM: &str = "healthmon@monitor.example.test";

fn mta(host: &str, port: u16) -> Endpoint {
    let (proto, tls, auth) = match port {
        25 => (Proto::Smtp, TlsMode::Starttls, None),
        587 => (Proto::Submission, TlsMode::Starttls, Some(AuthMech::Plain)),
        465 => (Proto::Smtps, TlsMode::Implicit, Some(AuthMech::Plain)),
        _ => panic!("port {port}"),
    };
    ep(host, proto, port, tls, auth)
}

fn ldap1() -> Endpoint {
    let mut e = ep("mta1", Proto::Ldap, 389, TlsMode::None, None);
    e.host = "ldap1".into();
    e.address = "127.0.4.1".into();
    e
}

fn phases(obs: &Observation) -> String {
    obs.phases
        .iter()
        .map(|p| format!("{}={:.1}ms", p.phase, p.ms))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Submit a probe to ims1 through `ep`, then read it back through store1's
/// POP3 (which deletes exactly that probe): the mailbox ends as it started.
async fn submit_and_collect(ep: &Endpoint, auth: Option<(&str, &Secret)>) -> Observation {
    let token = mailprobe::token();
    let case = format!("smtp-site/{}/{}", ep.host, ep.port);
    let msg = mailprobe::probe_message(&token, &case, "ims1@example.test");
    let req = SubmitRequest {
        ep,
        helo: HELO,
        from: FROM,
        to: "ims1@example.test",
        message: &msg,
        auth,
        step_timeout: STEP,
    };
    let mut obs = Observation::default();
    let out = match smtp::submit(&req, &mut obs).await {
        Ok(o) => o,
        Err(e) => panic!(
            "submit via {}:{}: {e}\n{}",
            ep.host,
            ep.port,
            obs.transcript.join("\n")
        ),
    };
    let qid = out.queue_id.clone().expect("Postfix names a queue id");
    assert!(
        qid.len() >= 6 && qid.chars().all(|c| c.is_ascii_alphanumeric()),
        "{qid}"
    );
    assert_eq!(obs.facts["queue_id"], qid);
    eprintln!("{}:{} queue id {qid}: {}", ep.host, ep.port, phases(&obs));

    let store = mailprobe::pop3("store1");
    let pw = mailprobe::password("ims1");
    let r = mailprobe::req(&store, "ims1", &pw, &token, &case, Duration::from_secs(20));
    let mut robs = Observation::default();
    let got = pop3::retrieve(&r, &mut robs)
        .await
        .unwrap_or_else(|e| panic!("probe via {}:{} not delivered: {e}", ep.host, ep.port));
    assert!(
        got.detected_at > out.accepted_at,
        "arrival after acceptance"
    );
    let raw = String::from_utf8_lossy(&got.raw);
    assert!(raw.contains(&format!("X-Healthmon-Probe: {token} {case}")));
    // Dot-stuffing round-tripped through SMTP and POP3.
    assert!(
        raw.contains("\r\n.a line that starts with a dot\r\n"),
        "{raw}"
    );
    obs
}

#[tokio::test]
async fn greet_mta1_with_verified_starttls() {
    let _site = site::site_shared();
    let mut obs = Observation::default();
    let g = smtp::greet(&mta("mta1", 25), HELO, false, STEP, &mut obs)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", obs.transcript.join("\n")));
    assert_eq!(g.code, 220);
    assert!(g.banner.contains("ESMTP"), "{}", g.banner);
    let t = g.tls.as_ref().expect("STARTTLS done");
    assert!(!t.insecure);
    assert!(t.version.starts_with("TLSv1."), "{}", t.version);
    let cert = site::site_state().join("certs/mta1.pem");
    assert_eq!(t.cert_not_after, Some(fakes::not_after(&cert)));
    assert_eq!(
        obs.facts["tls_cert_not_after"],
        fakes::not_after(&cert).to_string()
    );
    // After TLS the EHLO is repeated: STARTTLS no longer offered.
    assert!(
        !g.extensions
            .iter()
            .any(|e| e.eq_ignore_ascii_case("STARTTLS")),
        "{:?}",
        g.extensions
    );
    let names: Vec<&str> = obs.phases.iter().map(|p| p.phase.as_str()).collect();
    assert_eq!(
        names,
        ["connect", "greeting", "ehlo", "starttls", "ehlo", "quit"]
    );
    eprintln!(
        "mta1:25 greet: {} ({} {})",
        phases(&obs),
        t.version,
        t.cipher
    );
}

#[tokio::test]
async fn submit_on_25_is_delivered_with_a_queue_id() {
    let _site = site::site_shared();
    let obs = submit_and_collect(&mta("mta1", 25), None).await;
    assert!(obs.phase_ms("starttls").is_some());
    assert!(obs.phase_ms("auth").is_none());
}

#[tokio::test]
async fn submit_on_587_with_auth_plain_and_login() {
    let _site = site::site_shared();
    let pw = mailprobe::password("ims1");
    let obs = submit_and_collect(&mta("mta1", 587), Some(("ims1", &pw))).await;
    assert!(
        obs.transcript
            .contains(&"C: AUTH PLAIN <redacted>".to_string())
    );
    assert!(
        !obs.facts.contains_key("auth_cleartext"),
        "AUTH went over TLS"
    );
    mailprobe::assert_no_secret(&obs, &pw);

    let mut login = mta("mta2", 587);
    login.auth = Some(AuthMech::Login);
    let obs = submit_and_collect(&login, Some(("ims1", &pw))).await;
    assert!(obs.transcript.contains(&"C: AUTH LOGIN".to_string()));
    mailprobe::assert_no_secret(&obs, &pw);
}

#[tokio::test]
async fn submit_on_465_with_implicit_tls() {
    let _site = site::site_shared();
    let pw = mailprobe::password("ims1");
    let obs = submit_and_collect(&mta("mta2", 465), Some(("ims1", &pw))).await;
    assert!(obs.phase_ms("tls").is_some(), "{}", phases(&obs));
    assert!(obs.phase_ms("starttls").is_none());
    assert!(obs.facts["tls_version"].starts_with("TLSv1."));
    mailprobe::assert_no_secret(&obs, &pw);
}

#[tokio::test]
async fn open_relay_attempt_is_refused() {
    let _site = site::site_shared();
    for host in ["mta1", "mta2", "lb"] {
        let mut e = mta(host, 25);
        if host == "lb" {
            e.address = "127.0.5.1".into();
        }
        let mut obs = Observation::default();
        let r = smtp::try_rcpt(&e, HELO, FROM, "victim@relay-test.invalid", STEP, &mut obs)
            .await
            .unwrap_or_else(|e| panic!("{host}: {e}"));
        assert!((400..600).contains(&r.code), "{host} relayed: {}", r.line());
        assert_eq!(obs.facts["refused_at"], "rcpt", "{host}");
        eprintln!("{host}:25 relay attempt: {}", r.line());
    }
}

#[tokio::test]
async fn submission_without_auth_is_refused() {
    let _site = site::site_shared();
    let mut obs = Observation::default();
    let r = smtp::try_rcpt(
        &mta("mta1", 587),
        HELO,
        FROM,
        "ims1@example.test",
        STEP,
        &mut obs,
    )
    .await
    .unwrap();
    assert!(
        (400..600).contains(&r.code),
        "587 accepted without AUTH: {}",
        r.line()
    );
    eprintln!(
        "mta1:587 without AUTH: {} (at {})",
        r.line(),
        obs.facts["refused_at"]
    );
}

#[tokio::test]
async fn wrong_password_is_an_auth_error() {
    let _site = site::site_shared();
    let wrong = Secret::new("certainly-not-the-password-7f3a");
    let msg = mailprobe::probe_message("t", "c", "ims1@example.test");
    let ep = mta("mta1", 587);
    let req = SubmitRequest {
        ep: &ep,
        helo: HELO,
        from: FROM,
        to: "ims1@example.test",
        message: &msg,
        auth: Some(("ims1", &wrong)),
        step_timeout: STEP,
    };
    let mut obs = Observation::default();
    let e = smtp::submit(&req, &mut obs)
        .await
        .err()
        .expect("wrong password refused");
    assert_eq!((e.phase.as_str(), e.kind), ("auth", ErrorKind::Auth), "{e}");
    assert!(
        obs.phase_ms("mail").is_none(),
        "no MAIL after a failed AUTH"
    );
    mailprobe::assert_no_secret(&obs, &wrong);
}

#[tokio::test]
async fn wrong_ca_and_wrong_name_fail_tls() {
    let _site = site::site_shared();
    let other = fakes::TestPki::new();
    let mut e = mta("mta1", 25);
    e.tls_options.ca_file = Some(other.ca.clone());
    let mut obs = Observation::default();
    let err = smtp::greet(&e, HELO, false, STEP, &mut obs)
        .await
        .err()
        .expect("unknown CA");
    assert_eq!(
        (err.phase.as_str(), err.kind),
        ("starttls", ErrorKind::Tls),
        "{err}"
    );

    let mut e = mta("mta1", 465);
    e.tls_options.server_name = Some("store1.example.test".into());
    let mut obs = Observation::default();
    let err = smtp::greet(&e, HELO, false, STEP, &mut obs)
        .await
        .err()
        .expect("wrong name");
    assert_eq!(
        (err.phase.as_str(), err.kind),
        ("tls", ErrorKind::Tls),
        "{err}"
    );
}

#[tokio::test]
async fn resolve_reports_every_kind_of_endpoint() {
    let _site = site::site_shared();
    let cases = [
        (
            mta("mta1", 25),
            vec!["220 ", "starttls ok TLSv1.", "cert expires "],
        ),
        (mta("mta1", 587), vec!["starttls ok", "AUTH PLAIN"]),
        (mta("mta2", 465), vec!["tls TLSv1.", "AUTH PLAIN"]),
        (
            ep("store1", Proto::Lmtp, 24, TlsMode::None, None),
            vec!["220 ", "no tls"],
        ),
        (
            mailprobe::pop3("mmp1"),
            vec!["starttls ok", "cert expires "],
        ),
        (mailprobe::imap("mmp2"), vec!["starttls ok", "AUTH PLAIN"]),
        (
            ep("store1", Proto::Imaps, 993, TlsMode::Implicit, None),
            vec!["tls TLSv1."],
        ),
        (ldap1(), vec!["connected", "ldap: TCP connect only"]),
    ];
    let cert = site::site_state().join("certs/mta1.pem");
    let expiry = tls::date(fakes::not_after(&cert));
    for (e, wants) in cases {
        let t = Instant::now();
        let r = banner::probe_endpoint(&e, STEP).await;
        assert!(r.ok, "{}: {:?}", r.endpoint, r.lines);
        let line = format!("{} {}", r.line(), r.lines[1..].join(" "));
        for w in wants {
            assert!(line.contains(w), "{w:?} missing in {line}");
        }
        eprintln!("{line}  [{} ms]", t.elapsed().as_millis());
    }
    let r = banner::probe_endpoint(&mta("mta1", 25), STEP).await;
    assert!(
        r.line().contains(&format!("cert expires {expiry}")),
        "{}",
        r.line()
    );
    // A port nobody listens on: reported, not fatal.
    let closed = ep("mta1", Proto::Smtp, 2525, TlsMode::None, None);
    let r = banner::probe_endpoint(&closed, STEP).await;
    assert!(!r.ok);
    assert!(r.lines[0].contains("refused"), "{:?}", r.lines);
}
