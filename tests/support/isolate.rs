//! Fault runs shared by the isolation tests of both site variants
//! (`live/isolate/faults.rs`, `live/isolate/variant_b.rs`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use healthmon::result::{RunSummary, Status};

use super::site;

/// `healthmon run SUITE --only ...` from the repository root (suites may name
/// paths relative to it); the run's summary and its wall time.
pub fn run(suite: &Path, reports: &Path, only: &[&str]) -> (RunSummary, Duration) {
    let mut cmd = Command::new(site::bin());
    cmd.current_dir(site::root())
        .arg("run")
        .arg(suite)
        .arg("--reports")
        .arg(reports)
        .arg("--format")
        .arg("json");
    for o in only {
        cmd.arg("--only").arg(o);
    }
    let t = Instant::now();
    let out = cmd.output().unwrap();
    let took = t.elapsed();
    let text = std::fs::read_to_string(reports.join("last-run.json")).unwrap_or_else(|e| {
        panic!(
            "no last-run.json ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (serde_json::from_str(&text).unwrap(), took)
}

/// Verdicts and non-skipped results, for assertion messages.
pub fn show(s: &RunSummary) -> String {
    let mut o = String::new();
    for v in &s.verdicts {
        o.push_str(&format!(
            "verdict {} ({:?}): {} [{} cases]\n",
            v.key(),
            v.confidence,
            v.reason,
            v.cases.len()
        ));
    }
    for r in &s.results {
        if r.status != Status::Skipped {
            o.push_str(&format!("{} {} {}\n", r.id, r.status, r.message));
        }
    }
    o
}

/// An `--only`-style glob match on a case id.
pub fn glob(p: &str, s: &str) -> bool {
    healthmon::filter::Filter::new(vec![p.to_string()], vec![]).matches(s)
}

// ------------------------------------------------------------- fault matrix
// The eight faults of issue 15 (plus deferred deliveries), driven the same
// way on both site variants with the suite a new user writes from the
// README, and with alerting on, since the matrix is also about alerts: one
// verdict and one alert identity per root cause, run after run.

use std::path::PathBuf;

use healthmon::result::Confidence;

use super::alert::{recorded, recorder_script};
use super::mailprobe::Variant;

/// One fault of the matrix. The selection and the healthy neighbours are
/// case ids of [`new_user_suite`] (the same on both variants).
pub struct MatrixFault {
    pub name: &'static str,
    pub inject: &'static [&'static str],
    pub repair: &'static [&'static str],
    pub only: &'static [&'static str],
    /// The verdict key (host + component): the alert identity.
    pub key: &'static str,
    /// What the verdict's protocol must name.
    pub proto: &'static str,
    /// Cases that must pass while the fault is on; the others must fail.
    pub healthy: &'static [&'static str],
    /// Seconds to let the site notice the fault (haproxy's health check).
    pub settle: u64,
}

pub const MATRIX: &[MatrixFault] = &[
    MatrixFault {
        name: "store1 stopped",
        inject: &["stop", "store1"],
        repair: &["start", "store1"],
        only: &["rndtrip/ims1/mta1/*", "rndtrip/ims3/mta1/*"],
        key: "store1",
        proto: "imap",
        healthy: &["rndtrip/ims3/*"],
        settle: 0,
    },
    MatrixFault {
        name: "store1 LMTP down",
        inject: &["fault", "lmtp-down", "store1"],
        repair: &["repair", "lmtp-down", "store1"],
        only: &[
            "rndtrip/ims1/mta1/mmp1/pop3",
            "rndtrip/ims1/mta1/store1/imap",
            "rndtrip/ims3/mta1/mmp1/pop3",
        ],
        key: "store1/lmtp",
        proto: "lmtp",
        healthy: &["rndtrip/ims3/*"],
        settle: 0,
    },
    MatrixFault {
        name: "mmp1 stopped",
        inject: &["stop", "mmp1"],
        repair: &["start", "mmp1"],
        only: &["rndtrip/ims1/mta1/*"],
        key: "mmp1",
        proto: "imap/pop3",
        healthy: &["rndtrip/ims1/mta1/mmp2/*", "rndtrip/ims1/mta1/store1/*"],
        settle: 0,
    },
    MatrixFault {
        name: "mta2 port 25 refused",
        inject: &["fault", "smtp-refuse", "mta2"],
        repair: &["repair", "smtp-refuse", "mta2"],
        only: &["rndtrip/ims2/*/mmp2/imap"],
        key: "mta2/smtp",
        proto: "smtp",
        healthy: &["rndtrip/ims2/lb/*", "rndtrip/ims2/mta1/*"],
        settle: 3,
    },
    MatrixFault {
        name: "mta1 queue on hold",
        inject: &["fault", "hold", "mta1"],
        repair: &["repair", "hold", "mta1"],
        only: &[
            "rndtrip/ims4/mta1/store2/pop3",
            "rndtrip/ims4/mta2/store2/pop3",
        ],
        key: "mta1/queue",
        proto: "queue",
        healthy: &["rndtrip/ims4/mta2/*"],
        settle: 0,
    },
    MatrixFault {
        name: "mta1 deliveries deferred (defer_transports = lmtp)",
        inject: &["fault", "defer", "mta1"],
        repair: &["repair", "defer", "mta1"],
        only: &[
            "rndtrip/ims4/mta1/store2/pop3",
            "rndtrip/ims4/mta2/store2/pop3",
        ],
        key: "mta1/queue",
        proto: "queue",
        healthy: &["rndtrip/ims4/mta2/*"],
        settle: 0,
    },
    MatrixFault {
        name: "ldap1 stopped",
        inject: &["stop", "ldap1"],
        repair: &["start", "ldap1"],
        only: &[
            "rndtrip/ims1/mta1/mmp1/pop3",
            "rndtrip/ims3/mta2/store2/imap",
        ],
        key: "ldap1",
        proto: "ldap",
        healthy: &[],
        settle: 0,
    },
    MatrixFault {
        name: "ims3's password wrong on store2",
        inject: &["fault", "badpass", "ims3"],
        repair: &["repair", "badpass", "ims3"],
        only: &[
            "rndtrip/ims3/mta1/mmp1/pop3",
            "rndtrip/ims3/mta1/store2/imap",
            "rndtrip/ims4/mta1/mmp1/pop3",
        ],
        key: "account:ims3",
        proto: "auth",
        healthy: &["rndtrip/ims4/*"],
        settle: 0,
    },
    MatrixFault {
        name: "store2 hung (SIGSTOP)",
        inject: &["fault", "hang", "store2"],
        repair: &["repair", "hang", "store2"],
        only: &[
            "rndtrip/ims3/mta1/store2/pop3",
            "rndtrip/ims3/mta1/mmp1/imap",
            "rndtrip/ims1/mta1/mmp1/imap",
        ],
        key: "store2",
        proto: "",
        healthy: &["rndtrip/ims1/*"],
        settle: 0,
    },
];

/// The site as a new user describes it from the README: addresses,
/// endpoints, accounts, a matrix, `timeout` and the servers' certificates as
/// `ca_file` — nothing tuned, no `insecure`. The queue checks name each
/// Postfix instance's config dir only because this site runs several on one
/// machine. Alerting is what the matrix is also about: the default
/// thresholds plus a command channel that records every notice in `dir`.
pub fn new_user_suite(v: Variant, dir: &Path) -> PathBuf {
    let st = v.state();
    let st = st.display();
    let ca = v.ca_file();
    let ca = ca.display();
    let a = |h: &str| v.address(h);
    let rec = recorder_script(dir);
    let rec = rec.display();
    let text = format!(
        r#"
site: newuser-{v:?}
defaults:
  timeout: 30s
  tls: {{ca_file: {ca}}}
hosts:
  lb: {{roles: [lb], address: {lb}, backends: [mta1, mta2, mmp1, mmp2]}}
  mta1:
    roles: [mta]
    address: {mta1}
    endpoints: {{smtp: {{tls: starttls}}}}
    checks: [{{queue: {{config_dir: {st}/mta1/conf}}}}]
  mta2:
    roles: [mta]
    address: {mta2}
    endpoints: {{smtp: {{tls: starttls}}}}
    checks: [{{queue: {{config_dir: {st}/mta2/conf}}}}]
  mmp1: {{roles: [mmp], address: {mmp1}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}}}}}
  mmp2: {{roles: [mmp], address: {mmp2}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}}}}}
  store1: {{roles: [store], address: {store1}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}, lmtp: {{port: 24}}}}}}
  store2: {{roles: [store], address: {store2}, endpoints: {{pop3: {{tls: starttls}}, imap: {{tls: starttls}}, lmtp: {{port: 24}}}}}}
  ldap1: {{roles: [ldap], address: {ldap1}}}
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
alerting:
  failure_threshold: 2
  channels:
    record: {{command: {{program: {rec}}}}}
  routes:
    - name: all
      channels: [record]
"#,
        lb = a("lb"),
        mta1 = a("mta1"),
        mta2 = a("mta2"),
        mmp1 = a("mmp1"),
        mmp2 = a("mmp2"),
        store1 = a("store1"),
        store2 = a("store2"),
        ldap1 = a("ldap1"),
    );
    let p = dir.join("newuser.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

/// The run under a fault: exactly one verdict, keyed `f.key` and on its
/// host, isolated, naming `f.proto`; the healthy neighbours pass, every other
/// case fails carrying the verdict; one case timeout plus follow-ups.
fn check_fault(v: Variant, f: &MatrixFault, run_no: usize, s: &RunSummary, took: Duration) {
    let info = format!(
        "{v:?}: {}, run {run_no}, took {took:?}:\n{}",
        f.name,
        show(s)
    );
    assert_eq!(s.verdicts.len(), 1, "expected one verdict: {info}");
    let verdict = &s.verdicts[0];
    assert_eq!(verdict.key(), f.key, "{info}");
    assert_eq!(verdict.host, f.key.split('/').next().unwrap(), "{info}");
    assert!(verdict.protocol.contains(f.proto), "{info}");
    assert_eq!(verdict.confidence, Confidence::Isolated, "{info}");
    for r in s.results.iter().filter(|r| r.status != Status::Skipped) {
        if f.healthy.iter().any(|h| glob(h, &r.id)) {
            assert_eq!(r.status, Status::Pass, "{} should pass: {info}", r.id);
        } else {
            assert!(r.status.is_bad(), "{} should fail: {info}", r.id);
            assert_eq!(r.verdict.as_deref(), Some(f.key), "{}: {info}", r.id);
        }
    }
    assert!(took < Duration::from_secs(60), "{info}");
}

/// Runs the selection until it passes (a repaired site recovers within
/// seconds: short Postfix retry timers); panics with the last run.
pub fn passes_after_repair(suite: &Path, reports: &Path, only: &[&str]) {
    let mut last = String::new();
    for _ in 0..4 {
        let (s, _) = run(suite, reports, only);
        if s.results.iter().all(|r| !r.status.is_bad()) && s.verdicts.is_empty() {
            return;
        }
        last = show(&s);
        std::thread::sleep(Duration::from_secs(2));
    }
    panic!("after repair the selection should pass:\n{last}");
}

/// Alert notices recorded so far, as (state, key).
fn notices(dir: &Path) -> Vec<(String, String)> {
    recorded(dir)
        .iter()
        .filter(|n| n["kind"] == "alert")
        .map(|n| {
            let s = |k: &str| n[k].as_str().unwrap_or_default().to_string();
            (s("state"), s("key"))
        })
        .collect()
}

/// Drive every fault of [`MATRIX`] on `v` over `runs` runs with
/// `failure_threshold: 2`: each run names the fault right; exactly one
/// firing notice, for the fault's key, and no resolved notice while it
/// persists; after the repair the selection passes and exactly one resolved
/// notice follows. Prints each fault's run times (the closing note's table).
pub fn drive_matrix(v: Variant, runs: usize) {
    let _g = v.exclusive();
    let d = tempfile::tempdir().unwrap();
    let suite = new_user_suite(v, d.path());
    let reports = d.path().join("reports");
    for f in MATRIX {
        let _ = std::fs::remove_file(d.path().join("stdin.log"));
        let fault = site::Fault::on(v, f.inject, f.repair);
        std::thread::sleep(Duration::from_secs(f.settle));
        let mut times = Vec::new();
        for i in 1..=runs {
            let (s, took) = run(&suite, &reports, f.only);
            check_fault(v, f, i, &s, took);
            times.push(took);
        }
        let n = notices(d.path());
        let firing: Vec<_> = n.iter().filter(|(s, _)| s == "firing").collect();
        assert_eq!(
            firing.len(),
            1,
            "{v:?}: {}: one firing notice: {n:?}",
            f.name
        );
        assert_eq!(firing[0].1, f.key, "{v:?}: {}: {n:?}", f.name);
        assert!(
            n.iter().all(|(s, _)| s == "firing"),
            "{v:?}: {}: nothing but the firing notice while it persists: {n:?}",
            f.name
        );
        drop(fault);
        // Until the selection passes, then the default success threshold
        // (two passing runs in a row).
        let mut passing = 0;
        let mut tries = 0;
        let mut last = String::new();
        while passing < 2 {
            tries += 1;
            assert!(
                tries <= 6,
                "{v:?}: {}: after repair the selection should pass:\n{last}",
                f.name
            );
            let (s, _) = run(&suite, &reports, f.only);
            if s.results.iter().all(|r| !r.status.is_bad()) && s.verdicts.is_empty() {
                passing += 1;
            } else {
                passing = 0;
                last = show(&s);
                std::thread::sleep(Duration::from_secs(2));
            }
        }
        let n = notices(d.path());
        let resolved: Vec<_> = n.iter().filter(|(s, _)| s == "resolved").collect();
        assert_eq!(
            resolved.len(),
            1,
            "{v:?}: {}: one resolved notice: {n:?}",
            f.name
        );
        assert_eq!(resolved[0].1, f.key, "{v:?}: {}: {n:?}", f.name);
        assert_eq!(
            n.len(),
            2,
            "{v:?}: {}: firing then resolved only: {n:?}",
            f.name
        );
        eprintln!(
            "variant {v:?}: {}: {} in each of {runs} runs, run times {:?}, 1 firing + 1 resolved notice",
            f.name,
            f.key,
            times
                .iter()
                .map(|t| format!("{:.1}s", t.as_secs_f64()))
                .collect::<Vec<_>>()
        );
    }
}
