//! Numbers for one day: per path availability and latency, failure
//! incidents per alert key, host-check failures, metric peaks and series.
//! Pure functions of the runs.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};
use serde::Serialize;

use crate::result::{CaseResult, RunSummary, Status};

/// Fewer baseline samples than this: no comparison (too little history).
pub const MIN_SAMPLES: usize = 3;

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

pub fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// Host checks are reported apart from paths.
pub fn is_host(r: &CaseResult) -> bool {
    r.kind == "host"
}

/// A run "delivered" when the case passed or only breached a warning.
pub fn is_available(s: Status) -> bool {
    matches!(s, Status::Pass | Status::Warning)
}

/// Latency of a case when it measured one (errors did not).
pub fn latency(r: &CaseResult) -> Option<f64> {
    matches!(r.status, Status::Pass | Status::Warning | Status::Critical).then_some(r.duration_ms)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PathRow {
    pub path: String,
    pub kind: String,
    pub runs: usize,
    pub failures: usize,
    /// Percent of runs that passed or only warned.
    pub availability: f64,
    pub min_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub base_p50_ms: Option<f64>,
    pub base_availability: Option<f64>,
    /// `latency`, `availability`: what deviates from the baseline.
    pub deviations: Vec<String>,
}

pub fn paths(runs: &[RunSummary]) -> Vec<PathRow> {
    let mut by: BTreeMap<&str, (String, Vec<&CaseResult>)> = BTreeMap::new();
    for r in runs.iter().flat_map(|r| &r.results) {
        if is_host(r) || r.status == Status::Skipped {
            continue;
        }
        by.entry(&r.id)
            .or_insert_with(|| (r.kind.clone(), vec![]))
            .1
            .push(r);
    }
    by.into_iter()
        .map(|(id, (kind, rs))| {
            let lat = sorted(rs.iter().filter_map(|r| latency(r)).collect());
            let ok = rs.iter().filter(|r| is_available(r.status)).count();
            PathRow {
                path: id.to_string(),
                kind,
                runs: rs.len(),
                failures: rs.iter().filter(|r| r.status.is_bad()).count(),
                availability: 100.0 * ok as f64 / rs.len() as f64,
                min_ms: lat.first().copied(),
                p50_ms: percentile(&lat, 50.0),
                p95_ms: percentile(&lat, 95.0),
                max_ms: lat.last().copied(),
                ..PathRow::default()
            }
        })
        .collect()
}

/// One stretch of consecutive failing runs of one alert key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub key: String,
    pub severity: String,
    pub reason: String,
    pub cases: Vec<String>,
    pub start: DateTime<Utc>,
    /// First passing run after the failures, else the end of the last failing run.
    pub end: DateTime<Utc>,
    pub duration_s: i64,
    pub failed_runs: usize,
    /// Still failing at the last run of the day.
    pub open: bool,
}

/// Failures grouped by alert key (as the alerts group them:
/// [`CaseResult::alert_key`], a case without a verdict staying in the
/// incident it is open in), as incidents.
pub fn incidents(runs: &[RunSummary]) -> Vec<Incident> {
    let mut open: BTreeMap<String, Incident> = BTreeMap::new();
    let mut done = vec![];
    for run in runs {
        let mut failing: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
        for r in run.results.iter().filter(|r| r.status.is_bad()) {
            let previous = open
                .iter()
                .find(|(_, i)| i.cases.contains(&r.id))
                .map(|(k, _)| k.as_str());
            failing.entry(r.alert_key(previous)).or_default().push(r);
        }
        let failed: Vec<&str> = failing.values().flatten().map(|r| r.id.as_str()).collect();
        let ran: Vec<&str> = run
            .results
            .iter()
            .filter(|r| r.status != Status::Skipped)
            .map(|r| r.id.as_str())
            .collect();
        // Close incidents whose cases ran and passed (not those whose cases
        // now fail under another key: the mail still does not flow).
        let closing: Vec<String> = open
            .iter()
            .filter(|(k, i)| {
                !failing.contains_key(*k)
                    && i.cases.iter().any(|c| ran.contains(&c.as_str()))
                    && !i.cases.iter().any(|c| failed.contains(&c.as_str()))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in closing {
            if let Some(mut i) = open.remove(&k) {
                i.end = run.started_at;
                i.duration_s = (i.end - i.start).num_seconds();
                i.open = false;
                done.push(i);
            }
        }
        for (k, rs) in failing {
            let worst = rs
                .iter()
                .map(|r| r.status)
                .max()
                .unwrap_or(Status::Critical);
            let reason = match run.verdict(&k) {
                Some(v) => v.line(),
                None => rs[0].message.clone(),
            };
            let i = open.entry(k.clone()).or_insert_with(|| Incident {
                key: k.clone(),
                severity: String::new(),
                reason: reason.clone(),
                cases: vec![],
                start: run.started_at,
                end: run.finished_at,
                duration_s: 0,
                failed_runs: 0,
                open: true,
            });
            if worst > sev_status(&i.severity) {
                i.severity = worst.as_str().into();
            }
            for r in rs {
                if !i.cases.contains(&r.id) {
                    i.cases.push(r.id.clone());
                }
            }
            i.failed_runs += 1;
            i.end = run.finished_at;
            i.duration_s = (i.end - i.start).num_seconds();
        }
    }
    done.extend(open.into_values());
    done.sort_by(|a, b| a.start.cmp(&b.start).then(a.key.cmp(&b.key)));
    done
}

fn sev_status(s: &str) -> Status {
    match s {
        "error" => Status::Error,
        "critical" => Status::Critical,
        "warning" => Status::Warning,
        _ => Status::Pass,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostFailure {
    pub case: String,
    pub host: String,
    pub worst: String,
    pub count: usize,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
    pub message: String,
}

pub fn host_failures(runs: &[RunSummary]) -> Vec<HostFailure> {
    let mut m: BTreeMap<String, HostFailure> = BTreeMap::new();
    for r in runs
        .iter()
        .flat_map(|r| &r.results)
        .filter(|r| is_host(r) && r.status.is_bad())
    {
        let e = m.entry(r.id.clone()).or_insert_with(|| HostFailure {
            case: r.id.clone(),
            host: r.label("host").to_string(),
            worst: r.status.as_str().into(),
            count: 0,
            first: r.started_at,
            last: r.started_at,
            message: String::new(),
        });
        e.count += 1;
        if r.status > sev_status(&e.worst) {
            e.worst = r.status.as_str().into();
        }
        e.first = e.first.min(r.started_at);
        e.last = e.last.max(r.started_at);
        e.message = r.message.clone();
    }
    m.into_values().collect()
}

/// Queue counters: counts (no unit) of a `queue` host check, or metrics
/// named like queues (Postfix queues, Sun counters) from other checks.
pub fn is_queue_metric(check: &str, name: &str, unit: &str) -> bool {
    unit.is_empty()
        && (check == "queue"
            || ["deferred", "active", "hold", "held", "incoming", "maildrop"]
                .iter()
                .any(|q| name.contains(q)))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Peak {
    pub host: String,
    pub metric: String,
    pub unit: String,
    /// `queue` or `system`.
    pub group: String,
    pub max: f64,
    pub max_at: DateTime<Utc>,
    pub min: f64,
    pub last: f64,
    pub samples: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Point {
    pub t: DateTime<Utc>,
    /// None: the run could not measure (drawn as a gap/marker).
    pub v: Option<f64>,
    pub status: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Series {
    pub name: String,
    pub unit: String,
    pub points: Vec<Point>,
}

/// (host, metric) -> (unit, queue?, samples over the day).
type MetricSamples = BTreeMap<(String, String), (String, bool, Vec<(DateTime<Utc>, f64)>)>;

/// Host-check metrics: peaks and, for queues, the series over the day.
pub fn metrics<R: Borrow<RunSummary>>(runs: &[R]) -> (Vec<Peak>, Vec<Series>) {
    let mut m: MetricSamples = BTreeMap::new();
    for r in runs
        .iter()
        .flat_map(|r| &r.borrow().results)
        .filter(|r| is_host(r))
    {
        let host = match r.label("host") {
            "" => r.id.clone(),
            h => h.to_string(),
        };
        for mt in &r.observation.metrics {
            if mt.value.is_finite() {
                let queue = is_queue_metric(r.label("check"), &mt.name, &mt.unit);
                m.entry((host.clone(), mt.name.clone()))
                    .or_insert_with(|| (mt.unit.clone(), queue, vec![]))
                    .2
                    .push((r.started_at, mt.value));
            }
        }
    }
    let mut peaks = vec![];
    let mut series = vec![];
    for ((host, metric), (unit, queue, pts)) in m {
        let (max_at, max) = pts
            .iter()
            .copied()
            .fold(pts[0], |a, b| if b.1 > a.1 { b } else { a });
        let group = if queue { "queue" } else { "system" };
        peaks.push(Peak {
            host: host.clone(),
            metric: metric.clone(),
            unit: unit.clone(),
            group: group.into(),
            max,
            max_at,
            min: pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
            last: pts.last().map_or(0.0, |p| p.1),
            samples: pts.len(),
        });
        if group == "queue" {
            series.push(Series {
                name: format!("{host} {metric}"),
                unit,
                points: pts
                    .iter()
                    .map(|(t, v)| Point {
                        t: *t,
                        v: Some(*v),
                        status: String::new(),
                    })
                    .collect(),
            });
        }
    }
    (peaks, series)
}

/// Latency per path over the day (errors as points without a value).
pub fn latency_series<R: Borrow<RunSummary>>(runs: &[R]) -> Vec<Series> {
    let mut m: BTreeMap<&str, Vec<Point>> = BTreeMap::new();
    for r in runs.iter().flat_map(|r| &r.borrow().results) {
        if is_host(r) || r.status == Status::Skipped {
            continue;
        }
        m.entry(&r.id).or_default().push(Point {
            t: r.started_at,
            v: latency(r),
            status: r.status.as_str().into(),
        });
    }
    m.into_iter()
        .map(|(k, points)| Series {
            name: k.to_string(),
            unit: "ms".into(),
            points,
        })
        .collect()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HourRow {
    pub hour: u32,
    pub runs: usize,
    pub failures: usize,
    pub availability: Option<f64>,
    pub p50_ms: Option<f64>,
    pub base_p50_ms: Option<f64>,
    pub base_availability: Option<f64>,
    pub deviations: Vec<String>,
}

/// Path cases of `runs` grouped by hour of day (UTC).
pub fn by_hour(runs: &[RunSummary]) -> BTreeMap<u32, Vec<&CaseResult>> {
    let mut m: BTreeMap<u32, Vec<&CaseResult>> = BTreeMap::new();
    for r in runs.iter().flat_map(|r| &r.results) {
        if !is_host(r) && r.status != Status::Skipped {
            m.entry(r.started_at.hour()).or_default().push(r);
        }
    }
    m
}

pub fn hours(runs: &[RunSummary]) -> Vec<HourRow> {
    by_hour(runs)
        .into_iter()
        .map(|(h, rs)| {
            let lat = sorted(rs.iter().filter_map(|r| latency(r)).collect());
            let ok = rs.iter().filter(|r| is_available(r.status)).count();
            HourRow {
                hour: h,
                runs: rs.len(),
                failures: rs.iter().filter(|r| r.status.is_bad()).count(),
                availability: Some(100.0 * ok as f64 / rs.len() as f64),
                p50_ms: percentile(&lat, 50.0),
                ..HourRow::default()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v = sorted(vec![5.0, 1.0, 3.0, 2.0, 4.0]);
        assert_eq!(percentile(&v, 50.0), Some(3.0));
        assert_eq!(percentile(&v, 95.0), Some(5.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
