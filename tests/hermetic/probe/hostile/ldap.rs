//! Hostile LDAP servers (issue 10): `probe::ldap::lookup` against in-process
//! fakes on 127.0.0.1 ends within its step timeout with an error naming the
//! phase (connect / bind / search) and kind, and keeps server text sanitised.
//!
//! | row | outcome |
//! |---|---|
//! | accepts, never answers the bind | timeout @ bind |
//! | never answers the root DSE search (anonymous) | timeout @ search |
//! | bind response dripped one byte per 200 ms | timeout @ bind (deadline per operation) |
//! | connection closed mid-response | protocol @ bind |
//! | garbage instead of BER (NUL, ESC, `]]>`, 0xff) | protocol @ bind |
//! | BER header announcing 100 MB, then a flood | timeout or protocol @ bind, in time |
//! | search answered by an endless entry flood | first 1000 entries, in time |
//! | search entries dripped forever (one per 100 ms) | timeout @ search (deadline per search) |
//! | bind refused (49) with NUL/ESC/`]]>` in the text | auth @ bind, sanitised |
//! | invalid UTF-8 in a result text (ldap3 panics on it) | protocol @ bind, no panic escapes |
//! | LDAPS handshake answered with garbage | tls or protocol @ connect |
//! | LDAPS with a certificate for the wrong name | tls @ connect |
//! | a well-behaved fake (control row) | entries returned |

use crate::support::fakes;

use std::time::{Duration, Instant};

use crate::support::fakes::ldap::*;
use crate::support::fakes::{FakeServer, Peer, TestPki};
use healthmon::probe::ldap::{Entry, Lookup, lookup};
use healthmon::result::{ErrorKind, Observation, ProbeError};
use healthmon::secret::Secret;
use healthmon::suite::model::{Proto, TlsMode};
use healthmon::suite::resolve::Endpoint;

const STEP: Duration = Duration::from_millis(800);
/// A row must end within this: one step per phase plus scheduling slack.
/// Generous on purpose: every row's server would hold a probe without a
/// deadline forever, and the hermetic binary runs rows side by side.
const BOUND: Duration = Duration::from_secs(5);
const PASSWORD: &str = "Ld4p-hostile-Secret";

// ------------------------------------------------------------------ runs

struct Outcome {
    res: Result<Vec<Entry>, ProbeError>,
    obs: Observation,
    took: Duration,
}

impl Outcome {
    fn expect(&self, phase: &str, kinds: &[ErrorKind]) -> &ProbeError {
        self.expect_within(phase, kinds, BOUND)
    }

    fn expect_within(&self, phase: &str, kinds: &[ErrorKind], bound: Duration) -> &ProbeError {
        let e = match &self.res {
            Err(e) => e,
            Ok(v) => panic!(
                "a hostile server must give an error, got {} entries",
                v.len()
            ),
        };
        assert_eq!(e.phase, phase, "{e}");
        assert!(kinds.contains(&e.kind), "{e}: kind not in {kinds:?}");
        assert_eq!(e.host.as_deref(), Some("fake"));
        assert_eq!(e.protocol.as_deref(), Some("ldap"));
        assert!(self.took < bound, "took {:?}: {e}", self.took);
        let texts = std::iter::once(&e.message).chain(self.obs.facts.values());
        for t in texts {
            assert!(!t.contains("]]>"), "unsanitised: {t:?}");
            assert!(!t.chars().any(|c| c.is_control()), "control char: {t:?}");
            assert!(!t.contains(PASSWORD), "password leaked: {t:?}");
        }
        e
    }
}

fn ep(f: &FakeServer, tls: TlsMode) -> Endpoint {
    f.endpoint(Proto::Ldap, tls)
}

async fn run(ep: &Endpoint, bind: bool) -> Outcome {
    let pw = Secret::new(PASSWORD);
    let q = Lookup {
        ep,
        bind: bind.then_some(("uid=ims1,ou=people,dc=example,dc=test", &pw)),
        base: bind.then_some("dc=example,dc=test"),
        filter: "(uid=ims1)",
        attrs: &["mailHost"],
        step_timeout: STEP,
    };
    let mut obs = Observation::default();
    let t = Instant::now();
    let res = lookup(&q, &mut obs).await;
    Outcome {
        res,
        obs,
        took: t.elapsed(),
    }
}

type Handler = fn(Peer) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

async fn fake(h: Handler) -> FakeServer {
    FakeServer::start(h).await
}

// ------------------------------------------------------------------ rows

#[tokio::test]
async fn control_row_a_well_behaved_fake_answers() {
    let f = fake(|mut p| {
        Box::pin(async move {
            while let Some((id, op)) = request(&mut p).await {
                match op {
                    0x60 => p.send(&message(id, &result(BIND_RESPONSE, 0, b""))).await,
                    0x63 => {
                        let e = search_entry(
                            id,
                            "uid=ims1,ou=people,dc=example,dc=test",
                            "mailHost",
                            "127.0.2.1",
                        );
                        p.send(&e).await;
                        p.send(&message(id, &result(SEARCH_DONE, 0, b""))).await
                    }
                    _ => return,
                };
            }
        })
    })
    .await;
    let o = run(&ep(&f, TlsMode::None), true).await;
    let entries = o.res.expect("the control fake answers");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].attrs["mailHost"], vec!["127.0.2.1".to_string()]);
    assert!(o.obs.phase_ms("search").is_some());
}

#[tokio::test]
async fn silent_server_times_out_at_bind() {
    let f = fake(|mut p| Box::pin(async move { p.silence().await })).await;
    let o = run(&ep(&f, TlsMode::None), true).await;
    o.expect("bind", &[ErrorKind::Timeout]);
    assert!(o.took >= STEP, "gave up early: {:?}", o.took);
}

#[tokio::test]
async fn silent_server_times_out_at_root_dse_search() {
    let f = fake(|mut p| Box::pin(async move { p.silence().await })).await;
    let o = run(&ep(&f, TlsMode::None), false).await;
    o.expect("search", &[ErrorKind::Timeout]);
}

#[tokio::test]
async fn dripped_bind_response_times_out_for_the_whole_operation() {
    let f = fake(|mut p| {
        Box::pin(async move {
            if let Some((id, _)) = request(&mut p).await {
                let r = message(id, &result(BIND_RESPONSE, 0, b"slow but fine"));
                p.slow_drip(&r, Duration::from_millis(200)).await;
            }
        })
    })
    .await;
    let o = run(&ep(&f, TlsMode::None), true).await;
    o.expect("bind", &[ErrorKind::Timeout]);
    // Several bytes arrived within the step: a per-read timeout never fires.
    assert!(f.rec.sent_bytes() >= 3, "sent {}", f.rec.sent_bytes());
}

#[tokio::test]
async fn closed_mid_response_is_a_protocol_error() {
    let f = fake(|mut p| {
        Box::pin(async move {
            if let Some((id, _)) = request(&mut p).await {
                let r = message(id, &result(BIND_RESPONSE, 0, b"cut here"));
                p.close_mid_reply(&r[..r.len() / 2]).await;
            }
        })
    })
    .await;
    let o = run(&ep(&f, TlsMode::None), true).await;
    o.expect("bind", &[ErrorKind::Protocol]);
    assert!(
        o.took < STEP,
        "a closed connection must not wait for the timeout"
    );
}

#[tokio::test]
async fn garbage_instead_of_ber_is_a_protocol_error() {
    let f = fake(|mut p| {
        Box::pin(async move {
            if request(&mut p).await.is_some() {
                p.garbage(4096).await;
                p.silence().await;
            }
        })
    })
    .await;
    let o = run(&ep(&f, TlsMode::None), true).await;
    o.expect("bind", &[ErrorKind::Protocol]);
}

// Multi-threaded like healthmon's own runtime: on a single thread the fake's
// 100 MB pump and the client's reads share one worker, which starves the
// deadline timer under load (seen in CI-like full runs: ~5 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_announced_pdu_ends_in_time() {
    let f = fake(|mut p| {
        Box::pin(async move {
            if request(&mut p).await.is_some() {
                // SEQUENCE announcing 100 MB, then as much filler as the client takes.
                let mut head = vec![0x30];
                head.extend(ber_len(100 * 1024 * 1024));
                p.send(&head).await;
                let chunk = vec![0x04u8; 64 * 1024];
                let mut sent = 0;
                while sent < 100 * 1024 * 1024 && p.send(&chunk).await {
                    sent += chunk.len();
                }
                p.silence().await;
            }
        })
    })
    .await;
    let o = run(&ep(&f, TlsMode::None), true).await;
    // ldap3 would hold the PDU whole (1.5 GB seen) and re-parse it on every
    // read; the session's relay cuts the server off at its cap instead.
    let e = o.expect_within("bind", &[ErrorKind::Protocol], 20 * STEP);
    assert!(e.message.contains("more than 4 MiB"), "{e}");
    assert!(
        o.took < STEP,
        "cut off by size, not by the timeout: {:?}",
        o.took
    );
    let sent = f.rec.sent_bytes();
    assert!(sent < 16 << 20, "the fake got {sent} bytes out");
}

/// Bind OK, then `entry_flood` answers the search (never a SearchResultDone).
async fn flooding(mut p: Peer, every: Duration) {
    while let Some((id, op)) = request(&mut p).await {
        if op == 0x60 {
            p.send(&message(id, &result(BIND_RESPONSE, 0, b""))).await;
            continue;
        }
        let e = search_entry(id, "uid=x,dc=example,dc=test", "mailHost", "127.0.2.1");
        let block = if every.is_zero() { e.repeat(256) } else { e };
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) && p.send(&block).await {
            tokio::time::sleep(every.max(Duration::from_millis(1))).await;
        }
        return;
    }
}

#[tokio::test]
async fn endless_entry_flood_is_cut_at_1000_entries() {
    let f = fake(|p| Box::pin(flooding(p, Duration::ZERO))).await;
    let o = run(&ep(&f, TlsMode::None), true).await;
    let n = o.res.as_ref().map(Vec::len).map_err(|e| e.to_string());
    assert_eq!(n, Ok(1000));
    assert!(o.took < BOUND, "took {:?}", o.took);
}

#[tokio::test]
async fn entries_dripped_forever_time_out_for_the_whole_search() {
    // One entry every 100 ms: ldap3's own timeout is per entry and never fires.
    let f = fake(|p| Box::pin(flooding(p, Duration::from_millis(100)))).await;
    let o = run(&ep(&f, TlsMode::None), true).await;
    o.expect("search", &[ErrorKind::Timeout]);
    assert!(o.obs.phase_ms("bind").is_some(), "bind did succeed");
}

/// A fake refusing the bind (49) with `text` as the diagnostic message.
async fn refusing(mut p: Peer, text: &'static [u8]) {
    if let Some((id, _)) = request(&mut p).await {
        p.send(&message(id, &result(BIND_RESPONSE, 49, text))).await;
        p.silence().await;
    }
}

#[tokio::test]
async fn refused_bind_with_control_bytes_is_auth_and_sanitised() {
    let f = fake(|p| Box::pin(refusing(p, b"invalid \x00credentials\x1b[2J ]]> \x07 end"))).await;
    let o = run(&ep(&f, TlsMode::None), true).await;
    let e = o.expect("bind", &[ErrorKind::Auth]);
    assert!(e.message.contains("49") && e.message.contains("end"), "{e}");
}

#[tokio::test]
async fn invalid_utf8_in_a_result_is_a_protocol_error_not_a_panic() {
    // ldap3 `expect`s UTF-8 here and panics; the probe turns that into an error.
    let f = fake(|p| Box::pin(refusing(p, b"invalid credentials \xff\xfe end"))).await;
    let o = run(&ep(&f, TlsMode::None), true).await;
    o.expect("bind", &[ErrorKind::Protocol]);
}

#[tokio::test]
async fn ldaps_handshake_garbage_fails_at_connect() {
    let f = fake(|mut p| {
        Box::pin(async move {
            p.garbage(2048).await;
            p.silence().await;
        })
    })
    .await;
    let mut e = ep(&f, TlsMode::Implicit);
    e.tls_options.ca_file = Some(TestPki::new().ca.clone());
    let o = run(&e, true).await;
    o.expect("connect", &[ErrorKind::Tls, ErrorKind::Protocol]);
}

#[tokio::test]
async fn ldaps_certificate_for_another_name_fails_at_connect() {
    let pki = TestPki::new();
    let leaf = pki.leaf("other", &["other.example.test"]);
    let acc = fakes::acceptor(&leaf);
    let f = FakeServer::start(move |mut p| {
        let acc = acc.clone();
        async move {
            if p.start_tls(&acc).await {
                p.silence().await;
            }
        }
    })
    .await;
    let mut e = ep(&f, TlsMode::Implicit);
    e.tls_options.ca_file = Some(pki.ca.clone());
    let o = run(&e, true).await;
    let err = o.expect("connect", &[ErrorKind::Tls]);
    assert!(
        err.message.to_ascii_lowercase().contains("certificate"),
        "{err}"
    );
}
