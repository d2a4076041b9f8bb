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

/// The pure part: failures + evidence → verdicts (table-tested).
pub fn diagnose_with(
    results: &[CaseResult],
    failures: &[Failure],
    ev: &Evidence,
    t: &Topology,
) -> Vec<Verdict> {
    let mut by_key: BTreeMap<(String, String), Verdict> = BTreeMap::new();
    for f in failures {
        let c = rules::decide(f, ev, t);
        let v = by_key
            .entry((c.host.clone(), c.protocol.clone()))
            .or_insert_with(|| Verdict {
                host: c.host.clone(),
                protocol: c.protocol.clone(),
                reason: c.reason.clone(),
                evidence: vec![],
                confidence: c.confidence,
                cases: vec![],
            });
        if c.confidence == Confidence::Isolated && v.confidence == Confidence::Suspected {
            v.confidence = Confidence::Isolated;
            v.reason = c.reason.clone();
        }
        for e in c.evidence {
            if !e.is_empty() && !v.evidence.contains(&e) && v.evidence.len() < 6 {
                v.evidence.push(e);
            }
        }
        v.cases.push(f.case.clone());
    }
    let mut out: Vec<Verdict> = by_key.into_values().collect();
    for v in &mut out {
        confirm(v, results);
    }
    out.sort_by(|a, b| {
        b.cases
            .len()
            .cmp(&a.cases.len())
            .then_with(|| a.key().cmp(&b.key()))
    });
    attach_others(out, results)
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

/// Non-round-trip failures (security probes, host checks) on a blamed host
/// join that host's verdict instead of alerting on their own.
fn attach_others(mut verdicts: Vec<Verdict>, results: &[CaseResult]) -> Vec<Verdict> {
    for r in results
        .iter()
        .filter(|r| r.kind != "roundtrip" && r.status.is_bad())
    {
        let host = r.label("host");
        if let Some(v) = verdicts
            .iter_mut()
            .find(|v| !host.is_empty() && v.host == host)
        {
            if !v.cases.contains(&r.id) {
                v.cases.push(r.id.clone());
            }
        }
    }
    verdicts
}

#[cfg(test)]
mod tests;
