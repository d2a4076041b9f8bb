//! Alerts: state machine (when to notify) apart from channels (how to deliver).
//!
//! After each run the runner calls [`process`]: under the state lock it
//! retries the spool, advances every alert key one step (`state::step`),
//! delivers fire/remind/resolve notices through the matching routes (with
//! fallbacks; what fails is spooled), refreshes firing alerts on channels
//! that need it (Alertmanager), pings the heartbeat channels and saves the
//! state. Alert keys are verdict keys — host + component (`mmp1`,
//! `store1/lmtp`, `mta1/queue`), the same run after run for one fault — when
//! the failing case has a verdict; else the key the case last failed under,
//! else `unisolated:SUBMIT->RETRIEVE` for a round trip or the case id: one
//! alert per root cause, not per path or protocol.

pub mod channel;
/// The alerting section of a suite (types and rules live in the suite layer).
pub use crate::suite::alerting as config;
pub mod notice;
pub mod route;
pub mod spool;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use self::config::AlertingSpec;
use self::notice::{BODY_VERSION, Notice, NoticeCase, NoticeState};
use self::route::Router;
use self::state::{Action, Seen, StateFile, StateLock};
use crate::result::{CaseResult, RunSummary, Status};
use crate::suite::model::SuiteSpec;

pub use crate::suite::alerting::validate::validate;

/// What one `process` call did; printed by the runner, never panics.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AlertReport {
    pub fired: Vec<String>,
    pub reminded: Vec<String>,
    pub resolved: Vec<String>,
    /// `key state -> route/channel` for every successful delivery.
    pub delivered: Vec<String>,
    /// Spool items delivered in this run.
    pub retried: Vec<String>,
    /// Notices now in the spool (new or still failing).
    pub spooled: Vec<String>,
    /// Spool items dropped for age (moved to spool/expired/, logged).
    pub expired: Vec<String>,
    /// Channel failures (one line each, no secrets).
    pub failed: Vec<String>,
    /// Heartbeat channels pinged successfully.
    pub heartbeat: Vec<String>,
    /// Problems of healthmon itself (state file, lock, spool I/O).
    pub errors: Vec<String>,
}

const LOCK_BUDGET: Duration = Duration::from_secs(60);

/// Entry point for the runner/daemon: [`process_at`] with the wall clock,
/// isolated so that even a bug cannot take the run down with it.
/// `until`: an outer deadline (plugin mode) the alert step must also end by.
pub async fn process(
    summary: &RunSummary,
    suite: &SuiteSpec,
    state_dir: &Path,
    until: Option<std::time::Instant>,
) -> AlertReport {
    let (s, su, d) = (summary.clone(), suite.clone(), state_dir.to_path_buf());
    let work = async move { process_until(Utc::now(), &s, &su, &d, until).await };
    match tokio::spawn(work).await {
        Ok(r) => r,
        Err(e) => AlertReport {
            errors: vec![format!("alert processing failed: {e}")],
            ..AlertReport::default()
        },
    }
}

fn severity_of(s: Status) -> &'static str {
    match s {
        Status::Error => "error",
        Status::Critical => "critical",
        _ => "warning",
    }
}

/// Failing cases grouped by alert key ([`CaseResult::alert_key`]). `known`
/// is the site's alert state: a case without a verdict stays under the
/// pending or firing key it failed under last time, so a run whose
/// isolation ran out of budget neither resets nor resolves that alert.
fn failing_keys<'a>(
    summary: &'a RunSummary,
    known: &BTreeMap<String, state::KeyState>,
) -> BTreeMap<String, Vec<&'a CaseResult>> {
    let previous = |id: &str| {
        known
            .iter()
            .find(|(_, st)| st.status != state::AlertStatus::Ok && st.cases.iter().any(|c| c == id))
            .map(|(k, _)| k.as_str())
    };
    let mut m: BTreeMap<String, Vec<&CaseResult>> = BTreeMap::new();
    for r in summary.results.iter().filter(|r| r.status.is_bad()) {
        let key = r.alert_key(previous(&r.id));
        m.entry(key).or_default().push(r);
    }
    m
}

fn notice_for(
    summary: &RunSummary,
    key: &str,
    state: NoticeState,
    st: &state::KeyState,
    cases: &[&CaseResult],
    now: DateTime<Utc>,
) -> Notice {
    let verdict = summary.verdict(key).cloned();
    let first = cases.first();
    let host = verdict
        .as_ref()
        .map(|v| v.host.clone())
        .or_else(|| first.map(|c| c.label("host").to_string()))
        .unwrap_or_default();
    let message = match state {
        NoticeState::Resolved => format!(
            "{key} recovered after {} passing runs",
            st.consecutive_successes
        ),
        _ => st.last_message.clone(),
    };
    let timings = first
        .map(|c| {
            let mut t = BTreeMap::new();
            for p in &c.observation.phases {
                *t.entry(p.phase.clone()).or_insert(0.0) += p.ms;
            }
            t.insert("total".into(), c.duration_ms);
            t
        })
        .unwrap_or_default();
    Notice {
        version: BODY_VERSION,
        kind: "alert".into(),
        run_id: summary.run_id.clone(),
        site: summary.site.clone(),
        suite: first
            .map(|c| c.suite.clone())
            .or_else(|| summary.suites.first().cloned())
            .unwrap_or_default(),
        key: key.to_string(),
        state,
        severity: if st.severity.is_empty() {
            "critical".into()
        } else {
            st.severity.clone()
        },
        host,
        verdict,
        cases: cases.iter().map(|c| NoticeCase::from_result(c)).collect(),
        message,
        timings,
        started_at: st.first_seen.or(st.last_seen).unwrap_or(now),
        at: now,
        consecutive_failures: st.consecutive_failures,
        body: String::new(),
        body_type: String::new(),
        report: None,
    }
}

/// One line for the alert: the verdict, else the first case's message.
fn message_for(summary: &RunSummary, key: &str, cases: &[&CaseResult]) -> String {
    let base = match summary.verdict(key) {
        Some(v) => v.line(),
        None => cases
            .first()
            .map(|c| format!("{}: {}", c.id, c.message))
            .unwrap_or_else(|| key.to_string()),
    };
    match cases.len() {
        0 | 1 => base,
        n => format!("{base} ({n} cases)"),
    }
}

/// The testable core: `now` is injected so reminders and spool ages can be
/// tested across simulated cron runs.
pub async fn process_at(
    now: DateTime<Utc>,
    summary: &RunSummary,
    suite: &SuiteSpec,
    state_dir: &Path,
) -> AlertReport {
    process_until(now, summary, suite, state_dir, None).await
}

/// [`process_at`] whose sends also end by `until`.
pub async fn process_until(
    now: DateTime<Utc>,
    summary: &RunSummary,
    suite: &SuiteSpec,
    state_dir: &Path,
    until: Option<std::time::Instant>,
) -> AlertReport {
    let mut report = AlertReport::default();
    let default_spec = AlertingSpec::default();
    let spec = suite.alerting.as_ref().unwrap_or(&default_spec);
    let policy = spec.policy();
    let _lock = match StateLock::acquire(state_dir, LOCK_BUDGET).await {
        Ok(l) => l,
        Err(e) => {
            // Without the state no notice can be decided; the log line
            // (always on) still names every failing key of this run.
            tracing::error!(target: "healthmon::alert", "{e}");
            report.errors.push(e.to_string());
            for (key, cases) in failing_keys(summary, &BTreeMap::new()) {
                tracing::error!(
                    target: "healthmon::alert",
                    site = %summary.site,
                    key = %key,
                    "alert state unavailable; failing: {}",
                    message_for(summary, &key, &cases)
                );
            }
            return report;
        }
    };
    let (mut file, warn) = StateFile::load(state_dir);
    if let Some(w) = warn {
        tracing::error!(target: "healthmon::alert", "{w}");
        report.errors.push(w);
    }
    let mut router = Router::new(spec, suite, state_dir, now).until(until);
    router.retry_spool(&mut report).await;

    let keys = file.sites.entry(summary.site.clone()).or_default();
    let failing = failing_keys(summary, keys);
    let ran: BTreeSet<&str> = summary
        .results
        .iter()
        .filter(|r| r.status != Status::Skipped)
        .map(|r| r.id.as_str())
        .collect();
    let failed: BTreeSet<&str> = failing.values().flatten().map(|r| r.id.as_str()).collect();
    let all: BTreeSet<String> = keys
        .keys()
        .cloned()
        .chain(failing.keys().cloned())
        .collect();
    let mut notices = vec![];
    let mut refresh = vec![];
    for key in all {
        let st = keys.entry(key.clone()).or_default();
        let cases: Vec<&CaseResult> = failing.get(&key).cloned().unwrap_or_default();
        let seen = if !cases.is_empty() {
            let worst = cases
                .iter()
                .map(|c| c.status)
                .max()
                .unwrap_or(Status::Critical);
            Seen::Failing {
                severity: severity_of(worst).into(),
                message: message_for(summary, &key, &cases),
                cases: cases.iter().map(|c| c.id.clone()).collect(),
            }
        } else if st.cases.iter().any(|c| failed.contains(c.as_str())) {
            // Its cases still fail, now under another key: this run says
            // nothing about whether the fault is gone (never "resolved"
            // while the mail still does not flow).
            Seen::NotRun
        } else if st.cases.iter().any(|c| ran.contains(c.as_str())) || ran.contains(key.as_str()) {
            Seen::Passing
        } else {
            Seen::NotRun
        };
        let action = state::step(st, seen, now, &policy);
        let ns = match action {
            Some(Action::Fire) => {
                report.fired.push(key.clone());
                NoticeState::Firing
            }
            Some(Action::Remind) => {
                report.reminded.push(key.clone());
                NoticeState::Reminder
            }
            Some(Action::Resolve) => {
                report.resolved.push(key.clone());
                NoticeState::Resolved
            }
            None => {
                // Still firing (failing, not yet recovered, or its cases did
                // not run this time): keep it alive where receivers expire it.
                if st.status == state::AlertStatus::Firing {
                    refresh.push(notice_for(
                        summary,
                        &key,
                        NoticeState::Firing,
                        st,
                        &cases,
                        now,
                    ));
                }
                continue;
            }
        };
        let shown: Vec<&CaseResult> = if ns == NoticeState::Resolved {
            summary
                .results
                .iter()
                .filter(|r| st.cases.contains(&r.id))
                .collect()
        } else {
            cases
        };
        notices.push(notice_for(summary, &key, ns, st, &shown, now));
    }

    for n in &notices {
        channel::log::emit(n);
        for route in &spec.routes {
            if router.matches(route, n) {
                router.deliver_route(route, n, &mut report).await;
            }
        }
    }
    // Alertmanager forgets a firing alert unless it is re-sent: refresh it on
    // every run while firing (not spooled: the next run refreshes again).
    for n in &refresh {
        let routes: Vec<_> = spec
            .routes
            .iter()
            .filter(|r| router.matches(r, n))
            .collect();
        for route in routes {
            for ch in route
                .channels
                .iter()
                .filter(|c| spec.channels.get(*c).is_some_and(|s| s.wants_refresh()))
            {
                if let Err(e) = router.attempt(ch, n).await {
                    report.failed.push(format!("refresh {}: {e}", n.key));
                }
            }
        }
    }
    if let Some(hb) = &spec.heartbeat {
        let mut n = Notice::plain(
            "heartbeat",
            &summary.site,
            &summary.run_id,
            "healthmon alive",
            now,
        );
        n.severity = summary.worst().as_str().to_string();
        n.started_at = summary.started_at;
        for ch in &hb.channels {
            match router.attempt(ch, &n).await {
                Ok(()) => report.heartbeat.push(ch.clone()),
                Err(e) => {
                    tracing::error!(target: "healthmon::alert", "heartbeat {e}");
                    report.failed.push(format!("heartbeat {e}"));
                }
            }
        }
    }
    if let Err(e) = file.save(state_dir, now) {
        tracing::error!(target: "healthmon::alert", "cannot save alert state: {e}");
        report.errors.push(format!(
            "cannot save alert state in {}: {e}",
            state_dir.display()
        ));
    }
    report
}

/// Send one notice through a named route (daily report, `alert test`):
/// primary channels with fallbacks; failures spooled like alerts.
pub async fn send_via_route(
    suite: &SuiteSpec,
    route_name: &str,
    n: &Notice,
    state_dir: &Path,
) -> Result<AlertReport, String> {
    let spec = suite
        .alerting
        .as_ref()
        .ok_or("the suite declares no alerting routes")?;
    let route = spec.route(route_name).ok_or_else(|| {
        let names: Vec<&str> = spec.routes.iter().map(|r| r.name.as_str()).collect();
        format!("no route {route_name} (routes: {})", names.join(", "))
    })?;
    let _lock = StateLock::acquire(state_dir, LOCK_BUDGET)
        .await
        .map_err(|e| e.to_string())?;
    let mut report = AlertReport::default();
    let mut router = Router::new(spec, suite, state_dir, n.at);
    router.deliver_route(route, n, &mut report).await;
    Ok(report)
}
