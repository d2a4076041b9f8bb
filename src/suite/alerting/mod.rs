//! Alerting configuration as declared in etc/alarms.yaml (shared by suites):
//! what the user writes and its static rules. Delivery lives in
//! `alert::channel`, one file per channel beside the spec file here.
//!
//! Channels are named once (`channels:`), routes pick them by name, so a
//! pager script or a relay is declared once and reused by several routes.
//! Thresholds follow Gatus: fire after N failing runs, resolve after M passes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::SecretRef;
use crate::suite::Severity;
use crate::suite::duration::Dur;

pub mod validate;

/// A network place a channel talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Key path inside the channel spec, for diagnostics (`url`, `urls[1]`, `host`).
    pub key: String,
    pub host: String,
    pub port: u16,
}

/// One spec file per channel kind (its YAML keys, `files` to anchor,
/// `targets` it talks to, `check` for static problems, `REFRESH`), plus one
/// line here; `alert::channel` has the matching delivery file.
macro_rules! channels {
    ($($m:ident => $V:ident),* $(,)?) => {
        $(pub mod $m;)*

        /// `<name>: {<kind>: {...}}` in `alerting.channels`.
        #[derive(Debug, Clone, Deserialize, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ChannelSpec {
            $($V($m::Spec),)*
        }

        impl ChannelSpec {
            pub fn kind(&self) -> &'static str {
                match self { $(Self::$V(_) => stringify!($m),)* }
            }
            pub fn files(&mut self) -> Vec<&mut std::path::PathBuf> {
                match self { $(Self::$V(s) => $m::files(s),)* }
            }
            pub fn targets(&self) -> Vec<Target> {
                match self { $(Self::$V(s) => $m::targets(s),)* }
            }
            pub fn check(&self) -> Vec<(Severity, String)> {
                match self { $(Self::$V(s) => $m::check(s),)* }
            }
            /// The whole send (connect, TLS, protocol, body; a command's
            /// run) must finish within this: delivery enforces it.
            pub fn timeout(&self) -> std::time::Duration {
                match self { $(Self::$V(s) => $m::timeout(s),)* }
            }
            /// Channels whose receiver forgets a firing alert unless it is
            /// re-sent every run (Alertmanager's resolve_timeout).
            pub fn wants_refresh(&self) -> bool {
                match self { $(Self::$V(_) => $m::REFRESH,)* }
            }
        }
    };
}

channels! {
    log => Log,
    webhook => Webhook,
    alertmanager => Alertmanager,
    command => Command,
    smtp_relay => SmtpRelay,
}

/// Host and port of an http(s) URL, for `targets`.
pub(crate) fn url_target(key: &str, url: &str) -> Option<Target> {
    let u = reqwest::Url::parse(url).ok()?;
    Some(Target {
        key: key.to_string(),
        host: u.host_str()?.trim_matches(['[', ']']).to_string(),
        port: u.port_or_known_default()?,
    })
}

/// Static check of one secret reference: unset variable, missing or too open file.
pub(crate) fn check_secret(key: &str, r: &SecretRef) -> Option<(Severity, String)> {
    let msg = match r {
        SecretRef::Env(v) if std::env::var_os(v).is_none() => {
            format!("{key}: environment variable {v} is not set")
        }
        SecretRef::File(p) if !p.exists() => format!("{key}: {} does not exist", p.display()),
        SecretRef::File(p) if crate::secret::too_open(p) => {
            format!("{key}: {} is readable by group or others", p.display())
        }
        _ => return None,
    };
    Some((Severity::Warning, msg))
}

/// Static check for header secret references.
pub(crate) fn check_headers(
    env: &BTreeMap<String, String>,
    file: &BTreeMap<String, std::path::PathBuf>,
) -> Vec<(Severity, String)> {
    let env = env
        .iter()
        .map(|(k, v)| (format!("headers_env.{k}"), SecretRef::Env(v.clone())));
    let file = file
        .iter()
        .map(|(k, p)| (format!("headers_file.{k}"), SecretRef::File(p.clone())));
    env.chain(file)
        .filter_map(|(k, r)| check_secret(&k, &r))
        .collect()
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingSpec {
    /// Consecutive failures before an alert fires (default 2).
    #[serde(default)]
    pub failure_threshold: Option<u32>,
    /// Consecutive passes before recovery is notified (default 2).
    #[serde(default)]
    pub success_threshold: Option<u32>,
    /// Re-notify while still failing (default 1h; `0s` disables reminders).
    #[serde(default)]
    pub reminder_interval: Option<Dur>,
    /// Send a recovery notice (default true).
    #[serde(default)]
    pub send_on_resolved: Option<bool>,
    /// Spooled (undeliverable) notices older than this are moved to
    /// `spool/expired/` and logged instead of retried (default 24h).
    #[serde(default)]
    pub spool_max_age: Option<Dur>,
    /// Budget of the whole alert step of one run (spool retries, notices,
    /// refreshes, heartbeat; default 60s). What is not delivered by then is
    /// spooled, so a stalling receiver can never hold the run lock.
    #[serde(default)]
    pub deadline: Option<Dur>,
    /// Named delivery channels.
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelSpec>,
    /// Every route whose `match` fits an alert delivers it.
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
    /// Dead man's switch: these channels get a "healthmon alive" ping every run.
    #[serde(default)]
    pub heartbeat: Option<HeartbeatSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Name used by `healthmon report --send NAME` and `healthmon alert test NAME`.
    pub name: String,
    /// Empty match = every alert.
    #[serde(default, rename = "match")]
    pub matcher: MatchSpec,
    /// Channel names; each one gets the notice.
    pub channels: Vec<String>,
    /// Channel names tried in order when a primary channel fails.
    #[serde(default)]
    pub fallback: Vec<String>,
    /// `false`: the route carries only reports and tests, never alerts.
    #[serde(default)]
    pub alerts: Option<bool>,
}

/// All given lists must match (an empty list matches anything).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    /// warning, critical, error.
    #[serde(default)]
    pub severity: Vec<String>,
    /// Host names of the suite (the verdict's host, or the case's host).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Roles of that host (mta, mmp, store, ldap, lb ...).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub suites: Vec<String>,
    #[serde(default)]
    pub sites: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatSpec {
    pub channels: Vec<String>,
}

/// The numbers the state machine uses, defaults applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub reminder_interval: Option<Duration>,
    pub send_on_resolved: bool,
    pub spool_max_age: Duration,
    pub deadline: Duration,
}

impl AlertingSpec {
    pub fn policy(&self) -> Policy {
        Policy {
            failure_threshold: self.failure_threshold.unwrap_or(2).max(1),
            success_threshold: self.success_threshold.unwrap_or(2).max(1),
            reminder_interval: match self.reminder_interval {
                None => Some(Duration::from_secs(3600)),
                Some(d) if d.0.is_zero() => None,
                Some(d) => Some(d.0),
            },
            send_on_resolved: self.send_on_resolved.unwrap_or(true),
            spool_max_age: self
                .spool_max_age
                .map(|d| d.0)
                .unwrap_or(Duration::from_secs(24 * 3600)),
            deadline: self.deadline.map_or(Duration::from_secs(60), |d| d.0),
        }
    }

    /// Make relative file paths (CA, header/password files, `./program`)
    /// relative to `dir`, the directory of the file that declared them.
    pub fn anchor_paths(&mut self, dir: &std::path::Path) {
        for ch in self.channels.values_mut() {
            for p in ch.files() {
                if p.is_relative() && !p.as_os_str().is_empty() {
                    *p = dir.join(&*p);
                }
            }
        }
    }

    pub fn route(&self, name: &str) -> Option<&RouteSpec> {
        self.routes.iter().find(|r| r.name == name)
    }
}

impl Default for Policy {
    fn default() -> Self {
        AlertingSpec::default().policy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_relative_files_but_not_bare_program_names() {
        let mut a: AlertingSpec = serde_yaml::with::singleton_map_recursive::deserialize(
            serde_yaml::Deserializer::from_str(
                "channels:\n  a: {command: {program: ./page.sh}}\n  b: {command: {program: logger}}\n  c: {smtp_relay: {host: r, from: a@b.c, to: [d@e.f], password_file: pw, ca_file: /abs/ca.pem}}\n  d: {webhook: {url: 'http://x/', headers_file: {X-T: tok}}}\n",
            ),
        )
        .unwrap();
        a.anchor_paths(std::path::Path::new("/etc/hm"));
        let files: Vec<String> = a
            .channels
            .values_mut()
            .flat_map(|c| c.files())
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            files,
            [
                "/etc/hm/./page.sh",
                "/abs/ca.pem",
                "/etc/hm/pw",
                "/etc/hm/tok"
            ]
        );
        match &a.channels["b"] {
            ChannelSpec::Command(c) => {
                assert_eq!(c.program.to_str(), Some("logger"))
            }
            _ => unreachable!(),
        }
    }
}
