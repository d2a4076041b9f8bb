//! The history part's data: latency per path (one chart per account grid,
//! as in the matrix) and queue depth per MTA over the kept runs, from the
//! daily report's series functions, bucketed so that a day of 5-minute
//! runs stays a page of a few hundred kilobytes.

use chrono::{DateTime, Duration, Utc};

use super::model::{Inputs, StatusDoc};
use super::page::History;
use crate::daily_report::stats::{Point, Series, latency_series, metrics};

/// Width of one chart bucket: 48 points a day per series.
pub const BUCKET: Duration = Duration::minutes(30);

pub fn history(inp: &Inputs, doc: &StatusDoc) -> History {
    let runs: Vec<&crate::result::RunSummary> =
        inp.runs.values().flatten().map(|r| r.as_ref()).collect();
    let start = inp.now - Duration::hours(24);
    let mut groups: Vec<(String, Vec<Series>)> = doc
        .matrix
        .iter()
        .map(|g| (format!("{} on {}", g.account, g.store), vec![]))
        .collect();
    let mut rest = vec![];
    for s in latency_series(&runs) {
        let s = bucketed(s, start);
        let at = doc
            .matrix
            .iter()
            .position(|g| g.cells.iter().any(|c| c.case.id == s.name));
        match at {
            Some(i) => groups[i].1.push(s),
            None => rest.push(s),
        }
    }
    if !rest.is_empty() {
        groups.push(("other checks".into(), rest));
    }
    groups.retain(|g| !g.1.is_empty());
    History {
        now: inp.now,
        latency: groups,
        queues: metrics(&runs)
            .1
            .into_iter()
            .map(|s| bucketed(s, start))
            .collect(),
    }
}

fn rank(status: &str) -> u8 {
    match status {
        "error" => 4,
        "critical" => 3,
        "warning" => 2,
        "pass" => 1,
        _ => 0,
    }
}

/// One point per bucket: the worst of its points (a run that could not
/// measure beats any value; else the highest value), at that point's time.
/// Points before `start` are dropped.
pub fn bucketed(s: Series, start: DateTime<Utc>) -> Series {
    let mut out: Vec<(i64, Point)> = vec![];
    let width = BUCKET.num_seconds().max(1);
    for p in s.points.into_iter().filter(|p| p.t >= start) {
        let b = (p.t - start).num_seconds() / width;
        let worse = |q: &Point| match (p.v, q.v) {
            (None, Some(_)) => true,
            (Some(_), None) => false,
            (None, None) => rank(&p.status) > rank(&q.status),
            (Some(a), Some(c)) => a > c,
        };
        match out.last_mut() {
            Some((lb, q)) if *lb == b => {
                if worse(q) {
                    *q = p;
                }
            }
            _ => out.push((b, p)),
        }
    }
    Series {
        points: out.into_iter().map(|x| x.1).collect(),
        ..s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(min: i64, v: Option<f64>, status: &str) -> Point {
        Point {
            t: DateTime::from_timestamp(1_800_000_000 + min * 60, 0).unwrap(),
            v,
            status: status.into(),
        }
    }

    #[test]
    fn buckets_keep_the_worst_point() {
        let start = pt(0, None, "").t;
        let s = Series {
            name: "p".into(),
            unit: "ms".into(),
            points: vec![
                pt(-5, Some(999.0), "pass"),
                pt(0, Some(10.0), "pass"),
                pt(5, Some(30.0), "warning"),
                pt(10, Some(20.0), "pass"),
                pt(30, Some(5.0), "pass"),
                pt(35, None, "error"),
                pt(40, Some(50.0), "pass"),
                pt(95, Some(7.0), "pass"),
            ],
        };
        let b = bucketed(s, start);
        assert_eq!(
            b.points,
            vec![
                pt(5, Some(30.0), "warning"),
                pt(35, None, "error"),
                pt(95, Some(7.0), "pass")
            ]
        );
        assert_eq!((b.name.as_str(), b.unit.as_str()), ("p", "ms"));
    }
}
