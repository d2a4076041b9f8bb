//! Table tests: recorded-style case results for the local topology, one
//! fault per row, with the follow-up evidence the real site gives.

use std::collections::BTreeMap;

use super::evidence::{Check, Evidence, Outcome};
use super::rules::Topology;
use super::*;
use crate::result::{ErrorKind, Observation, ProbeError, Status};

const ACCOUNTS: [(&str, &str); 4] = [
    ("ims1", "store1"),
    ("ims2", "store1"),
    ("ims3", "store2"),
    ("ims4", "store2"),
];

fn topo() -> Topology {
    let mut t = Topology {
        ldap_hosts: vec!["ldap1".into()],
        mtas: ["mta1", "mta2"].iter().map(|s| s.to_string()).collect(),
        lbs: ["lb".to_string()].into_iter().collect(),
        ..Topology::default()
    };
    t.backends.insert(
        "lb".into(),
        vec!["mta1".into(), "mta2".into(), "mmp1".into(), "mmp2".into()],
    );
    for (h, a) in [
        ("store1", "127.0.2.1"),
        ("store2", "127.0.2.2"),
        ("mta1", "127.0.1.1"),
        ("mta2", "127.0.1.2"),
    ] {
        t.addresses.insert(h.into(), a.into());
    }
    t
}

/// When every case of the matrix started; each took 20 s.
fn start() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

/// When every case of the matrix ended (stopped waiting for its probe).
fn ended() -> chrono::DateTime<chrono::Utc> {
    start() + chrono::Duration::seconds(20)
}

/// A case failed with this error, or passed (None).
type Fault<'a> = &'a dyn Fn(&str, &str, &str, &str, &str) -> Option<ProbeError>;

fn pe(phase: &str, kind: ErrorKind, host: &str, proto: &str, msg: &str) -> ProbeError {
    ProbeError {
        phase: phase.into(),
        kind,
        message: msg.into(),
        host: Some(host.into()),
        protocol: Some(proto.into()),
    }
}

/// The retrieve side's connect refused (a stopped server).
fn refused_at(ret: &str, proto: &str) -> ProbeError {
    pe(
        "connect",
        ErrorKind::Refused,
        ret,
        proto,
        "connection refused",
    )
}

/// Every path of the local matrix: lb/mta1/mta2 × mmp1/mmp2/store × pop3/imap × ims1..4.
fn matrix(fault: Fault<'_>) -> Vec<CaseResult> {
    let mut v = vec![];
    for (acct, store) in ACCOUNTS {
        for sub in ["lb", "mta1", "mta2"] {
            for ret in ["mmp1", "mmp2", store] {
                for proto in ["pop3", "imap"] {
                    let id = format!("rndtrip/{acct}/{sub}/{ret}/{proto}");
                    let err = fault(acct, store, sub, ret, proto);
                    let mut obs = Observation::default();
                    obs.fact("queue_id", format!("Q{acct}{sub}"));
                    obs.fact("token", format!("hm{acct}{sub}{ret}{proto}"));
                    let status = if err.is_some() {
                        Status::Error
                    } else {
                        Status::Pass
                    };
                    obs.error = err;
                    let labels: BTreeMap<String, String> = [
                        ("account", acct),
                        ("store", store),
                        ("submit", sub),
                        ("via", "smtp"),
                        ("retrieve", ret),
                        ("protocol", proto),
                    ]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                    v.push(CaseResult {
                        id,
                        kind: "roundtrip".into(),
                        site: "local".into(),
                        suite: "local.yaml".into(),
                        labels,
                        started_at: start(),
                        duration_ms: 20_000.0,
                        status,
                        message: String::new(),
                        observation: obs,
                        verdict: None,
                        limits: Default::default(),
                    });
                }
            }
        }
    }
    v
}

fn run(results: &[CaseResult], ev: &[(Check, Outcome)]) -> Vec<Verdict> {
    let t = topo();
    let failures: Vec<_> = results.iter().filter_map(signature::failure_of).collect();
    let planned: std::collections::BTreeSet<Check> =
        failures.iter().flat_map(|f| rules::plan(f, &t)).collect();
    // Checks the table does not mention answer ok: the healthy parts of the site.
    let mut e = Evidence::default();
    for c in planned {
        let o = ev
            .iter()
            .find(|(k, _)| *k == c)
            .map(|(_, o)| o.clone())
            .unwrap_or(match &c {
                Check::Queue { .. } | Check::Present { .. } => Outcome::Absent,
                _ => Outcome::Ok(String::new()),
            });
        e.0.insert(c, o);
    }
    diagnose_with(results, &failures, &e, &t)
}

fn fail(kind: ErrorKind, msg: &str) -> Outcome {
    Outcome::Fail {
        kind,
        message: msg.into(),
    }
}

fn svc(h: &str, p: &str) -> Check {
    Check::Service {
        host: h.into(),
        proto: p.into(),
    }
}

fn only(v: &[Verdict]) -> &Verdict {
    assert_eq!(v.len(), 1, "expected exactly one verdict, got {v:#?}");
    &v[0]
}

#[test]
fn store_stopped_blames_store_on_both_protocols() {
    let r = matrix(&|_, store, _, ret, proto| (store == "store1").then(|| refused_at(ret, proto)));
    let refused = fail(ErrorKind::Refused, "127.0.2.1:143 connection refused");
    let v = run(
        &r,
        &[
            (svc("store1", "imap"), refused.clone()),
            (svc("store1", "pop3"), refused),
            (
                Check::Lmtp("store1".into()),
                fail(ErrorKind::Refused, "refused"),
            ),
        ],
    );
    let v = only(&v);
    assert_eq!(
        (v.host.as_str(), v.protocol.as_str()),
        ("store1", "imap/pop3")
    );
    assert_eq!(v.key(), "store1", "the host, not its protocol set");
    assert_eq!(v.confidence, Confidence::Isolated);
    assert_eq!(v.cases.len(), 36, "every store1 path, one verdict");
}

#[test]
fn lmtp_down_blames_store_lmtp_with_queue_evidence() {
    let r = matrix(&|_, store, _, ret, proto| {
        (store == "store1").then(|| {
            pe(
                "delivery",
                ErrorKind::NotArrived,
                ret,
                proto,
                "probe did not arrive within 20s",
            )
        })
    });
    let v = run(
        &r,
        &[(
            Check::Lmtp("store1".into()),
            fail(ErrorKind::Refused, "connection refused"),
        )],
    );
    let v = only(&v);
    assert_eq!(v.key(), "store1/lmtp");
    assert!(v.reason.contains("127.0.2.1"), "{}", v.reason);
    assert!(
        v.evidence.iter().any(|e| e.contains("queued on")),
        "{:?}",
        v.evidence
    );
}

#[test]
fn mmp_stopped_blames_only_the_mmp() {
    let r = matrix(&|_, _, _, ret, proto| {
        (ret == "mmp1").then(|| {
            pe(
                "connect",
                ErrorKind::Refused,
                "mmp1",
                proto,
                "connection refused",
            )
        })
    });
    let v = run(
        &r,
        &[
            (svc("mmp1", "pop3"), fail(ErrorKind::Refused, "refused")),
            (svc("mmp1", "imap"), fail(ErrorKind::Refused, "refused")),
        ],
    );
    // One root cause, one verdict: both protocols in its detail, the host
    // alone in its key.
    let v = only(&v);
    assert_eq!(v.key(), "mmp1");
    assert_eq!(v.protocol, "imap/pop3");
    assert_eq!(v.confidence, Confidence::Isolated);
    assert_eq!(v.cases.len(), 24, "every mmp1 path");
    for p in ["pop3", "imap"] {
        assert!(
            v.evidence
                .iter()
                .any(|e| e.starts_with(&format!("mmp1 {p} greeting"))),
            "the {p} follow-up is in the evidence: {:?}",
            v.evidence
        );
    }
    assert!(v.line().starts_with("mmp1: imap/pop3: "), "{}", v.line());
}

#[test]
fn mta_port_refusing_blames_mta_smtp_not_the_lb() {
    let r = matrix(&|_, _, sub, _, _| {
        (sub == "mta2").then(|| {
            pe(
                "connect",
                ErrorKind::Refused,
                "mta2",
                "smtp",
                "connection refused",
            )
        })
    });
    let v = run(
        &r,
        &[(
            Check::Smtp("mta2".into()),
            fail(ErrorKind::Refused, "127.0.1.2:25 connection refused"),
        )],
    );
    let v = only(&v);
    assert_eq!(v.key(), "mta2/smtp");
    assert_eq!(v.confidence, Confidence::Isolated);
}

#[test]
fn held_queue_blames_mta_queue_including_lb_paths_that_landed_there() {
    // lb paths that landed on mta1 fail too (their queue ids are mta1's).
    let r = matrix(&|acct, _, sub, ret, proto| {
        (sub == "mta1" || (sub == "lb" && (acct == "ims1" || acct == "ims3"))).then(|| {
            pe(
                "delivery",
                ErrorKind::NotArrived,
                ret,
                proto,
                "probe did not arrive",
            )
        })
    });
    let mut ev = vec![];
    for (acct, _) in ACCOUNTS {
        for sub in ["mta1", "lb"] {
            ev.push((
                Check::Queue {
                    mta: "mta1".into(),
                    queue_id: format!("Q{acct}{sub}"),
                },
                Outcome::Queued {
                    queue: "hold".into(),
                    reason: String::new(),
                },
            ));
        }
    }
    let v = run(&r, &ev);
    let v = only(&v);
    assert_eq!(v.key(), "mta1/queue");
    assert!(v.reason.contains("hold"));
}

#[test]
fn ldap_down_blames_ldap_not_mtas() {
    let r = matrix(&|_, _, sub, _, _| {
        Some(pe(
            "rcpt",
            ErrorKind::TempReject,
            sub,
            "smtp",
            "451 4.3.0 temporary lookup failure",
        ))
    });
    let v = run(
        &r,
        &[
            (
                Check::Ldap {
                    host: "ldap1".into(),
                    account: "ims1".into(),
                },
                fail(ErrorKind::Refused, "connection refused"),
            ),
            (
                Check::Ldap {
                    host: "ldap1".into(),
                    account: "ims2".into(),
                },
                fail(ErrorKind::Refused, "connection refused"),
            ),
            (
                Check::Ldap {
                    host: "ldap1".into(),
                    account: "ims3".into(),
                },
                fail(ErrorKind::Refused, "connection refused"),
            ),
            (
                Check::Ldap {
                    host: "ldap1".into(),
                    account: "ims4".into(),
                },
                fail(ErrorKind::Refused, "connection refused"),
            ),
        ],
    );
    let v = only(&v);
    assert_eq!(v.key(), "ldap1");
    assert_eq!(v.cases.len(), 72);
}

#[test]
fn wrong_password_blames_the_account() {
    let r = matrix(&|acct, _, _, ret, proto| {
        (acct == "ims3").then(|| {
            pe(
                "auth",
                ErrorKind::Auth,
                ret,
                proto,
                "-ERR [AUTH] Authentication failed.",
            )
        })
    });
    let v = run(
        &r,
        &[
            (
                Check::Login {
                    host: "store2".into(),
                    proto: "pop3".into(),
                    account: "ims3".into(),
                },
                fail(ErrorKind::Auth, "authentication failed"),
            ),
            (
                Check::Login {
                    host: "store2".into(),
                    proto: "imap".into(),
                    account: "ims3".into(),
                },
                fail(ErrorKind::Auth, "authentication failed"),
            ),
        ],
    );
    let v = only(&v);
    assert_eq!(v.key(), "account:ims3");
    assert_eq!(v.confidence, Confidence::Isolated);
}

#[test]
fn hung_store_blames_store_with_the_phase_that_timed_out() {
    let r = matrix(&|_, store, _, ret, proto| {
        (store == "store2").then(|| {
            pe(
                if ret == "store2" { "greeting" } else { "auth" },
                ErrorKind::Timeout,
                ret,
                proto,
                "no reply within 5s",
            )
        })
    });
    let to = fail(ErrorKind::Timeout, "greeting: no reply within 5s");
    let v = run(
        &r,
        &[
            (svc("store2", "pop3"), to.clone()),
            (svc("store2", "imap"), to),
        ],
    );
    let v = only(&v);
    assert_eq!(v.host, "store2");
    assert!(
        v.reason.contains("not responding") && v.reason.contains("greeting"),
        "{}",
        v.reason
    );
}

#[test]
fn healthy_run_gives_no_verdict() {
    let r = matrix(&|_, _, _, _, _| None);
    assert!(run(&r, &[]).is_empty());
}

/// store1's IMAP refuses on every run; its POP3 follow-up flaps (run A: POP3
/// answers, run B: it refuses too). The verdict's protocols follow the
/// evidence, its key does not.
#[test]
fn key_is_stable_when_the_other_protocols_follow_up_flaps() {
    let r = matrix(&|_, store, _, ret, proto| {
        (store == "store1" && proto == "imap").then(|| refused_at(ret, proto))
    });
    let refused = fail(ErrorKind::Refused, "127.0.2.1:143 connection refused");
    let a = run(&r, &[(svc("store1", "imap"), refused.clone())]);
    let b = run(
        &r,
        &[
            (svc("store1", "imap"), refused.clone()),
            (svc("store1", "pop3"), refused),
        ],
    );
    let (a, b) = (only(&a), only(&b));
    assert_eq!(
        (a.protocol.as_str(), b.protocol.as_str()),
        ("imap", "imap/pop3")
    );
    assert_eq!((a.key(), b.key()), ("store1".into(), "store1".into()));
    assert_eq!(a.cases, b.cases);
}

#[test]
fn keys_name_host_and_component_never_the_protocol_set() {
    let v = |host: &str, protocol: &str| Verdict {
        host: host.into(),
        protocol: protocol.into(),
        reason: String::new(),
        evidence: vec![],
        confidence: Confidence::Isolated,
        cases: vec![],
    };
    for (host, proto, key) in [
        ("mmp1", "pop3", "mmp1"),
        ("mmp1", "imap/pop3", "mmp1"),
        ("store1", "imap", "store1"),
        ("store1", "lmtp", "store1/lmtp"),
        ("mta1", "queue", "mta1/queue"),
        ("mta2", "smtp", "mta2/smtp"),
        ("ldap1", "ldap", "ldap1"),
        ("account:ims3", "auth", "account:ims3"),
    ] {
        assert_eq!(v(host, proto).key(), key, "{host} {proto}");
    }
}

/// ims1's probes did not arrive through mmp1 in time; the "is it on the
/// store?" follow-up, run after the cases ended, finds each one there,
/// received at `at` by store1.
fn found_on_store_after_not_arriving(at: Option<chrono::DateTime<chrono::Utc>>) -> Vec<Verdict> {
    let r = matrix(&|acct, _, sub, ret, proto| {
        (acct == "ims1" && sub == "mta1" && ret == "mmp1").then(|| {
            pe(
                "delivery",
                ErrorKind::NotArrived,
                ret,
                proto,
                "probe not found after 20000 ms (31 polls)",
            )
        })
    });
    let ev: Vec<(Check, Outcome)> = ["pop3", "imap"]
        .iter()
        .map(|proto| {
            (
                Check::Present {
                    host: "store1".into(),
                    proto: proto.to_string(),
                    account: "ims1".into(),
                    token: format!("hmims1mta1mmp1{proto}"),
                },
                Outcome::Delivered { at },
            )
        })
        .collect();
    run(&r, &ev)
}

#[test]
fn probe_delivered_after_the_deadline_blames_the_delivery_path_not_the_mmp() {
    let v = found_on_store_after_not_arriving(Some(ended() + chrono::Duration::seconds(3)));
    let v = only(&v);
    assert_eq!(v.key(), "mta1/queue", "{v:#?}");
    assert_eq!(v.confidence, Confidence::Suspected);
    assert!(
        v.reason.contains("delivered late") && v.reason.contains("3s after the deadline"),
        "{}",
        v.reason
    );
    assert!(
        v.evidence.iter().any(|e| e.contains("found, received")),
        "{:?}",
        v.evidence
    );
}

#[test]
fn probe_received_just_before_the_case_gave_up_is_late_too() {
    // Within the slack (second resolution, the last poll's backoff step).
    let v = found_on_store_after_not_arriving(Some(ended() - chrono::Duration::seconds(1)));
    let v = only(&v);
    assert_eq!(v.key(), "mta1/queue");
    assert!(
        v.reason.contains("just as the case stopped waiting"),
        "{}",
        v.reason
    );
}

#[test]
fn probe_found_without_a_delivery_time_does_not_blame_the_mmp() {
    let v = found_on_store_after_not_arriving(None);
    assert_eq!(only(&v).key(), "mta1/queue");
}

#[test]
fn probe_on_the_store_long_before_the_deadline_blames_the_mmp() {
    // Received 1 s after the case started: the MMP did not show it for 19 s.
    let v = found_on_store_after_not_arriving(Some(start() + chrono::Duration::seconds(1)));
    let v = only(&v);
    assert_eq!(v.key(), "mmp1", "{v:#?}");
    assert_eq!(v.confidence, Confidence::Suspected);
    assert!(
        v.reason.contains("received 19s before") && v.reason.contains("not visible through mmp1"),
        "{}",
        v.reason
    );
}

/// The POP3 side of paths through mmp1 connects slowly (a threshold, no
/// error): the judge says `retrieve connect`, and the blame is mmp1's, not
/// the submit host's SMTP.
#[test]
fn slow_retrieve_side_connect_blames_the_retrieve_host_not_smtp() {
    let mut r = matrix(&|_, _, _, _, _| None);
    for c in r
        .iter_mut()
        .filter(|c| c.label("retrieve") == "mmp1" && c.label("protocol") == "pop3")
    {
        c.status = Status::Warning;
        c.message = "retrieve connect 700ms > warning 500ms".into();
    }
    let v = run(&r, &[]);
    let v = only(&v);
    assert_eq!(v.key(), "mmp1", "{v:#?}");
    assert_eq!(v.protocol, "pop3");
    assert!(v.reason.contains("retrieve connect 700ms"), "{}", v.reason);
    // The same breach on the SMTP side is the submit host's.
    let f = |msg: &str| {
        let mut c = r[0].clone();
        c.message = msg.into();
        signature::failure_of(&c).unwrap().phase
    };
    assert_eq!(f("connect 700ms > warning 500ms"), "connect");
    assert_eq!(
        f("retrieve connect 700ms > warning 500ms"),
        "retrieve connect"
    );
    assert_eq!(f("retrieve 12.3s > warning 10s"), "retrieve");
}

/// An SPF or DMARC warning from the external side names the MTA that let
/// the probe out, with the fact as the component (as DKIM's does).
#[test]
fn spf_and_dmarc_warnings_name_the_submitting_mta() {
    let r = matrix(&|_, _, _, _, _| None);
    for (msg, component) in [
        ("dkim missing: no DKIM-Signature", "dkim"),
        (
            "spf fail: 127.1.1.9 not allowed by v=spf1 ip4:127.1.1.1 -all (-all)",
            "spf",
        ),
        (
            "dmarc fail: neither DKIM nor SPF aligned with example.test (p=reject)",
            "dmarc",
        ),
    ] {
        let mut c = r[0].clone();
        c.status = Status::Warning;
        c.message = msg.into();
        let v = run(&[c.clone()], &[]);
        let v = only(&v);
        assert_eq!(v.protocol, component, "{v:#?}");
        assert_eq!(
            v.key(),
            format!("{}/{component}", c.label("submit")),
            "{v:#?}"
        );
        assert_eq!(v.reason, msg, "{v:#?}");
    }
}

/// One machine as MTA and MMP: a POP3 connect error on it is the retrieve
/// side's (the error's protocol says so), whatever the phase is called.
#[test]
fn retrieve_error_on_the_submit_host_is_not_an_smtp_failure() {
    let mut c = matrix(&|_, _, _, _, _| None).remove(0);
    c.labels.insert("submit".into(), "mail1".into());
    c.labels.insert("retrieve".into(), "mail1".into());
    c.status = Status::Error;
    let stage = |c: &CaseResult| signature::failure_of(c).unwrap().stage;
    c.observation.error = Some(pe(
        "connect",
        ErrorKind::Refused,
        "mail1",
        "pop3",
        "refused",
    ));
    assert_eq!(stage(&c), signature::Stage::Retrieve);
    c.observation.error = Some(pe(
        "connect",
        ErrorKind::Refused,
        "mail1",
        "smtp",
        "refused",
    ));
    assert_eq!(stage(&c), signature::Stage::Submit);
    // No protocol recorded: host + phase name as before.
    let mut e = pe("greeting", ErrorKind::Timeout, "mail1", "", "no reply");
    e.protocol = None;
    c.observation.error = Some(e);
    assert_eq!(stage(&c), signature::Stage::Submit);
}

fn ldap_lookups(o: Outcome) -> Vec<(Check, Outcome)> {
    ACCOUNTS
        .iter()
        .map(|(acct, _)| {
            (
                Check::Ldap {
                    host: "ldap1".into(),
                    account: acct.to_string(),
                },
                o.clone(),
            )
        })
        .collect()
}

/// A directory that answers but will not show the entry (it wants a bind;
/// the monitor's bind is refused) is not "unavailable": store1's outage is
/// store1's, however the LDAP lookups went.
#[test]
fn an_ldap_answer_without_the_entry_does_not_take_the_blame_for_a_store_outage() {
    let r = matrix(&|_, store, _, ret, proto| (store == "store1").then(|| refused_at(ret, proto)));
    let refused = fail(ErrorKind::Refused, "127.0.2.1 connection refused");
    let store_down = [
        (svc("store1", "imap"), refused.clone()),
        (svc("store1", "pop3"), refused.clone()),
    ];
    for ldap in [
        fail(
            ErrorKind::PermReject,
            "no entry for (mail=ims1@example.test)",
        ),
        fail(
            ErrorKind::Auth,
            "bind as cn=monitor: result 49 invalidCredentials",
        ),
    ] {
        let mut ev = ldap_lookups(ldap.clone());
        ev.extend(store_down.iter().cloned());
        let v = run(&r, &ev);
        assert_eq!(only(&v).key(), "store1", "LDAP said {ldap:?}: {v:#?}");
    }
    // A directory that does not answer at all still explains it.
    let mut ev = ldap_lookups(fail(ErrorKind::Refused, "connection refused"));
    ev.extend(store_down.iter().cloned());
    assert_eq!(only(&run(&r, &ev)).key(), "ldap1");
}

fn unresolved(host: &str, proto: &str) -> ProbeError {
    pe(
        "connect",
        ErrorKind::Resolve,
        host,
        proto,
        &format!(
            "cannot resolve {host}.example.com:25: failed to lookup address information: Temporary failure in name resolution"
        ),
    )
}

/// The monitor's resolver is down: every name fails, in the cases and in
/// the follow-ups. One monitor-side verdict, not one per host.
#[test]
fn a_dead_local_resolver_is_one_monitor_verdict_listing_the_hosts() {
    let r = matrix(&|_, _, sub, _, _| Some(unresolved(sub, "smtp")));
    let dead = fail(
        ErrorKind::Resolve,
        "cannot resolve: Temporary failure in name resolution",
    );
    let mut ev: Vec<(Check, Outcome)> = ["lb", "mta1", "mta2"]
        .iter()
        .map(|h| (Check::Smtp(h.to_string()), dead.clone()))
        .collect();
    ev.extend(ldap_lookups(dead));
    let v = run(&r, &ev);
    let v = only(&v);
    assert_eq!(v.key(), "monitor/dns");
    assert_eq!(v.confidence, Confidence::Isolated);
    assert_eq!(v.cases.len(), 72, "every case");
    for h in ["lb", "mta1 (127.0.1.1)", "mta2 (127.0.1.2)", "ldap1"] {
        assert!(v.reason.contains(h), "{h} in {}", v.reason);
    }
    assert!(
        v.reason.contains("the monitor cannot resolve"),
        "{}",
        v.reason
    );
}

/// One host's name gone from DNS is that host's problem, not the monitor's.
#[test]
fn one_unresolvable_host_is_that_hosts_verdict() {
    let r = matrix(&|_, _, sub, _, _| (sub == "mta2").then(|| unresolved(sub, "smtp")));
    let v = run(
        &r,
        &[(
            Check::Smtp("mta2".into()),
            fail(ErrorKind::Resolve, "cannot resolve mta2.example.com:25"),
        )],
    );
    let v = only(&v);
    assert_eq!(v.key(), "mta2/smtp");
    assert!(v.reason.contains("cannot resolve"), "{}", v.reason);
}

/// mta1 holds its queue. Some cases end with "not arrived" and the queue
/// check finds their probes held (isolated); others hit the case deadline
/// mid-wait (no host, no queue id: only suspected, on the retrieve side).
/// Every one of them went through mta1: one verdict, mta1/queue.
#[test]
fn suspected_cases_through_an_isolated_host_join_its_verdict() {
    let r = matrix(&|acct, _, sub, ret, proto| {
        (sub == "mta1" && acct == "ims4").then(|| {
            if proto == "pop3" {
                pe(
                    "delivery",
                    ErrorKind::NotArrived,
                    ret,
                    proto,
                    "probe not found",
                )
            } else {
                ProbeError {
                    phase: "case".into(),
                    kind: ErrorKind::Timeout,
                    message: "case did not finish within 20s".into(),
                    host: None,
                    protocol: None,
                }
            }
        })
    });
    let held = Outcome::Queued {
        queue: "hold".into(),
        reason: String::new(),
    };
    let ev = [(
        Check::Queue {
            mta: "mta1".into(),
            queue_id: "Qims4mta1".into(),
        },
        held,
    )];
    let v = run(&r, &ev);
    let v = only(&v);
    assert_eq!(v.key(), "mta1/queue");
    assert_eq!(v.confidence, Confidence::Isolated);
    assert_eq!(v.cases.len(), 6, "pop3 and imap cases alike: {v:#?}");
    assert!(
        v.evidence.iter().any(|e| e.starts_with("also ")),
        "{:?}",
        v.evidence
    );
}

/// A suspected verdict with cases off the isolated host's paths stays apart.
#[test]
fn suspected_cases_elsewhere_keep_their_own_verdict() {
    let r = matrix(&|acct, store, _, ret, proto| {
        if store == "store1" {
            Some(refused_at(ret, proto))
        } else if acct == "ims3" && ret == "mmp2" {
            Some(pe("auth", ErrorKind::Timeout, ret, proto, "no reply"))
        } else {
            None
        }
    });
    let refused = fail(ErrorKind::Refused, "refused");
    let v = run(
        &r,
        &[
            (svc("store1", "imap"), refused.clone()),
            (svc("store1", "pop3"), refused),
        ],
    );
    let keys: Vec<String> = v.iter().map(Verdict::key).collect();
    assert_eq!(keys, ["store1", "mmp2"], "{v:#?}");
}
