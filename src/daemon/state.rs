//! State shared by the daemon's scheduler and its HTTP routes (metrics,
//! health, the status page in `crate::status`): the latest [`RunSummary`] per
//! suite plus a bounded ring of recent runs, behind one `RwLock`.
//!
//! Writers (the scheduler, once per finished run) hold the write lock only to
//! push a finished summary; readers clone what they render. Memory is bounded
//! by [`HISTORY_MAX`] runs and [`HISTORY_AGE`] per suite, so it stays flat
//! over thousands of runs.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::result::RunSummary;
use crate::status::{Alerting, AuthSpec, StatusSource};

/// At most this many runs are kept per suite (24h of 5-minute runs = 288).
pub const HISTORY_MAX: usize = 300;
/// Runs older than this are dropped from the history.
pub const HISTORY_AGE: chrono::Duration = chrono::Duration::hours(24);

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
        let key = run.suite_key();
        let kept = Arc::new(crate::report::history::compact(&run));
        let run = Arc::new(run);
        let mut g = self.write();
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
