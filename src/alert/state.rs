//! Alert state across cron runs: `<state_dir>/alert-state.json`.
//!
//! The state machine (when to notify) lives here, apart from channels (how to
//! deliver), as in Gatus. The file is rewritten atomically and every run holds
//! an flock on `alert-state.lock` from load to save, so two overlapping cron
//! runs cannot both fire the same alert. It holds keys, counters, times and
//! the last one-line message: never a secret.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::suite::alerting::Policy;

pub const STATE_FILE: &str = "alert-state.json";
const LOCK_FILE: &str = "alert-state.lock";
const STATE_VERSION: u32 = 1;
/// Entries that are OK and untouched for this long are dropped.
const FORGET_AFTER_DAYS: i64 = 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    #[default]
    Ok,
    /// Failing, but fewer than `failure_threshold` runs in a row.
    Pending,
    Firing,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyState {
    pub status: AlertStatus,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
    /// Start of the current failure streak.
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub last_notified: Option<DateTime<Utc>>,
    pub last_message: String,
    pub severity: String,
    /// Case ids last seen failing under this key: a run that executes none of
    /// them says nothing about the key (rotation, `--host` runs).
    pub cases: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StateFile {
    pub version: u32,
    /// site -> alert key -> state.
    pub sites: BTreeMap<String, BTreeMap<String, KeyState>>,
}

/// What the state machine asks the channels to do for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Fire,
    Remind,
    Resolve,
}

/// What one run says about one key.
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Failing {
        severity: String,
        message: String,
        cases: Vec<String>,
    },
    Passing,
    /// None of the key's cases ran.
    NotRun,
}

fn sev_rank(s: &str) -> u8 {
    match s {
        "warning" => 1,
        "critical" => 2,
        "error" => 3,
        _ => 0,
    }
}

/// Advance one key by one run. Pure: the caller persists and delivers.
pub fn step(st: &mut KeyState, seen: Seen, now: DateTime<Utc>, p: &Policy) -> Option<Action> {
    match seen {
        Seen::NotRun => None,
        Seen::Failing {
            severity,
            message,
            cases,
        } => {
            st.consecutive_failures = st.consecutive_failures.saturating_add(1);
            st.consecutive_successes = 0;
            if st.status == AlertStatus::Ok {
                st.status = AlertStatus::Pending;
                st.first_seen = Some(now);
            }
            st.first_seen.get_or_insert(now);
            st.last_seen = Some(now);
            st.last_message = message;
            st.cases = cases;
            let escalated = sev_rank(&severity) > sev_rank(&st.severity);
            st.severity = severity;
            match st.status {
                AlertStatus::Pending if st.consecutive_failures >= p.failure_threshold => {
                    st.status = AlertStatus::Firing;
                    st.last_notified = Some(now);
                    Some(Action::Fire)
                }
                AlertStatus::Firing if escalated => {
                    st.last_notified = Some(now);
                    Some(Action::Fire)
                }
                AlertStatus::Firing => {
                    let due = match (p.reminder_interval, st.last_notified) {
                        (Some(iv), Some(last)) => {
                            now.signed_duration_since(last)
                                .to_std()
                                .unwrap_or(Duration::ZERO)
                                >= iv
                        }
                        (Some(_), None) => true,
                        (None, _) => false,
                    };
                    if due {
                        st.last_notified = Some(now);
                        Some(Action::Remind)
                    } else {
                        None
                    }
                }
                _ => None,
            }
        }
        Seen::Passing => {
            st.consecutive_successes = st.consecutive_successes.saturating_add(1);
            st.consecutive_failures = 0;
            match st.status {
                AlertStatus::Ok => None,
                AlertStatus::Pending => {
                    // Never notified: a single bad run is forgotten quietly.
                    st.status = AlertStatus::Ok;
                    st.first_seen = None;
                    None
                }
                AlertStatus::Firing if st.consecutive_successes >= p.success_threshold => {
                    st.status = AlertStatus::Ok;
                    st.first_seen = None;
                    if p.send_on_resolved {
                        st.last_notified = Some(now);
                        Some(Action::Resolve)
                    } else {
                        None
                    }
                }
                AlertStatus::Firing => None,
            }
        }
    }
}

impl StateFile {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// A missing file is an empty state; a corrupt one is kept aside (never
    /// silently overwritten) and the run starts from empty state.
    pub fn load(dir: &Path) -> (StateFile, Option<String>) {
        let p = Self::path(dir);
        match std::fs::read(&p) {
            Ok(b) => match serde_json::from_slice::<StateFile>(&b) {
                Ok(s) => (s, None),
                Err(e) => {
                    let aside = dir.join(format!(
                        "alert-state.corrupt-{}.json",
                        Utc::now().format("%Y%m%dT%H%M%S")
                    ));
                    let _ = std::fs::rename(&p, &aside);
                    (
                        StateFile::default(),
                        Some(format!(
                            "{} is not valid ({e}); moved to {} and starting from empty state",
                            p.display(),
                            aside.display()
                        )),
                    )
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (StateFile::default(), None),
            Err(e) => (
                StateFile::default(),
                Some(format!("cannot read {}: {e}", p.display())),
            ),
        }
    }

    pub fn save(&mut self, dir: &Path, now: DateTime<Utc>) -> std::io::Result<()> {
        self.version = STATE_VERSION;
        for keys in self.sites.values_mut() {
            keys.retain(|_, k| {
                k.status != AlertStatus::Ok
                    || k.last_seen
                        .is_none_or(|t| (now - t).num_days() < FORGET_AFTER_DAYS)
            });
        }
        self.sites.retain(|_, k| !k.is_empty());
        let data = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::atomic::write(&Self::path(dir), &data)
    }
}

/// Exclusive lock on the state directory, released on drop (or process death).
pub struct StateLock(#[allow(dead_code)] File);

impl StateLock {
    /// Wait up to `budget` for a concurrent run to finish.
    pub async fn acquire(dir: &Path, budget: Duration) -> std::io::Result<StateLock> {
        std::fs::create_dir_all(dir)?;
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))?;
        let deadline = tokio::time::Instant::now() + budget;
        loop {
            match f.try_lock() {
                Ok(()) => return Ok(StateLock(f)),
                Err(std::fs::TryLockError::WouldBlock)
                    if tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(std::io::Error::other(format!(
                        "alert state in {} is locked by another run for more than {}s",
                        dir.display(),
                        budget.as_secs()
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + min * 60, 0).unwrap()
    }
    fn fail() -> Seen {
        Seen::Failing {
            severity: "critical".into(),
            message: "m".into(),
            cases: vec!["c".into()],
        }
    }

    #[test]
    fn fires_after_threshold_reminds_and_resolves() {
        let p = Policy::default();
        let mut s = KeyState::default();
        assert_eq!(step(&mut s, fail(), t(0), &p), None);
        assert_eq!(s.status, AlertStatus::Pending);
        assert_eq!(step(&mut s, fail(), t(5), &p), Some(Action::Fire));
        assert_eq!(step(&mut s, fail(), t(10), &p), None);
        assert_eq!(step(&mut s, Seen::NotRun, t(15), &p), None);
        assert_eq!(step(&mut s, fail(), t(64), &p), None);
        assert_eq!(step(&mut s, fail(), t(65), &p), Some(Action::Remind));
        assert_eq!(step(&mut s, Seen::Passing, t(70), &p), None);
        assert_eq!(
            step(&mut s, Seen::Passing, t(75), &p),
            Some(Action::Resolve)
        );
        assert_eq!(s.status, AlertStatus::Ok);
        assert_eq!(s.first_seen, None);
    }

    #[test]
    fn single_failure_is_forgotten_and_escalation_renotifies() {
        let p = Policy::default();
        let mut s = KeyState::default();
        step(&mut s, fail(), t(0), &p);
        assert_eq!(step(&mut s, Seen::Passing, t(5), &p), None);
        assert_eq!(s.status, AlertStatus::Ok);
        let warn = Seen::Failing {
            severity: "warning".into(),
            message: "w".into(),
            cases: vec![],
        };
        step(&mut s, warn.clone(), t(10), &p);
        assert_eq!(step(&mut s, warn, t(15), &p), Some(Action::Fire));
        assert_eq!(step(&mut s, fail(), t(20), &p), Some(Action::Fire));
    }

    #[test]
    fn no_resolve_notice_when_disabled() {
        let p = Policy {
            send_on_resolved: false,
            failure_threshold: 1,
            ..Policy::default()
        };
        let mut s = KeyState::default();
        assert_eq!(step(&mut s, fail(), t(0), &p), Some(Action::Fire));
        step(&mut s, Seen::Passing, t(5), &p);
        assert_eq!(step(&mut s, Seen::Passing, t(10), &p), None);
        assert_eq!(s.status, AlertStatus::Ok);
    }
}
