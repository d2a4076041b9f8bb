//! The status document: what `/api/v1/status` returns and the page draws.
//!
//! [`build`] is a pure function of [`Inputs`] (the runs of the last 24h per
//! suite, the alert state), so the page and the API
//! can never disagree: the page renders a [`StatusDoc`] and nothing else
//! (plus the 24h chart series, built from the same runs).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::state::{AlertStatus, KeyState};
use crate::result::{CaseResult, Metric, PhaseTiming, ProbeError, RunSummary, Status, Verdict};
use crate::suite::model::NumLimit;

/// Bumped on incompatible changes of the JSON shape.
pub const DOC_VERSION: u32 = 1;

/// Everything the status is made of; gathered by `super::gather`.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub now: DateTime<Utc>,
    /// Suite key -> runs of the last 24h, oldest first (the latest is last).
    pub runs: BTreeMap<String, Vec<Arc<RunSummary>>>,
    /// Alert state: site -> alert key -> state (read from alert-state.json).
    pub alerts: BTreeMap<String, BTreeMap<String, KeyState>>,
    /// Suite name -> reminder interval of its alerting policy.
    pub reminder: HashMap<String, std::time::Duration>,
    /// Problems gathering the inputs (unreadable alert state ...).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusDoc {
    pub version: u32,
    pub generated_at: DateTime<Utc>,
    /// The latest run of each suite.
    pub runs: Vec<RunInfo>,
    /// One grid per (suite, account, store).
    pub matrix: Vec<Grid>,
    /// Open verdicts first, then those resolved within 24h; newest first.
    pub verdicts: Vec<VerdictRow>,
    pub hosts: Vec<HostRow>,
    /// Cases neither in the matrix nor host checks (security ...).
    pub others: Vec<CaseView>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub suite: String,
    pub site: String,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: f64,
    pub worst: Status,
    /// Cases per status in this run.
    pub counts: BTreeMap<Status, usize>,
    /// Runs of this suite kept for the last 24h.
    pub history_runs: usize,
    pub notes: Vec<String>,
}

/// The last result of one case: from the latest run that executed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseView {
    pub id: String,
    pub kind: String,
    pub suite: String,
    pub labels: BTreeMap<String, String>,
    /// `skipped` = not run in the last 24h.
    pub status: Status,
    /// Run that produced this result (empty when not run).
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    /// Total time (the `total` phase, else the case's duration).
    pub total_ms: f64,
    pub message: String,
    pub phases: Vec<PhaseTiming>,
    pub metrics: Vec<MetricView>,
    pub facts: BTreeMap<String, String>,
    pub error: Option<ProbeError>,
    pub verdict: Option<String>,
    /// False when the latest run skipped the case (rotation, --only):
    /// the result shown is older.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricView {
    pub name: String,
    pub value: f64,
    pub unit: String,
    /// Limits the result was judged against (host checks), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<NumLimit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub suite: String,
    pub site: String,
    pub account: String,
    pub store: String,
    /// Row heads: submit host and how (smtp, submission, smtps ...).
    pub rows: Vec<RowHead>,
    /// Column heads: retrieve host and protocol.
    pub cols: Vec<ColHead>,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RowHead {
    pub submit: String,
    pub via: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ColHead {
    pub retrieve: String,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub row: usize,
    pub col: usize,
    pub case: CaseView,
}

impl Grid {
    pub fn cell(&self, row: usize, col: usize) -> Option<&Cell> {
        self.cells.iter().find(|c| c.row == row && c.col == col)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictRow {
    pub key: String,
    pub suite: String,
    pub site: String,
    #[serde(flatten)]
    pub verdict: Verdict,
    /// In the latest run of its suite.
    pub open: bool,
    /// First run of the current streak naming this verdict (from history,
    /// or the alert state's `first_seen` when that is earlier).
    pub since: DateTime<Utc>,
    /// Last run naming it.
    pub last_seen: DateTime<Utc>,
    /// firing, reminded, pending, resolved, open (no alert state).
    pub state: String,
    pub alert: Option<AlertView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    pub status: AlertStatus,
    pub severity: String,
    pub consecutive_failures: u32,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_notified: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostRow {
    pub host: String,
    pub worst: Status,
    pub checks: Vec<CaseView>,
}

/// Total time of a result: its `total` phase, else its duration.
pub fn total_ms(r: &CaseResult) -> f64 {
    r.observation.phase_ms("total").unwrap_or(r.duration_ms)
}

fn view(r: &CaseResult, run_id: &str, current: bool) -> CaseView {
    let metrics = r
        .observation
        .metrics
        .iter()
        .map(|m: &Metric| MetricView {
            name: m.name.clone(),
            value: m.value,
            unit: m.unit.clone(),
            limits: r.limits.metrics.get(&m.name).copied(),
        })
        .collect();
    let ran = r.status != Status::Skipped;
    CaseView {
        id: r.id.clone(),
        kind: r.kind.clone(),
        suite: r.suite.clone(),
        labels: r.labels.clone(),
        status: r.status,
        run_id: if ran {
            run_id.to_string()
        } else {
            String::new()
        },
        started_at: r.started_at,
        total_ms: if ran { total_ms(r) } else { 0.0 },
        message: r.message.clone(),
        phases: r.observation.phases.clone(),
        metrics,
        facts: r.observation.facts.clone(),
        error: r.observation.error.clone(),
        verdict: r.verdict.clone(),
        current,
    }
}

/// Every case of the latest run, each with its last executed result
/// within the history (a case skipped now shows its previous result).
fn last_results(runs: &[Arc<RunSummary>]) -> Vec<CaseView> {
    let Some(latest) = runs.last() else {
        return vec![];
    };
    let mut want: HashMap<&str, usize> = HashMap::new();
    let mut out: Vec<Option<CaseView>> = vec![None; latest.results.len()];
    for (i, r) in latest.results.iter().enumerate() {
        if r.status != Status::Skipped {
            out[i] = Some(view(r, &latest.run_id, true));
        } else {
            want.insert(&r.id, i);
        }
    }
    for run in runs.iter().rev().skip(1) {
        if want.is_empty() {
            break;
        }
        for r in run.results.iter().filter(|r| r.status != Status::Skipped) {
            if let Some(i) = want.remove(r.id.as_str()) {
                out[i] = Some(view(r, &run.run_id, false));
            }
        }
    }
    out.into_iter()
        .zip(&latest.results)
        .map(|(v, r)| v.unwrap_or_else(|| view(r, &latest.run_id, true)))
        .collect()
}

fn is_path(c: &CaseView) -> bool {
    c.kind == "roundtrip"
        && ["account", "submit", "retrieve", "protocol"]
            .iter()
            .all(|k| c.labels.contains_key(*k))
}

fn label(c: &CaseView, k: &str) -> String {
    c.labels.get(k).cloned().unwrap_or_default()
}

/// A grid per account and route: an outbound or echo path says where the
/// probe went (`ims1 → ext1 (outbound)`, `ims3 → echo → ims2`), so it never
/// lands in the grid of the account's inbound paths.
fn grid_title(c: &CaseView) -> String {
    let (account, from) = (label(c, "account"), label(c, "from"));
    match label(c, "route").as_str() {
        "" => account,
        "echo" => format!("{from} → {} → {account}", label(c, "reflector")),
        r => format!("{from} → {account} ({r})"),
    }
}

/// Direct SMTP first, then other submission ways; by first appearance.
fn grids(suite: &str, site: &str, cases: Vec<CaseView>) -> Vec<Grid> {
    let mut out: Vec<Grid> = vec![];
    for c in cases {
        let (account, store) = (grid_title(&c), label(&c, "store"));
        let gi = match out
            .iter()
            .position(|g| g.account == account && g.store == store)
        {
            Some(i) => i,
            None => {
                out.push(Grid {
                    suite: suite.to_string(),
                    site: site.to_string(),
                    account,
                    store,
                    rows: vec![],
                    cols: vec![],
                    cells: vec![],
                });
                out.len() - 1
            }
        };
        let g = &mut out[gi];
        let row = RowHead {
            submit: label(&c, "submit"),
            via: label(&c, "via"),
        };
        let col = ColHead {
            retrieve: label(&c, "retrieve"),
            protocol: label(&c, "protocol"),
        };
        let r = index_of(&mut g.rows, row);
        let k = index_of(&mut g.cols, col);
        g.cells.push(Cell {
            row: r,
            col: k,
            case: c,
        });
    }
    for g in &mut out {
        // Rows: plain smtp before other ways of submitting, stable otherwise.
        let mut order: Vec<usize> = (0..g.rows.len()).collect();
        order.sort_by_key(|&i| (g.rows[i].via != "smtp" && !g.rows[i].via.is_empty(), i));
        let new_of: HashMap<usize, usize> =
            order.iter().enumerate().map(|(n, &o)| (o, n)).collect();
        g.rows = order.iter().map(|&i| g.rows[i].clone()).collect();
        for c in &mut g.cells {
            c.row = new_of[&c.row];
        }
        g.cells.sort_by_key(|c| (c.row, c.col));
    }
    out
}

fn index_of<T: PartialEq>(v: &mut Vec<T>, x: T) -> usize {
    match v.iter().position(|y| *y == x) {
        Some(i) => i,
        None => {
            v.push(x);
            v.len() - 1
        }
    }
}

/// Verdicts of the latest run (open) and of earlier runs within the
/// history that the latest run no longer names (resolved).
fn verdicts(suite: &str, runs: &[Arc<RunSummary>], inp: &Inputs) -> Vec<VerdictRow> {
    let mut rows: Vec<VerdictRow> = vec![];
    let mut seen: HashMap<String, usize> = HashMap::new();
    // Newest first: the first sighting of a key fixes its verdict text;
    // older runs extend `since` while the streak lasts.
    let mut broken: std::collections::HashSet<String> = Default::default();
    for (n, run) in runs.iter().rev().enumerate() {
        let here: std::collections::HashSet<String> =
            run.verdicts.iter().map(Verdict::key).collect();
        for v in &run.verdicts {
            let key = v.key();
            match seen.get(&key) {
                Some(&i) if !broken.contains(&key) => rows[i].since = run.started_at,
                Some(_) => {}
                None => {
                    seen.insert(key.clone(), rows.len());
                    rows.push(VerdictRow {
                        key,
                        suite: suite.to_string(),
                        site: run.site.clone(),
                        verdict: v.clone(),
                        open: n == 0,
                        since: run.started_at,
                        last_seen: run.started_at,
                        state: String::new(),
                        alert: None,
                    });
                }
            }
        }
        for k in seen.keys() {
            if !here.contains(k) {
                broken.insert(k.clone());
            }
        }
    }
    for row in &mut rows {
        let ks = inp.alerts.get(&row.site).and_then(|m| m.get(&row.key));
        if let Some(ks) = ks {
            if row.open
                && let Some(f) = ks.first_seen.filter(|f| *f < row.since)
            {
                row.since = f;
            }
            row.alert = Some(AlertView {
                status: ks.status,
                severity: ks.severity.clone(),
                consecutive_failures: ks.consecutive_failures,
                first_seen: ks.first_seen,
                last_notified: ks.last_notified,
            });
        }
        row.state = state_word(row, ks, inp.reminder.get(suite).copied()).into();
    }
    rows
}

/// One word for the verdict's alert: resolved once the latest run no
/// longer names it; otherwise what the alert state machine says.
fn state_word(
    row: &VerdictRow,
    ks: Option<&KeyState>,
    reminder: Option<std::time::Duration>,
) -> &'static str {
    if !row.open {
        return "resolved";
    }
    let Some(ks) = ks else {
        return "open";
    };
    match ks.status {
        AlertStatus::Pending => "pending",
        AlertStatus::Ok => "resolved",
        AlertStatus::Firing => {
            // A reminder goes out one interval after the fire at the earliest.
            let reminded = match (ks.first_seen, ks.last_notified, reminder) {
                (Some(f), Some(l), Some(iv)) => (l - f).to_std().is_ok_and(|d| d >= iv),
                _ => false,
            };
            if reminded { "reminded" } else { "firing" }
        }
    }
}

/// Build the document. Pure.
pub fn build(inp: &Inputs) -> StatusDoc {
    let mut doc = StatusDoc {
        version: DOC_VERSION,
        generated_at: inp.now,
        runs: vec![],
        matrix: vec![],
        verdicts: vec![],
        hosts: vec![],
        others: vec![],
        notes: inp.notes.clone(),
    };
    let mut hosts: BTreeMap<String, Vec<CaseView>> = BTreeMap::new();
    for (suite, runs) in &inp.runs {
        let Some(latest) = runs.last() else { continue };
        doc.runs.push(RunInfo {
            suite: suite.clone(),
            site: latest.site.clone(),
            run_id: latest.run_id.clone(),
            started_at: latest.started_at,
            finished_at: latest.finished_at,
            duration_ms: latest.duration_ms,
            worst: latest.worst(),
            counts: latest.results.iter().fold(BTreeMap::new(), |mut m, r| {
                *m.entry(r.status).or_insert(0) += 1;
                m
            }),
            history_runs: runs.len(),
            notes: latest.notes.clone(),
        });
        let (paths, rest): (Vec<_>, Vec<_>) = last_results(runs).into_iter().partition(is_path);
        doc.matrix.extend(grids(suite, &latest.site, paths));
        for c in rest {
            if c.kind == "host" {
                let h = match label(&c, "host") {
                    h if h.is_empty() => c.id.clone(),
                    h => h,
                };
                hosts.entry(h).or_default().push(c);
            } else {
                doc.others.push(c);
            }
        }
        doc.verdicts.extend(verdicts(suite, runs, inp));
    }
    doc.verdicts
        .sort_by(|a, b| b.open.cmp(&a.open).then(b.since.cmp(&a.since)));
    doc.hosts = hosts
        .into_iter()
        .map(|(host, checks)| HostRow {
            worst: checks
                .iter()
                .map(|c| c.status)
                .max()
                .unwrap_or(Status::Skipped),
            host,
            checks,
        })
        .collect();
    doc
}

/// One point of a case's history (`/api/v1/cases/{id}/history`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub status: Status,
    pub total_ms: f64,
    pub message: String,
    pub verdict: Option<String>,
    pub phases: Vec<PhaseTiming>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseHistory {
    pub id: String,
    pub suite: String,
    /// Oldest first; runs that skipped the case are left out.
    pub points: Vec<HistoryPoint>,
}

/// History of one case over the kept runs of every suite, or None when no
/// kept run knows the case.
pub fn case_history(inp: &Inputs, id: &str) -> Option<Vec<CaseHistory>> {
    let mut out = vec![];
    for (suite, runs) in &inp.runs {
        let mut known = false;
        let mut points = vec![];
        for run in runs {
            for r in run.results.iter().filter(|r| r.id == id) {
                known = true;
                if r.status != Status::Skipped {
                    points.push(HistoryPoint {
                        run_id: run.run_id.clone(),
                        started_at: r.started_at,
                        status: r.status,
                        total_ms: total_ms(r),
                        message: r.message.clone(),
                        verdict: r.verdict.clone(),
                        phases: r.observation.phases.clone(),
                    });
                }
            }
        }
        if known {
            out.push(CaseHistory {
                id: id.to_string(),
                suite: suite.clone(),
                points,
            });
        }
    }
    (!out.is_empty()).then_some(out)
}
