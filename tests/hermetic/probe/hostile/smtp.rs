//! Hostile SMTP servers (issue 10): every row ends within its step timeout
//! with an error naming the phase and kind, reads a bounded number of bytes,
//! and keeps server text sanitised. One test per row of the matrix:
//!
//! | row | outcome |
//! |---|---|
//! | greeting never sent | timeout @ greeting |
//! | greeting dripped 1 byte/s | timeout @ greeting (deadline per line, not per byte) |
//! | multi-line reply dripped line by line | timeout @ ehlo (deadline per reply) |
//! | line without end | protocol @ greeting, ≤ MAX_LINE+2 bytes read |
//! | 100 MB greeting / EHLO reply | protocol @ greeting / ehlo, < 1 MB read |
//! | NUL/ESC/invalid UTF-8/`]]>` in banner | perm_reject @ greeting, sanitised text; usable 220 banner sanitised |
//! | garbage instead of a reply | protocol @ greeting |
//! | closed mid-reply | protocol @ greeting / ehlo |
//! | 421 greeting | temp_reject @ greeting |
//! | STARTTLS answered, handshake garbage | tls @ starttls |
//! | TLS handshake never answered (implicit / STARTTLS) | timeout @ tls / starttls |
//! | plaintext injected after STARTTLS 220 | protocol @ starttls |
//! | STARTTLS refused (454) | temp_reject @ starttls |
//! | STARTTLS stripped when required | capability @ starttls, no MAIL sent |
//! | wrong-name / expired / self-signed certificate | tls @ starttls (or tls @ tls for implicit) |
//! | self-signed with `insecure: true` | ok + fact tls_insecure=true + transcript note |

use crate::support::fakes;

use std::time::{Duration, Instant};

use crate::support::fakes::smtp::Script;
use crate::support::fakes::{FakeServer, Peer, TestPki};
use healthmon::probe::smtp::{self, SubmitRequest};
use healthmon::probe::wire::MAX_LINE;
use healthmon::result::{ErrorKind, Observation, ProbeError};
use healthmon::suite::model::{Proto, TlsMode};
use healthmon::suite::resolve::Endpoint;

const STEP: Duration = Duration::from_millis(800);
/// A hostile row must end within this (the step plus scheduling slack).
const BOUND: Duration = Duration::from_secs(5);

struct Outcome<T> {
    res: Result<T, ProbeError>,
    obs: Observation,
    took: Duration,
}

impl<T> Outcome<T> {
    /// The row's verdict: this phase and kind, in time, bounded, sanitised.
    fn expect(&self, phase: &str, kind: ErrorKind) -> &ProbeError {
        let Err(e) = &self.res else {
            panic!(
                "hostile server must give an error; transcript:\n{}",
                self.obs.transcript.join("\n")
            );
        };
        assert_eq!(
            (e.phase.as_str(), e.kind),
            (phase, kind),
            "{e}\n{}",
            self.obs.transcript.join("\n")
        );
        assert_eq!(e.host.as_deref(), Some("fake"));
        self.clean();
        e
    }

    fn clean(&self) {
        assert!(self.took < BOUND, "took {:?}", self.took);
        let read = self.obs.metric_value("bytes_received").unwrap_or(0.0);
        assert!(read < 1024.0 * 1024.0, "read {read} bytes");
        let texts = self
            .obs
            .transcript
            .iter()
            .chain(self.obs.facts.values())
            .chain(self.res.as_ref().err().map(|e| &e.message));
        for t in texts {
            assert!(!t.contains("]]>"), "unsanitised: {t}");
            assert!(!t.chars().any(|c| c.is_control()), "control char in {t:?}");
        }
    }
}

async fn greet(ep: &Endpoint, step: Duration) -> Outcome<smtp::Greeting> {
    let mut obs = Observation::default();
    let t = Instant::now();
    let res = smtp::greet(ep, "probe.example.test", false, step, &mut obs).await;
    Outcome {
        res,
        obs,
        took: t.elapsed(),
    }
}

async fn submit(ep: &Endpoint) -> Outcome<smtp::SubmitOutcome> {
    let mut obs = Observation::default();
    let t = Instant::now();
    let req = SubmitRequest {
        ep,
        helo: "probe.example.test",
        from: "hm@healthmon.invalid",
        to: "ims1@example.test",
        message: b"Subject: x\r\n\r\nbody\r\n",
        auth: None,
        step_timeout: STEP,
    };
    let res = smtp::submit(&req, &mut obs).await;
    Outcome {
        res,
        obs,
        took: t.elapsed(),
    }
}

async fn raw(
    handler: fn(Peer) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
) -> FakeServer {
    FakeServer::start(handler).await
}

use std::future::Future;

/// Greeting, EHLO offering STARTTLS, and the client's STARTTLS read.
async fn starttls_preamble(p: &mut Peer) {
    p.say("220 fake ESMTP").await;
    p.line().await;
    p.say("250-fake\r\n250 STARTTLS").await;
    p.line().await;
}

fn plain(s: &FakeServer) -> Endpoint {
    s.endpoint(Proto::Smtp, TlsMode::None)
}

#[tokio::test]
async fn greeting_never_sent_times_out_at_greeting() {
    let f = raw(|mut p| Box::pin(async move { p.silence().await })).await;
    let o = greet(&plain(&f), STEP).await;
    o.expect("greeting", ErrorKind::Timeout);
    assert!(o.took >= STEP, "gave up early: {:?}", o.took);
}

#[tokio::test]
async fn slow_drip_greeting_times_out_for_the_whole_line() {
    let f = raw(|mut p| {
        Box::pin(async move {
            p.slow_drip(
                b"220 slow.example.test ESMTP at one byte per second\r\n",
                Duration::from_secs(1),
            )
            .await
        })
    })
    .await;
    let step = Duration::from_millis(1500);
    let o = greet(&plain(&f), step).await;
    let e = o.expect("greeting", ErrorKind::Timeout);
    // Two bytes arrived within the step: a per-byte timeout would never fire.
    assert!(e.message.contains("partial"), "{e}");
    assert!(o.took < step + Duration::from_secs(2), "took {:?}", o.took);
}

#[tokio::test]
async fn multi_line_reply_shares_one_deadline() {
    let f = raw(|mut p| {
        Box::pin(async move {
            p.say("220 fake ESMTP").await;
            p.line().await;
            // Each line well within the step, the whole reply far beyond it.
            for i in 0..20 {
                p.say(&format!("250-line{i}")).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            p.say("250 done").await;
        })
    })
    .await;
    let o = greet(&plain(&f), STEP).await;
    o.expect("ehlo", ErrorKind::Timeout);
}

#[tokio::test]
async fn endless_line_is_a_protocol_error_with_bounded_reads() {
    let f = raw(|mut p| Box::pin(async move { p.endless_line(b'A').await })).await;
    let o = greet(&plain(&f), STEP).await;
    let e = o.expect("greeting", ErrorKind::Protocol);
    assert!(
        e.message.contains(&format!("longer than {MAX_LINE} bytes")),
        "{e}"
    );
    let read = o.obs.metric_value("bytes_received").unwrap();
    assert!(
        read <= (MAX_LINE + 2) as f64,
        "read {read} bytes for one line"
    );
    assert!(f.rec.sent_bytes() > MAX_LINE, "the fake did send more");
}

#[tokio::test]
async fn hundred_megabyte_greeting_is_cut_off() {
    let f = raw(|mut p| Box::pin(async move { p.huge_reply("220-", 100 << 20).await })).await;
    let o = greet(&plain(&f), STEP).await;
    let e = o.expect("greeting", ErrorKind::Protocol);
    assert!(e.message.contains("100 lines"), "{e}");
    let read = o.obs.metric_value("bytes_received").unwrap();
    assert!(read < 200_000.0, "read {read} bytes");
}

#[tokio::test]
async fn hundred_megabyte_ehlo_reply_is_cut_off() {
    let f = raw(|mut p| {
        Box::pin(async move {
            p.say("220 fake ESMTP").await;
            p.line().await;
            p.huge_reply("250-", 100 << 20).await;
        })
    })
    .await;
    let o = greet(&plain(&f), STEP).await;
    o.expect("ehlo", ErrorKind::Protocol);
}

#[tokio::test]
async fn hostile_bytes_in_a_rejecting_banner_are_sanitised() {
    let f = raw(|mut p| {
        Box::pin(async move {
            p.send(b"554 \x00\x1b[31mgo\xff\xfe away]]> now\x07\r\n")
                .await;
            p.line().await;
        })
    })
    .await;
    let o = greet(&plain(&f), STEP).await;
    let e = o.expect("greeting", ErrorKind::PermReject);
    assert!(e.message.starts_with("554 "), "{e}");
    for esc in ["\\x00", "\\x1B", "\\xFF", "\\xFE", "]]\\x3E", "\\x07"] {
        assert!(e.message.contains(esc), "{esc} missing in {}", e.message);
    }
    assert_eq!(o.obs.facts["banner"], e.message["554 ".len()..]);
}

#[tokio::test]
async fn hostile_bytes_in_a_usable_banner_are_sanitised() {
    let f = Script {
        greeting: b"220 mx \x1b]0;pwned\x07 \xc3\x28 ]]> \xe2\x80\xae ESMTP\r\n".to_vec(),
        ..Script::default()
    }
    .start()
    .await;
    let o = greet(&plain(&f), STEP).await;
    let g = o
        .res
        .as_ref()
        .expect("a 220 greeting with odd bytes is usable");
    o.clean();
    assert_eq!(
        g.banner,
        "mx \\x1B]0;pwned\\x07 \\xC3( ]]\\x3E \\u{202E} ESMTP"
    );
    assert_eq!(o.obs.facts["banner"], g.banner);
}

#[tokio::test]
async fn garbage_instead_of_a_greeting_is_a_protocol_error() {
    let f = raw(|mut p| {
        Box::pin(async move {
            p.garbage(300).await;
            p.send(b"\r\n").await;
            p.silence().await;
        })
    })
    .await;
    let o = greet(&plain(&f), STEP).await;
    let e = o.expect("greeting", ErrorKind::Protocol);
    assert!(e.message.contains("malformed reply line"), "{e}");
}

#[tokio::test]
async fn close_mid_greeting_is_a_protocol_error() {
    let f =
        raw(|mut p| Box::pin(async move { p.close_mid_reply(b"220-first line\r\n220-sec").await }))
            .await;
    let o = greet(&plain(&f), STEP).await;
    let e = o.expect("greeting", ErrorKind::Protocol);
    assert!(e.message.contains("closed"), "{e}");
}

#[tokio::test]
async fn close_mid_ehlo_reply_is_a_protocol_error() {
    let f = raw(|mut p| {
        Box::pin(async move {
            p.say("220 fake ESMTP").await;
            p.line().await;
            p.close_mid_reply(b"250-fake.example.test\r\n250-PIPE")
                .await;
        })
    })
    .await;
    let o = greet(&plain(&f), STEP).await;
    o.expect("ehlo", ErrorKind::Protocol);
}

#[tokio::test]
async fn greeting_421_is_a_temporary_rejection() {
    let f = Script {
        greeting: b"421 4.3.2 Service shutting down\r\n".to_vec(),
        ..Script::default()
    }
    .start()
    .await;
    let o = greet(&plain(&f), STEP).await;
    let e = o.expect("greeting", ErrorKind::TempReject);
    assert_eq!(e.message, "421 4.3.2 Service shutting down");
    assert!(!f.rec.saw("EHLO"), "no EHLO after a 421 greeting");
}

#[tokio::test]
async fn reply_code_changing_mid_reply_is_a_protocol_error() {
    let f = raw(|mut p| {
        Box::pin(async move {
            p.send(b"220-a\r\n250 b\r\n").await;
            p.silence().await
        })
    })
    .await;
    let o = greet(&plain(&f), STEP).await;
    o.expect("greeting", ErrorKind::Protocol);
}

#[tokio::test]
async fn starttls_handshake_garbage_is_a_tls_error() {
    let f = raw(|mut p| {
        Box::pin(async move {
            starttls_preamble(&mut p).await;
            p.say("220 go ahead").await;
            // Answer the ClientHello with something that is not TLS.
            tokio::time::sleep(Duration::from_millis(50)).await;
            p.send(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            p.silence().await;
        })
    })
    .await;
    let o = greet(&f.endpoint(Proto::Smtp, TlsMode::Starttls), STEP).await;
    o.expect("starttls", ErrorKind::Tls);
}

#[tokio::test]
async fn plaintext_injected_after_starttls_is_refused() {
    let f = raw(|mut p| {
        Box::pin(async move {
            starttls_preamble(&mut p).await;
            p.send(b"220 go ahead\r\n250 injected before the handshake\r\n")
                .await;
            p.silence().await;
        })
    })
    .await;
    let o = greet(&f.endpoint(Proto::Smtp, TlsMode::Starttls), STEP).await;
    let e = o.expect("starttls", ErrorKind::Protocol);
    assert!(e.message.contains("before the TLS handshake"), "{e}");
}

#[tokio::test]
async fn starttls_refused_is_a_temporary_rejection() {
    let f = Script {
        ext: vec!["STARTTLS".into()],
        ..Script::default()
    }
    .start()
    .await;
    let o = submit(&f.endpoint(Proto::Smtp, TlsMode::Starttls)).await;
    o.expect("starttls", ErrorKind::TempReject);
    assert!(
        !f.rec.saw("MAIL"),
        "MAIL after a refused STARTTLS: {:?}",
        f.rec.lines()
    );
}

#[tokio::test]
async fn stripped_starttls_is_never_downgraded() {
    // A man in the middle removed STARTTLS from the EHLO reply.
    let f = Script::default().start().await;
    let o = submit(&f.endpoint(Proto::Smtp, TlsMode::Starttls)).await;
    let e = o.expect("starttls", ErrorKind::Capability);
    assert!(e.message.contains("STARTTLS"), "{e}");
    let seen = f.rec.lines();
    assert!(f.rec.saw("EHLO"), "{seen:?}");
    for verb in ["MAIL", "RCPT", "DATA", "AUTH", "STARTTLS"] {
        assert!(
            !f.rec.saw(verb),
            "{verb} sent on a downgraded session: {seen:?}"
        );
    }
}

#[tokio::test]
async fn silent_tls_handshake_times_out_in_its_phase() {
    // Implicit TLS: TCP accepted, ServerHello never comes.
    let f = raw(|mut p| Box::pin(async move { p.silence().await })).await;
    let o = greet(&f.endpoint(Proto::Smtps, TlsMode::Implicit), STEP).await;
    o.expect("tls", ErrorKind::Timeout);
    // STARTTLS accepted, then silence.
    let f = raw(|mut p| {
        Box::pin(async move {
            starttls_preamble(&mut p).await;
            p.say("220 go ahead").await;
            p.silence().await;
        })
    })
    .await;
    let o = greet(&f.endpoint(Proto::Smtp, TlsMode::Starttls), STEP).await;
    o.expect("starttls", ErrorKind::Timeout);
}

// ------------------------------------------------------------------ certificates

fn tls_script(files: &fakes::CertFiles, implicit: bool) -> Script {
    Script {
        ext: vec!["STARTTLS".into(), "AUTH PLAIN".into()],
        tls: Some(fakes::acceptor(files)),
        implicit,
        ..Script::default()
    }
}

/// STARTTLS endpoint verifying against `ca`, named `name`.
fn tls_ep(f: &FakeServer, ca: Option<&std::path::Path>, name: &str, mode: TlsMode) -> Endpoint {
    let mut ep = f.endpoint(
        if mode == TlsMode::Implicit {
            Proto::Smtps
        } else {
            Proto::Smtp
        },
        mode,
    );
    ep.tls_options.ca_file = ca.map(Into::into);
    ep.tls_options.server_name = Some(name.into());
    ep
}

/// Greet a STARTTLS fake serving `files`, verifying `fake.example.test` against `ca`.
async fn starttls_with(
    files: &fakes::CertFiles,
    ca: Option<&std::path::Path>,
) -> Outcome<smtp::Greeting> {
    let f = tls_script(files, false).start().await;
    greet(
        &tls_ep(&f, ca, "fake.example.test", TlsMode::Starttls),
        STEP,
    )
    .await
}

#[tokio::test]
async fn certificate_for_another_name_fails_tls() {
    let pki = TestPki::new();
    let files = pki.leaf("other", &["other.example.test"]);
    let o = starttls_with(&files, Some(&pki.ca)).await;
    let e = o.expect("starttls", ErrorKind::Tls);
    assert!(
        e.message
            .contains("certificate is for other.example.test, not fake.example.test"),
        "{e}"
    );
}

#[tokio::test]
async fn expired_certificate_fails_tls() {
    let pki = TestPki::new();
    let files = pki.expired_leaf("old", &["fake.example.test"]);
    let o = starttls_with(&files, Some(&pki.ca)).await;
    let e = o.expect("starttls", ErrorKind::Tls);
    assert!(e.message.to_lowercase().contains("expired"), "{e}");
}

#[tokio::test]
async fn self_signed_certificate_without_its_ca_fails_tls() {
    let pki = TestPki::new();
    let files = pki.self_signed("self", &["fake.example.test"]);
    // The test CA is trusted, but it did not sign this certificate.
    let o = starttls_with(&files, Some(&pki.ca)).await;
    let e = o.expect("starttls", ErrorKind::Tls);
    assert!(e.message.contains("self-signed certificate"), "{e}");
    assert!(e.message.contains("not pinned"), "{e}");
}

#[tokio::test]
async fn implicit_tls_with_unknown_issuer_fails_at_tls_phase() {
    let pki = TestPki::new();
    let files = pki.self_signed("self", &["fake.example.test"]);
    let f = tls_script(&files, true).start().await;
    let o = greet(
        &tls_ep(&f, None, "fake.example.test", TlsMode::Implicit),
        STEP,
    )
    .await;
    o.expect("tls", ErrorKind::Tls);
}

#[tokio::test]
async fn insecure_accepts_a_self_signed_certificate_and_says_so() {
    let pki = TestPki::new();
    let files = pki.self_signed("self", &["wrong.example.test"]);
    let f = tls_script(&files, false).start().await;
    let mut ep = tls_ep(&f, None, "fake.example.test", TlsMode::Starttls);
    ep.tls_options.insecure = Some(true);
    let o = greet(&ep, STEP).await;
    let g = o
        .res
        .as_ref()
        .expect("insecure: true accepts any certificate");
    o.clean();
    assert!(g.tls.as_ref().unwrap().insecure);
    assert_eq!(o.obs.facts["tls_insecure"], "true");
    assert!(
        o.obs.transcript.iter().any(|l| l.contains("NOT verified")),
        "{:?}",
        o.obs.transcript
    );
}

#[tokio::test]
async fn valid_certificate_is_verified_and_recorded() {
    let pki = TestPki::new();
    let files = pki.leaf("good", &["fake.example.test", "127.0.0.1"]);
    let f = tls_script(&files, false).start().await;
    let o = greet(
        &tls_ep(&f, Some(&pki.ca), "fake.example.test", TlsMode::Starttls),
        STEP,
    )
    .await;
    let g = o.res.as_ref().expect("valid certificate");
    o.clean();
    assert_eq!(o.obs.facts["tls_version"], "TLSv1.3");
    assert_eq!(
        o.obs.facts["tls_cert_not_after"],
        fakes::not_after(&files.cert).to_string()
    );
    assert!(!o.obs.facts.contains_key("tls_insecure"));
    // Capabilities are the post-TLS ones (RFC 3207: STARTTLS gone).
    assert!(
        g.extensions.iter().any(|e| e == "AUTH PLAIN"),
        "{:?}",
        g.extensions
    );
    assert!(
        !g.extensions.iter().any(|e| e == "STARTTLS"),
        "{:?}",
        g.extensions
    );
    // The address alone (IP SAN) verifies too.
    let mut by_ip = f.endpoint(Proto::Smtp, TlsMode::Starttls);
    by_ip.tls_options.ca_file = Some(pki.ca.clone());
    greet(&by_ip, STEP).await.res.expect("IP SAN verifies");
}
