//! Execution (nextest style): runs the selected cases concurrently under a
//! global and a per-host limit, each under its whole-case deadline, judges
//! them, runs isolation, and emits events. It never formats output: reporters
//! consume the events and the final `RunSummary`.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use tokio::sync::{Semaphore, mpsc::UnboundedSender};

use crate::probe::probe_msg::Waiting;
use crate::probe::roundtrip::Slots;

use super::select::RunOptions;
use crate::case::{CaseKind, TestCase};
use crate::event::RunEvent;
use crate::result::{CaseResult, ErrorKind, Observation, ProbeError, RunSummary, Status};
use crate::suite::LoadedSuite;
use crate::suite::model::SuiteSpec;
use crate::suite::resolve::{DEFAULT_CONCURRENCY, DEFAULT_PER_HOST};
use crate::token::ProbeKey;

/// `20260101T000504Z-a1b2c3`: sortable, unique across concurrent monitors.
pub fn new_run_id() -> String {
    format!(
        "{}-{}",
        Utc::now().format("%Y%m%dT%H%M%SZ"),
        crate::token::random_hex(3)
    )
}

/// Hosts a case talks to (for the per-host limit).
fn touched_hosts(c: &TestCase) -> BTreeSet<(usize, String)> {
    let mut h = BTreeSet::new();
    match &c.kind {
        // Our own sessions only (`per_host_concurrency` is "sessions at once
        // against one host"): the account's store behind an MMP is the
        // MMP's session, not ours, and counting it made every case of a
        // store's accounts queue behind the ones stuck in an arrival wait.
        CaseKind::Roundtrip(rt) => {
            h.insert(rt.submit.clone());
            h.insert(rt.retrieve.clone());
        }
        CaseKind::Security(_) | CaseKind::Host(_) | CaseKind::Agent(_) => {
            if let Some(x) = c.labels.get("host") {
                h.insert(x.clone());
            }
        }
    }
    h.into_iter().map(|n| (c.suite, n)).collect()
}

/// The submit host of a round trip when the case touches it only to submit
/// (not also as retrieve host or store): its per-host slot is given back
/// once the submission is over, so cases blocked in the arrival wait (a
/// held queue) do not queue up behind each other for an MTA they no longer
/// use; the run then takes one arrival wait, not one per blocked wave.
fn submit_only_host(c: &TestCase, s: &SuiteSpec) -> Option<String> {
    let CaseKind::Roundtrip(rt) = &c.kind else {
        return None;
    };
    let store = s.accounts.get(&rt.account).map(|a| a.store.as_str());
    (rt.submit != rt.retrieve && Some(rt.submit.as_str()) != store).then(|| rt.submit.clone())
}

/// How long a round trip may wait for its probe before it gives its
/// retrieve-host and global slots back. Long enough that a healthy site's
/// deliveries (well under a second here, a few seconds on a busy site)
/// keep their slots, so `concurrency` and `per_host_concurrency` still bound
/// the sessions of a healthy run; short enough that a held queue does not
/// make the blocked cases run in waves.
const WAIT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// The retrieve host of a round trip (unless it also submits): its slot is
/// given back when the arrival wait has lasted [`WAIT_GRACE`]
/// (probe::probe_msg::Waiting).
fn retrieve_host(c: &TestCase) -> Option<String> {
    let CaseKind::Roundtrip(rt) = &c.kind else {
        return None;
    };
    (rt.retrieve != rt.submit).then(|| rt.retrieve.clone())
}

/// A suite's name in results: its file's stem (the site when it has none).
pub fn suite_name(s: &LoadedSuite) -> String {
    s.path
        .file_stem()
        .map(|x| x.to_string_lossy().into_owned())
        .unwrap_or_else(|| s.spec.site.clone())
}

pub(super) fn base_result(c: &TestCase, s: &LoadedSuite) -> CaseResult {
    CaseResult {
        id: c.id.clone(),
        kind: c.kind.name().to_string(),
        site: s.spec.site.clone(),
        suite: suite_name(s),
        labels: c.labels.clone(),
        started_at: Utc::now(),
        duration_ms: 0.0,
        status: Status::Skipped,
        message: String::new(),
        observation: Observation::default(),
        verdict: None,
        limits: super::judge::limits(c),
    }
}

/// Run `cases`; `skipped` are reported as skipped. Events go to `events`
/// (a closed receiver is fine: reporting never drives execution). `key` is
/// the installation's probe key ([`super::probe_key::for_run`]); a round trip without
/// one is an error of its own (nothing is sent, nothing reaped).
pub async fn run(
    suites: &[LoadedSuite],
    cases: Vec<TestCase>,
    skipped: Vec<TestCase>,
    opts: &RunOptions,
    key: Option<Result<Arc<ProbeKey>, String>>,
    events: UnboundedSender<RunEvent>,
) -> RunSummary {
    let run_id = new_run_id();
    let started_at = Utc::now();
    let t0 = Instant::now();
    let _ = events.send(RunEvent::RunStarted {
        run_id: run_id.clone(),
        total: cases.len(),
    });
    let suites_arc: Arc<Vec<LoadedSuite>> = Arc::new(suites.to_vec());
    let defaults = suites
        .first()
        .map(|s| s.spec.defaults())
        .unwrap_or_default();
    let global = Arc::new(Semaphore::new(
        defaults.concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1),
    ));
    let per_host_n = defaults
        .per_host_concurrency
        .unwrap_or(DEFAULT_PER_HOST)
        .max(1);
    let mut per_host: HashMap<(usize, String), Arc<Semaphore>> = HashMap::new();
    let snapshot = Arc::new(crate::hostcheck::snapshot::Snapshot::new());
    let mut notes = Vec::new();
    if let Some(Err(e)) = &key {
        notes.push(format!("round trips not run: {e}"));
    }
    let key = Arc::new(key);

    let order: Vec<String> = cases
        .iter()
        .chain(skipped.iter())
        .map(|c| c.id.clone())
        .collect();
    // Hosts with an agent: their checks are pulled, alongside the local cases.
    let (remote, cases): (Vec<TestCase>, Vec<TestCase>) = cases
        .into_iter()
        .partition(|c| super::remote::agent_host(c, &suites[c.suite]).is_some());
    let pulls = tokio::spawn(super::remote::run(
        suites_arc.clone(),
        remote,
        base_result,
        events.clone(),
    ));
    let mut set = tokio::task::JoinSet::new();
    let mut task_case: HashMap<tokio::task::Id, TestCase> = HashMap::new();
    for c in cases {
        let spec = &suites[c.suite].spec;
        let hosts: Vec<(String, Arc<Semaphore>)> = touched_hosts(&c)
            .into_iter()
            .map(|k| {
                let name = k.1.clone();
                let sem = per_host
                    .entry(k)
                    .or_insert_with(|| Arc::new(Semaphore::new(per_host_n)))
                    .clone();
                (name, sem)
            })
            .collect();
        let submit_only = submit_only_host(&c, spec);
        let retrieve = retrieve_host(&c);
        let global = global.clone();
        let suites = suites_arc.clone();
        let events = events.clone();
        let snapshot = snapshot.clone();
        let key = key.clone();
        let case = c.clone();
        let h = set.spawn(async move {
            // Hosts first, in sorted order (no deadlock between cases sharing
            // hosts), the global slot last: a case waiting for a busy store
            // must not sit on a global slot that a case for an idle host
            // could use. The semaphores are never closed.
            let mut permits = Vec::with_capacity(hosts.len() + 1);
            let mut slots = Slots::default();
            let mut retrieve_p = None;
            for (name, h) in hosts {
                let p = h.acquire_owned().await.ok();
                if submit_only.as_deref() == Some(name.as_str()) {
                    slots.submitted = p.map(|p| Box::new(p) as Box<dyn Send>);
                } else if retrieve.as_deref() == Some(name.as_str()) {
                    retrieve_p = p;
                } else {
                    permits.push(p);
                }
            }
            let g = global.acquire_owned().await.ok();
            if retrieve.is_some() {
                // A round trip still waiting for its probe after the grace
                // gives both back: cases behind a held queue then take
                // about one arrival wait, not one per wave of `concurrency`.
                slots.waiting = Waiting::after(WAIT_GRACE, move || drop((retrieve_p, g)));
            } else {
                permits.push(g);
            }
            let _ = events.send(RunEvent::CaseStarted { id: c.id.clone() });
            let key = key.as_ref().as_ref();
            let r = run_case(&c, &suites[c.suite], &snapshot, key, slots).await;
            let _ = events.send(RunEvent::CaseFinished(Box::new(r.clone())));
            r
        });
        task_case.insert(h.id(), case);
    }
    let mut results: Vec<CaseResult> = Vec::new();
    while let Some(j) = set.join_next_with_id().await {
        match j {
            Ok((_, r)) => results.push(r),
            // A panicking case must not take the run down: it is reported
            // as an error of its own.
            Err(e) => {
                let Some(c) = task_case.get(&e.id()) else {
                    continue;
                };
                let mut r = base_result(c, &suites[c.suite]);
                r.status = Status::Error;
                r.message = format!("case: internal error: {e}");
                tracing::error!("{}: {e}", c.id);
                let _ = events.send(RunEvent::CaseFinished(Box::new(r.clone())));
                results.push(r);
            }
        }
    }
    match pulls.await {
        Ok(r) => results.extend(r),
        Err(e) => notes.push(format!("agent pulls: internal error: {e}")),
    }
    for c in &skipped {
        let mut r = base_result(c, &suites[c.suite]);
        r.message = "not selected (--only/--skip/--rotate/--host/--shard)".into();
        results.push(r);
    }
    let pos: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    results.sort_by_key(|r| pos.get(r.id.as_str()).copied().unwrap_or(usize::MAX));

    let mut verdicts = Vec::new();
    if opts.isolate && results.iter().any(|r| r.status.is_bad()) {
        let failing = results.iter().filter(|r| r.status.is_bad()).count();
        let _ = events.send(RunEvent::Diagnosing { failing });
        for (i, s) in suites.iter().enumerate() {
            let name = suite_name(s);
            let mine: Vec<CaseResult> = results
                .iter()
                .filter(|r| r.suite == name)
                .cloned()
                .collect();
            if !mine.iter().any(|r| r.status.is_bad()) {
                continue;
            }
            let budget = s.spec.timeout();
            match tokio::time::timeout(
                budget,
                crate::isolate::diagnose(s, &mine, s.spec.step_timeout()),
            )
            .await
            {
                Ok(v) => verdicts.extend(v),
                Err(_) => {
                    tracing::warn!("isolation of suite {i} did not finish within {budget:?}");
                    // Its failing round trips alert under the key they last
                    // failed under, else `unisolated:SUBMIT->RETRIEVE`.
                    notes.push(format!(
                        "isolation of {name} did not finish within {}: its failures are not isolated",
                        crate::suite::duration::Dur(budget)
                    ));
                }
            }
        }
        for v in &verdicts {
            for r in results.iter_mut().filter(|r| v.cases.contains(&r.id)) {
                r.verdict = Some(v.key());
            }
        }
    }

    if suites.iter().any(uses_insecure_tls) {
        notes
            .push("TLS certificate verification is off for some endpoints (insecure: true)".into());
    }
    let mut summary = RunSummary {
        run_id,
        site: suites
            .iter()
            .map(|s| s.spec.site.as_str())
            .collect::<Vec<_>>()
            .join(","),
        suites: suites.iter().map(suite_name).collect(),
        started_at,
        finished_at: Utc::now(),
        duration_ms: t0.elapsed().as_secs_f64() * 1000.0,
        results,
        verdicts,
        notes,
    };
    super::scrub::scrub_secrets(&mut summary, suites);
    let _ = events.send(RunEvent::RunFinished(Box::new(summary.clone())));
    summary
}

fn uses_insecure_tls(s: &LoadedSuite) -> bool {
    s.spec.hosts.keys().any(|h| {
        s.spec
            .host_protos(h)
            .into_iter()
            .filter_map(|p| s.spec.endpoint(h, p))
            .any(|e| e.insecure())
    })
}

/// A round trip that cannot sign its probe: an error of our side, before
/// anything is sent.
fn no_key(message: &str) -> ProbeError {
    ProbeError {
        phase: "setup".into(),
        kind: ErrorKind::Local,
        message: message.into(),
        host: None,
        protocol: None,
    }
}

/// One case under its whole-case deadline. A timeout keeps what was measured
/// so far (the observation lives outside the cancelled future).
async fn run_case(
    c: &TestCase,
    s: &LoadedSuite,
    snap: &crate::hostcheck::snapshot::Snapshot,
    key: Option<&Result<Arc<ProbeKey>, String>>,
    slots: Slots,
) -> CaseResult {
    let mut r = base_result(c, s);
    let t0 = Instant::now();
    let mut obs = Observation::default();
    let spec = &s.spec;
    let verdict: Option<(Status, String)> = {
        let fut = async {
            match &c.kind {
                CaseKind::Roundtrip(rt) => {
                    let r = match key {
                        Some(Ok(k)) => {
                            let run = crate::probe::roundtrip::run;
                            run(&c.id, rt, spec, k, &mut obs, slots).await
                        }
                        Some(Err(e)) => Err(no_key(e)),
                        None => Err(no_key("no probe key was loaded for this run")),
                    };
                    if let Err(e) = r {
                        obs.error = Some(e);
                    }
                    crate::judge::judge(&obs, &rt.thresholds)
                }
                CaseKind::Security(sc) => {
                    let out = match crate::probe::security::run(&sc.spec, spec, &mut obs).await {
                        Ok(o) => Some(o),
                        Err(e) => {
                            obs.error = Some(e);
                            None
                        }
                    };
                    crate::judge::judge_security(&obs, out.as_ref())
                }
                CaseKind::Host(hc) => {
                    let out = crate::hostcheck::run(hc, spec, snap, spec.step_timeout()).await;
                    obs = out.observation;
                    (out.status, out.message)
                }
                // Only reached for a host without an agent: nothing to pull.
                CaseKind::Agent(a) => (
                    Status::Error,
                    format!("agent: {} declares no agent", a.host),
                ),
            }
        };
        tokio::time::timeout(c.timeout, fut).await.ok()
    };
    let (status, message) = verdict.unwrap_or_else(|| {
        let e = ProbeError {
            phase: "case".into(),
            kind: ErrorKind::Timeout,
            message: format!(
                "case did not finish within {}",
                crate::suite::duration::Dur(c.timeout)
            ),
            host: None,
            protocol: None,
        };
        let m = format!("{}: {}", e.phase, e.message);
        obs.error = Some(e);
        (Status::Error, m)
    });
    r.duration_ms = t0.elapsed().as_secs_f64() * 1000.0;
    r.status = status;
    r.message = message;
    r.observation = obs;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_unique_and_sortable() {
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), "20260101T000504Z-a1b2c3".len());
    }
}
