//! State shared by the daemon's scheduler and its HTTP routes (metrics,
//! health, the status page in `crate::status`): the latest [`RunSummary`] per
//! suite plus a bounded ring of recent runs, behind one `RwLock`.
//!
//! Writers (the scheduler, once per finished run) hold the write lock only to
//! push a finished summary; readers clone what they render. Memory is bounded
//! by [`HISTORY_MAX`] runs and [`HISTORY_AGE`] per suite, so it stays flat
//! over thousands of runs.
//!
//! `/metrics` reads each case's last result ([`Inner::cases`]), merged over
//! runs: a rotation run that did not include a case leaves the full run's
//! result of it standing until it is stale ([`stale_after`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::result::{CaseResult, RunSummary, Status};
use crate::status::{Alerting, AuthSpec, StatusSource};

/// At most this many runs are kept per suite (24h of 5-minute runs = 288).
pub const HISTORY_MAX: usize = 300;
/// Runs older than this are dropped from the history.
pub const HISTORY_AGE: chrono::Duration = chrono::Duration::hours(24);

/// A run recorded without its job's period ([`DaemonState::record`]) keeps
/// its cases as a 5-minute job would.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(300);
/// A case's result is stale this many of its job's periods after the run
/// that measured it…
pub const STALE_PERIODS: u32 = 3;
/// …and never sooner than this (a job `every: 1s` whose run takes longer
/// must not make its cases blink).
pub const STALE_MIN: Duration = Duration::from_secs(300);

/// How long a case's result stands after the run that measured it, given
/// how often its job measures it.
pub fn stale_after(period: Duration) -> chrono::Duration {
    let d = period.saturating_mul(STALE_PERIODS).max(STALE_MIN);
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// A case's last result (transcript dropped: metrics never show it) and
/// when it becomes stale.
#[derive(Debug, Clone)]
pub struct KeptCase {
    pub result: Arc<CaseResult>,
    pub stale_at: DateTime<Utc>,
}

/// Handle cloned into every route and the scheduler.
pub type SharedState = Arc<DaemonState>;

/// Per-job scheduling counters (exported as metrics).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobStats {
    pub runs: u64,
    /// Times the job was due while its previous run was still going.
    pub skipped_overlap: u64,
    /// Due times not run because the daemon was suspended/late (no burst replay).
    pub missed: u64,
    pub last_started: Option<DateTime<Utc>>,
    pub last_finished: Option<DateTime<Utc>>,
    pub last_exit: Option<i32>,
    pub running: bool,
}

/// Everything the routes may read.
#[derive(Debug, Default)]
pub struct Inner {
    /// Latest finished run per suite name (`RunSummary::suites` joined by `,`).
    pub latest: BTreeMap<String, Arc<RunSummary>>,
    /// Last result of each case per suite name, by case id, until stale.
    pub cases: BTreeMap<String, BTreeMap<String, KeptCase>>,
    /// Recent runs per suite, oldest first, bounded.
    pub history: BTreeMap<String, VecDeque<Arc<RunSummary>>>,
    /// Scheduling counters per job name.
    pub jobs: BTreeMap<String, JobStats>,
    /// Config reloads: (ok, failed); the last failure reason, if any.
    pub reloads_ok: u64,
    pub reloads_failed: u64,
    pub last_reload_error: Option<String>,
    /// The schedule in force (set at start and on each applied reload): the
    /// status page reads its `status:` section, suites and alert state dirs.
    pub config: Option<Arc<super::schedule::Config>>,
}

#[derive(Debug)]
pub struct DaemonState {
    inner: RwLock<Inner>,
    /// The HTTP listener's connection counters.
    pub http: Arc<super::serve::Stats>,
    pub started: Instant,
    pub started_at: DateTime<Utc>,
}

impl Default for DaemonState {
    fn default() -> Self {
        DaemonState {
            inner: RwLock::new(Inner::default()),
            http: Arc::default(),
            started: Instant::now(),
            started_at: Utc::now(),
        }
    }
}

impl DaemonState {
    pub fn new() -> SharedState {
        Arc::new(DaemonState::default())
    }

    /// Record a finished run: becomes the latest of its suite, joins the
    /// history ring (trimmed by count and age) compacted as in the results
    /// history (transcripts only for cases that did not pass: the page never
    /// shows them, and they were most of a month's memory).
    pub fn record(&self, run: RunSummary) {
        self.record_every(run, DEFAULT_PERIOD)
    }

    /// [`record`](Self::record) for a job that measures its cases every
    /// `period`: each case that ran replaces its last result, which stands
    /// until [`stale_after`]`(period)` past this run; stale ones go.
    pub fn record_every(&self, run: RunSummary, period: Duration) {
        let key = run.suite_key();
        let kept = Arc::new(crate::report::history::compact(&run));
        let stale_at = run.finished_at + stale_after(period);
        let ran: Vec<(String, KeptCase)> = run
            .results
            .iter()
            .filter(|r| r.status != Status::Skipped)
            .map(|r| {
                let mut r = r.clone();
                r.observation.transcript.clear();
                let k = KeptCase {
                    result: Arc::new(r),
                    stale_at,
                };
                (k.result.id.clone(), k)
            })
            .collect();
        let now = run.finished_at;
        let run = Arc::new(run);
        let mut g = self.write();
        let cases = g.cases.entry(key.clone()).or_default();
        cases.extend(ran);
        cases.retain(|_, c| c.stale_at > now);
        g.latest.insert(key.clone(), run.clone());
        let ring = g.history.entry(key).or_default();
        ring.push_back(kept);
        let cutoff = run.finished_at - HISTORY_AGE;
        while ring.len() > HISTORY_MAX || ring.front().is_some_and(|r| r.finished_at < cutoff) {
            ring.pop_front();
        }
    }

    /// Read access (cheap; clone what you need and drop the guard).
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A panicking writer leaves consistent data (every update is one
        // insert/push), so poisoning is ignored.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Update one job's counters.
    pub fn job<F: FnOnce(&mut JobStats)>(&self, name: &str, f: F) {
        f(self.write().jobs.entry(name.to_string()).or_default());
    }

    /// Latest run of every suite (cloned handles).
    pub fn latest(&self) -> Vec<Arc<RunSummary>> {
        self.read().latest.values().cloned().collect()
    }

    /// Per suite: its latest run and the last result of every case not
    /// stale at `now`, by case id.
    pub fn current_cases(
        &self,
        now: DateTime<Utc>,
    ) -> Vec<(Arc<RunSummary>, Vec<Arc<CaseResult>>)> {
        let g = self.read();
        g.latest
            .iter()
            .map(|(k, run)| {
                let fresh = g
                    .cases
                    .get(k)
                    .into_iter()
                    .flat_map(|c| c.values())
                    .filter(|c| c.stale_at > now)
                    .map(|c| c.result.clone())
                    .collect();
                (run.clone(), fresh)
            })
            .collect()
    }

    /// History of one suite, oldest first.
    pub fn history(&self, suite: &str) -> Vec<Arc<RunSummary>> {
        self.read()
            .history
            .get(suite)
            .map(|r| r.iter().cloned().collect())
            .unwrap_or_default()
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

/// What the status page reads: the kept runs and the schedule in force.
impl StatusSource for DaemonState {
    fn runs(&self) -> BTreeMap<String, Vec<Arc<RunSummary>>> {
        self.read()
            .history
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect()
    }

    fn auth(&self) -> Option<AuthSpec> {
        self.read()
            .config
            .as_ref()
            .and_then(|c| c.status.auth.clone())
    }

    fn alerting(&self) -> Alerting {
        let mut a = Alerting::default();
        let Some(cfg) = self.read().config.clone() else {
            return a;
        };
        for s in cfg.jobs.iter().flat_map(|j| &j.suites) {
            a.state_dirs.insert(cfg.state_dir(s));
            let policy = s
                .spec
                .alerting
                .as_ref()
                .map(|p| p.policy())
                .unwrap_or_default();
            if let Some(iv) = policy.reminder_interval {
                a.reminder.insert(crate::app::suite_name(s), iv);
            }
        }
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(suite: &str, at: DateTime<Utc>) -> RunSummary {
        RunSummary {
            run_id: format!("r-{}", at.timestamp()),
            site: "isp".into(),
            suites: vec![suite.into()],
            started_at: at,
            finished_at: at,
            duration_ms: 1.0,
            results: vec![],
            verdicts: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn history_is_bounded_by_count_and_age() {
        let st = DaemonState::new();
        let t0 = Utc::now() - chrono::Duration::hours(48);
        for i in 0..(HISTORY_MAX as i64 + 50) {
            st.record(run("local", t0 + chrono::Duration::seconds(i)));
        }
        assert_eq!(st.history("local").len(), HISTORY_MAX);
        // A run 25h later pushes out everything older than 24h.
        st.record(run("local", t0 + chrono::Duration::hours(25)));
        assert_eq!(st.history("local").len(), 1);
        assert_eq!(st.latest().len(), 1);
        st.record(run("isp", t0));
        assert_eq!(st.latest().len(), 2);
        assert!(st.history("nope").is_empty());
    }
}
