//! What a finished case says about where it broke: the input of the rules.

use crate::result::{CaseResult, ErrorKind, RETRIEVE_SIDE, SHARED_PHASES, SMTP_PHASES, Status};

/// The part of a round trip that went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Talking SMTP to the submit host (connect … quit).
    Submit,
    /// Logging in / talking to the retrieve host.
    Retrieve,
    /// Accepted by the MTA but not in the mailbox in time.
    Delivery,
    /// Arrived but not intact, or could not be fetched/deleted.
    Verify,
    /// A threshold was exceeded; the phase says where.
    Slow,
    /// Local problem (secret missing ...): not the site's fault.
    Local,
}

/// One failing round-trip case, reduced to the facts the rules use.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub case: String,
    pub status: Status,
    pub account: String,
    pub store: String,
    pub submit: String,
    pub retrieve: String,
    pub protocol: String,
    /// Retrieve host is the account's store itself.
    pub direct: bool,
    /// The probe left the site: `store` is an external mailbox, outside
    /// the site's LMTP and directory.
    pub outbound: bool,
    pub stage: Stage,
    pub phase: String,
    pub kind: Option<ErrorKind>,
    /// Host the failing step talked to (from the probe error).
    pub host: Option<String>,
    pub message: String,
    pub queue_id: Option<String>,
    pub token: Option<String>,
    /// When the case ended (wall clock): it had stopped waiting for the
    /// probe by then, so a probe the store received later arrived late.
    pub ended_at: chrono::DateTime<chrono::Utc>,
}

/// The phase over its threshold is named first in the judge's message
/// (`delivery 12.3s > critical 10s`); a retrieve-side occurrence of a phase
/// both sides have is `retrieve connect 700ms > …`, kept as `retrieve
/// connect` so it is never taken for the submit host's SMTP.
fn slow_phase(message: &str) -> String {
    let mut words = message.split_whitespace();
    let first = words.next().unwrap_or("total").trim_end_matches(':');
    match words.next() {
        Some(p) if first == RETRIEVE_SIDE && SHARED_PHASES.contains(&p) => {
            format!("{first} {p}")
        }
        _ => first.to_string(),
    }
}

/// `None` for passing cases and for cases that are not round trips.
pub fn failure_of(r: &CaseResult) -> Option<Failure> {
    if r.kind != "roundtrip" || !r.status.is_bad() {
        return None;
    }
    let obs = &r.observation;
    let (stage, phase, kind, host, message) = match &obs.error {
        Some(e) => {
            // The error's protocol says which side failed; only an error
            // without one falls back to host + phase name (the retrieve side
            // has connect/greeting/starttls/auth phases too, and the submit
            // and retrieve host may be one machine).
            let submit_side = match e.protocol.as_deref() {
                Some(p) => p == "smtp",
                None => {
                    e.host.as_deref() == Some(r.label("submit"))
                        && SMTP_PHASES.contains(&e.phase.as_str())
                }
            };
            let stage = match e.kind {
                ErrorKind::Local => Stage::Local,
                ErrorKind::NotArrived => Stage::Delivery,
                ErrorKind::Corrupt => Stage::Verify,
                _ if e.phase == "delivery" && e.kind == ErrorKind::Timeout => Stage::Delivery,
                _ if submit_side => Stage::Submit,
                _ if e.phase == "fetch" || e.phase == "delete" => Stage::Verify,
                _ => Stage::Retrieve,
            };
            (
                stage,
                e.phase.clone(),
                Some(e.kind),
                e.host.clone(),
                e.message.clone(),
            )
        }
        None => (
            Stage::Slow,
            slow_phase(&r.message),
            None,
            None,
            r.message.clone(),
        ),
    };
    Some(Failure {
        case: r.id.clone(),
        status: r.status,
        account: r.label("account").to_string(),
        store: r.label("store").to_string(),
        submit: r.label("submit").to_string(),
        retrieve: r.label("retrieve").to_string(),
        protocol: r.label("protocol").to_string(),
        direct: r.label("retrieve") == r.label("store"),
        outbound: r.label("route") == "outbound",
        stage,
        phase,
        kind,
        host,
        message,
        queue_id: obs.facts.get("queue_id").cloned(),
        token: obs.facts.get("token").cloned(),
        ended_at: r.started_at + chrono::Duration::milliseconds(r.duration_ms.ceil() as i64),
    })
}
