//! One persisting fault whose symptoms flap from run to run must stay one
//! alert: the runs go through the real isolation (`diagnose_with` on
//! synthetic results and follow-up evidence) and the real alert state
//! (`process_at` with `failure_threshold: 2`), each run a fresh call sharing
//! only the state directory, like cron runs.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::alert::{recorded, recorder_script, suite, t};
use healthmon::alert::process_at;
use healthmon::isolate::evidence::{Check, Evidence, Outcome};
use healthmon::isolate::rules::{self, Topology};
use healthmon::isolate::{diagnose_with, signature};
use healthmon::result::*;

/// What a run of the fault looks like.
#[derive(Clone, Copy, Debug)]
enum Run {
    /// store1's IMAP refuses: every IMAP path to ims1 fails.
    Imap,
    /// store1's POP3 refuses: every POP3 path to ims1 fails.
    Pop3,
    /// IMAP paths fail, but isolation ran out of its budget (no verdicts).
    Unisolated,
    /// Repaired: everything passes.
    Healthy,
}

fn topology() -> Topology {
    let mut t = Topology {
        ldap_hosts: vec!["ldap1".into()],
        mtas: ["mta1".to_string()].into_iter().collect(),
        ..Topology::default()
    };
    t.addresses.insert("store1".into(), "127.0.2.1".into());
    t
}

/// mta1 → {mmp1, store} × {pop3, imap} for ims1 (store1) and ims3 (store2).
fn results(run: Run, at: chrono::DateTime<chrono::Utc>) -> Vec<CaseResult> {
    let mut v = vec![];
    for (acct, store) in [("ims1", "store1"), ("ims3", "store2")] {
        for ret in ["mmp1", store] {
            for proto in ["pop3", "imap"] {
                let broken = match run {
                    Run::Imap | Run::Unisolated => "imap",
                    Run::Pop3 => "pop3",
                    Run::Healthy => "",
                };
                let mut obs = Observation::default();
                obs.phase("connect", 1.0);
                let fails = store == "store1" && proto == broken;
                if fails {
                    obs.error = Some(ProbeError {
                        phase: "connect".into(),
                        kind: ErrorKind::Refused,
                        message: "connection refused".into(),
                        host: Some(ret.into()),
                        protocol: Some(proto.into()),
                    });
                }
                let labels: BTreeMap<String, String> = [
                    ("account", acct),
                    ("store", store),
                    ("submit", "mta1"),
                    ("via", "smtp"),
                    ("retrieve", ret),
                    ("protocol", proto),
                ]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
                v.push(CaseResult {
                    id: format!("rndtrip/{acct}/mta1/{ret}/{proto}"),
                    kind: "roundtrip".into(),
                    site: "local".into(),
                    suite: "local".into(),
                    labels,
                    started_at: at,
                    duration_ms: 50.0,
                    status: if fails { Status::Error } else { Status::Pass },
                    message: if fails {
                        "connect: connection refused".into()
                    } else {
                        String::new()
                    },
                    observation: obs,
                    verdict: None,
                    limits: Default::default(),
                });
            }
        }
    }
    v
}

/// A whole run as `healthmon run` builds it: results, isolation with the
/// follow-up evidence the broken store gives, verdict keys on the cases.
fn summary(min: i64, run: Run) -> RunSummary {
    let at = t(min);
    let mut results = results(run, at);
    let topo = topology();
    let failures: Vec<_> = results.iter().filter_map(signature::failure_of).collect();
    let planned: BTreeSet<Check> = failures
        .iter()
        .flat_map(|f| rules::plan(f, &topo))
        .collect();
    let mut ev = Evidence::default();
    for c in planned {
        let refused = match (&c, run) {
            (Check::Service { host, proto }, Run::Imap | Run::Unisolated) => {
                host == "store1" && proto == "imap"
            }
            (Check::Service { host, proto }, Run::Pop3) => host == "store1" && proto == "pop3",
            _ => false,
        };
        let o = if refused {
            Outcome::Fail {
                kind: ErrorKind::Refused,
                message: "connection refused".into(),
            }
        } else {
            Outcome::Ok(String::new())
        };
        ev.0.insert(c, o);
    }
    let verdicts = match run {
        Run::Unisolated => vec![],
        _ => diagnose_with(&results, &failures, &ev, &topo),
    };
    for v in &verdicts {
        for r in results.iter_mut().filter(|r| v.cases.contains(&r.id)) {
            r.verdict = Some(v.key());
        }
    }
    crate::support::alert::summary(min, results, verdicts)
}

/// Drive the alert state over `runs` (five minutes apart); return the
/// notices the command channel received, as (state, key).
async fn drive(runs: &[Run]) -> Vec<(String, String)> {
    let d = tempfile::tempdir().unwrap();
    let state = d.path().join("state");
    let script = recorder_script(d.path());
    let s = suite(&format!(
        r#"
alerting:
  failure_threshold: 2
  success_threshold: 2
  channels:
    script: {{command: {{program: {}, timeout: 5s}}}}
  routes:
    - {{name: ops, channels: [script]}}
"#,
        script.display()
    ));
    for (i, run) in runs.iter().enumerate() {
        let min = 5 * i as i64;
        let r = process_at(t(min), &summary(min, *run), &s, &state).await;
        assert!(
            r.failed.is_empty() && r.errors.is_empty() && r.spooled.is_empty(),
            "run {i} ({run:?}): {r:?}"
        );
    }
    recorded(d.path())
        .iter()
        .map(|n| {
            (
                n["state"].as_str().unwrap().to_string(),
                n["key"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn notices(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn alternating_protocols_give_one_verdict_key() {
    let keys = |run| {
        let s = summary(0, run);
        s.verdicts.iter().map(Verdict::key).collect::<Vec<_>>()
    };
    assert_eq!(keys(Run::Imap), ["store1"]);
    assert_eq!(keys(Run::Pop3), ["store1"]);
    assert_eq!(summary(0, Run::Imap).verdicts[0].protocol, "imap");
    assert_eq!(summary(0, Run::Pop3).verdicts[0].protocol, "pop3");
}

#[tokio::test]
async fn alternating_protocol_flaps_fire_once_and_resolve_once() {
    use Run::*;
    // Four failing runs whose failing protocol alternates, then the repair.
    let got = drive(&[Imap, Pop3, Imap, Pop3, Healthy, Healthy]).await;
    assert_eq!(
        got,
        notices(&[("firing", "store1"), ("resolved", "store1")]),
        "one firing notice on the second run, nothing while it persists, one resolved after two passing runs"
    );
}

#[tokio::test]
async fn a_run_isolation_could_not_finish_keeps_the_alert_of_the_fault() {
    use Run::*;
    // Runs 2 and 4 have no verdicts: their cases stay under store1, which
    // neither resets (it fires on run 2) nor resolves while they fail.
    let got = drive(&[Imap, Unisolated, Imap, Unisolated, Healthy, Healthy]).await;
    assert_eq!(
        got,
        notices(&[("firing", "store1"), ("resolved", "store1")])
    );
}

#[tokio::test]
async fn without_any_verdict_paths_alert_as_unisolated_submit_to_retrieve() {
    use Run::*;
    // No earlier key to keep: one stable key per submit→retrieve pair, not
    // one per case (account, protocol).
    let got = drive(&[Unisolated, Unisolated, Healthy, Healthy]).await;
    assert_eq!(
        got,
        notices(&[
            ("firing", "unisolated:mta1->mmp1"),
            ("firing", "unisolated:mta1->store1"),
            ("resolved", "unisolated:mta1->mmp1"),
            ("resolved", "unisolated:mta1->store1"),
        ])
    );
}
