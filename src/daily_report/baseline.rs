//! Baseline: the same hours over the previous N days (default 14, Sun's
//! advice). Today's p50 latency and availability are compared with the
//! baseline's for the same path and the same hours; deviations are marked.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Timelike;

use super::formats::BaselineSpec;
use super::stats::{self, HourRow, PathRow};
use crate::result::{CaseResult, RunSummary};

struct Agg {
    lat: Vec<f64>,
    ok: usize,
    n: usize,
}

fn agg<'a>(rs: impl Iterator<Item = &'a CaseResult>) -> Option<Agg> {
    let mut a = Agg {
        lat: vec![],
        ok: 0,
        n: 0,
    };
    for r in rs {
        a.n += 1;
        a.ok += usize::from(stats::is_available(r.status));
        a.lat.extend(stats::latency(r));
    }
    (a.n >= stats::MIN_SAMPLES).then_some(a)
}

impl Agg {
    fn p50(&self) -> Option<f64> {
        stats::percentile(&stats::sorted(self.lat.clone()), 50.0)
    }
    fn availability(&self) -> f64 {
        100.0 * self.ok as f64 / self.n as f64
    }
}

fn deviations(
    spec: &BaselineSpec,
    p50: Option<f64>,
    base_p50: Option<f64>,
    av: Option<f64>,
    base_av: Option<f64>,
) -> Vec<String> {
    let mut d = vec![];
    if let (Some(p), Some(b)) = (p50, base_p50)
        && b > 0.0
        && p > b * spec.latency_factor()
    {
        d.push("latency".into());
    }
    if let (Some(a), Some(b)) = (av, base_av)
        && a < b - spec.availability_drop()
    {
        d.push("availability".into());
    }
    d
}

/// Fill the baseline columns of `paths` and `hours` from `history`.
pub fn apply(
    spec: &BaselineSpec,
    today: &[RunSummary],
    history: &[RunSummary],
    paths: &mut [PathRow],
    hours: &mut [HourRow],
) {
    let hist_hours = stats::by_hour(history);
    for h in hours.iter_mut() {
        if let Some(a) = hist_hours
            .get(&h.hour)
            .and_then(|rs| agg(rs.iter().copied()))
        {
            h.base_p50_ms = a.p50();
            h.base_availability = Some(a.availability());
            h.deviations = deviations(
                spec,
                h.p50_ms,
                h.base_p50_ms,
                h.availability,
                h.base_availability,
            );
        }
    }
    // Hours in which each path ran today.
    let mut ran: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for r in today.iter().flat_map(|r| &r.results) {
        ran.entry(&r.id).or_default().insert(r.started_at.hour());
    }
    // History by case once: scanning all of it per path is paths × results
    // (1,000 paths over 14 days of 5-minute runs: four billion compares).
    let mut past: BTreeMap<&str, Vec<&CaseResult>> = BTreeMap::new();
    for r in history.iter().flat_map(|r| &r.results) {
        if r.status != crate::result::Status::Skipped && ran.contains_key(r.id.as_str()) {
            past.entry(&r.id).or_default().push(r);
        }
    }
    for p in paths.iter_mut() {
        let Some(hrs) = ran.get(p.path.as_str()) else {
            continue;
        };
        let rs = past
            .get(p.path.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|r| hrs.contains(&r.started_at.hour()));
        if let Some(a) = agg(rs) {
            p.base_p50_ms = a.p50();
            p.base_availability = Some(a.availability());
            p.deviations = deviations(
                spec,
                p.p50_ms,
                p.base_p50_ms,
                Some(p.availability),
                p.base_availability,
            );
        }
    }
}
