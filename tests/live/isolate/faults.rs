//! Failure isolation on the real site: each fault of the issue's matrix is
//! injected with tests/site/mailsite, healthmon runs the affected paths plus
//! healthy neighbours, and the verdicts must name exactly the broken host and
//! protocol. After the repair, the same selection passes.

use crate::support::isolate::{glob, run, show};
use crate::support::site::{self, Fault};

use std::path::{Path, PathBuf};
use std::time::Duration;

use healthmon::result::{Confidence, RunSummary, Status};

/// A suite of the local site with short timeouts (faults make cases wait for
/// their deadline) and queue checks that let isolation read the MTA queues.
fn suite(dir: &Path) -> PathBuf {
    let st = site::site_state();
    let st = st.display();
    let text = format!(
        r#"
site: isolation
defaults:
  timeout: 20s
  step_timeout: 3s
  sender: healthmon@monitor.example.test
  tls: {{ca_file: {st}/ca/ca.pem}}
  thresholds:
    total: {{warning: 15s, critical: 18s}}
hosts:
  lb: {{roles: [lb], address: 127.0.5.1, backends: [mta1, mta2, mmp1, mmp2], endpoints: {{smtp: {{}}, pop3: {{}}, imap: {{}}}}}}
  mta1:
    roles: [mta]
    address: 127.0.1.1
    endpoints: {{smtp: {{tls: starttls}}, lmtp: {{port: 2525}}}}
    checks: [{{queue: {{mta: postfix, config_dir: {st}/mta1/conf}}}}]
  mta2:
    roles: [mta]
    address: 127.0.1.2
    endpoints: {{smtp: {{tls: starttls}}}}
    checks: [{{queue: {{mta: postfix, config_dir: {st}/mta2/conf}}}}]
  mmp1: {{roles: [mmp], address: 127.0.3.1, tls: {{server_name: mmp1.example.test}}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}}}}}
  mmp2: {{roles: [mmp], address: 127.0.3.2, tls: {{server_name: mmp2.example.test}}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}}}}}
  store1: {{roles: [store], address: 127.0.2.1, tls: {{server_name: store1.example.test}}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}, lmtp: {{port: 24}}}}}}
  store2: {{roles: [store], address: 127.0.2.2, tls: {{server_name: store2.example.test}}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}, lmtp: {{port: 24}}}}}}
  ldap1: {{roles: [ldap], address: 127.0.4.1, endpoints: {{ldap: {{port: 389}}}}}}
accounts:
  ims1: {{address: ims1@example.test, store: store1, password_file: {st}/secrets/ims1.pass}}
  ims2: {{address: ims2@example.test, store: store1, password_file: {st}/secrets/ims2.pass}}
  ims3: {{address: ims3@example.test, store: store2, password_file: {st}/secrets/ims3.pass}}
  ims4: {{address: ims4@example.test, store: store2, password_file: {st}/secrets/ims4.pass}}
roundtrip:
  arrival_timeout: 6s
  matrix:
    - submit: [lb, mta1, mta2]
      retrieve: [mmp1, mmp2, store]
      protocol: [pop3, imap]
"#
    );
    // mta1's lmtp endpoint above is a deliberate dead port that nobody probes:
    // it must not matter (isolation only greets stores' LMTP).
    let text = text.replace(", lmtp: {port: 2525}", "");
    let p = dir.join("isolation.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// The fault run: exactly one verdict, keyed `key` (host + component, the
/// alert identity), on `host` with a protocol containing `proto`; the
/// `healthy` cases pass; the run stays within its budget.
fn check(s: &RunSummary, took: Duration, key: &str, host: &str, proto: &str, healthy: &[&str]) {
    let info = show(s);
    assert_eq!(s.verdicts.len(), 1, "expected one verdict:\n{info}");
    let v = &s.verdicts[0];
    assert_eq!(v.key(), key, "{info}");
    assert_eq!(v.host, host, "{info}");
    assert!(
        v.protocol.contains(proto),
        "protocol {} should name {proto}:\n{info}",
        v.protocol
    );
    assert_eq!(v.confidence, Confidence::Isolated, "{info}");
    for r in s.results.iter().filter(|r| r.status != Status::Skipped) {
        let should_pass = healthy.iter().any(|h| glob(h, &r.id));
        if should_pass {
            assert_eq!(r.status, Status::Pass, "{} should pass:\n{info}", r.id);
        } else {
            assert!(r.status.is_bad(), "{} should fail:\n{info}", r.id);
            assert_eq!(
                r.verdict.as_deref(),
                Some(v.key().as_str()),
                "{} carries the verdict:\n{info}",
                r.id
            );
        }
    }
    // Case timeout 20s + isolation follow-ups (3 × step 3s) + start-up.
    assert!(took < Duration::from_secs(40), "run took {took:?}:\n{info}");
}

fn passes_after_repair(suite: &Path, reports: &Path, only: &[&str]) {
    // Repaired sites recover within seconds (short Postfix retry timers).
    let mut last = String::new();
    for _ in 0..3 {
        let (s, _) = run(suite, reports, only);
        if s.results.iter().all(|r| !r.status.is_bad()) && s.verdicts.is_empty() {
            return;
        }
        last = show(&s);
        std::thread::sleep(Duration::from_secs(2));
    }
    panic!("after repair the selection should pass:\n{last}");
}

fn setup() -> (site::SiteGuard, tempfile::TempDir, PathBuf, PathBuf) {
    let g = site::site_exclusive();
    let d = tempfile::tempdir().unwrap();
    let s = suite(d.path());
    let r = d.path().join("reports");
    (g, d, s, r)
}

#[test]
fn isolates_each_fault_of_the_matrix() {
    let (_g, _d, suite, reports) = setup();

    // 1. store1 Dovecot stopped → store1 (imap/pop3); store2 paths pass.
    {
        let only = ["rndtrip/ims1/mta1/*", "rndtrip/ims3/mta1/*"];
        let f = Fault::new(&["stop", "store1"], &["start", "store1"]);
        let (s, took) = run(&suite, &reports, &only);
        check(&s, took, "store1", "store1", "imap", &["rndtrip/ims3/*"]);
        assert!(s.verdicts[0].protocol.contains("pop3"));
        drop(f);
        passes_after_repair(&suite, &reports, &only);
    }
    // 2. store1 LMTP down, IMAP/POP up → store1 lmtp.
    {
        let only = [
            "rndtrip/ims1/mta1/mmp1/pop3",
            "rndtrip/ims1/mta1/store1/imap",
            "rndtrip/ims3/mta1/mmp1/pop3",
        ];
        let f = Fault::new(
            &["fault", "lmtp-down", "store1"],
            &["repair", "lmtp-down", "store1"],
        );
        let (s, took) = run(&suite, &reports, &only);
        check(
            &s,
            took,
            "store1/lmtp",
            "store1",
            "lmtp",
            &["rndtrip/ims3/*"],
        );
        drop(f);
        passes_after_repair(&suite, &reports, &only);
    }
    // 3. mmp1 stopped → mmp1, one verdict for both its protocols; the same
    //    users via mmp2 and the store pass.
    {
        let only = ["rndtrip/ims1/mta1/*"];
        let f = Fault::new(&["stop", "mmp1"], &["start", "mmp1"]);
        let (s, took) = run(&suite, &reports, &only);
        check(
            &s,
            took,
            "mmp1",
            "mmp1",
            "pop3",
            &["rndtrip/ims1/mta1/mmp2/*", "rndtrip/ims1/mta1/store1/*"],
        );
        assert_eq!(s.verdicts[0].protocol, "imap/pop3", "{}", show(&s));
        drop(f);
        passes_after_repair(&suite, &reports, &only);
    }
    // 4. mta2 port 25 refusing → mta2 smtp; lb paths pass through mta1.
    {
        let only = ["rndtrip/ims2/*/mmp2/imap"];
        let f = Fault::new(
            &["fault", "smtp-refuse", "mta2"],
            &["repair", "smtp-refuse", "mta2"],
        );
        std::thread::sleep(Duration::from_secs(3)); // haproxy's health check drops mta2
        let (s, took) = run(&suite, &reports, &only);
        check(
            &s,
            took,
            "mta2/smtp",
            "mta2",
            "smtp",
            &["rndtrip/ims2/lb/*", "rndtrip/ims2/mta1/*"],
        );
        drop(f);
        passes_after_repair(&suite, &reports, &only);
    }
    // 5. mta1 queue on hold → mta1 queue (accepted, not delivered).
    {
        let only = [
            "rndtrip/ims4/mta1/store2/pop3",
            "rndtrip/ims4/mta2/store2/pop3",
        ];
        let f = Fault::new(&["fault", "hold", "mta1"], &["repair", "hold", "mta1"]);
        let (s, took) = run(&suite, &reports, &only);
        check(
            &s,
            took,
            "mta1/queue",
            "mta1",
            "queue",
            &["rndtrip/ims4/mta2/*"],
        );
        drop(f);
        passes_after_repair(&suite, &reports, &only);
    }
    // 6. ldap1 stopped (routing via LDAP) → ldap1.
    {
        let only = [
            "rndtrip/ims1/mta1/mmp1/pop3",
            "rndtrip/ims3/mta2/store2/imap",
        ];
        let f = Fault::new(&["stop", "ldap1"], &["start", "ldap1"]);
        let (s, took) = run(&suite, &reports, &only);
        check(&s, took, "ldap1", "ldap1", "ldap", &[]);
        drop(f);
        passes_after_repair(&suite, &reports, &only);
    }
    // 7. ims3's password wrong on store2 → account ims3 authentication.
    {
        let only = [
            "rndtrip/ims3/mta1/mmp1/pop3",
            "rndtrip/ims3/mta1/store2/imap",
            "rndtrip/ims4/mta1/mmp1/pop3",
        ];
        let f = Fault::new(
            &["fault", "badpass", "ims3"],
            &["repair", "badpass", "ims3"],
        );
        let (s, took) = run(&suite, &reports, &only);
        check(
            &s,
            took,
            "account:ims3",
            "account:ims3",
            "auth",
            &["rndtrip/ims4/*"],
        );
        drop(f);
        passes_after_repair(&suite, &reports, &only);
    }
    // 8. store2 hung (SIGSTOP) → store2, the phase that timed out.
    {
        let only = [
            "rndtrip/ims3/mta1/store2/pop3",
            "rndtrip/ims3/mta1/mmp1/imap",
            "rndtrip/ims1/mta1/mmp1/imap",
        ];
        let f = Fault::new(&["fault", "hang", "store2"], &["repair", "hang", "store2"]);
        let (s, took) = run(&suite, &reports, &only);
        check(&s, took, "store2", "store2", "", &["rndtrip/ims1/*"]);
        assert!(
            s.verdicts[0].reason.contains("not responding"),
            "{}",
            show(&s)
        );
        drop(f);
        passes_after_repair(&suite, &reports, &only);
    }
}

/// The local site as a new user describes it from the README: addresses,
/// endpoints, accounts, a matrix, the CA (the site's own) and `timeout` —
/// no step timeout, no arrival wait, no thresholds. The queue checks name
/// each Postfix instance's config dir only because this site runs several
/// on one machine.
fn new_user_suite(dir: &Path) -> PathBuf {
    let st = site::site_state();
    let st = st.display();
    let text = format!(
        r#"
site: newuser
defaults:
  timeout: 30s
  tls: {{ca_file: {st}/ca/ca.pem}}
hosts:
  mta1:
    roles: [mta]
    address: 127.0.1.1
    endpoints: {{smtp: {{tls: starttls}}}}
    checks: [{{queue: {{mta: postfix, config_dir: {st}/mta1/conf}}}}]
  mta2:
    roles: [mta]
    address: 127.0.1.2
    endpoints: {{smtp: {{tls: starttls}}}}
    checks: [{{queue: {{mta: postfix, config_dir: {st}/mta2/conf}}}}]
  mmp1: {{roles: [mmp], address: 127.0.3.1, tls: {{server_name: mmp1.example.test}}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}}}}}
  store2: {{roles: [store], address: 127.0.2.2, tls: {{server_name: store2.example.test}}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}, lmtp: {{port: 24}}}}}}
accounts:
  ims3: {{address: ims3@example.test, store: store2, password_file: {st}/secrets/ims3.pass}}
  ims4: {{address: ims4@example.test, store: store2, password_file: {st}/secrets/ims4.pass}}
roundtrip:
  matrix:
    - submit: [mta1, mta2]
      retrieve: [mmp1, store]
      protocol: [pop3, imap]
"#
    );
    let p = dir.join("newuser.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Issue 15: with only `timeout` set, the arrival wait used to equal the case
/// timeout, so the case deadline fired first, the failure lost its host and
/// isolation blamed the MMPs and stores. A held queue and deferred deliveries
/// on mta1 must each give one verdict on mta1's queue, with mta2's paths
/// passing, in about one arrival wait: eight cases are blocked behind mta1
/// (twice the default per-host concurrency), and they give mta1 back once
/// they have submitted instead of waiting in two waves.
#[test]
fn a_suite_with_only_a_timeout_names_the_queue_of_the_held_mta() {
    let (_g, d, _, reports) = setup();
    let suite = new_user_suite(d.path());
    let only = ["rndtrip/ims3/*", "rndtrip/ims4/*"];
    for (fault, what) in [("hold", "held"), ("defer", "deferred")] {
        let f = Fault::new(&["fault", fault, "mta1"], &["repair", fault, "mta1"]);
        let (s, took) = run(&suite, &reports, &only);
        let info = format!("{what}, took {took:?}:\n{}", show(&s));
        assert_eq!(s.verdicts.len(), 1, "{info}");
        let v = &s.verdicts[0];
        assert_eq!(v.host, "mta1", "{info}");
        assert!(v.protocol.contains("queue"), "{info}");
        for r in s.results.iter().filter(|r| r.status != Status::Skipped) {
            if r.id.contains("/mta2/") {
                assert_eq!(r.status, Status::Pass, "{} should pass:\n{info}", r.id);
            } else {
                assert!(r.status.is_bad(), "{} should fail:\n{info}", r.id);
                let e = r.observation.error.as_ref().expect("an error");
                assert_ne!(e.phase, "case", "the case deadline fired first:\n{info}");
            }
        }
        // One arrival wait (30 s - one 10 s step) plus follow-ups, not two
        // waves of them (> 40 s).
        assert!(took < Duration::from_secs(35), "{info}");
        eprintln!("{what}: {took:?}");
        drop(f);
        passes_after_repair(&suite, &reports, &only);
    }
}
