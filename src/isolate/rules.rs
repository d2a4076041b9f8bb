//! The decision rules: which follow-up checks a failure needs, and what the
//! failure plus the evidence says is broken. Pure functions, table-tested.
//!
//! Order matters and is deliberate: a dead directory explains failures
//! everywhere, so LDAP is ruled on first; then the stage that failed picks
//! the component to interrogate (submit → MTA/lb backends, delivery → LMTP
//! and the MTA queue, retrieve → MMP, then the store behind it, then the
//! account's credentials).

use std::collections::BTreeSet;

use super::evidence::{Check, Evidence, Outcome};
use super::signature::{Failure, Stage};
use crate::result::{Confidence, ErrorKind, SMTP_PHASES};

/// The parts of the suite the rules need.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    pub ldap_hosts: Vec<String>,
    pub mtas: BTreeSet<String>,
    pub lbs: BTreeSet<String>,
    /// lb → its backends.
    pub backends: std::collections::BTreeMap<String, Vec<String>>,
    /// host → address (for reasons like `127.0.2.1:24 connection refused`).
    pub addresses: std::collections::BTreeMap<String, String>,
}

impl Topology {
    pub fn from_suite(s: &crate::suite::model::SuiteSpec) -> Self {
        Topology {
            ldap_hosts: s.hosts_with_role("ldap").map(String::from).collect(),
            mtas: s.hosts_with_role("mta").map(String::from).collect(),
            lbs: s.hosts_with_role("lb").map(String::from).collect(),
            backends: s
                .hosts
                .iter()
                .map(|(n, h)| (n.clone(), h.backends.clone()))
                .collect(),
            addresses: s
                .hosts
                .iter()
                .map(|(n, h)| (n.clone(), h.address.clone()))
                .collect(),
        }
    }
    fn lb_backends(&self, lb: &str, role_mta: bool) -> Vec<String> {
        self.backends
            .get(lb)
            .map(|b| {
                b.iter()
                    .filter(|h| self.mtas.contains(*h) == role_mta)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
    /// MTAs that may have handled a submission to `submit`.
    pub fn mtas_behind(&self, submit: &str) -> Vec<String> {
        if self.lbs.contains(submit) {
            self.lb_backends(submit, true)
        } else {
            vec![submit.to_string()]
        }
    }
}

/// A verdict before grouping: one per failing case.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub host: String,
    pub protocol: String,
    pub reason: String,
    pub evidence: Vec<String>,
    pub confidence: Confidence,
}

fn cand(
    host: &str,
    protocol: &str,
    reason: impl Into<String>,
    evidence: Vec<String>,
    c: Confidence,
) -> Candidate {
    Candidate {
        host: host.to_string(),
        protocol: protocol.to_string(),
        reason: reason.into(),
        evidence,
        confidence: c,
    }
}

fn other(proto: &str) -> &'static str {
    if proto == "imap" { "pop3" } else { "imap" }
}

/// The host a follow-up check talked to.
fn check_host(c: &Check) -> &str {
    match c {
        Check::Smtp(h) | Check::Lmtp(h) => h,
        Check::Service { host, .. }
        | Check::Login { host, .. }
        | Check::Ldap { host, .. }
        | Check::Present { host, .. } => host,
        Check::Queue { mta, .. } => mta,
    }
}

/// The monitor's own resolver failing: the names of two or more hosts do
/// not resolve (in the cases or the follow-ups). That is one monitor-side
/// fault, not one "cannot resolve" verdict per host: `monitor/dns`, naming
/// the hosts, explaining every case that failed to resolve. Isolated unless
/// a passing round trip went through a host addressed by name (then the
/// resolver works for some names: suspected). One host alone is that
/// host's name (left to the other rules).
pub fn monitor_resolver(
    failures: &[Failure],
    ev: &Evidence,
    t: &Topology,
    results: &[crate::result::CaseResult],
) -> Option<(Candidate, Vec<String>)> {
    let unresolved = |k: Option<ErrorKind>| k == Some(ErrorKind::Resolve);
    let cases: Vec<&Failure> = failures.iter().filter(|f| unresolved(f.kind)).collect();
    let mut hosts: BTreeSet<String> = cases.iter().filter_map(|f| f.host.clone()).collect();
    for (c, o) in &ev.0 {
        if let Outcome::Fail { kind, .. } = o
            && unresolved(Some(*kind))
        {
            hosts.insert(check_host(c).to_string());
        }
    }
    if hosts.len() < 2 || cases.is_empty() {
        return None;
    }
    let named = |h: &str| {
        t.addresses
            .get(h)
            .is_some_and(|a| a.parse::<std::net::IpAddr>().is_err())
    };
    let resolved_elsewhere = results.iter().any(|r| {
        r.kind == "roundtrip"
            && r.status == crate::result::Status::Pass
            && (named(r.label("submit")) || named(r.label("retrieve")))
    });
    let listed: Vec<String> = hosts
        .iter()
        .map(|h| match t.addresses.get(h) {
            Some(a) if a != h => format!("{h} ({a})"),
            _ => h.clone(),
        })
        .collect();
    let mut evidence: Vec<String> = cases
        .iter()
        .map(|f| format!("{}: {}", f.case, f.message))
        .take(3)
        .collect();
    evidence.extend(
        ev.0.iter()
            .filter(|(_, o)| {
                matches!(
                    o,
                    Outcome::Fail {
                        kind: ErrorKind::Resolve,
                        ..
                    }
                )
            })
            .filter_map(|(c, _)| ev.line(c))
            .take(2),
    );
    let c = cand(
        "monitor",
        "dns",
        format!(
            "the monitor cannot resolve host names ({} hosts: {}): check its resolver, not the site",
            hosts.len(),
            listed.join(", ")
        ),
        evidence,
        if resolved_elsewhere {
            Confidence::Suspected
        } else {
            Confidence::Isolated
        },
    );
    Some((c, cases.iter().map(|f| f.case.clone()).collect()))
}

/// Follow-up checks for one failure. Deduplicated across failures by the caller.
pub fn plan(f: &Failure, t: &Topology) -> Vec<Check> {
    let mut v = Vec::new();
    // The directory is behind routing on MTAs and MMPs: always worth one
    // lookup (not for an external mailbox: the site's directory has none).
    for l in t.ldap_hosts.iter().filter(|_| !f.outbound) {
        v.push(Check::Ldap {
            host: l.clone(),
            account: f.account.clone(),
        });
    }
    let service = |host: &str, proto: &str| Check::Service {
        host: host.to_string(),
        proto: proto.to_string(),
    };
    match f.stage {
        Stage::Submit => {
            let h = f.host.clone().unwrap_or_else(|| f.submit.clone());
            v.push(Check::Smtp(h.clone()));
            for b in t.lb_backends(&h, true) {
                v.push(Check::Smtp(b));
            }
        }
        Stage::Delivery => {
            if !f.outbound {
                v.push(Check::Lmtp(f.store.clone()));
            }
            if let Some(q) = &f.queue_id {
                for m in t.mtas_behind(&f.submit) {
                    v.push(Check::Queue {
                        mta: m,
                        queue_id: q.clone(),
                    });
                }
            }
            if let Some(tok) = f.token.as_ref().filter(|_| !f.outbound) {
                v.push(Check::Present {
                    host: f.store.clone(),
                    proto: f.protocol.clone(),
                    account: f.account.clone(),
                    token: tok.clone(),
                });
            }
        }
        Stage::Retrieve | Stage::Verify => {
            if !f.direct {
                v.push(service(&f.retrieve, &f.protocol));
                for b in t.lb_backends(&f.retrieve, false) {
                    v.push(service(&b, &f.protocol));
                }
            }
            v.push(service(&f.store, &f.protocol));
            v.push(service(&f.store, other(&f.protocol)));
            v.push(Check::Login {
                host: f.store.clone(),
                proto: f.protocol.clone(),
                account: f.account.clone(),
            });
        }
        Stage::Slow | Stage::Local => {}
    }
    v
}

fn kind_text(k: ErrorKind) -> &'static str {
    match k {
        ErrorKind::Refused => "connection refused",
        ErrorKind::Timeout => "not responding",
        ErrorKind::Tls => "TLS failure",
        ErrorKind::TempReject => "temporary failure",
        ErrorKind::PermReject => "refused",
        ErrorKind::Auth => "authentication failed",
        ErrorKind::Protocol => "protocol error",
        ErrorKind::NotArrived => "message not delivered",
        ErrorKind::Corrupt => "message corrupted",
        ErrorKind::Capability => "capability missing",
        ErrorKind::Resolve => "cannot resolve",
        ErrorKind::Local => "local problem",
    }
}

fn fail_reason(ev: &Evidence, c: &Check) -> Option<String> {
    match ev.get(c)? {
        Outcome::Fail { kind, message } => Some(format!("{} — {}", kind_text(*kind), message)),
        _ => None,
    }
}

/// A probe the store received less than this before the case stopped
/// waiting counts as late: store timestamps have one-second resolution, the
/// last poll came up to a backoff step before the deadline, and the store's
/// clock may be a little off ours.
const LATE_SLACK: chrono::Duration = chrono::Duration::seconds(2);

/// `delivered late: the probe reached store1 12s after the deadline`.
fn late_reason(
    store: &str,
    at: Option<chrono::DateTime<chrono::Utc>>,
    ended: chrono::DateTime<chrono::Utc>,
) -> String {
    match at {
        Some(t) if t > ended => format!(
            "delivered late: the probe reached {store} {}s after the deadline",
            ((t - ended).num_milliseconds() + 999) / 1000
        ),
        Some(_) => {
            format!("delivered late: the probe reached {store} just as the case stopped waiting")
        }
        None => format!(
            "delivered late: the probe reached {store} after the case stopped looking (the store gives no delivery time)"
        ),
    }
}

/// The candidate verdict for one failing case.
pub fn decide(f: &Failure, ev: &Evidence, t: &Topology) -> Candidate {
    use Confidence::*;
    let case_line = format!(
        "{}: {} at {}: {}",
        f.case,
        f.kind.map(kind_text).unwrap_or("threshold"),
        f.phase,
        f.message
    );

    if f.stage == Stage::Local {
        return cand(
            "healthmon",
            "setup",
            f.message.clone(),
            vec![case_line],
            Isolated,
        );
    }

    // 1. The directory: every LDAP host failing explains routing failures anywhere.
    let ldap_checks: Vec<Check> = t
        .ldap_hosts
        .iter()
        .map(|h| Check::Ldap {
            host: h.clone(),
            account: f.account.clone(),
        })
        .collect();
    // Down means not answering. A refused bind (the monitor's credentials)
    // or a search that finds nothing (an anonymous search under ACLs) is an
    // answer: it does not make the directory the cause of a store outage.
    let not_answering = |c: &Check| {
        matches!(
            ev.get(c),
            Some(Outcome::Fail {
                kind: ErrorKind::Refused
                    | ErrorKind::Timeout
                    | ErrorKind::Tls
                    | ErrorKind::Protocol
                    | ErrorKind::Resolve,
                ..
            })
        )
    };
    let ldap_all_down = !ldap_checks.is_empty() && ldap_checks.iter().all(not_answering);
    let ldap_symptom = matches!(f.stage, Stage::Delivery | Stage::Retrieve)
        || (f.stage == Stage::Submit && f.kind == Some(ErrorKind::TempReject));
    if ldap_all_down && ldap_symptom {
        let c = &ldap_checks[0];
        let host = match c {
            Check::Ldap { host, .. } => host.clone(),
            _ => unreachable!(),
        };
        let reason = fail_reason(ev, c).unwrap_or_default();
        let mut evidence: Vec<String> = ldap_checks.iter().filter_map(|c| ev.line(c)).collect();
        evidence.push(case_line);
        return cand(
            &host,
            "ldap",
            format!("directory unavailable: {reason}"),
            evidence,
            Isolated,
        );
    }

    match f.stage {
        Stage::Submit => {
            let h = f.host.clone().unwrap_or_else(|| f.submit.clone());
            // Behind an lb, a failing backend is the cause even when the lb's own
            // greeting happened to land on a healthy one.
            let bad_backends: Vec<String> = t
                .lb_backends(&h, true)
                .into_iter()
                .filter(|b| ev.failed(&Check::Smtp(b.clone())))
                .collect();
            if let Some(b) = bad_backends.first() {
                let c = Check::Smtp(b.clone());
                let reason = fail_reason(ev, &c).unwrap_or_default();
                return cand(
                    b,
                    "smtp",
                    reason,
                    vec![ev.line(&c).unwrap_or_default(), case_line],
                    Isolated,
                );
            }
            let c = Check::Smtp(h.clone());
            if let Some(reason) = fail_reason(ev, &c) {
                return cand(
                    &h,
                    "smtp",
                    reason,
                    vec![ev.line(&c).unwrap_or_default(), case_line],
                    Isolated,
                );
            }
            if f.kind == Some(ErrorKind::Auth) {
                return cand(
                    &format!("account:{}", f.account),
                    "auth",
                    format!("SMTP AUTH refused for {} on {h}", f.account),
                    vec![case_line],
                    Suspected,
                );
            }
            let k = f.kind.map(kind_text).unwrap_or("failed");
            let mut evidence = vec![case_line];
            evidence.extend(ev.line(&c));
            cand(
                &h,
                "smtp",
                format!("{} at {}: {}", k, f.phase, f.message),
                evidence,
                Suspected,
            )
        }
        Stage::Delivery => {
            let lmtp = Check::Lmtp(f.store.clone());
            let queued = f
                .queue_id
                .as_ref()
                .map(|q| format!("probe queued on {} as {q}", f.submit))
                .unwrap_or_else(|| format!("probe accepted by {}", f.submit));
            if let Some(r) = fail_reason(ev, &lmtp) {
                let addr = t.addresses.get(&f.store).cloned().unwrap_or_default();
                return cand(
                    &f.store,
                    "lmtp",
                    format!("deliveries deferred — {addr} {r}"),
                    vec![ev.line(&lmtp).unwrap_or_default(), queued, case_line],
                    Isolated,
                );
            }
            // Where is the message? The MTA's queue says why it did not move.
            for m in t.mtas_behind(&f.submit) {
                let Some(q) = &f.queue_id else { break };
                let c = Check::Queue {
                    mta: m.clone(),
                    queue_id: q.clone(),
                };
                if let Some(Outcome::Bounced { reason }) = ev.get(&c) {
                    return cand(
                        &m,
                        "queue",
                        format!("probe {q} bounced: {reason}"),
                        vec![ev.line(&c).unwrap_or_default(), case_line.clone()],
                        Isolated,
                    );
                }
                if let Some(Outcome::Queued { queue, reason }) = ev.get(&c) {
                    let evidence = vec![ev.line(&c).unwrap_or_default(), case_line.clone()];
                    if queue == "hold" {
                        return cand(
                            &m,
                            "queue",
                            format!("mail put on hold (probe {q} in hold queue)"),
                            evidence,
                            Isolated,
                        );
                    }
                    let store_addr = t
                        .addresses
                        .get(&f.store)
                        .map(String::as_str)
                        .unwrap_or("\u{0}");
                    if reason.contains(store_addr) || reason.to_ascii_lowercase().contains("lmtp") {
                        return cand(
                            &f.store,
                            "lmtp",
                            format!("deliveries deferred — {reason}"),
                            evidence,
                            Isolated,
                        );
                    }
                    let why = if reason.is_empty() {
                        String::new()
                    } else {
                        format!(": {reason}")
                    };
                    return cand(
                        &m,
                        "queue",
                        format!("probe {q} stuck in {queue} queue{why}"),
                        evidence,
                        Isolated,
                    );
                }
            }
            // Blame for a probe that did not get through the delivery path
            // in time: the MTA that holds it (the same key whether it was
            // late or never came, so one slow queue stays one alert).
            let mta = t
                .mtas_behind(&f.submit)
                .first()
                .cloned()
                .unwrap_or_else(|| f.submit.clone());
            if let Some(tok) = &f.token {
                let c = Check::Present {
                    host: f.store.clone(),
                    proto: f.protocol.clone(),
                    account: f.account.clone(),
                    token: tok.clone(),
                };
                // The check ran after the case ended: found now is not found
                // in time. Only a probe the store had received well before
                // the case stopped waiting was missed by the retrieve side.
                if let Some(Outcome::Delivered { at }) = ev.get(&c) {
                    let evidence = vec![ev.line(&c).unwrap_or_default(), queued, case_line];
                    let early = at.filter(|t| *t + LATE_SLACK <= f.ended_at);
                    return match early {
                        None => cand(
                            &mta,
                            "queue",
                            late_reason(&f.store, *at, f.ended_at),
                            evidence,
                            Suspected,
                        ),
                        Some(t) if !f.direct => cand(
                            &f.retrieve,
                            &f.protocol,
                            format!(
                                "probe is in the mailbox on {} (received {}s before the case stopped waiting) but was not visible through {}",
                                f.store,
                                (f.ended_at - t).num_seconds(),
                                f.retrieve
                            ),
                            evidence,
                            Suspected,
                        ),
                        Some(t) => cand(
                            &f.store,
                            &f.protocol,
                            format!(
                                "probe is in the mailbox on {} (received {}s before the case stopped waiting) but the case did not find it",
                                f.store,
                                (f.ended_at - t).num_seconds()
                            ),
                            evidence,
                            Suspected,
                        ),
                    };
                }
            }
            cand(
                &mta,
                "queue",
                format!("accepted, not delivered ({queued})"),
                vec![case_line],
                Suspected,
            )
        }
        Stage::Retrieve | Stage::Verify => {
            let login = Check::Login {
                host: f.store.clone(),
                proto: f.protocol.clone(),
                account: f.account.clone(),
            };
            if f.kind == Some(ErrorKind::Auth) {
                if ev.get(&login).is_some_and(|o| {
                    matches!(
                        o,
                        Outcome::Fail {
                            kind: ErrorKind::Auth,
                            ..
                        }
                    )
                }) {
                    return cand(
                        &format!("account:{}", f.account),
                        "auth",
                        format!("password for {} rejected by {}", f.account, f.store),
                        vec![ev.line(&login).unwrap_or_default(), case_line],
                        Isolated,
                    );
                }
                if ev.ok(&login) && !f.direct {
                    return cand(
                        &f.retrieve,
                        &f.protocol,
                        format!(
                            "login refused through {} but accepted by {}",
                            f.retrieve, f.store
                        ),
                        vec![ev.line(&login).unwrap_or_default(), case_line],
                        Suspected,
                    );
                }
            }
            let svc = |h: &str, p: &str| Check::Service {
                host: h.to_string(),
                proto: p.to_string(),
            };
            if !f.direct {
                let bad: Vec<String> = t
                    .lb_backends(&f.retrieve, false)
                    .into_iter()
                    .filter(|b| ev.failed(&svc(b, &f.protocol)))
                    .collect();
                let target = bad.first().cloned().unwrap_or_else(|| f.retrieve.clone());
                let c = svc(&target, &f.protocol);
                if let Some(r) = fail_reason(ev, &c) {
                    return cand(
                        &target,
                        &f.protocol,
                        r,
                        vec![ev.line(&c).unwrap_or_default(), case_line],
                        Isolated,
                    );
                }
            }
            // The store itself: name every retrieval protocol it fails on.
            let mine = svc(&f.store, &f.protocol);
            let theirs = svc(&f.store, other(&f.protocol));
            if let Some(r) = fail_reason(ev, &mine) {
                let proto = if ev.failed(&theirs) {
                    "imap/pop3".to_string()
                } else {
                    f.protocol.clone()
                };
                let mut evidence = vec![ev.line(&mine).unwrap_or_default()];
                evidence.extend(ev.line(&theirs).filter(|_| ev.failed(&theirs)));
                evidence.push(case_line);
                return cand(&f.store, &proto, r, evidence, Isolated);
            }
            if let Some(r) = fail_reason(ev, &login) {
                return cand(
                    &f.store,
                    &f.protocol,
                    r,
                    vec![ev.line(&login).unwrap_or_default(), case_line],
                    Isolated,
                );
            }
            if !f.direct {
                return cand(
                    &f.retrieve,
                    &f.protocol,
                    format!(
                        "cannot reach {} through {}: {}",
                        f.store, f.retrieve, f.message
                    ),
                    vec![case_line],
                    Suspected,
                );
            }
            cand(
                &f.store,
                &f.protocol,
                f.message.clone(),
                vec![case_line],
                Suspected,
            )
        }
        // The site's signature missing or broken, SPF refusing or DMARC
        // failing at the external side: the MTA that let the probe out that
        // way (lb: its backends cannot be told apart here, so lb is named).
        Stage::Slow if matches!(f.phase.as_str(), "dkim" | "spf" | "dmarc") => cand(
            &f.submit,
            &f.phase,
            f.message.clone(),
            vec![case_line],
            Suspected,
        ),
        Stage::Slow => {
            // The judge names a retrieve-side connect/greeting/TLS/auth
            // `retrieve <phase>`: a bare one is the SMTP side's.
            let p = f.phase.as_str();
            let (host, proto) = match p {
                _ if SMTP_PHASES.contains(&p) || p == "tls" || p == "submit" => {
                    (f.submit.clone(), "smtp".to_string())
                }
                "delivery" => (f.store.clone(), "lmtp".to_string()),
                "total" => (f.submit.clone(), "roundtrip".to_string()),
                _ => (f.retrieve.clone(), f.protocol.clone()),
            };
            cand(
                &host,
                &proto,
                format!("slow: {}", f.message),
                vec![case_line],
                Suspected,
            )
        }
        Stage::Local => unreachable!(),
    }
}
