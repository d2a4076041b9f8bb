//! Failure isolation: name the broken host and protocol within the same run.
//!
//! Probes measure; the diagnoser reads finished results, asks for a few
//! bounded follow-up measurements, and decides:
//! 1. `signature` reduces each failing round trip to stage/phase/kind/host;
//! 2. `rules::plan` picks follow-up checks per failure (deduplicated);
//! 3. `followup` runs them concurrently through the probe modules;
//! 4. `rules::decide` turns failure + evidence into a candidate verdict;
//! 5. candidates are grouped into one verdict per root cause, and
//!    `triangulate` (which component is on every failing path and on no
//!    passing one) confirms or downgrades the confidence.

pub mod bounce;
pub mod evidence;
pub mod followup;
pub mod rules;
pub mod signature;
pub mod triangulate;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::result::{CaseResult, Confidence, Verdict};
use evidence::Evidence;
use rules::Topology;
use signature::Failure;

/// Diagnose the failing cases of one suite's run. Bounded: every follow-up
/// check has at most three step timeouts, and they all run at once.
pub async fn diagnose(
    suite: &crate::suite::LoadedSuite,
    results: &[CaseResult],
    step_timeout: Duration,
) -> Vec<Verdict> {
    let t = Topology::from_suite(&suite.spec);
    let failures: Vec<Failure> = results.iter().filter_map(signature::failure_of).collect();
    if failures.is_empty() {
        return attach_others(vec![], results);
    }
    let checks: BTreeSet<_> = failures.iter().flat_map(|f| rules::plan(f, &t)).collect();
    let ev = followup::run(&suite.spec, checks.into_iter().collect(), step_timeout).await;
    diagnose_with(results, &failures, &ev, &t)
}

/// Evidence lines kept per verdict: follow-up findings first, then sample
/// failing cases.
const MAX_EVIDENCE: usize = 6;

/// A verdict being assembled from its candidates.
struct Group {
    v: Verdict,
    /// Follow-up findings (what was measured), in first-seen order.
    found: Vec<String>,
    /// `case: kind at phase: message` lines.
    case_lines: Vec<String>,
}

/// The pure part: failures + evidence → verdicts (table-tested).
///
/// Candidates are grouped by verdict key (host + component), so one root
/// cause is one verdict whatever the protocols its cases used: a stopped MMP
/// is `mmp1` with protocol `imap/pop3`, not `mmp1/pop3` and `mmp1/imap`.
pub fn diagnose_with(
    results: &[CaseResult],
    failures: &[Failure],
    ev: &Evidence,
    t: &Topology,
) -> Vec<Verdict> {
    let mut by_key: BTreeMap<String, Group> = BTreeMap::new();
    // A monitor that cannot resolve names is one monitor-side verdict.
    let monitor = rules::monitor_resolver(failures, ev, t, results).map(|(c, cases)| Verdict {
        host: c.host,
        protocol: c.protocol,
        reason: c.reason,
        evidence: c.evidence,
        confidence: c.confidence,
        cases,
    });
    let explained = |f: &&Failure| monitor.as_ref().is_some_and(|m| m.cases.contains(&f.case));
    for f in failures.iter().filter(|f| !explained(f)) {
        let c = rules::decide(f, ev, t);
        let fresh = Verdict {
            host: c.host.clone(),
            protocol: c.protocol.clone(),
            reason: c.reason.clone(),
            evidence: vec![],
            confidence: c.confidence,
            cases: vec![],
        };
        let g = by_key.entry(fresh.key()).or_insert_with(|| Group {
            v: fresh,
            found: vec![],
            case_lines: vec![],
        });
        let v = &mut g.v;
        v.protocol = merge_protocols(&v.protocol, &c.protocol);
        if c.confidence == Confidence::Isolated && v.confidence == Confidence::Suspected {
            v.confidence = Confidence::Isolated;
            v.reason = c.reason.clone();
        }
        let case_prefix = format!("{}: ", f.case);
        for e in c.evidence.into_iter().filter(|e| !e.is_empty()) {
            let list = if e.starts_with(&case_prefix) {
                &mut g.case_lines
            } else {
                &mut g.found
            };
            if !list.contains(&e) && list.len() < MAX_EVIDENCE {
                list.push(e);
            }
        }
        v.cases.push(f.case.clone());
    }
    let mut out: Vec<Verdict> = by_key
        .into_values()
        .map(|mut g| {
            // At least one failing case is always shown.
            g.found.truncate(MAX_EVIDENCE - 1);
            let room = MAX_EVIDENCE - g.found.len();
            g.v.evidence = g.found;
            g.v.evidence.extend(g.case_lines.into_iter().take(room));
            g.v
        })
        .collect();
    for v in &mut out {
        confirm(v, results);
    }
    let mut out = absorb(out, results);
    out.extend(monitor);
    out.sort_by(|a, b| {
        b.cases
            .len()
            .cmp(&a.cases.len())
            .then_with(|| a.key().cmp(&b.key()))
    });
    attach_others(out, results)
}

/// `imap` + `pop3` → `imap/pop3`: every protocol a verdict's cases failed
/// on, sorted, each once.
fn merge_protocols(a: &str, b: &str) -> String {
    let set: BTreeSet<&str> = a.split('/').chain(b.split('/')).collect();
    set.into_iter().collect::<Vec<_>>().join("/")
}

/// Triangulation check: a host blamed while round trips through it in the
/// same protocol still pass is only suspected.
fn confirm(v: &mut Verdict, results: &[CaseResult]) {
    if v.host.starts_with("account:")
        || v.protocol == "ldap"
        || v.protocol == "queue"
        || v.protocol == "lmtp"
    {
        return;
    }
    let protos: Vec<&str> = v.protocol.split('/').collect();
    let contradicted = results.iter().any(|r| {
        r.kind == "roundtrip"
            && !r.status.is_bad()
            && r.status != crate::result::Status::Skipped
            && (r.label("retrieve") == v.host || r.label("submit") == v.host)
            && (v.protocol == "smtp" && r.label("submit") == v.host && r.label("via") == "smtp"
                || protos.contains(&r.label("protocol")) && r.label("retrieve") == v.host)
    });
    if contradicted {
        v.confidence = Confidence::Suspected;
    }
}

/// A suspected verdict whose every case went through the host of an
/// isolated one (as submit, retrieve or store host) is that fault seen from
/// a worse angle — e.g. a case that hit its deadline before a follow-up could
/// say more — and joins it instead of alerting on its own (evidence keeps
/// what it said). Account, directory and monitor verdicts are not path hosts.
fn absorb(verdicts: Vec<Verdict>, results: &[CaseResult]) -> Vec<Verdict> {
    let on_path = |case: &str, host: &str| {
        results.iter().find(|r| r.id == case).is_some_and(|r| {
            ["submit", "retrieve", "store"]
                .iter()
                .any(|l| r.label(l) == host)
        })
    };
    let (mut isolated, suspected): (Vec<Verdict>, Vec<Verdict>) = verdicts
        .into_iter()
        .partition(|v| v.confidence == Confidence::Isolated);
    let mut out = vec![];
    for s in suspected {
        let target = isolated
            .iter_mut()
            .filter(|i| !s.host.starts_with("account:") && i.key() != s.key())
            .filter(|i| s.cases.iter().all(|c| on_path(c, &i.host)))
            .max_by_key(|i| i.cases.len());
        match target {
            Some(i) => {
                if i.evidence.len() < MAX_EVIDENCE {
                    i.evidence.push(format!(
                        "also {} case(s) suspected at {}",
                        s.cases.len(),
                        s.line()
                    ));
                }
                i.cases.extend(s.cases);
            }
            None => out.push(s),
        }
    }
    out.extend(isolated);
    out
}

/// Non-round-trip failures (security probes, host checks) on a blamed host
/// join that host's verdict instead of alerting on their own.
fn attach_others(mut verdicts: Vec<Verdict>, results: &[CaseResult]) -> Vec<Verdict> {
    for r in results
        .iter()
        .filter(|r| r.kind != "roundtrip" && r.status.is_bad())
    {
        let host = r.label("host");
        // Could not resolve a name: the monitor's resolver, when it is down.
        let unresolved = r
            .observation
            .error
            .as_ref()
            .is_some_and(|e| e.kind == crate::result::ErrorKind::Resolve);
        if let Some(v) = verdicts.iter_mut().find(|v| {
            (unresolved && v.host == "monitor" && v.protocol == "dns")
                || (!host.is_empty() && v.host == host)
        }) && !v.cases.contains(&r.id)
        {
            v.cases.push(r.id.clone());
        }
    }
    verdicts
}

#[cfg(test)]
mod tests;
