//! The hostile-server matrix of issue 10, row by row, with the test that
//! proves each row (every one must pass). Rows marked † are in this file.
//!
//! | row | SMTP (`hostile/smtp.rs`) | POP3 / IMAP (`hostile/pop3_imap.rs`) | LDAP (`hostile/ldap.rs`) |
//! |---|---|---|---|
//! | greeting never sent | `greeting_never_sent_times_out_at_greeting` | `greeting_never_sent_times_out_at_greeting` | `silent_server_times_out_at_bind`, `silent_server_times_out_at_root_dse_search` |
//! | greeting dripped 1 byte/s | `slow_drip_greeting_times_out_for_the_whole_line`, `multi_line_reply_shares_one_deadline` | `slow_drip_greeting_times_out_at_greeting` | `dripped_bind_response_times_out_for_the_whole_operation`, `entries_dripped_forever_time_out_for_the_whole_search` |
//! | a line that never ends | `endless_line_is_a_protocol_error_with_bounded_reads` | `endless_line_is_a_protocol_error_with_bounded_reads` | (BER has no lines: `huge_announced_pdu_ends_in_time`) |
//! | a 100 MB reply | 100 MB greeting / EHLO rows | `pop3_huge_retr_is_capped`, `imap_huge_body_literal_is_refused_on_announce` | `huge_announced_pdu_ends_in_time`, `endless_entry_flood_is_cut_at_1000_entries` |
//! | NUL, ESC, invalid UTF-8, `]]>` in banner / error | hostile-bytes rows | `hostile_bytes_in_greeting_and_error_replies_are_sanitised`, `garbage_greeting_banner_is_sanitised_but_usable` | `refused_bind_with_control_bytes_is_auth_and_sanitised`, `invalid_utf8_in_a_result_is_a_protocol_error_not_a_panic`, `garbage_instead_of_ber_is_a_protocol_error` |
//! | closed mid-reply | closed-mid-reply rows | `connection_closed_mid_greeting_is_a_protocol_error`, `pop3_close_mid_retr_deletes_nothing` | `closed_mid_response_is_a_protocol_error` |
//! | 421 / 4xx greeting | `421` row | `err_and_bye_greetings_are_refusals` (`-ERR [SYS/TEMP]`, `* BYE [UNAVAILABLE]`) | (no greeting in LDAP) |
//! | STARTTLS advertised, handshake fails | STARTTLS-garbage row | `starttls_accepted_but_handshake_fails_or_data_is_injected` | `ldaps_handshake_garbage_fails_at_connect` |
//! | certificate wrong name / expired / self-signed without CA | wrong-name / expired / self-signed rows | † `pop3s_and_imaps_refuse_bad_certificates`, † `stls_and_starttls_refuse_bad_certificates` | `ldaps_certificate_for_another_name_fails_at_connect` |
//! | … unless `insecure` | `insecure_accepts_a_self_signed_certificate_and_says_so` | † `insecure_accepts_a_self_signed_certificate_for_pop3s_and_imaps` | — |
//! | STARTTLS stripped when required | stripped row (no MAIL sent) | `stripped_stls_and_starttls_fail_without_downgrade` | — |
//! | POP3 LIST announcing millions | — | `pop3_stat_announcing_millions_scans_only_the_newest`, `pop3_uidl_longer_than_stat_is_a_protocol_error` | — |
//! | IMAP untagged flood | — | `imap_untagged_flood_is_cut_off` | — |
//! | a message that arrives twice | — | `message_arriving_twice_is_deleted_twice` | — |
//! | still valid JUnit and a systest row | † `hostile_mta_end_to_end_still_writes_valid_junit_and_systest_rows` (a whole `healthmon run`) | | |
//!
//! Memory stays bounded: every SMTP/POP3/IMAP row also asserts the bytes
//! read (`bytes_received` < 1–2 MB). For LDAP the bound is per operation: the
//! step timeout, at most 1000 entries, and at most 4 MiB from the server per
//! session (a capped relay under ldap3, which would hold a PDU whole).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::fakes::{CertFiles, FakeServer, TestPki, acceptor};
use healthmon::probe::probe_msg::RetrieveRequest;
use healthmon::probe::{imap, pop3};
use healthmon::result::{ErrorKind, Observation, ProbeError};
use healthmon::secret::Secret;
use healthmon::suite::model::{Proto, TlsMode};
use healthmon::suite::resolve::Endpoint;

const STEP: Duration = Duration::from_millis(800);
/// Generous: a row without a deadline would never end; rows run side by side.
const BOUND: Duration = Duration::from_secs(5);
const NAME: &str = "fake.example.test";
const SECRET: &str = "M4trix-hostile-pw";

// ------------------------------------------------------------------ certificate rows

/// POP3 or IMAP over implicit TLS (`starttls` false) or STLS/STARTTLS:
/// the fake greets in plain text first when `starttls`, then upgrades.
async fn tls_fake(proto: Proto, files: &CertFiles, starttls: bool) -> FakeServer {
    let acc = acceptor(files);
    FakeServer::start(move |mut p| {
        let acc = acc.clone();
        async move {
            let imap = proto == Proto::Imap;
            if starttls {
                let hi = if imap {
                    "* OK [CAPABILITY IMAP4rev1 STARTTLS] hi"
                } else {
                    "+OK hi"
                };
                p.say(hi).await;
                while let Some(l) = p.line().await {
                    let up = l.to_ascii_uppercase();
                    let tag = l.split(' ').next().unwrap_or("").to_string();
                    if up.starts_with("CAPA") {
                        p.say("+OK\r\nUSER\r\nSTLS\r\n.").await;
                    } else if up.contains("CAPABILITY") {
                        p.say(&format!("* CAPABILITY IMAP4rev1 STARTTLS\r\n{tag} OK done"))
                            .await;
                    } else if up.starts_with("STLS") {
                        p.say("+OK begin TLS").await;
                        break;
                    } else if up.contains("STARTTLS") {
                        p.say(&format!("{tag} OK begin TLS")).await;
                        break;
                    } else {
                        return;
                    }
                }
            }
            if !p.start_tls(&acc).await {
                return;
            }
            // Past TLS: refuse, so a probe that got here ends at the greeting.
            let bye = if imap {
                "* BYE maintenance"
            } else {
                "-ERR maintenance"
            };
            if !starttls {
                p.say(bye).await;
            } else if imap {
                // After STARTTLS the client asks for capabilities again.
                if let Some(l) = p.line().await {
                    let tag = l.split(' ').next().unwrap_or("").to_string();
                    p.say(&format!("{tag} NO maintenance")).await;
                }
            } else {
                p.line().await;
                p.say("-ERR maintenance").await;
            }
            p.silence().await;
        }
    })
    .await
}

struct Outcome {
    res: Result<(), ProbeError>,
    obs: Observation,
    took: Duration,
}

async fn retrieve(ep: &Endpoint) -> Outcome {
    let pw = Secret::new(SECRET);
    let req = RetrieveRequest {
        ep,
        login: "user",
        password: &pw,
        token: &healthmon::token::random_hex(16),
        case_id: "matrix/case",
        site: "matrix",
        // Nothing here is reaped: only the probe (exact token) is ours.
        key: None,
        step_timeout: STEP,
        arrival_deadline: tokio::time::Instant::now() + Duration::from_secs(2),
        max_message_bytes: 64 * 1024,
        waiting: None,
    };
    let mut obs = Observation::default();
    let t = Instant::now();
    let res = match ep.proto {
        Proto::Pop3 => pop3::retrieve(&req, &mut obs).await.map(|_| ()),
        _ => imap::retrieve(&req, &mut obs).await.map(|_| ()),
    };
    Outcome {
        res,
        obs,
        took: t.elapsed(),
    }
}

fn endpoint(f: &FakeServer, proto: Proto, tls: TlsMode, ca: Option<&Path>) -> Endpoint {
    let mut ep = f.endpoint(proto, tls);
    ep.tls_options.ca_file = ca.map(Path::to_path_buf);
    ep.tls_options.server_name = Some(NAME.into());
    ep
}

/// The three bad certificates: (row name, files, word the error must name).
fn bad_certs(pki: &TestPki) -> Vec<(&'static str, CertFiles, &'static str)> {
    vec![
        (
            "wrong name",
            pki.leaf("other", &["other.example.test"]),
            "name",
        ),
        ("expired", pki.expired_leaf("old", &[NAME]), "expired"),
        (
            "self-signed",
            pki.self_signed("self", &[NAME]),
            "self-signed",
        ),
    ]
}

/// The row failed in TLS, in time, before any credential was sent.
fn expect_tls(o: &Outcome, f: &FakeServer, phase: &str, row: &str, word: &str) {
    let e = o.res.as_ref().expect_err(row);
    assert_eq!(
        (e.phase.as_str(), e.kind),
        (phase, ErrorKind::Tls),
        "{row}: {e}"
    );
    assert!(
        e.message.to_ascii_lowercase().contains(word),
        "{row}: `{word}` not in {e}"
    );
    assert!(o.took < BOUND, "{row}: took {:?}", o.took);
    assert!(!o.obs.facts.contains_key("tls_insecure"), "{row}");
    let sent = f.rec.lines().join("\n").to_ascii_uppercase();
    assert!(
        !sent.contains("USER") && !sent.contains("LOGIN") && !sent.contains("AUTH"),
        "{row}: credentials sent over a bad TLS session: {sent}"
    );
}

/// Every bad certificate × POP3/IMAP, over implicit TLS or STLS/STARTTLS.
async fn bad_certificate_rows(starttls: bool) {
    let (mode, phase) = match starttls {
        true => (TlsMode::Starttls, "starttls"),
        false => (TlsMode::Implicit, "tls"),
    };
    let pki = TestPki::new();
    for (row, files, word) in bad_certs(&pki) {
        for proto in [Proto::Pop3, Proto::Imap] {
            let f = tls_fake(proto, &files, starttls).await;
            let o = retrieve(&endpoint(&f, proto, mode, Some(&pki.ca))).await;
            expect_tls(&o, &f, phase, &format!("{proto:?} {mode:?} {row}"), word);
        }
    }
}

#[tokio::test]
async fn pop3s_and_imaps_refuse_bad_certificates() {
    bad_certificate_rows(false).await;
}

#[tokio::test]
async fn stls_and_starttls_refuse_bad_certificates() {
    bad_certificate_rows(true).await;
}

#[tokio::test]
async fn insecure_accepts_a_self_signed_certificate_for_pop3s_and_imaps() {
    let pki = TestPki::new();
    let files = pki.self_signed("self", &["wrong.example.test"]);
    for proto in [Proto::Pop3, Proto::Imap] {
        let f = tls_fake(proto, &files, false).await;
        let mut ep = endpoint(&f, proto, TlsMode::Implicit, None);
        ep.tls_options.insecure = Some(true);
        let o = retrieve(&ep).await;
        // TLS passed: the probe got to the greeting (which refuses).
        let e = o.res.as_ref().expect_err("the fake refuses after TLS");
        assert_eq!(e.phase, "greeting", "{proto:?}: {e}");
        assert_eq!(o.obs.facts["tls_insecure"], "true", "{proto:?}");
    }
}

// ------------------------------------------------------------------ pinning rows

/// Issue 15: a `CA:TRUE` self-signed server certificate (what `openssl req
/// -x509` makes) given as `ca_file` is pinned: TLS passes and is verified
/// (no insecure fact), over implicit TLS and STLS/STARTTLS.
#[tokio::test]
async fn a_self_signed_ca_certificate_given_as_ca_file_is_pinned() {
    let pki = TestPki::new();
    let files = pki.self_signed_ca("site", &[NAME]);
    for starttls in [false, true] {
        let mode = match starttls {
            true => TlsMode::Starttls,
            false => TlsMode::Implicit,
        };
        for proto in [Proto::Pop3, Proto::Imap] {
            let f = tls_fake(proto, &files, starttls).await;
            let o = retrieve(&endpoint(&f, proto, mode, Some(&files.cert))).await;
            let e = o.res.as_ref().expect_err("the fake refuses after TLS");
            assert_ne!(e.kind, ErrorKind::Tls, "{proto:?} {mode:?}: {e}");
            // Past the handshake: the fake's refusal comes after TLS.
            assert!(
                !["tls", "starttls"].contains(&e.phase.as_str()),
                "{proto:?} {mode:?}: {e}"
            );
            assert!(!o.obs.facts.contains_key("tls_insecure"), "{proto:?}");
        }
    }
}

/// Pinned is not blind: the name and the pin itself are still checked, and
/// an unpinned `CA:TRUE` certificate is refused in words that say how to fix
/// it.
#[tokio::test]
async fn a_pinned_certificate_still_needs_its_name_and_the_pin_must_match() {
    let pki = TestPki::new();
    let files = pki.self_signed_ca("site", &[NAME]);
    let proto = Proto::Pop3;
    // Given as ca_file, but the suite asks for another name.
    let f = tls_fake(proto, &files, false).await;
    let mut ep = endpoint(&f, proto, TlsMode::Implicit, Some(&files.cert));
    ep.tls_options.server_name = Some("mail.example.test".into());
    let o = retrieve(&ep).await;
    expect_tls(
        &o,
        &f,
        "tls",
        "pinned, wrong name",
        "certificate is for fake.example.test, not mail.example.test",
    );
    // Not pinned at all (another CA as ca_file).
    let o = retrieve(&endpoint(&f, proto, TlsMode::Implicit, Some(&pki.ca))).await;
    expect_tls(&o, &f, "tls", "unpinned CA:TRUE", "ca_file");
    // pin_sha256 as openssl prints the fingerprint: TLS passes without ca_file.
    let mut ep = endpoint(&f, proto, TlsMode::Implicit, None);
    ep.tls_options.pin_sha256 = Some(vec![crate::support::fakes::fingerprint(&files.cert)]);
    let o = retrieve(&ep).await;
    let e = o.res.as_ref().expect_err("the fake refuses after TLS");
    assert_eq!(e.phase, "greeting", "pin_sha256: {e}");
    // A pin of another certificate does not open the door.
    let other = pki.self_signed_ca("other", &[NAME]);
    let mut ep = endpoint(&f, proto, TlsMode::Implicit, None);
    ep.tls_options.pin_sha256 = Some(vec![crate::support::fakes::fingerprint(&other.cert)]);
    let o = retrieve(&ep).await;
    expect_tls(
        &o,
        &f,
        "tls",
        "wrong pin",
        "presents a ca certificate (ca:true",
    );
}

// ------------------------------------------------------------------ end to end

/// An MTA that answers each connection with `script` (greeting, then one
/// reply per client line), on a plain std thread.
fn hostile_mta(script: &'static [&'static [u8]]) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { return };
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                for reply in script {
                    if s.write_all(reply).is_err() {
                        return;
                    }
                    let mut line = Vec::new();
                    if matches!(r.read_until(b'\n', &mut line), Ok(0) | Err(_)) {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn hostile_mta_end_to_end_still_writes_valid_junit_and_systest_rows() {
    // mta-a refuses at once with a hostile 554 greeting; mta-b greets with
    // hostile bytes, then rejects MAIL FROM with a hostile 554.
    let a = hostile_mta(&[b"554 5.3.2 \x00\x1b[2J]]>\xff\xfe go away\r\n"]);
    let b = hostile_mta(&[
        b"220 fake\x00\x1b[31m]]>\xff ESMTP\r\n",
        b"250-fake\r\n250 SIZE 1000\r\n",
        b"554 5.7.1 <\x00\x1b]0;pwned\x07]]>\xc3\x28> rejected\r\n",
        b"221 bye\r\n",
    ]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let store_port = closed.local_addr().unwrap().port();
    drop(closed);

    let d = tempfile::tempdir().unwrap();
    let pw = d.path().join("u1.pass");
    std::fs::write(&pw, SECRET).unwrap();
    let suite = d.path().join("hostile.yaml");
    std::fs::write(
        &suite,
        format!(
            "site: hostile\ndefaults:\n  timeout: 10s\n  step_timeout: 2s\n  \
             sender: hm@monitor.example.test\nhosts:\n  \
             mta-a: {{roles: [mta], address: 127.0.0.1, endpoints: {{smtp: {{port: {a}}}}}}}\n  \
             mta-b: {{roles: [mta], address: 127.0.0.1, endpoints: {{smtp: {{port: {b}}}}}}}\n  \
             st: {{roles: [store], address: 127.0.0.1, endpoints: {{pop3: {{port: {store_port}}}}}}}\n\
             accounts:\n  u1: {{address: u1@example.test, store: st, password_file: {}}}\n\
             roundtrip:\n  arrival_timeout: 2s\n  matrix:\n    \
             - {{submit: [mta-a, mta-b], retrieve: [store], protocol: [pop3]}}\n",
            pw.display()
        ),
    )
    .unwrap();
    let reports = d.path().join("reports");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_healthmon"))
        .arg("run")
        .arg(&suite)
        .arg("--reports")
        .arg(&reports)
        .output()
        .unwrap();
    let show = format!(
        "exit {:?}\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(matches!(o.status.code(), Some(1 | 2)), "{show}");
    // No terminal escape reaches the operator's terminal.
    assert!(
        !o.stdout.contains(&0x1b) && !o.stderr.contains(&0x1b),
        "{show}"
    );

    let xml = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 2, "{xml}");
    for c in &cases {
        let bad = c
            .children()
            .find(|n| n.has_tag_name("failure") || n.has_tag_name("error"))
            .unwrap_or_else(|| panic!("{:?} has no failure/error", c.attribute("name")));
        let msg = bad.attribute("message").unwrap_or("");
        assert!(msg.contains("554"), "{msg}");
        assert!(
            !msg.contains("]]>") && !msg.chars().any(char::is_control),
            "{msg:?}"
        );
    }

    let log = std::fs::read_to_string(reports.join("systest.log")).unwrap();
    for host in ["mta-a", "mta-b"] {
        assert!(
            log.lines().any(|l| l.contains(host) && l.contains("u1")),
            "no systest row for {host}:\n{log}"
        );
    }
    assert!(
        !log.chars().any(|c| c.is_control() && c != '\n') && !log.contains("]]>"),
        "unsanitised systest.log: {log:?}"
    );
    let run = healthmon::report::json::read(&reports.join("last-run.json")).unwrap();
    assert_eq!(run.results.len(), 2);
    assert!(!xml.contains(SECRET) && !log.contains(SECRET));
}
