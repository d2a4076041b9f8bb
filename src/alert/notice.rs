//! What channels deliver: the documented JSON body (webhook, command stdin,
//! spool files). Built only from results and state, never from secrets.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::result::{CaseResult, Verdict};

/// Bump when a field changes meaning; receivers can check it.
pub const BODY_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeState {
    Firing,
    Resolved,
    Reminder,
}

impl NoticeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeState::Firing => "firing",
            NoticeState::Resolved => "resolved",
            NoticeState::Reminder => "reminder",
        }
    }
}

/// One failing case as the alert shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeCase {
    pub id: String,
    pub status: String,
    pub message: String,
    pub duration_ms: f64,
}

impl NoticeCase {
    pub fn from_result(r: &CaseResult) -> Self {
        NoticeCase {
            id: r.id.clone(),
            status: r.status.as_str().to_string(),
            message: r.message.clone(),
            duration_ms: r.duration_ms,
        }
    }
}

/// The alert body. Field names are a public contract (README documents them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub version: u32,
    /// `alert`, `heartbeat` or `report`.
    pub kind: String,
    pub run_id: String,
    pub site: String,
    pub suite: String,
    /// Alert identity: the verdict key, host + component (`store1`,
    /// `store1/lmtp`), else `unisolated:SUBMIT->RETRIEVE` or the case id.
    pub key: String,
    pub state: NoticeState,
    /// warning, critical or error (the worst of the cases).
    pub severity: String,
    /// Host the key blames (verdict host or case host), for routing.
    pub host: String,
    pub verdict: Option<Verdict>,
    pub cases: Vec<NoticeCase>,
    /// One line for pagers and subjects.
    pub message: String,
    /// Phase timings (ms) of the first failing case.
    pub timings: BTreeMap<String, f64>,
    /// When the failure was first seen (firing/reminder) — start of the alert.
    pub started_at: DateTime<Utc>,
    /// When this notice was produced.
    pub at: DateTime<Utc>,
    pub consecutive_failures: u32,
    /// Body of a `report` notice (text or HTML); empty otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body: String,
    /// MIME type of `body`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub body_type: String,
    /// A `report` notice's structured data (the daily report as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
}

impl Notice {
    /// Subject line for mail and the log channel.
    pub fn subject(&self) -> String {
        match self.kind.as_str() {
            "heartbeat" => format!("[healthmon {}] alive", self.site),
            "report" => format!("[healthmon {}] {}", self.site, self.message),
            _ => format!(
                "[healthmon {}] {} {} {}",
                self.site,
                self.state.as_str().to_uppercase(),
                self.severity,
                self.key
            ),
        }
    }

    /// Plain-text body for mail.
    pub fn text(&self) -> String {
        if !self.body.is_empty() {
            return self.body.clone();
        }
        let mut s = format!(
            "{}\n\nsite: {}\nsuite: {}\nkey: {}\nstate: {}\nseverity: {}\nsince: {}\nrun: {}\n",
            self.message,
            self.site,
            self.suite,
            self.key,
            self.state.as_str(),
            self.severity,
            self.started_at.to_rfc3339(),
            self.run_id
        );
        if let Some(v) = &self.verdict {
            s.push_str(&format!("verdict: {}\n", v.line()));
            for e in &v.evidence {
                s.push_str(&format!("  evidence: {e}\n"));
            }
        }
        for c in &self.cases {
            s.push_str(&format!(
                "case {} {} {:.0}ms {}\n",
                c.id, c.status, c.duration_ms, c.message
            ));
        }
        s
    }

    /// A notice that is not about one alert (heartbeat, report).
    pub fn plain(kind: &str, site: &str, run_id: &str, message: &str, now: DateTime<Utc>) -> Self {
        Notice {
            version: BODY_VERSION,
            kind: kind.into(),
            run_id: run_id.into(),
            site: site.into(),
            suite: String::new(),
            key: String::new(),
            state: NoticeState::Firing,
            severity: String::new(),
            host: String::new(),
            verdict: None,
            cases: vec![],
            message: message.into(),
            timings: BTreeMap::new(),
            started_at: now,
            at: now,
            consecutive_failures: 0,
            body: String::new(),
            body_type: String::new(),
            report: None,
        }
    }
}
