//! Matrix triangulation: which component is on every failing path and on no
//! passing one. Cheap, needs no network, and corroborates the follow-up probes.

use std::collections::BTreeMap;

use crate::result::CaseResult;

/// A component a round-trip path goes through, in a role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Component {
    /// submit | retrieve | store | account | route (retrieve→store)
    pub role: &'static str,
    pub name: String,
}

fn components(r: &CaseResult) -> Vec<Component> {
    let c = |role, name: &str| Component {
        role,
        name: name.to_string(),
    };
    let mut v = vec![
        c("submit", r.label("submit")),
        c("store", r.label("store")),
        c("account", r.label("account")),
        c("retrieve", r.label("retrieve")),
    ];
    if r.label("retrieve") != r.label("store") {
        v.push(c(
            "route",
            &format!("{}->{}", r.label("retrieve"), r.label("store")),
        ));
    }
    v
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub failing: usize,
    pub passing: usize,
}

/// Per component: how many failing and passing round trips went through it.
pub fn tally(results: &[CaseResult]) -> BTreeMap<Component, Tally> {
    let mut m: BTreeMap<Component, Tally> = BTreeMap::new();
    for r in results
        .iter()
        .filter(|r| r.kind == "roundtrip" && r.status != crate::result::Status::Skipped)
    {
        for comp in components(r) {
            let t = m.entry(comp).or_default();
            if r.status.is_bad() {
                t.failing += 1;
            } else {
                t.passing += 1;
            }
        }
    }
    m
}

/// Components common to all of `failing` (case ids) that no passing case uses,
/// most specific role first (account, then route, store, retrieve, submit).
pub fn explain(results: &[CaseResult], failing: &[String]) -> Vec<Component> {
    if failing.is_empty() {
        return vec![];
    }
    let t = tally(results);
    let fail_cases: Vec<&CaseResult> = results.iter().filter(|r| failing.contains(&r.id)).collect();
    let mut common: Option<Vec<Component>> = None;
    for r in &fail_cases {
        let comps = components(r);
        common = Some(match common {
            None => comps,
            Some(prev) => prev.into_iter().filter(|c| comps.contains(c)).collect(),
        });
    }
    let order = |role: &str| match role {
        "account" => 0,
        "route" => 1,
        "store" => 2,
        "retrieve" => 3,
        _ => 4,
    };
    let mut out: Vec<Component> = common
        .unwrap_or_default()
        .into_iter()
        .filter(|c| t.get(c).is_some_and(|x| x.passing == 0))
        .collect();
    out.sort_by_key(|c| (order(c.role), c.name.clone()));
    out
}

/// True when no passing round trip goes through `name` in any role.
pub fn never_passes(results: &[CaseResult], name: &str) -> bool {
    tally(results)
        .iter()
        .filter(|(c, _)| c.name == name)
        .all(|(_, t)| t.passing == 0)
}
