//! The eight faults of `faults.rs` (plus deferred deliveries) on variant b of the site
//! (`tests/site/mailsite --variant b`: perdition MMPs, self-signed `CA:TRUE`
//! server certificates, a different store user database, 127.1.x.y), run
//! with a suite written the way a new user writes one from the README:
//! hosts, accounts, a matrix, `timeout` and the servers' certificates as
//! `ca_file` — nothing tuned, no `insecure`. Each fault must give exactly one
//! verdict, on the right host, with the healthy neighbours passing, and the
//! repaired site must pass again. `suites/local-b.yaml` must pass whole on
//! the healthy site.

use crate::support::isolate::{glob, run, show};
use crate::support::site::{self, FaultB};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use healthmon::result::{RunSummary, Status};

fn new_user_suite(dir: &Path) -> PathBuf {
    let st = site::site_b_state();
    let st = st.display();
    let text = format!(
        r#"
site: newuser-b
defaults:
  timeout: 30s
  tls: {{ca_file: {st}/certs/all.pem}}
hosts:
  lb: {{roles: [lb], address: 127.1.5.1, backends: [mta1, mta2, mmp1, mmp2]}}
  mta1:
    roles: [mta]
    address: 127.1.1.1
    endpoints: {{smtp: {{tls: starttls}}}}
    checks: [{{queue: {{config_dir: {st}/mta1/conf}}}}]
  mta2:
    roles: [mta]
    address: 127.1.1.2
    endpoints: {{smtp: {{tls: starttls}}}}
    checks: [{{queue: {{config_dir: {st}/mta2/conf}}}}]
  mmp1: {{roles: [mmp], address: 127.1.3.1, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}}}}}
  mmp2: {{roles: [mmp], address: 127.1.3.2, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}}}}}
  store1: {{roles: [store], address: 127.1.2.1, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}, lmtp: {{port: 24}}}}}}
  store2: {{roles: [store], address: 127.1.2.2, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}, lmtp: {{port: 24}}}}}}
  ldap1: {{roles: [ldap], address: 127.1.4.1}}
accounts:
  ims1: {{address: ims1@example.test, store: store1, password_file: {st}/secrets/ims1.pass}}
  ims2: {{address: ims2@example.test, store: store1, password_file: {st}/secrets/ims2.pass}}
  ims3: {{address: ims3@example.test, store: store2, password_file: {st}/secrets/ims3.pass}}
  ims4: {{address: ims4@example.test, store: store2, password_file: {st}/secrets/ims4.pass}}
roundtrip:
  matrix:
    - submit: [lb, mta1, mta2]
      retrieve: [mmp1, mmp2, store]
      protocol: [pop3, imap]
"#
    );
    let p = dir.join("newuser-b.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Exactly one verdict, keyed `key` (host + component, the alert identity)
/// and so on the key's host; the `healthy` cases pass, the others fail.
fn check(name: &str, s: &RunSummary, took: Duration, key: &str, healthy: &[&str]) {
    let info = format!("{name}, took {took:?}:\n{}", show(s));
    assert_eq!(s.verdicts.len(), 1, "expected one verdict: {info}");
    let v = &s.verdicts[0];
    assert_eq!(v.key(), key, "{info}");
    assert_eq!(v.host, key.split('/').next().unwrap(), "{info}");
    for r in s.results.iter().filter(|r| r.status != Status::Skipped) {
        if healthy.iter().any(|h| glob(h, &r.id)) {
            assert_eq!(r.status, Status::Pass, "{} should pass: {info}", r.id);
        } else {
            assert!(r.status.is_bad(), "{} should fail: {info}", r.id);
        }
    }
    // One case timeout (30 s) plus the isolation follow-ups.
    assert!(took < Duration::from_secs(60), "{info}");
    eprintln!(
        "variant b: {name}: verdict {} ({:?}) in {took:.1?}",
        v.key(),
        v.confidence
    );
}

fn passes_after_repair(name: &str, suite: &Path, reports: &Path, only: &[&str]) {
    let mut last = String::new();
    for _ in 0..4 {
        let (s, _) = run(suite, reports, only);
        if s.results.iter().all(|r| !r.status.is_bad()) && s.verdicts.is_empty() {
            return;
        }
        last = show(&s);
        std::thread::sleep(Duration::from_secs(2));
    }
    panic!("{name}: after repair the selection should pass:\n{last}");
}

#[test]
fn variant_b_local_suite_passes_on_the_healthy_site() {
    let _g = site::site_b_exclusive();
    let d = tempfile::tempdir().unwrap();
    let reports = d.path().join("reports");
    let suite = site::root().join("suites/local-b.yaml");
    let st = Command::new(site::bin())
        .arg("validate")
        .arg(&suite)
        .status()
        .unwrap();
    assert!(st.success(), "validate suites/local-b.yaml");
    let (s, took) = run(&suite, &reports, &[]);
    let info = show(&s);
    assert!(s.verdicts.is_empty(), "{info}");
    assert!(
        s.results.iter().all(|r| r.status == Status::Pass),
        "every case passes:\n{info}"
    );
    assert!(s.results.len() >= 80, "{info}");
    eprintln!("variant b: suites/local-b.yaml healthy in {took:.1?}");
}

#[test]
fn variant_b_isolates_each_fault_with_a_new_users_suite() {
    let _g = site::site_b_exclusive();
    let d = tempfile::tempdir().unwrap();
    let suite = new_user_suite(d.path());
    let reports = d.path().join("reports");

    // (name, inject, repair, selection, verdict key, healthy cases, settle)
    type Case = (
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
        &'static str,
        &'static [&'static str],
        u64,
    );
    let cases: &[Case] = &[
        (
            "store1 stopped",
            &["stop", "store1"],
            &["start", "store1"],
            &["rndtrip/ims1/mta1/*", "rndtrip/ims3/mta1/*"],
            "store1",
            &["rndtrip/ims3/*"],
            0,
        ),
        (
            "store1 LMTP down",
            &["fault", "lmtp-down", "store1"],
            &["repair", "lmtp-down", "store1"],
            &[
                "rndtrip/ims1/mta1/mmp1/pop3",
                "rndtrip/ims1/mta1/store1/imap",
                "rndtrip/ims3/mta1/mmp1/pop3",
            ],
            "store1/lmtp",
            &["rndtrip/ims3/*"],
            0,
        ),
        (
            "mmp1 stopped",
            &["stop", "mmp1"],
            &["start", "mmp1"],
            &["rndtrip/ims1/mta1/*"],
            "mmp1",
            &["rndtrip/ims1/mta1/mmp2/*", "rndtrip/ims1/mta1/store1/*"],
            0,
        ),
        (
            "mta2 port 25 refused",
            &["fault", "smtp-refuse", "mta2"],
            &["repair", "smtp-refuse", "mta2"],
            &["rndtrip/ims2/*/mmp2/imap"],
            "mta2/smtp",
            &["rndtrip/ims2/lb/*", "rndtrip/ims2/mta1/*"],
            3, // haproxy's health check drops mta2
        ),
        (
            "mta1 queue on hold",
            &["fault", "hold", "mta1"],
            &["repair", "hold", "mta1"],
            &[
                "rndtrip/ims4/mta1/store2/pop3",
                "rndtrip/ims4/mta2/store2/pop3",
            ],
            "mta1/queue",
            &["rndtrip/ims4/mta2/*"],
            0,
        ),
        (
            "mta1 deliveries deferred (defer_transports = lmtp)",
            &["fault", "defer", "mta1"],
            &["repair", "defer", "mta1"],
            &[
                "rndtrip/ims4/mta1/store2/pop3",
                "rndtrip/ims4/mta2/store2/pop3",
            ],
            "mta1/queue",
            &["rndtrip/ims4/mta2/*"],
            0,
        ),
        (
            "ldap1 stopped",
            &["stop", "ldap1"],
            &["start", "ldap1"],
            &[
                "rndtrip/ims1/mta1/mmp1/pop3",
                "rndtrip/ims3/mta2/store2/imap",
            ],
            "ldap1",
            &[],
            0,
        ),
        (
            "ims3's password wrong on store2",
            &["fault", "badpass", "ims3"],
            &["repair", "badpass", "ims3"],
            &[
                "rndtrip/ims3/mta1/mmp1/pop3",
                "rndtrip/ims3/mta1/store2/imap",
                "rndtrip/ims4/mta1/mmp1/pop3",
            ],
            "account:ims3",
            &["rndtrip/ims4/*"],
            0,
        ),
        (
            "store2 hung (SIGSTOP)",
            &["fault", "hang", "store2"],
            &["repair", "hang", "store2"],
            &[
                "rndtrip/ims3/mta1/store2/pop3",
                "rndtrip/ims3/mta1/mmp1/imap",
                "rndtrip/ims1/mta1/mmp1/imap",
            ],
            "store2",
            &["rndtrip/ims1/*"],
            0,
        ),
    ];
    for (name, inject, repair, only, key, healthy, settle) in cases {
        let f = FaultB::new(inject, repair);
        std::thread::sleep(Duration::from_secs(*settle));
        let (s, took) = run(&suite, &reports, only);
        check(name, &s, took, key, healthy);
        drop(f);
        passes_after_repair(name, &suite, &reports, only);
    }
}
