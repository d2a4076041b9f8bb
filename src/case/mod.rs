//! Test cases: what a suite expands into. Ids are stable and value-free: they
//! become JUnit names, metric labels and alert identities.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

pub mod build;
pub mod expand;
pub mod plan;
pub mod route;

use crate::suite::checks::CheckSpec;
use crate::suite::model::{Proto, RetrProto, SecuritySpec, Thresholds};

#[derive(Debug, Clone, Serialize)]
pub struct TestCase {
    pub id: String,
    /// Index of the suite this case came from (runs may load several).
    pub suite: usize,
    pub kind: CaseKind,
    /// account, submit, retrieve, protocol, host, check ... (for tables and labels)
    pub labels: BTreeMap<String, String>,
    /// Whole-case deadline.
    #[serde(serialize_with = "ser_dur")]
    pub timeout: Duration,
    /// Rotation minute when the case came from the rotation table.
    pub slot: Option<u32>,
}

fn ser_dur<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    Roundtrip(RoundtripCase),
    Security(SecurityCase),
    Host(HostCase),
    /// `agent/<host>`: the central monitor's pull from a host's agent (its
    /// host checks come from there). Reported with the host checks.
    Agent(AgentCase),
}

impl CaseKind {
    pub fn name(&self) -> &'static str {
        match self {
            CaseKind::Roundtrip(_) => "roundtrip",
            CaseKind::Security(_) => "security",
            CaseKind::Host(_) | CaseKind::Agent(_) => "host",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RoundtripCase {
    pub account: String,
    /// Host submitted to (an mta or lb).
    pub submit: String,
    /// Submission endpoint used on it.
    pub via: Proto,
    /// Host retrieved from (an mmp, lb, or the account's store).
    pub retrieve: String,
    /// True when retrieve is the account's store itself (bypassing MMPs).
    pub direct: bool,
    pub protocol: RetrProto,
    pub thresholds: Thresholds,
    /// Wait for arrival (`expand::arrival_wait`: ends before the case does).
    #[serde(serialize_with = "ser_dur")]
    pub arrival_timeout: Duration,
    /// The whole case's deadline, so the wait can also stop in time when the
    /// submission was slow.
    #[serde(skip)]
    pub case_timeout: Duration,
    /// Which way the probe goes.
    pub route: Route,
}

/// The three routes of mail submitted to a site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// Into the site: `account` receives what it is sent.
    #[default]
    Inbound,
    /// Site → Internet: `from` (a site account) submits as a customer to the
    /// external mailbox `account` (a key of `external:`), read from there.
    Outbound { from: String },
    /// Site → reflector → site: `from` submits to `reflector`, which sends
    /// the probe back to `account` (its `returns_to`).
    Echo { from: String, reflector: String },
}

impl Route {
    pub fn name(&self) -> &'static str {
        match self {
            Route::Inbound => "inbound",
            Route::Outbound { .. } => "outbound",
            Route::Echo { .. } => "echo",
        }
    }
    /// The site account that submits (outbound and echo).
    pub fn from(&self) -> Option<&str> {
        match self {
            Route::Inbound => None,
            Route::Outbound { from } | Route::Echo { from, .. } => Some(from),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SecurityCase {
    pub spec: SecuritySpec,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentCase {
    pub host: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostCase {
    pub host: String,
    pub check: CheckSpec,
}
