//! The central monitor's side of agents: the host checks of a host whose
//! suite entry declares an `agent` are not run here (that would measure this
//! machine under the host's name) but pulled from its agent — one request
//! per agent per run, all agents at once (at most [`PULLS_AT_ONCE`]), each
//! under the suite's step timeout. What comes back becomes that host's
//! cases, so every reporter, the status page and the alerts see the whole
//! site. Each pull is also a case of its own, `agent/<host>`:
//!
//! - agent unreachable or refusing us → `agent/<host>` error, and each of
//!   the host's checks an error saying so (never silently missing);
//! - a result older than twice the agent's interval → that check is an
//!   error (stale), never shown as fresh;
//! - an agent serving another suite (digest differs) → `agent/<host>` error
//!   (its results are still used: they are that host's latest).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::case::{CaseKind, TestCase};
use crate::event::RunEvent;
use crate::probe::agent::{self, AgentResults, PullError, Pulled};
use crate::result::{CaseResult, ErrorKind, ProbeError, Status};
use crate::suite::LoadedSuite;
use crate::suite::duration::Dur;

/// Agents asked at once.
pub const PULLS_AT_ONCE: usize = 32;

/// The host a case is answered by an agent for, if any: a host check of a
/// host with an `agent:` — unless this machine is that host (`run --host`
/// on the machine itself measures it directly).
pub fn agent_host<'a>(c: &'a TestCase, s: &LoadedSuite) -> Option<&'a str> {
    let (host, check) = match &c.kind {
        CaseKind::Agent(a) => (&a.host, false),
        CaseKind::Host(h) => (&h.host, true),
        _ => return None,
    };
    s.spec.hosts.get(host)?.agent.as_ref()?;
    if check && crate::hostcheck::this_machine(&s.spec).1.contains(host) {
        return None;
    }
    Some(host.as_str())
}

type Answer = Result<Pulled<AgentResults>, PullError>;

/// Pull every agent the cases need and turn the answers into their results.
pub async fn run(
    suites: Arc<Vec<LoadedSuite>>,
    cases: Vec<TestCase>,
    base: fn(&TestCase, &LoadedSuite) -> CaseResult,
    events: tokio::sync::mpsc::UnboundedSender<RunEvent>,
) -> Vec<CaseResult> {
    let mut by_agent: BTreeMap<(usize, String), Vec<TestCase>> = BTreeMap::new();
    for c in cases {
        if let Some(h) = agent_host(&c, &suites[c.suite]) {
            by_agent
                .entry((c.suite, h.to_string()))
                .or_default()
                .push(c);
        }
    }
    let slots = Arc::new(Semaphore::new(PULLS_AT_ONCE));
    let mut set = tokio::task::JoinSet::new();
    for ((si, host), cases) in by_agent {
        let (suites, slots, events) = (suites.clone(), slots.clone(), events.clone());
        set.spawn(async move {
            let s = &suites[si];
            let Some(spec) = s.spec.hosts.get(&host).and_then(|h| h.agent.clone()) else {
                return Vec::new();
            };
            for c in &cases {
                let _ = events.send(RunEvent::CaseStarted { id: c.id.clone() });
            }
            let _slot = slots.acquire().await;
            let answer = agent::pull(&spec, s.spec.step_timeout()).await;
            let digest = agent::suite_digest(s);
            let out: Vec<CaseResult> = cases
                .iter()
                .map(|c| {
                    let r = settle(c, base(c, s), &host, &answer, &digest, spec.interval());
                    let _ = events.send(RunEvent::CaseFinished(Box::new(r.clone())));
                    r
                })
                .collect();
            out
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.extend(r.unwrap_or_default());
    }
    out
}

fn error(r: &mut CaseResult, host: &str, kind: ErrorKind, message: String) {
    r.status = Status::Error;
    r.message = if message.starts_with("agent ") {
        message.clone()
    } else {
        format!("agent: {message}")
    };
    r.observation.error = Some(ProbeError {
        phase: "agent".into(),
        kind,
        message,
        host: Some(host.to_string()),
        protocol: Some("http".into()),
    });
}

/// One case's result from its agent's answer.
fn settle(
    c: &TestCase,
    mut r: CaseResult,
    host: &str,
    answer: &Answer,
    digest: &str,
    interval: Duration,
) -> CaseResult {
    let pulled = match answer {
        Err(e) => {
            r.duration_ms = e.ms;
            let why = match c.kind {
                CaseKind::Agent(_) => e.message.clone(),
                _ => format!(
                    "not measured: {host}'s agent did not answer ({})",
                    e.message
                ),
            };
            error(&mut r, host, e.kind, why);
            return r;
        }
        Ok(p) => p,
    };
    let doc = &pulled.body;
    if matches!(c.kind, CaseKind::Agent(_)) {
        r.duration_ms = pulled.ms;
        let o = &mut r.observation;
        o.metric("pull_ms", pulled.ms, "ms");
        o.metric("pull_bytes", pulled.bytes as f64, "bytes");
        o.metric("results", doc.results.len() as f64, "");
        o.fact("agent_version", doc.version.clone());
        if let Some(run) = &doc.run {
            o.fact("agent_run", run.run_id.clone());
            o.metric("age_s", run.age_ms as f64 / 1000.0, "s");
        }
        r.status = Status::Pass;
        if doc.suite_digest != digest {
            let m = format!(
                "runs another version of the suite (digest {} here, {} there): install the same suite file on both",
                short(digest),
                short(&doc.suite_digest)
            );
            error(&mut r, host, ErrorKind::Local, m);
        } else if doc.run.is_none() {
            error(
                &mut r,
                host,
                ErrorKind::NotArrived,
                "no run finished yet".into(),
            );
        }
        return r;
    }
    let Some(run) = &doc.run else {
        error(
            &mut r,
            host,
            ErrorKind::NotArrived,
            "the agent has no results yet".into(),
        );
        return r;
    };
    let Some(got) = doc.results.iter().find(|x| x.id == c.id) else {
        let m = format!(
            "the agent (serving {}) has no result for this check",
            doc.hosts.join(", ")
        );
        error(&mut r, host, ErrorKind::NotArrived, m);
        return r;
    };
    // Age by the agent's clock plus our wait for the answer: no clock skew.
    let age = Duration::from_millis(run.age_ms) + Duration::from_secs_f64(pulled.ms / 1000.0);
    r.started_at = got.started_at;
    r.duration_ms = got.duration_ms;
    r.observation = got.observation.clone();
    r.observation.fact("agent_age", Dur(trunc(age)).to_string());
    if age > interval * 2 {
        let m = format!(
            "stale: the latest result is {} old (expected every {}; last said: {})",
            Dur(trunc(age)),
            Dur(interval),
            if got.message.is_empty() {
                got.status.to_string()
            } else {
                got.message.clone()
            }
        );
        error(&mut r, host, ErrorKind::Timeout, m);
        return r;
    }
    r.status = got.status;
    r.message = got.message.clone();
    r
}

fn trunc(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

fn short(d: &str) -> &str {
    d.get(..12).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{AgentCase, HostCase};
    use crate::probe::agent::AgentRun;
    use chrono::Utc;

    fn case(id: &str, agent: bool) -> TestCase {
        let kind = if agent {
            CaseKind::Agent(AgentCase {
                host: "mta1".into(),
            })
        } else {
            CaseKind::Host(HostCase {
                host: "mta1".into(),
                check: serde_yaml::with::singleton_map_recursive::deserialize(
                    serde_yaml::Deserializer::from_str("port: {endpoint: smtp}"),
                )
                .unwrap(),
            })
        };
        TestCase {
            id: id.into(),
            suite: 0,
            kind,
            labels: Default::default(),
            timeout: Duration::from_secs(5),
            slot: None,
        }
    }

    fn blank(c: &TestCase) -> CaseResult {
        CaseResult {
            id: c.id.clone(),
            kind: "host".into(),
            site: "s".into(),
            suite: "s".into(),
            labels: Default::default(),
            started_at: Utc::now(),
            duration_ms: 0.0,
            status: Status::Skipped,
            message: String::new(),
            observation: Default::default(),
            verdict: None,
            limits: Default::default(),
        }
    }

    fn answer(age_ms: u64, digest: &str, status: Status) -> Answer {
        let c = case("host/mta1/port", false);
        let mut r = blank(&c);
        r.status = status;
        r.message = "port smtp: refused".into();
        Ok(Pulled {
            body: AgentResults {
                version: "x".into(),
                site: "s".into(),
                suite_digest: digest.into(),
                hosts: vec!["mta1".into()],
                interval_ms: 60_000,
                run: Some(AgentRun {
                    run_id: "r1".into(),
                    finished_at: Utc::now(),
                    age_ms,
                }),
                results: vec![r],
            },
            bytes: 1234,
            ms: 3.0,
        })
    }

    fn settle_one(c: &TestCase, a: &Answer) -> CaseResult {
        settle(c, blank(c), "mta1", a, "d1", Duration::from_secs(60))
    }

    #[test]
    fn fresh_results_are_the_hosts_cases_and_stale_ones_errors() {
        let c = case("host/mta1/port", false);
        let r = settle_one(&c, &answer(5_000, "d1", Status::Critical));
        assert_eq!(r.status, Status::Critical);
        assert_eq!(r.message, "port smtp: refused");
        assert_eq!(r.observation.facts["agent_age"], "5s");
        // 2 x 60s passed: an error, never shown as fresh.
        let r = settle_one(&c, &answer(121_000, "d1", Status::Pass));
        assert_eq!(r.status, Status::Error);
        assert!(
            r.message.contains("stale: the latest result is 121s old"),
            "{}",
            r.message
        );
        let e = r.observation.error.unwrap();
        assert_eq!(
            (e.kind, e.host.as_deref()),
            (ErrorKind::Timeout, Some("mta1"))
        );
        // A check the agent does not serve is an error, not missing.
        let r = settle_one(
            &case("host/mta1/queue", false),
            &answer(1, "d1", Status::Pass),
        );
        assert_eq!(r.status, Status::Error);
        assert!(
            r.message.contains("no result for this check"),
            "{}",
            r.message
        );
    }

    #[test]
    fn the_agent_case_reports_the_pull_and_a_digest_mismatch() {
        let c = case("agent/mta1", true);
        let r = settle_one(&c, &answer(1, "d1", Status::Pass));
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.observation.metric_value("pull_bytes"), Some(1234.0));
        let r = settle_one(&c, &answer(1, "d2", Status::Pass));
        assert_eq!(r.status, Status::Error);
        assert!(
            r.message.contains("another version of the suite"),
            "{}",
            r.message
        );
    }

    #[test]
    fn an_agent_that_does_not_answer_makes_every_check_an_error() {
        let down: Answer = Err(PullError {
            message: "agent http://127.0.1.1:9783: connect failed: Connection refused".into(),
            kind: ErrorKind::Refused,
            ms: 1.0,
        });
        let r = settle_one(&case("agent/mta1", true), &down);
        assert_eq!(r.status, Status::Error);
        assert!(
            r.message
                .starts_with("agent http://127.0.1.1:9783: connect failed")
        );
        let r = settle_one(&case("host/mta1/port", false), &down);
        assert_eq!(r.status, Status::Error);
        assert!(
            r.message.contains("mta1's agent did not answer"),
            "{}",
            r.message
        );
        assert_eq!(r.observation.error.unwrap().kind, ErrorKind::Refused);
    }
}
