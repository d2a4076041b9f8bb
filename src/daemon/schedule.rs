//! `etc/schedule.yaml`: named jobs for the daemon (the seed's
//! `local.schedule.<task>`), loaded and fully validated up front so that a
//! SIGHUP can refuse a bad file and keep the old one.
//!
//! ```yaml
//! listen: 127.0.0.1:9782          # /metrics and /healthz
//! grace: 60s                      # SIGTERM: how long running jobs may finish
//! jobs:
//!   roundtrip:
//!     cron: "*/5 * * * *"         # 5 fields, POSIX weekdays, dom/dow OR rule
//!     suites: [../suites/local.yaml]
//!     rotate: true
//!     jitter: 20s
//!   daily:
//!     cron: "59 23 * * *"
//!     suites: [../suites/local.yaml]
//!     report: true                # the daily report instead of a run
//! ```
//!
//! Times are local time, like cron. Two extensions for tests and fast
//! loops: a 6-field `cron` whose first field is seconds, and `every: 2s`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Local};
use serde::Deserialize;

use crate::status::AuthSpec;
use crate::suite::LoadedSuite;
use crate::suite::duration::Dur;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9782";
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    #[serde(default)]
    pub listen: Option<String>,
    #[serde(default)]
    pub grace: Option<Dur>,
    /// Reports directory for every job (default: each suite's `reports.dir`).
    #[serde(default)]
    pub reports: Option<PathBuf>,
    /// Alert state directory (default `<reports>/state`).
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// The status page (`crate::status`): optional auth.
    #[serde(default)]
    pub status: StatusSpec,
    /// The HTTP listener's limits (`serve::Limits`).
    #[serde(default)]
    pub http: HttpSpec,
    pub jobs: BTreeMap<String, JobSpec>,
}

/// `status:`: settings of the status page the daemon serves.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusSpec {
    #[serde(default)]
    pub auth: Option<AuthSpec>,
    /// Put `/metrics` and `/healthz` behind the same auth (a Prometheus
    /// scrape config then gives the bearer token or basic credentials).
    #[serde(default)]
    pub auth_metrics: bool,
}

/// `http:`: how much the listener tolerates (defaults in `serve::Limits`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// A request's headers must arrive whole within this (default 5s).
    #[serde(default)]
    pub header_timeout: Option<Dur>,
    /// Connections open at once (default 512); more are closed on accept.
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// Serve https with this certificate chain and key (PEM), else http.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
}

impl HttpSpec {
    pub fn limits(&self) -> super::serve::Limits {
        let mut l = super::serve::Limits::default();
        if let Some(t) = self.header_timeout {
            l.header_timeout = t.0;
        }
        if let Some(n) = self.max_connections {
            l.max_connections = n;
        }
        l
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    #[serde(default)]
    pub cron: Option<String>,
    #[serde(default)]
    pub every: Option<Dur>,
    /// Suite files, relative to the schedule file.
    pub suites: Vec<PathBuf>,
    #[serde(default)]
    pub only: Vec<String>,
    #[serde(default)]
    pub skip: Vec<String>,
    /// Only the rotation path of the slot in force at the start minute.
    #[serde(default)]
    pub rotate: bool,
    /// Only the host checks of this host (`""` = this machine).
    #[serde(default)]
    pub host: Option<String>,
    /// `K/N`: this daemon's partition of the cases.
    #[serde(default)]
    pub shard: Option<String>,
    #[serde(default = "yes")]
    pub isolate: bool,
    /// Run the daily report of each suite instead of its cases.
    #[serde(default)]
    pub report: bool,
    /// Random delay in [0, jitter) before each start (spreads load of many monitors).
    #[serde(default)]
    pub jitter: Option<Dur>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Run once at start instead of waiting a whole interval (the agent).
    #[serde(skip)]
    pub at_start: bool,
}

/// When a job is due.
#[derive(Debug, Clone)]
pub enum When {
    Cron(Box<croner::Cron>),
    Every(Duration),
}

impl When {
    pub fn parse_cron(expr: &str) -> Result<When, String> {
        let fields = expr.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(format!(
                "cron `{expr}`: expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first"
            ));
        }
        // croner's defaults are the POSIX ones: 0 and 7 are Sunday, and
        // day-of-month / day-of-week combine with OR when both are restricted.
        croner::Cron::new(expr)
            .with_seconds_optional()
            .parse()
            .map(|c| When::Cron(Box::new(c)))
            .map_err(|e| format!("cron `{expr}`: {e}"))
    }

    /// First due time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Local>) -> Option<DateTime<Local>> {
        match self {
            When::Cron(c) => c.find_next_occurrence(&t, false).ok(),
            When::Every(d) => chrono::Duration::from_std(*d).ok().map(|d| t + d),
        }
    }

    /// The latest due time in `(after, now]` and how many due times it
    /// skipped over (missed while suspended or late); None if none is due.
    pub fn catch_up(
        &self,
        after: DateTime<Local>,
        now: DateTime<Local>,
    ) -> Option<(DateTime<Local>, u64)> {
        let first = self.next_after(after).filter(|f| *f <= now)?;
        match self {
            When::Every(d) => {
                let step = d.as_millis().max(1) as i64;
                let n = (now - first).num_milliseconds() / step;
                Some((first + chrono::Duration::milliseconds(n * step), n as u64))
            }
            When::Cron(_) => {
                let (mut due, mut missed) = (first, 0u64);
                while let Some(n) = self.next_after(due).filter(|n| *n <= now) {
                    due = n;
                    missed += 1;
                }
                Some((due, missed))
            }
        }
    }
}

/// A validated job, suites loaded.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    pub when: When,
    pub spec: JobSpec,
    pub suites: Vec<LoadedSuite>,
    pub shard: Option<(u32, u32)>,
}

/// A rotation path comes round once an hour (its slot is a minute of the
/// hour), however often the rotation job runs.
pub const ROTATION_CYCLE: Duration = Duration::from_secs(3600);

impl Job {
    /// How often one of the job's cases is measured: its interval (for a
    /// cron job the widest of its next gaps between due times), at least
    /// [`ROTATION_CYCLE`] for a rotation job. The daemon keeps a case's last
    /// result a few periods (`state::stale_after`).
    pub fn case_period(&self) -> Duration {
        let every = match &self.when {
            When::Every(d) => *d,
            When::Cron(_) => {
                let mut t = Local::now();
                let mut widest = Duration::ZERO;
                for _ in 0..8 {
                    let Some(n) = self.when.next_after(t) else {
                        break;
                    };
                    widest = widest.max((n - t).to_std().unwrap_or_default());
                    t = n;
                }
                widest
            }
        };
        if self.spec.rotate {
            every.max(ROTATION_CYCLE)
        } else {
            every
        }
    }
}

/// A validated schedule.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub listen: SocketAddr,
    pub grace: Duration,
    pub reports: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
    pub status: StatusSpec,
    pub http: super::serve::Limits,
    /// (certificate chain, key) PEM files when the listener speaks https.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Set when the daemon runs as an agent (`healthmon agent`).
    pub agent: Option<std::sync::Arc<super::role::Role>>,
    pub jobs: Vec<Job>,
}

impl Config {
    /// Reports directory of a suite's runs.
    pub fn reports_dir(&self, s: &LoadedSuite) -> PathBuf {
        crate::app::reports_dir(self.reports.as_deref(), std::slice::from_ref(s))
    }
    /// Alert state directory of a suite.
    pub fn state_dir(&self, s: &LoadedSuite) -> PathBuf {
        crate::app::state_dir(self.state_dir.as_deref(), &self.reports_dir(s))
    }
}

/// Load and validate everything (schedule and every suite it names). All
/// problems are returned, one line each, prefixed with the file.
pub fn load(path: &Path) -> Result<Config, Vec<String>> {
    let at = |m: String| format!("{}: {m}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| vec![at(format!("cannot read: {e}"))])?;
    let de = serde_yaml::Deserializer::from_str(&text);
    let file: ScheduleFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let p = e.path().to_string();
        vec![at(format!(
            "{}: {}",
            if p == "." { "(top)" } else { &p },
            e.inner()
        ))]
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut errs = Vec::new();
    let listen = file.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen: Option<SocketAddr> = listen
        .parse()
        .map_err(|_| errs.push(at(format!("listen: `{listen}` is not an address:port"))))
        .ok();
    let rel = |p: &PathBuf| {
        if p.is_absolute() {
            p.clone()
        } else {
            base.join(p)
        }
    };
    let mut jobs = Vec::new();
    for (name, spec) in &file.jobs {
        let jat = |m: String| at(format!("jobs.{name}: {m}"));
        let when = match (&spec.cron, spec.every) {
            (Some(c), None) => When::parse_cron(c),
            (None, Some(d)) if d.0 >= Duration::from_millis(100) => Ok(When::Every(d.0)),
            (None, Some(d)) => Err(format!("every: {d} is too short (at least 100ms)")),
            _ => Err("give exactly one of `cron` or `every`".into()),
        };
        let when = match when {
            Ok(w) => Some(w),
            Err(e) => {
                errs.push(jat(e));
                None
            }
        };
        if spec.suites.is_empty() {
            errs.push(jat("suites: at least one suite file".into()));
        }
        let selects = !spec.only.is_empty()
            || !spec.skip.is_empty()
            || spec.rotate
            || spec.host.is_some()
            || spec.shard.is_some();
        if spec.report && selects {
            errs.push(jat(
                "report: a report job takes no only/skip/rotate/host/shard".into(),
            ));
        }
        if spec.rotate && spec.host.is_some() {
            errs.push(jat(
                "rotate and host select different cases: use two jobs".into()
            ));
        }
        let shard = match spec.shard.as_deref().map(crate::app::parse_shard) {
            Some(Err(e)) => {
                errs.push(jat(format!("shard: {e}")));
                None
            }
            Some(Ok(s)) => Some(s),
            None => None,
        };
        let paths: Vec<PathBuf> = spec.suites.iter().map(rel).collect();
        let suites = match crate::suite::load_all(&paths) {
            Ok((s, _warnings)) => s,
            Err(ds) => {
                errs.extend(ds.iter().map(|d| jat(d.to_string())));
                Vec::new()
            }
        };
        if let Some(h) = spec.host.as_deref() {
            let want = (!h.is_empty()).then_some(h);
            if !suites.is_empty()
                && !suites
                    .iter()
                    .any(|s| crate::hostcheck::select_host(&s.spec, want).is_some())
            {
                errs.push(jat(format!(
                    "host `{h}`: no host of the suites has that name"
                )));
            }
        }
        if let Some(when) = when {
            jobs.push(Job {
                name: name.clone(),
                when,
                spec: spec.clone(),
                suites,
                shard,
            });
        }
    }
    if file.jobs.is_empty() {
        errs.push(at("jobs: no job defined".into()));
    }
    let status = StatusSpec {
        auth: file.status.auth.map(|a| a.rebased(base)),
        auth_metrics: file.status.auth_metrics,
    };
    if status.auth_metrics && status.auth.is_none() {
        errs.push(at("status.auth_metrics: needs status.auth".into()));
    }
    if file.http.max_connections == Some(0) {
        errs.push(at("http.max_connections: at least 1".into()));
    }
    let tls = match (&file.http.cert_file, &file.http.key_file) {
        (Some(c), Some(k)) => Some((rel(c), rel(k))),
        (None, None) => None,
        _ => {
            errs.push(at(
                "http: give both cert_file and key_file, or neither".into()
            ));
            None
        }
    };
    errs.extend(
        status
            .auth
            .iter()
            .flat_map(AuthSpec::problems)
            .map(|e| at(format!("status.{e}"))),
    );
    match (errs.is_empty(), listen) {
        (true, Some(listen)) => Ok(Config {
            path: path.to_path_buf(),
            listen,
            grace: file.grace.map(|g| g.0).unwrap_or(DEFAULT_GRACE),
            reports: file.reports.as_ref().map(rel),
            state_dir: file.state_dir.as_ref().map(rel),
            status,
            http: file.http.limits(),
            tls,
            agent: None,
            jobs: jobs.into_iter().filter(|j| j.spec.enabled).collect(),
        }),
        _ => Err(errs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_period_is_the_interval_and_an_hour_for_a_rotation() {
        let job = |yaml: &str, when: When| Job {
            name: "j".into(),
            when,
            spec: serde_yaml::from_str(yaml).unwrap(),
            suites: vec![],
            shard: None,
        };
        let five = Duration::from_secs(300);
        let every = job("suites: []", When::Every(five));
        assert_eq!(every.case_period(), five);
        let cron = job("suites: []", When::parse_cron("*/5 * * * *").unwrap());
        assert_eq!(cron.case_period(), five);
        let rotation = job("suites: []\nrotate: true", When::Every(five));
        assert_eq!(rotation.case_period(), ROTATION_CYCLE);
    }
    use chrono::TimeZone;

    fn t(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Local> {
        Local.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap()
    }

    #[test]
    fn cron_semantics_are_posix() {
        // 2026-03-01 is a Sunday: 0 and 7 both mean Sunday.
        for e in ["0 12 * * 0", "0 12 * * 7", "0 12 * * SUN"] {
            let w = When::parse_cron(e).unwrap();
            assert_eq!(
                w.next_after(t(2026, 2, 27, 0, 0)),
                Some(t(2026, 3, 1, 12, 0)),
                "{e}"
            );
        }
        // dom and dow both restricted: OR (the 15th, or any Monday).
        let w = When::parse_cron("0 0 15 * 1").unwrap();
        assert_eq!(w.next_after(t(2026, 3, 1, 0, 0)), Some(t(2026, 3, 2, 0, 0)));
        assert_eq!(
            w.next_after(t(2026, 3, 13, 0, 0)),
            Some(t(2026, 3, 15, 0, 0))
        );
        assert!(
            When::parse_cron("* * * *")
                .unwrap_err()
                .contains("5 fields")
        );
        assert!(When::parse_cron("61 * * * *").is_err());
    }

    #[test]
    fn catch_up_runs_once_and_counts_missed() {
        let w = When::parse_cron("*/5 * * * *").unwrap();
        // Suspended from 10:01 to 11:02: due 10:05 .. 11:00 (12 times): run 11:00, 11 missed.
        let (due, missed) = w
            .catch_up(t(2026, 3, 2, 10, 1), t(2026, 3, 2, 11, 2))
            .unwrap();
        assert_eq!((due, missed), (t(2026, 3, 2, 11, 0), 11));
        assert!(
            w.catch_up(t(2026, 3, 2, 10, 1), t(2026, 3, 2, 10, 4))
                .is_none()
        );
        let e = When::Every(Duration::from_secs(2));
        let (due, missed) = e
            .catch_up(t(2026, 3, 2, 10, 0), t(2026, 3, 2, 10, 1))
            .unwrap();
        assert_eq!((due, missed), (t(2026, 3, 2, 10, 1), 29));
    }
}
