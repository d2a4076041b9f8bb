//! The numbers behind the HTML report's heatmap and small multiples: per
//! path, per submit host and per retrieve host, each hour of the day's
//! availability and p95 latency next to the baseline p95 of the same path
//! (host) and hour. Pure functions of the runs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Timelike;
use serde::Serialize;

use super::stats::{MIN_SAMPLES, is_available, is_host, latency, percentile, sorted};
use crate::result::{CaseResult, RunSummary, Status};

/// One hour of one row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cell {
    pub hour: u32,
    pub runs: usize,
    /// Percent of runs that passed or only warned.
    pub availability: f64,
    pub p95_ms: Option<f64>,
    /// Same key, same hour over the baseline days (None: too few samples).
    pub base_p95_ms: Option<f64>,
}

impl Cell {
    /// p95 ÷ baseline p95, when both exist.
    pub fn ratio(&self) -> Option<f64> {
        match (self.p95_ms, self.base_p95_ms) {
            (Some(p), Some(b)) if b > 0.0 => Some(p / b),
            _ => None,
        }
    }
}

/// A path, or a host with all the paths through it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Row {
    pub name: String,
    /// Paths aggregated (1 for a path).
    pub paths: usize,
    pub runs: usize,
    /// Whole day, percent.
    pub availability: f64,
    /// The hours it ran, ascending.
    pub cells: Vec<Cell>,
}

impl Row {
    /// The largest p95 ÷ baseline p95 of any hour (0 without a baseline).
    pub fn worst_ratio(&self) -> f64 {
        self.cells
            .iter()
            .filter_map(Cell::ratio)
            .fold(0.0, f64::max)
    }

    /// Every hour it ran fully available and no p95 over `factor` × baseline.
    pub fn healthy(&self, factor: f64) -> bool {
        self.availability >= 100.0 && self.worst_ratio() <= factor
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Heat {
    /// A p95 above this × its baseline is slow (the baseline's factor).
    pub latency_factor: f64,
    /// Worst first: lowest availability, then highest p95 ÷ baseline.
    pub paths: Vec<Row>,
    /// By name.
    pub submit_hosts: Vec<Row>,
    pub retrieve_hosts: Vec<Row>,
}

/// `latency_factor`: the baseline's (`BaselineSpec::latency_factor`).
pub fn build(latency_factor: f64, today: &[RunSummary], history: &[RunSummary]) -> Heat {
    let mut paths = rows(today, history, |r| Some(r.id.as_str()));
    paths.sort_by(|a, b| {
        a.availability
            .total_cmp(&b.availability)
            .then(b.worst_ratio().total_cmp(&a.worst_ratio()))
            .then(a.name.cmp(&b.name))
    });
    Heat {
        latency_factor,
        paths,
        submit_hosts: rows(today, history, |r| label(r, "submit")),
        retrieve_hosts: rows(today, history, |r| label(r, "retrieve")),
    }
}

fn label<'a>(r: &'a CaseResult, k: &str) -> Option<&'a str> {
    Some(r.label(k)).filter(|v| !v.is_empty())
}

/// Path results (no host checks, nothing skipped) with a key.
fn keyed<'a>(
    runs: &'a [RunSummary],
    key: &'a impl Fn(&CaseResult) -> Option<&str>,
) -> impl Iterator<Item = (&'a str, &'a CaseResult)> {
    runs.iter()
        .flat_map(|r| &r.results)
        .filter(|r| !is_host(r) && r.status != Status::Skipped)
        .filter_map(move |r| key(r).map(|k| (k, r)))
}

#[derive(Default)]
struct Acc<'a> {
    ok: usize,
    n: usize,
    lat: Vec<f64>,
    paths: BTreeSet<&'a str>,
}

/// One row per key over today's runs, hours against the history's.
fn rows(
    today: &[RunSummary],
    history: &[RunSummary],
    key: impl Fn(&CaseResult) -> Option<&str>,
) -> Vec<Row> {
    let mut base: BTreeMap<(&str, u32), Vec<f64>> = BTreeMap::new();
    for (k, r) in keyed(history, &key) {
        base.entry((k, r.started_at.hour()))
            .or_default()
            .extend(latency(r));
    }
    let mut day: BTreeMap<&str, BTreeMap<u32, Acc>> = BTreeMap::new();
    for (k, r) in keyed(today, &key) {
        let a = day
            .entry(k)
            .or_default()
            .entry(r.started_at.hour())
            .or_default();
        a.n += 1;
        a.ok += usize::from(is_available(r.status));
        a.lat.extend(latency(r));
        a.paths.insert(&r.id);
    }
    day.into_iter()
        .map(|(name, hours)| {
            let (n, ok) = hours
                .values()
                .fold((0, 0), |(n, ok), a| (n + a.n, ok + a.ok));
            let paths: BTreeSet<&str> = hours
                .values()
                .flat_map(|a| a.paths.iter().copied())
                .collect();
            let cells = hours
                .into_iter()
                .map(|(hour, a)| Cell {
                    hour,
                    runs: a.n,
                    availability: 100.0 * a.ok as f64 / a.n as f64,
                    p95_ms: percentile(&sorted(a.lat), 95.0),
                    // Too few baseline latencies: no comparison (as for p50).
                    base_p95_ms: base
                        .remove(&(name, hour))
                        .filter(|l| l.len() >= MIN_SAMPLES)
                        .and_then(|l| percentile(&sorted(l), 95.0)),
                })
                .collect();
            Row {
                name: name.to_string(),
                paths: paths.len(),
                runs: n,
                availability: 100.0 * ok as f64 / n as f64,
                cells,
            }
        })
        .collect()
}
