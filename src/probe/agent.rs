//! The agent API: what a healthmon agent serves (wire types) and the central
//! monitor's client for it. Every request has one deadline, the body is
//! bounded, the token travels only in the `Authorization` header (marked
//! sensitive) and never reaches a message.
//!
//! - `GET /api/v1/agent/results` → [`AgentResults`]: the latest results of
//!   the agent's hosts, their age, the agent's version and suite digest.
//! - `GET /api/v1/agent/queue?host=H&queue_id=Q` (or `&message_id=<M>`) →
//!   [`QueueAnswer`]: where a validated queue id (or Message-ID) sits on that
//!   MTA (the fixed `postqueue -j` look-up; `postcat -h -q` for a Message-ID).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::result::{CaseResult, ErrorKind};
use crate::suite::agent::AgentSpec;
use crate::suite::model::TlsSpec;

pub const RESULTS_PATH: &str = "/api/v1/agent/results";
pub const QUEUE_PATH: &str = "/api/v1/agent/queue";
/// Largest answer read from an agent.
pub const MAX_BODY: usize = 8 << 20;

/// The agent's latest run of its hosts' checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentRun {
    pub run_id: String,
    pub finished_at: DateTime<Utc>,
    /// Age of the run when served, by the agent's own clock (no skew).
    pub age_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentResults {
    pub version: String,
    pub site: String,
    /// SHA-256 of the suite files the agent loaded (`suite_digest`).
    pub suite_digest: String,
    /// Suite hosts whose checks this agent runs.
    pub hosts: Vec<String>,
    pub interval_ms: u64,
    /// None until the first run finished.
    pub run: Option<AgentRun>,
    pub results: Vec<CaseResult>,
}

/// Where a queue id is on an MTA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum QueueWhere {
    /// In a queue (`active`, `deferred`, `hold`, `incoming`, …) with the
    /// first deferral reason, if any.
    Queued { queue: String, reason: String },
    /// Not in the queue (delivered, bounced or never there).
    Gone,
    /// The look-up itself failed.
    Unknown { message: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueAnswer {
    pub host: String,
    /// The id asked for, or the one found for a Message-ID ("" if none).
    pub queue_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(flatten)]
    pub at: QueueWhere,
}

/// A Postfix queue id (short or long form): letters and digits only, so it
/// can never be anything but an argument to compare with.
pub fn valid_queue_id(q: &str) -> bool {
    (5..=32).contains(&q.len()) && q.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A Message-ID as `<local@domain>`: printable ASCII without spaces or
/// angle brackets inside, at most 250 characters.
pub fn valid_message_id(m: &str) -> bool {
    let inner = m.strip_prefix('<').and_then(|x| x.strip_suffix('>'));
    m.len() <= 250
        && inner.is_some_and(|i| {
            i.contains('@')
                && i.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>')
        })
}

/// SHA-256 (hex) of the suite's files, in load order: the same suite on two
/// machines gives the same digest whatever directory it is installed in.
pub fn suite_digest(s: &crate::suite::LoadedSuite) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for (path, _) in &s.pos.files {
        let bytes = std::fs::read(path).unwrap_or_default();
        ctx.update(&(bytes.len() as u64).to_be_bytes());
        ctx.update(&bytes);
    }
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One answered pull: the document and what it cost.
#[derive(Debug, Clone)]
pub struct Pulled<T> {
    pub body: T,
    pub bytes: usize,
    pub ms: f64,
}

/// Why a pull failed (message names the URL's host and port, never a token).
#[derive(Debug, Clone, PartialEq)]
pub struct PullError {
    pub message: String,
    /// `Auth` when the agent refused our credentials (401/403).
    pub kind: ErrorKind,
    pub ms: f64,
}

fn client(spec: &AgentSpec, deadline: Duration) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .timeout(deadline)
        .connect_timeout(deadline)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("healthmon/", env!("CARGO_PKG_VERSION")));
    // The probes' cached TLS config (system roots + ca_file, verified, ring),
    // also for http: reqwest would otherwise load the system roots anew for
    // every client, which dominated a pull's time.
    let tls = TlsSpec {
        ca_file: spec.ca_file.clone(),
        ..TlsSpec::default()
    };
    let cfg = super::tls::client_config(&tls)?;
    b = b.use_preconfigured_tls((*cfg).clone());
    b.build().map_err(|e| format!("http client: {e}"))
}

/// GET `path` from the agent under one deadline; JSON body, bounded.
pub async fn get<T: serde::de::DeserializeOwned>(
    spec: &AgentSpec,
    path_and_query: &str,
    deadline: Duration,
) -> Result<Pulled<T>, PullError> {
    let t0 = Instant::now();
    let fail = |message: String, kind: ErrorKind| PullError {
        message,
        kind,
        ms: t0.elapsed().as_secs_f64() * 1000.0,
    };
    let local = ErrorKind::Local;
    let url = spec.parsed_url().map_err(|e| fail(e, local))?;
    let c = client(spec, deadline).map_err(|e| fail(e, local))?;
    let mut req = c.get(format!("{}{path_and_query}", url.base()));
    let cred = match (spec.token(), &spec.basic) {
        (Some(r), _) => Some((r, None)),
        (None, Some(b)) => b.password().map(|r| (r, Some(b.user.as_str()))),
        (None, None) => None,
    };
    if let Some((r, user)) = cred {
        let s = r
            .resolve()
            .map_err(|e| fail(format!("agent credential ({}): {e}", r.describe()), local))?;
        let value = match user {
            None => format!("Bearer {}", s.expose()),
            Some(u) => {
                use base64::Engine as _;
                let b64 = base64::engine::general_purpose::STANDARD;
                format!("Basic {}", b64.encode(format!("{u}:{}", s.expose())))
            }
        };
        let mut v = reqwest::header::HeaderValue::from_str(&value).map_err(|_| {
            let m = format!("agent credential ({}): not a header value", r.describe());
            fail(m, local)
        })?;
        v.set_sensitive(true);
        req = req.header(reqwest::header::AUTHORIZATION, v);
    }
    let work = async {
        let resp = req.send().await.map_err(|e| {
            let (kind, why) = describe(&e);
            fail(format!("agent {}: {why}", url.base()), kind)
        })?;
        let status = resp.status();
        if status == 401 || status == 403 {
            let m = format!("agent {} refused our token ({status})", url.base());
            return Err(fail(m, ErrorKind::Auth));
        }
        if !status.is_success() {
            let m = format!("agent {} answered {status}", url.base());
            return Err(fail(m, ErrorKind::Protocol));
        }
        let mut body = Vec::new();
        let mut resp = resp;
        while let Some(chunk) = resp.chunk().await.map_err(|e| {
            let (kind, why) = describe(&e);
            fail(format!("agent {}: {why}", url.base()), kind)
        })? {
            if body.len() + chunk.len() > MAX_BODY {
                let m = format!("agent {} answer exceeds {MAX_BODY} bytes", url.base());
                return Err(fail(m, ErrorKind::Protocol));
            }
            body.extend_from_slice(&chunk);
        }
        let doc = serde_json::from_slice::<T>(&body).map_err(|e| {
            let m = format!("agent {}: not an agent answer: {e}", url.base());
            fail(m, ErrorKind::Protocol)
        })?;
        Ok(Pulled {
            body: doc,
            bytes: body.len(),
            ms: t0.elapsed().as_secs_f64() * 1000.0,
        })
    };
    match tokio::time::timeout(deadline, work).await {
        Ok(r) => r,
        Err(_) => Err(fail(
            format!(
                "agent {}: no answer within {}",
                url.base(),
                crate::suite::duration::Dur(deadline)
            ),
            ErrorKind::Timeout,
        )),
    }
}

/// reqwest's error chain without the URL (it carries no token, but stays
/// short), and its kind.
fn describe(e: &reqwest::Error) -> (ErrorKind, String) {
    let (k, kind) = if e.is_timeout() {
        (ErrorKind::Timeout, "timeout")
    } else if e.is_connect() {
        (ErrorKind::Refused, "connect failed")
    } else {
        (ErrorKind::Protocol, "request failed")
    };
    let mut last = String::new();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = cur {
        last = s.to_string();
        cur = s.source();
    }
    let text = if last.is_empty() {
        kind.into()
    } else {
        format!("{kind}: {last}")
    };
    // A certificate problem shows up as a connect error: name it TLS.
    let k = if text.contains("certificate") {
        ErrorKind::Tls
    } else {
        k
    };
    (k, text)
}

/// The agent's latest results.
pub async fn pull(spec: &AgentSpec, deadline: Duration) -> Result<Pulled<AgentResults>, PullError> {
    get(spec, RESULTS_PATH, deadline).await
}

/// `validate --resolve`: the agent answers, accepts our token and serves
/// the same suite (digest). (ok, lines to show).
pub async fn check(spec: &AgentSpec, digest: &str, deadline: Duration) -> (bool, Vec<String>) {
    match pull(spec, deadline).await {
        Err(e) => (false, vec![e.message]),
        Ok(p) => {
            let d = &p.body;
            let mut lines = vec![format!(
                "healthmon {} serving {} ({} results, {} bytes in {:.0} ms)",
                d.version,
                d.hosts.join(", "),
                d.results.len(),
                p.bytes,
                p.ms
            )];
            let same = d.suite_digest == digest;
            if !same {
                lines.push(format!(
                    "suite digest differs: {} here, {} on the agent: install the same suite file on both",
                    &digest[..digest.len().min(12)],
                    &d.suite_digest[..d.suite_digest.len().min(12)]
                ));
            }
            (same, lines)
        }
    }
}

/// Ask an MTA's agent where a queue id is.
pub async fn queue_lookup(
    spec: &AgentSpec,
    host: &str,
    queue_id: &str,
    deadline: Duration,
) -> QueueWhere {
    if !valid_queue_id(queue_id) {
        return QueueWhere::Unknown {
            message: "not a queue id".into(),
        };
    }
    let q = format!("{QUEUE_PATH}?host={host}&queue_id={queue_id}");
    match get::<QueueAnswer>(spec, &q, deadline).await {
        Ok(a) => a.body.at,
        Err(e) => QueueWhere::Unknown { message: e.message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_ids() {
        assert!(valid_queue_id("3F2A1B4C"));
        assert!(valid_queue_id("4dKq3x1rFwz8Nv"));
        assert!(valid_message_id("<hmAbC123@healthmon.invalid>"));
        for bad in [
            "hm@x",
            "<a b@x>",
            "<a<b@x>",
            "<ab>",
            "<x@y>;rm",
            &format!("<{}@x>", "a".repeat(250)),
        ] {
            assert!(!valid_message_id(bad), "{bad}");
        }
        for bad in [
            "",
            "abc",
            "3F2A1;rm",
            "a b cd",
            "../../x",
            "x".repeat(40).as_str(),
        ] {
            assert!(!valid_queue_id(bad), "{bad}");
        }
    }

    #[test]
    fn queue_answer_shape() {
        let a = QueueAnswer {
            host: "mta1".into(),
            queue_id: "ABCDE1".into(),
            message_id: None,
            at: QueueWhere::Queued {
                queue: "hold".into(),
                reason: String::new(),
            },
        };
        let j = serde_json::to_string(&a).unwrap();
        assert!(
            j.contains(r#""state":"queued""#) && j.contains(r#""queue":"hold""#),
            "{j}"
        );
        assert_eq!(serde_json::from_str::<QueueAnswer>(&j).unwrap(), a);
    }
}
