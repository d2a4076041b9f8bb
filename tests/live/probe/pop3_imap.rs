//! POP3 and IMAP probes against the real loopback site: submit a tagged
//! message through mta1, find, fetch and delete it through the MMPs and the
//! stores (STLS/STARTTLS and implicit TLS, USER/PASS, LOGIN and SASL PLAIN),
//! reap leftovers of the same case only, handle duplicates, refuse wrong
//! passwords as `auth`, and report a probe that never comes as `not_arrived`.

use crate::support::mailprobe;
use crate::support::site;

use std::time::{Duration, Instant};

use crate::support::mailprobe::*;
use healthmon::probe::{imap, pop3};
use healthmon::result::{ErrorKind, Observation};
use healthmon::secret::Secret;
use healthmon::suite::model::{AuthMech, Proto, TlsMode};

fn case(tag: &str) -> String {
    format!("test/{tag}/{}", &token()[2..10])
}

fn assert_phases(obs: &Observation, want: &[&str]) {
    for p in want {
        assert!(
            obs.phase_ms(p).is_some(),
            "phase {p} missing: {:?}",
            obs.phases
        );
    }
}

fn transcript(obs: &Observation) -> String {
    obs.transcript.join("\n")
}

/// Submit, retrieve with `proto`, check everything a round trip must show.
async fn round_trip(
    proto: &str,
    ep: &healthmon::suite::resolve::Endpoint,
    account: &str,
) -> Observation {
    let pw = password(account);
    let tok = token();
    let cid = case(proto);
    let to = format!("{account}@example.test");
    let accepted = submit(&to, &probe_message(&tok, &cid, &to)).await;
    let r = req(ep, account, &pw, &tok, &cid, Duration::from_secs(20));
    let mut obs = Observation::default();
    let got = match proto {
        "pop3" => pop3::retrieve(&r, &mut obs).await,
        _ => imap::retrieve(&r, &mut obs).await,
    };
    let got = got.unwrap_or_else(|e| panic!("{proto} via {}: {e}\n{}", ep.host, transcript(&obs)));
    let text = String::from_utf8_lossy(&got.raw);
    assert!(
        text.contains(&format!("Message-ID: <{tok}@healthmon.invalid>")),
        "{text}"
    );
    // Dot-stuffing undone: the body line starts with exactly one dot.
    assert!(
        text.contains("\r\n.a line that starts with a dot\r\n"),
        "{text}"
    );
    assert!(text.contains(&format!("probe body {tok}\r\n")));
    assert!(
        got.detected_at >= accepted,
        "seen before the MTA accepted it?"
    );
    assert_eq!(got.reaped, 0);
    assert_phases(
        &obs,
        &[
            "connect", "greeting", "auth", "login", "delivery", "fetch", "delete", "logout",
        ],
    );
    assert_no_secret(&obs, &pw);
    // Gone afterwards: a fresh session no longer sees it.
    let mut o2 = Observation::default();
    let present = match proto {
        "pop3" => pop3::probe_present(&r, &mut o2).await,
        _ => imap::probe_present(&r, &mut o2).await,
    };
    assert!(
        !present.unwrap().is_found(),
        "{proto} probe still present after retrieve"
    );
    eprintln!(
        "{proto} via {}: delivery {:.1} ms after accept, login {:.1} ms, fetch {:.1} ms",
        ep.host,
        got.detected_at.duration_since(accepted).as_secs_f64() * 1000.0,
        obs.phase_ms("login").unwrap(),
        obs.phase_ms("fetch").unwrap()
    );
    obs
}

#[tokio::test]
async fn pop3_round_trip_through_mmp1_and_store1() {
    let _g = site::site_shared();
    for host in ["mmp1", "store1"] {
        let obs = round_trip("pop3", &mailprobe::pop3(host), "ims1").await;
        assert_phases(&obs, &["starttls"]);
        assert!(obs.facts.contains_key("tls_version"), "{:?}", obs.facts);
        let t = transcript(&obs);
        assert!(t.contains("C: PASS <redacted>"), "{t}");
        assert!(t.contains("C: STLS"), "{t}");
        assert!(t.contains("C: DELE "), "{t}");
    }
}

#[tokio::test]
async fn imap_round_trip_through_mmp2_and_store2() {
    let _g = site::site_shared();
    for host in ["mmp2", "store2"] {
        let obs = round_trip("imap", &mailprobe::imap(host), "ims3").await;
        assert_phases(&obs, &["starttls", "select"]);
        let caps = &obs.facts["imap_capability"];
        assert!(caps.contains("UIDPLUS") && caps.contains("IDLE"), "{caps}");
        let t = transcript(&obs);
        assert!(t.contains("LOGIN \"ims3\" <redacted>"), "{t}");
        assert!(t.contains("UID EXPUNGE "), "{t}");
        assert!(t.contains("BODY.PEEK[]"), "{t}");
        // Never a plain EXPUNGE or CLOSE.
        for l in &obs.transcript {
            let cmd: Vec<&str> = l.split(' ').collect();
            if l.starts_with("C: ") && cmd.len() > 2 {
                assert!(!cmd[2].eq_ignore_ascii_case("EXPUNGE"), "{l}");
                assert!(!cmd[2].eq_ignore_ascii_case("CLOSE"), "{l}");
            }
        }
    }
}

#[tokio::test]
async fn implicit_tls_with_sasl_plain() {
    let _g = site::site_shared();
    let p = ep(
        "mmp1",
        Proto::Pop3s,
        995,
        TlsMode::Implicit,
        Some(AuthMech::Plain),
    );
    let obs = round_trip("pop3", &p, "ims4").await;
    assert_phases(&obs, &["tls"]);
    assert!(
        transcript(&obs).contains("C: AUTH PLAIN <redacted>"),
        "{}",
        transcript(&obs)
    );
    let i = ep(
        "mmp2",
        Proto::Imaps,
        993,
        TlsMode::Implicit,
        Some(AuthMech::Plain),
    );
    let obs = round_trip("imap", &i, "ims4").await;
    assert_phases(&obs, &["tls"]);
    // SASL-IR is offered by Dovecot: one line, redacted.
    assert!(
        transcript(&obs).contains("AUTHENTICATE PLAIN <redacted>"),
        "{}",
        transcript(&obs)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_arrival_is_seen_promptly_by_idle_and_by_polling() {
    let _g = site::site_shared();
    let pw = password("ims4");
    for proto in ["imap", "pop3"] {
        let e = if proto == "imap" {
            mailprobe::imap("mmp2")
        } else {
            mailprobe::pop3("mmp1")
        };
        let tok = token();
        let cid = case("late");
        let to = "ims4@example.test".to_string();
        let msg = probe_message(&tok, &cid, &to);
        // Its own task: the acceptance time must not wait on the receiver.
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(700)).await;
            submit(&to, &msg).await
        });
        let r = req(&e, "ims4", &pw, &tok, &cid, Duration::from_secs(20));
        let mut obs = Observation::default();
        let recv = async {
            match proto {
                "imap" => imap::retrieve(&r, &mut obs).await,
                _ => pop3::retrieve(&r, &mut obs).await,
            }
        };
        let (accepted, got) = tokio::join!(sender, recv);
        let accepted = accepted.unwrap();
        let got = got.unwrap_or_else(|e| panic!("{proto}: {e}"));
        let lag = got.detected_at.saturating_duration_since(accepted);
        eprintln!(
            "{proto}: seen {:.1} ms after the MTA accepted it",
            lag.as_secs_f64() * 1000.0
        );
        assert!(got.detected_at >= accepted);
        assert!(
            obs.phase_ms("delivery").unwrap() >= 500.0,
            "{:?}",
            obs.phases
        );
        if proto == "imap" {
            assert!(transcript(&obs).contains(" IDLE"), "{}", transcript(&obs));
        } else {
            let polls: u32 = obs.facts["polls"].parse().unwrap();
            assert!(polls >= 2, "polls {polls}");
        }
    }
}

#[tokio::test]
async fn leftovers_of_this_case_only_are_reaped() {
    let _g = site::site_shared();
    let account = "ims2";
    let to = format!("{account}@example.test");
    let pw = password(account);
    for proto in ["imap", "pop3"] {
        let cid = case("reap");
        let longer_case = format!("{cid}x"); // contains ours as a substring
        let other_case = format!("x{cid}");
        // Real leftovers signed with our key: one of this case, two of
        // cases whose ids contain or extend it.
        let (old, old_msg) = leftover(&cid, &to);
        let (longer, longer_msg) = leftover(&longer_case, &to);
        let (other, other_msg) = leftover(&other_case, &to);
        let ours = token();
        submit(&to, &old_msg).await;
        submit(&to, &longer_msg).await;
        submit(&to, &other_msg).await;
        for t in [&old, &longer, &other] {
            wait_delivered("store1", account, t).await;
        }
        submit(&to, &probe_message(&ours, &cid, &to)).await;
        let e = if proto == "imap" {
            mailprobe::imap("mmp1")
        } else {
            mailprobe::pop3("mmp2")
        };
        let r = req(&e, account, &pw, &ours, &cid, Duration::from_secs(20));
        let mut obs = Observation::default();
        let got = match proto {
            "imap" => imap::retrieve(&r, &mut obs).await,
            _ => pop3::retrieve(&r, &mut obs).await,
        }
        .unwrap_or_else(|e| panic!("{proto}: {e}\n{}", transcript(&obs)));
        assert_eq!(got.reaped, 1, "{proto}");
        assert_eq!(obs.facts.get("reaped").map(String::as_str), Some("1"));
        let mut c = RawImap::login("store1", account).await;
        assert!(
            c.uids_with_mid(&old).await.is_empty(),
            "{proto}: leftover not reaped"
        );
        assert!(
            c.uids_with_mid(&ours).await.is_empty(),
            "{proto}: probe not deleted"
        );
        let keep_l = c.uids_with_mid(&longer).await;
        let keep_o = c.uids_with_mid(&other).await;
        assert_eq!(
            keep_l.len(),
            1,
            "{proto}: a probe of case {longer_case} was touched"
        );
        assert_eq!(
            keep_o.len(),
            1,
            "{proto}: a probe of case {other_case} was touched"
        );
        c.remove(&[keep_l[0], keep_o[0]]).await;
        c.logout().await;
    }
}

#[tokio::test]
async fn a_message_that_arrives_twice_is_deleted_twice() {
    let _g = site::site_shared();
    let account = "ims3";
    let to = format!("{account}@example.test");
    let pw = password(account);
    for proto in ["pop3", "imap"] {
        let cid = case("dup");
        // A real probe: every copy deleted besides the first must be intact.
        let (tok, msg) = signed_probe(key(), &cid, &to);
        submit(&to, &msg).await;
        submit(&to, &msg).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut c = RawImap::login("store2", account).await;
            let n = c.uids_with_mid(&tok).await.len();
            c.logout().await;
            if n == 2 {
                break;
            }
            assert!(Instant::now() < deadline, "both copies never arrived");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let e = if proto == "imap" {
            mailprobe::imap("store2")
        } else {
            mailprobe::pop3("store2")
        };
        let r = req(&e, account, &pw, &tok, &cid, Duration::from_secs(20));
        let mut obs = Observation::default();
        let got = match proto {
            "imap" => imap::retrieve(&r, &mut obs).await,
            _ => pop3::retrieve(&r, &mut obs).await,
        };
        got.unwrap_or_else(|e| panic!("{proto}: {e}"));
        assert_eq!(
            obs.facts.get("duplicates").map(String::as_str),
            Some("1"),
            "{proto}"
        );
        let mut c = RawImap::login("store2", account).await;
        assert!(
            c.uids_with_mid(&tok).await.is_empty(),
            "{proto}: a copy was left"
        );
        c.logout().await;
    }
}

#[tokio::test]
async fn wrong_password_is_an_auth_error() {
    let _g = site::site_shared();
    let wrong = Secret::new("Wr0ng-\"pass\\word");
    for host in ["mmp1", "store1"] {
        let mut obs = Observation::default();
        let e = pop3::login_check(&mailprobe::pop3(host), "ims1", &wrong, STEP, &mut obs)
            .await
            .unwrap_err();
        assert_eq!(
            (e.kind, e.phase.as_str()),
            (ErrorKind::Auth, "auth"),
            "pop3 {host}: {e}"
        );
        assert_no_secret(&obs, &wrong);
        let mut obs = Observation::default();
        let e = imap::login_check(&mailprobe::imap(host), "ims1", &wrong, STEP, &mut obs)
            .await
            .unwrap_err();
        assert_eq!(
            (e.kind, e.phase.as_str()),
            (ErrorKind::Auth, "auth"),
            "imap {host}: {e}"
        );
        assert_no_secret(&obs, &wrong);
    }
    // And the right one works (the check can fail both ways).
    let pw = password("ims1");
    let mut obs = Observation::default();
    pop3::login_check(&mailprobe::pop3("mmp1"), "ims1", &pw, STEP, &mut obs)
        .await
        .unwrap();
    imap::login_check(&mailprobe::imap("mmp1"), "ims1", &pw, STEP, &mut obs)
        .await
        .unwrap();
    assert_no_secret(&obs, &pw);
}

#[tokio::test]
async fn a_probe_that_never_comes_is_not_arrived() {
    let _g = site::site_shared();
    let pw = password("ims4");
    let tok = token();
    let cid = case("never");
    for proto in ["pop3", "imap"] {
        let e = if proto == "imap" {
            mailprobe::imap("store2")
        } else {
            mailprobe::pop3("store2")
        };
        let r = req(&e, "ims4", &pw, &tok, &cid, Duration::from_millis(1500));
        let mut obs = Observation::default();
        let t0 = Instant::now();
        let err = match proto {
            "imap" => imap::retrieve(&r, &mut obs).await,
            _ => pop3::retrieve(&r, &mut obs).await,
        }
        .unwrap_err();
        assert_eq!(
            (err.kind, err.phase.as_str()),
            (ErrorKind::NotArrived, "delivery"),
            "{proto}: {err}"
        );
        assert!(
            t0.elapsed() < Duration::from_secs(4),
            "{proto} overran its deadline: {:?}",
            t0.elapsed()
        );
        assert!(t0.elapsed() >= Duration::from_millis(1400));
    }
}

#[tokio::test]
async fn capabilities_without_login() {
    let _g = site::site_shared();
    let mut obs = Observation::default();
    let caps = pop3::capabilities(&mailprobe::pop3("mmp1"), STEP, &mut obs)
        .await
        .unwrap();
    for c in ["UIDL", "TOP", "USER"] {
        assert!(caps.iter().any(|x| x == c), "{c} missing in {caps:?}");
    }
    let caps = imap::capabilities(&mailprobe::imap("store1"), STEP, &mut obs)
        .await
        .unwrap();
    for c in ["IMAP4REV1", "AUTH=PLAIN", "IDLE"] {
        assert!(caps.iter().any(|x| x == c), "{c} missing in {caps:?}");
    }
    // After STARTTLS the server no longer offers STARTTLS (caps were re-read).
    assert!(!caps.iter().any(|x| x == "STARTTLS"), "{caps:?}");
    assert!(obs.facts["banner"].contains("Dovecot"), "{:?}", obs.facts);
}

/// Isolation's "is the probe on the store?" look says when the store
/// received it (POP3: the newest Received header; IMAP: INTERNALDATE), so a
/// probe delivered after a case gave up is told from one the MMP hid.
#[tokio::test]
async fn a_present_probe_says_when_the_store_received_it() {
    let _g = site::site_shared();
    let pw = password("ims2");
    let tok = token();
    let cid = case("present");
    let to = "ims2@example.test";
    let before = chrono::Utc::now();
    submit(to, &probe_message(&tok, &cid, to)).await;
    let started = Instant::now();
    for (proto, ep) in [
        ("pop3", mailprobe::pop3("store1")),
        ("imap", mailprobe::imap("store1")),
    ] {
        let r = req(&ep, "ims2", &pw, &tok, &cid, Duration::from_secs(20));
        let found = loop {
            let mut obs = Observation::default();
            let p = match proto {
                "pop3" => pop3::probe_present(&r, &mut obs).await,
                _ => imap::probe_present(&r, &mut obs).await,
            }
            .unwrap_or_else(|e| panic!("{proto}: {e}\n{}", transcript(&obs)));
            if p.is_found() || started.elapsed() > Duration::from_secs(15) {
                break p;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let pop3::Presence::Found {
            delivered_at: Some(at),
        } = found
        else {
            panic!("{proto}: {found:?}");
        };
        // Second resolution, same clock on the loopback site.
        let slack = chrono::Duration::seconds(2);
        assert!(
            at >= before - slack && at <= chrono::Utc::now() + slack,
            "{proto}: received {at}, submitted {before}"
        );
    }
    // Take it away again.
    let ep = mailprobe::imap("store1");
    let r = req(&ep, "ims2", &pw, &tok, &cid, Duration::from_secs(10));
    imap::retrieve(&r, &mut Observation::default())
        .await
        .expect("the probe is deleted");
}
