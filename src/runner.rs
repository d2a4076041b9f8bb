//! The runner (nextest style): selects cases, runs them concurrently under a
//! global and a per-host limit, each under its whole-case deadline, judges
//! them, runs isolation, and emits events. It never formats output: reporters
//! consume the events and the final `RunSummary`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use tokio::sync::{Semaphore, mpsc::UnboundedSender};

use crate::case::{CaseKind, TestCase};
use crate::event::RunEvent;
use crate::result::{CaseResult, ErrorKind, Observation, ProbeError, RunSummary, Status};
use crate::suite::LoadedSuite;
use crate::suite::model::SuiteSpec;
use crate::suite::resolve::{DEFAULT_CONCURRENCY, DEFAULT_PER_HOST};

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Globs: only cases whose id matches one.
    pub only: Vec<String>,
    /// Globs: skip cases whose id matches one.
    pub skip: Vec<String>,
    /// Run only the rotation path of the slot that applies at this minute.
    pub rotate_minute: Option<u32>,
    /// Only host checks of this host (`Some("")` = this machine's hostname).
    pub host: Option<String>,
    /// Diagnose failures (isolation) before reporting.
    pub isolate: bool,
    /// `(K, N)`: run the K-th of N deterministic partitions (1-based).
    pub shard: Option<(u32, u32)>,
}

/// Split the suites' cases into (to run, filtered out → reported skipped).
pub fn select(suites: &[LoadedSuite], opts: &RunOptions) -> (Vec<TestCase>, Vec<TestCase>) {
    let filter = crate::filter::Filter::new(opts.only.clone(), opts.skip.clone());
    let mut run = Vec::new();
    let mut out = Vec::new();
    for (i, s) in suites.iter().enumerate() {
        let rotation = opts.rotate_minute.map(|m| rotation_ids(&s.spec, m));
        let host = opts
            .host
            .as_deref()
            .map(|h| crate::check::select_host(&s.spec, (!h.is_empty()).then_some(h)));
        for c in crate::case::expand::expand(&s.spec, i) {
            let keep = filter.matches(&c.id)
                && rotation.as_ref().is_none_or(|ids| ids.contains(&c.id))
                && host.as_ref().is_none_or(
                    |h| matches!(&c.kind, CaseKind::Host(hc) if Some(&hc.host) == h.as_ref()),
                )
                && opts.shard.is_none_or(|(k, n)| in_shard(&c.id, k, n));
            if keep { run.push(c) } else { out.push(c) }
        }
    }
    (run, out)
}

/// Ids of the rotation paths of the slot in force at `minute` (the seed's
/// sequence.cfg under cron: one path per slot).
pub fn rotation_ids(s: &SuiteSpec, minute: u32) -> BTreeSet<String> {
    let Some(rt) = &s.roundtrip else {
        return BTreeSet::new();
    };
    let slots: BTreeSet<u32> = rt.rotation.iter().map(|r| r.minute).collect();
    let Some(slot) = crate::case::expand::slot_for_minute(&slots, minute % 60) else {
        return BTreeSet::new();
    };
    rt.rotation
        .iter()
        .filter(|r| r.minute == slot)
        .map(|r| {
            let retrieve = if r.retrieve == "store" {
                s.accounts
                    .get(&r.account)
                    .map(|a| a.store.clone())
                    .unwrap_or_default()
            } else {
                r.retrieve.clone()
            };
            crate::case::expand::roundtrip_id(
                &r.account,
                &r.submit,
                r.via.unwrap_or(crate::suite::model::Proto::Smtp),
                &retrieve,
                r.protocol,
            )
        })
        .collect()
}

/// Stable partition: FNV-1a of the id (not std's randomly seeded hasher), so
/// every machine of a sharded run agrees.
pub fn in_shard(id: &str, k: u32, n: u32) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    n > 0 && (h % n as u64) as u32 == k.saturating_sub(1)
}

/// Why the run lock was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockError {
    /// Another run holds it (exit 2: this run could not measure).
    Held(String),
    /// The reports directory or lock file is unusable (exit 4).
    Io(String),
}

impl std::fmt::Display for LockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LockError::Held(m) | LockError::Io(m) => f.write_str(m),
        }
    }
}

/// Hold the run lock of a reports directory: `flock` on
/// `<reports>/.healthmon.lock`, released when the process ends (no stale
/// pid files).
pub fn lock(reports: &Path) -> Result<std::fs::File, LockError> {
    let io = LockError::Io;
    std::fs::create_dir_all(reports)
        .map_err(|e| io(format!("cannot create {}: {e}", reports.display())))?;
    let p = reports.join(".healthmon.lock");
    let f = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| io(format!("cannot open {}: {e}", p.display())))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(LockError::Held(format!(
            "another run of this suite holds the lock {} (reports dir {})",
            p.display(),
            reports.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(io(format!("cannot lock {}: {e}", p.display())))
        }
    }
}

/// A run that found the lock held leaves a line here; the next run that gets
/// the lock reports it (an "unknown" result is never silently lost).
const SKIPPED_RUNS: &str = ".skipped-runs";

/// Record that a run was refused by the lock (best effort: the refused run
/// must not fail harder because of its own bookkeeping).
pub fn note_skipped_run(reports: &Path) {
    let line = format!(
        "{} run refused: another run held the lock\n",
        Utc::now().to_rfc3339()
    );
    if let Err(e) = crate::atomic::append(&reports.join(SKIPPED_RUNS), line.as_bytes()) {
        tracing::warn!("cannot record the skipped run: {e}");
    }
}

/// Notes about runs skipped since the last one; clears the record. Call
/// while holding the lock.
pub fn take_skipped_runs(reports: &Path) -> Vec<String> {
    let p = reports.join(SKIPPED_RUNS);
    let Ok(text) = std::fs::read_to_string(&p) else {
        return vec![];
    };
    let _ = std::fs::remove_file(&p);
    let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return vec![];
    }
    vec![format!(
        "{} earlier run(s) did not run because another run held the lock (first: {})",
        lines.len(),
        lines[0].split(' ').next().unwrap_or("")
    )]
}

/// `20260101T000504Z-a1b2c3`: sortable, unique across concurrent monitors.
pub fn new_run_id() -> String {
    format!(
        "{}-{}",
        Utc::now().format("%Y%m%dT%H%M%SZ"),
        crate::token::random_hex(3)
    )
}

/// Hosts a case talks to (for the per-host limit).
fn touched_hosts(c: &TestCase, s: &SuiteSpec) -> BTreeSet<(usize, String)> {
    let mut h = BTreeSet::new();
    match &c.kind {
        CaseKind::Roundtrip(rt) => {
            h.insert(rt.submit.clone());
            h.insert(rt.retrieve.clone());
            if let Some(a) = s.accounts.get(&rt.account) {
                h.insert(a.store.clone());
            }
        }
        CaseKind::Security(_) | CaseKind::Host(_) => {
            if let Some(x) = c.labels.get("host") {
                h.insert(x.clone());
            }
        }
    }
    h.into_iter().map(|n| (c.suite, n)).collect()
}

fn suite_name(s: &LoadedSuite) -> String {
    s.path
        .file_stem()
        .map(|x| x.to_string_lossy().into_owned())
        .unwrap_or_else(|| s.spec.site.clone())
}

fn base_result(c: &TestCase, s: &LoadedSuite) -> CaseResult {
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
    }
}

/// Run `cases`; `skipped` are reported as skipped. Events go to `events`
/// (a closed receiver is fine: reporting never drives execution).
pub async fn run(
    suites: &[LoadedSuite],
    cases: Vec<TestCase>,
    skipped: Vec<TestCase>,
    opts: &RunOptions,
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
    let snapshot = Arc::new(crate::check::snapshot::Snapshot::new());

    let order: Vec<String> = cases
        .iter()
        .chain(skipped.iter())
        .map(|c| c.id.clone())
        .collect();
    let mut set = tokio::task::JoinSet::new();
    let mut task_case: HashMap<tokio::task::Id, TestCase> = HashMap::new();
    for c in cases {
        let spec = &suites[c.suite].spec;
        let hosts: Vec<Arc<Semaphore>> = touched_hosts(&c, spec)
            .into_iter()
            .map(|k| {
                per_host
                    .entry(k)
                    .or_insert_with(|| Arc::new(Semaphore::new(per_host_n)))
                    .clone()
            })
            .collect();
        let global = global.clone();
        let suites = suites_arc.clone();
        let events = events.clone();
        let snapshot = snapshot.clone();
        let case = c.clone();
        let h = set.spawn(async move {
            // Hosts first, in sorted order (no deadlock between cases sharing
            // hosts), the global slot last: a case waiting for a busy store
            // must not sit on a global slot that a case for an idle host
            // could use. The semaphores are never closed.
            let mut permits = Vec::with_capacity(hosts.len() + 1);
            for h in hosts {
                permits.push(h.acquire_owned().await.ok());
            }
            permits.push(global.acquire_owned().await.ok());
            let _ = events.send(RunEvent::CaseStarted { id: c.id.clone() });
            let r = run_case(&c, &suites[c.suite], &snapshot).await;
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
                Err(_) => tracing::warn!("isolation of suite {i} did not finish within {budget:?}"),
            }
        }
        for v in &verdicts {
            for r in results.iter_mut().filter(|r| v.cases.contains(&r.id)) {
                r.verdict = Some(v.key());
            }
        }
    }

    let mut notes = Vec::new();
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
    scrub_secrets(&mut summary, suites);
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

/// One case under its whole-case deadline. A timeout keeps what was measured
/// so far (the observation lives outside the cancelled future).
async fn run_case(
    c: &TestCase,
    s: &LoadedSuite,
    snap: &crate::check::snapshot::Snapshot,
) -> CaseResult {
    let mut r = base_result(c, s);
    let t0 = Instant::now();
    let mut obs = Observation::default();
    let spec = &s.spec;
    let verdict: Option<(Status, String)> = {
        let fut = async {
            match &c.kind {
                CaseKind::Roundtrip(rt) => {
                    if let Err(e) = crate::probe::roundtrip::run(&c.id, rt, spec, &mut obs).await {
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
                    let out = crate::check::run(hc, spec, snap, spec.step_timeout()).await;
                    obs = out.observation;
                    (out.status, out.message)
                }
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

/// Last line of defence: whatever a probe or a server echoed, no account
/// password (raw, base64, or inside an AUTH PLAIN blob) reaches a report.
pub fn scrub_secrets(run: &mut RunSummary, suites: &[LoadedSuite]) {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let mut needles: Vec<String> = Vec::new();
    for s in suites {
        for acct in s.spec.accounts.keys() {
            let Some(pw) = s.spec.secret_ref(acct).and_then(|r| r.resolve().ok()) else {
                continue;
            };
            let pw = pw.expose();
            let login = s.spec.login(acct).unwrap_or_default();
            needles.push(pw.to_string());
            needles.push(b64(pw));
            needles.push(b64(&format!("\0{login}\0{pw}")));
            needles.push(b64(&format!("{login}\0{login}\0{pw}")));
        }
    }
    // Very short passwords would shred ordinary text; they are not scrubbed
    // (validate warns about them) — transcripts are redacted at the source anyway.
    needles.retain(|n| n.len() >= 4);
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    needles.dedup();
    if needles.is_empty() {
        return;
    }
    let fix = |t: &mut String| {
        for n in &needles {
            if t.contains(n.as_str()) {
                *t = t.replace(n.as_str(), "<redacted>");
            }
        }
    };
    for r in &mut run.results {
        fix(&mut r.message);
        let o = &mut r.observation;
        o.facts.values_mut().for_each(fix);
        o.transcript.iter_mut().for_each(fix);
        if let Some(e) = &mut o.error {
            fix(&mut e.message);
        }
    }
    for v in &mut run.verdicts {
        fix(&mut v.reason);
        v.evidence.iter_mut().for_each(fix);
    }
    run.notes.iter_mut().for_each(fix);
}

/// Result status counts by kind (used by reporters and tests).
pub fn counts(run: &RunSummary) -> BTreeMap<(String, Status), usize> {
    let mut m = BTreeMap::new();
    for r in &run.results {
        *m.entry((r.kind.clone(), r.status)).or_insert(0) += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_every_id_exactly_once() {
        let ids: Vec<String> = (0..200)
            .map(|i| format!("rndtrip/ims{i}/mta1/mmp1/pop3"))
            .collect();
        for n in 1..=5 {
            for id in &ids {
                let hits = (1..=n).filter(|k| in_shard(id, *k, n)).count();
                assert_eq!(hits, 1, "{id} in {hits} of {n} shards");
            }
        }
        // Not everything lands in one shard.
        assert!(ids.iter().filter(|id| in_shard(id, 1, 2)).count() > 50);
    }

    #[test]
    fn run_lock_is_exclusive() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a-file"), "").unwrap();
        let a = lock(d.path()).unwrap();
        let e = lock(d.path()).unwrap_err();
        assert!(
            matches!(&e, LockError::Held(m) if m.contains("another run of this suite holds the lock")),
            "{e}"
        );
        assert!(matches!(
            lock(&d.path().join("a-file").join("sub")),
            Err(LockError::Io(_))
        ));
        drop(a);
        lock(d.path()).unwrap();
    }

    #[test]
    fn run_ids_are_unique_and_sortable() {
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), "20260101T000504Z-a1b2c3".len());
    }
}
