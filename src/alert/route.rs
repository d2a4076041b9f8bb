//! Routing and delivery: which routes take a notice, primary channels with
//! fallbacks, and the spool for what could not be delivered. A channel that
//! failed once in a run is not tried again in that run (its next notices go
//! straight to the fallback or the spool), so one dead webhook costs one
//! timeout per run, not one per alert.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::AlertReport;
use super::notice::Notice;
use super::spool::{self, SpoolItem};
use crate::suite::alerting::{AlertingSpec, RouteSpec};
use crate::suite::model::SuiteSpec;

pub struct Router<'a> {
    pub spec: &'a AlertingSpec,
    pub suite: &'a SuiteSpec,
    pub state_dir: &'a Path,
    pub now: DateTime<Utc>,
    failed: BTreeSet<String>,
    /// End of this alert step: no send starts after it or runs past it.
    deadline: Instant,
}

impl<'a> Router<'a> {
    pub fn new(
        spec: &'a AlertingSpec,
        suite: &'a SuiteSpec,
        state_dir: &'a Path,
        now: DateTime<Utc>,
    ) -> Self {
        Router {
            spec,
            suite,
            state_dir,
            now,
            failed: BTreeSet::new(),
            deadline: Instant::now() + spec.policy().deadline,
        }
    }

    /// End the step by `until` too (plugin mode's deadline), if earlier.
    pub fn until(mut self, until: Option<std::time::Instant>) -> Self {
        if let Some(u) = until {
            self.deadline = self.deadline.min(Instant::from_std(u));
        }
        self
    }

    /// Does `route` take this alert notice?
    pub fn matches(&self, route: &RouteSpec, n: &Notice) -> bool {
        if route.alerts == Some(false) {
            return false;
        }
        let m = &route.matcher;
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        let roles: Vec<&String> = self
            .suite
            .hosts
            .get(&n.host)
            .map(|h| h.roles.iter().collect())
            .unwrap_or_default();
        any(&m.severity, &n.severity)
            && any(&m.hosts, &n.host)
            && (m.roles.is_empty() || roles.iter().any(|r| m.roles.contains(r)))
            && any(&m.suites, &n.suite)
            && any(&m.sites, &n.site)
    }

    /// Try one named channel.
    pub async fn attempt(&mut self, name: &str, n: &Notice) -> Result<(), String> {
        let Some(ch) = self.spec.channels.get(name) else {
            return Err(format!("{name}: no such channel"));
        };
        if self.failed.contains(name) {
            return Err(format!("{name}: failed earlier in this run"));
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "{name}: not tried, the alert step's deadline ({}) has passed",
                crate::suite::duration::Dur(self.spec.policy().deadline)
            ));
        }
        match super::channel::send_within(ch, n, left).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.failed.insert(name.to_string());
                Err(format!("{name} ({}): {e}", ch.kind()))
            }
        }
    }

    /// Primary `channel`, else the route's fallbacks in order. Ok(name of the
    /// channel that delivered), or every error.
    pub async fn deliver_one(
        &mut self,
        route: Option<&RouteSpec>,
        channel: &str,
        n: &Notice,
        report: &mut AlertReport,
    ) -> Result<String, String> {
        let mut errs = vec![];
        match self.attempt(channel, n).await {
            Ok(()) => return Ok(channel.to_string()),
            Err(e) => errs.push(e),
        }
        for fb in route.map(|r| r.fallback.as_slice()).unwrap_or_default() {
            match self.attempt(fb, n).await {
                Ok(()) => {
                    report.failed.push(errs.join("; "));
                    return Ok(format!("{fb} (fallback for {channel})"));
                }
                Err(e) => errs.push(e),
            }
        }
        let e = errs.join("; ");
        report.failed.push(e.clone());
        Err(e)
    }

    /// Deliver through every channel of `route`; what fails everywhere is spooled.
    pub async fn deliver_route(&mut self, route: &RouteSpec, n: &Notice, report: &mut AlertReport) {
        for ch in &route.channels {
            let what = format!("{} {} -> {}/", n.key, n.state.as_str(), route.name);
            match self.deliver_one(Some(route), ch, n, report).await {
                Ok(via) => report.delivered.push(format!("{what}{via}")),
                Err(e) => self.spool(route, ch, n, e, report),
            }
        }
    }

    fn spool(
        &self,
        route: &RouteSpec,
        ch: &str,
        n: &Notice,
        err: String,
        report: &mut AlertReport,
    ) {
        let item = SpoolItem {
            created_at: self.now,
            route: route.name.clone(),
            channel: ch.to_string(),
            attempts: 1,
            last_error: err,
            notice: n.clone(),
        };
        match spool::enqueue(self.state_dir, &item) {
            Ok(p) => report.spooled.push(format!(
                "{} {} -> {}/{ch} ({})",
                n.key,
                n.state.as_str(),
                route.name,
                p.display()
            )),
            Err(e) => {
                tracing::error!(target: "healthmon::alert", "cannot spool {} for {ch}: {e}", n.key);
                report
                    .errors
                    .push(format!("cannot spool {} for {ch}: {e}", n.key));
            }
        }
    }

    /// Retry the spool, oldest first. Called before this run's new notices.
    pub async fn retry_spool(&mut self, report: &mut AlertReport) {
        let max_age = chrono::Duration::from_std(self.spec.policy().spool_max_age)
            .unwrap_or(chrono::Duration::days(1));
        for p in spool::list(self.state_dir) {
            let mut item = match spool::read(&p) {
                Ok(i) => i,
                Err(e) => {
                    let to = spool::set_aside(&p, "bad");
                    report.errors.push(format!(
                        "unreadable spool file {} ({e}) set aside: {to:?}",
                        p.display()
                    ));
                    continue;
                }
            };
            if self.now - item.created_at > max_age {
                let to = spool::set_aside(&p, "expired").map(|t| t.display().to_string());
                tracing::error!(
                    target: "healthmon::alert",
                    "spooled notice {} {} for {} is older than {} and was not delivered ({} attempts, last error: {}); moved to {:?}",
                    item.notice.key, item.notice.state.as_str(), item.channel,
                    crate::suite::duration::Dur(self.spec.policy().spool_max_age),
                    item.attempts, item.last_error, to
                );
                report.expired.push(format!(
                    "{} {} -> {}/{}",
                    item.notice.key,
                    item.notice.state.as_str(),
                    item.route,
                    item.channel
                ));
                continue;
            }
            let route = self.spec.route(&item.route).cloned();
            let what = format!(
                "{} {} -> {}/",
                item.notice.key,
                item.notice.state.as_str(),
                item.route
            );
            match self
                .deliver_one(route.as_ref(), &item.channel, &item.notice, report)
                .await
            {
                Ok(via) => {
                    if let Err(e) = std::fs::remove_file(&p) {
                        report.errors.push(format!(
                            "cannot remove delivered spool file {}: {e}",
                            p.display()
                        ));
                    }
                    report.retried.push(format!("{what}{via}"));
                }
                Err(e) => {
                    item.attempts += 1;
                    item.last_error = e;
                    if let Err(e) = spool::write(&p, &item) {
                        report
                            .errors
                            .push(format!("cannot update spool file {}: {e}", p.display()));
                    }
                    report.spooled.push(format!(
                        "{what}{} (still spooled, attempt {})",
                        item.channel, item.attempts
                    ));
                }
            }
        }
    }
}
