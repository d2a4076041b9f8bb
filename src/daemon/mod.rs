//! `healthmon daemon`: the built-in scheduler (the counterpart of the seed's
//! `local.schedule.*`), serving `/metrics` and `/healthz`.
//!
//! - `schedule` — etc/schedule.yaml: jobs, cron/every, validation.
//! - `state`    — shared latest/history of runs, read by the HTTP routes.
//! - `http`     — the axum router (`/metrics`, `/healthz`).
//! - `signals`  — SIGHUP reload, SIGTERM/SIGINT stop.
//!
//! One scheduling task per job waits on the wall clock (in steps of at most
//! a second, so a suspend or clock jump is noticed), starts a run task when
//! due, and never stacks: a job still running at its next due time is
//! skipped and counted. Due times that passed while suspended are counted as
//! missed and only the latest is run. Runs are in-process (one runtime, one
//! state), each suite through `app::run_once` like `healthmon run` (same run
//! lock, same note when the lock refuses a run).

pub mod agent;
pub mod http;
pub mod role;
pub mod schedule;
pub mod serve;
pub mod signals;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use chrono::{Local, Timelike};
use tokio::task::JoinHandle;

pub use state::{DaemonState, SharedState};

use self::schedule::{Config, Job};
use self::signals::{Sig, Signals};
use crate::app::{self, Outcome, Request, RunOptions};

/// Longest single sleep of a scheduling task: bounds how late a due time is
/// noticed after a suspend or a wall-clock step.
const TICK: Duration = Duration::from_secs(1);

/// Run the daemon until SIGTERM/SIGINT. Returns the process exit code.
pub async fn run(cfg: Config, listen: Option<std::net::SocketAddr>) -> i32 {
    let state = DaemonState::new();
    let mut sigs = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("healthmon daemon: cannot install signal handlers: {e}");
            return crate::exit::INTERNAL;
        }
    };
    let addr = listen.unwrap_or(cfg.listen);
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("healthmon daemon: cannot listen on {addr}: {e}");
            return crate::exit::CONFIG;
        }
    };
    let bound = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let tls = match &cfg.tls {
        None => None,
        Some((cert, key)) => match serve::tls_acceptor(cert, key) {
            Ok(a) => Some(a),
            Err(e) => {
                eprintln!("healthmon daemon: {e}");
                return crate::exit::CONFIG;
            }
        },
    };
    let (stop_http, http_stopped) = tokio::sync::watch::channel(false);
    let app = http::router(state.clone(), cfg.agent.clone());
    let server = tokio::spawn(serve::serve(
        listener,
        app,
        cfg.http,
        tls,
        state.http.clone(),
        http_stopped,
    ));
    tracing::info!(
        "daemon: {} jobs from {}, serving http://{bound}/metrics",
        cfg.jobs.len(),
        cfg.path.display()
    );
    // Machine-readable readiness line (tests and wrappers wait for it).
    println!("healthmon daemon: listening on {bound}");

    let mut cfg = Arc::new(cfg);
    state.write().config = Some(cfg.clone());
    let mut loops = start(&cfg, &state);
    loop {
        match sigs.next().await {
            Sig::Reload if cfg.agent.is_some() => {
                tracing::warn!("agent: SIGHUP ignored; restart the agent to apply a new suite");
            }
            Sig::Reload => match schedule::load(&cfg.path) {
                Ok(new) => {
                    if new.listen != cfg.listen && listen.is_none() {
                        tracing::warn!(
                            "reload: listen address changed to {}: takes effect at restart",
                            new.listen
                        );
                    }
                    stop_loops(&mut loops);
                    cfg = Arc::new(new);
                    loops = start(&cfg, &state);
                    let mut g = state.write();
                    g.config = Some(cfg.clone());
                    g.reloads_ok += 1;
                    g.last_reload_error = None;
                    tracing::info!(
                        "reload: schedule {} applied ({} jobs)",
                        cfg.path.display(),
                        cfg.jobs.len()
                    );
                }
                Err(errs) => {
                    let why = errs.join("; ");
                    tracing::error!("reload: invalid schedule, keeping the running one: {why}");
                    let mut g = state.write();
                    g.reloads_failed += 1;
                    g.last_reload_error = Some(why);
                }
            },
            Sig::Stop => break,
        }
    }
    stop_loops(&mut loops);
    tracing::info!(
        "stopping: no new runs; waiting up to {:?} for running jobs",
        cfg.grace
    );
    let deadline = tokio::time::Instant::now() + cfg.grace;
    while state.read().jobs.values().any(|j| j.running) {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!("grace period over: abandoning running jobs");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_http.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    crate::exit::OK
}

fn start(cfg: &Arc<Config>, state: &SharedState) -> Vec<JoinHandle<()>> {
    cfg.jobs
        .iter()
        .map(|j| {
            let job = Arc::new(j.clone());
            tokio::spawn(job_loop(job, cfg.clone(), state.clone()))
        })
        .collect()
}

/// Stop scheduling. Runs already started are separate tasks and go on.
fn stop_loops(loops: &mut Vec<JoinHandle<()>>) {
    for l in loops.drain(..) {
        l.abort();
    }
}

async fn job_loop(job: Arc<Job>, cfg: Arc<Config>, state: SharedState) {
    let mut last = Local::now();
    if let (true, schedule::When::Every(d)) = (job.spec.at_start, &job.when) {
        // Due now: the previous due time is one interval ago.
        last -= chrono::Duration::from_std(*d).unwrap_or_default();
    }
    loop {
        let Some(next) = job.when.next_after(last) else {
            tracing::warn!("job {}: no future due time; not scheduled", job.name);
            return;
        };
        loop {
            let now = Local::now();
            if now >= next {
                break;
            }
            let left = (next - now).to_std().unwrap_or_default();
            tokio::time::sleep(left.min(TICK)).await;
        }
        let Some((due, missed)) = job.when.catch_up(last, Local::now()) else {
            continue;
        };
        last = due;
        if missed > 0 {
            tracing::warn!(
                "job {}: {missed} due times passed while suspended or late; running once now",
                job.name
            );
            state.job(&job.name, |j| j.missed += missed);
        }
        let mut busy = false;
        state.job(&job.name, |j| {
            if j.running {
                j.skipped_overlap += 1;
                busy = true;
            } else {
                j.running = true;
                j.runs += 1;
                j.last_started = Some(chrono::Utc::now());
            }
        });
        if busy {
            tracing::warn!(
                "job {}: previous run still going at {due}; skipped",
                job.name
            );
            continue;
        }
        let (job, cfg, state) = (job.clone(), cfg.clone(), state.clone());
        tokio::spawn(async move {
            // Clears `running` even if the run panics.
            let _done = Running(state.clone(), job.name.clone());
            if let Some(j) = job.spec.jitter.filter(|j| !j.0.is_zero()) {
                tokio::time::sleep(j.0.mul_f64(unit_random())).await;
            }
            let code = run_job(&job, &cfg, &state).await;
            state.job(&job.name, |j| j.last_exit = Some(code));
        });
    }
}

struct Running(SharedState, String);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.job(&self.1, |j| {
            j.running = false;
            j.last_finished = Some(chrono::Utc::now());
        });
    }
}

fn unit_random() -> f64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// One run of a job: each suite on its own (own lock, results, alerts,
/// state entry). Returns the worst exit code.
pub async fn run_job(job: &Job, cfg: &Config, state: &SharedState) -> i32 {
    let mut worst = crate::exit::OK;
    for s in &job.suites {
        let code = if job.spec.report {
            daily_report(s, cfg).await
        } else {
            run_suite(job, s, cfg, state).await
        };
        worst = worst.max(code);
    }
    worst
}

async fn run_suite(
    job: &Job,
    s: &crate::suite::LoadedSuite,
    cfg: &Config,
    state: &SharedState,
) -> i32 {
    let req = Request {
        suites: std::slice::from_ref(s),
        opts: RunOptions {
            only: job.spec.only.clone(),
            skip: job.spec.skip.clone(),
            rotate_minute: job.spec.rotate.then(|| Local::now().minute()),
            host: job.spec.host.clone(),
            isolate: job.spec.isolate,
            shard: job.shard,
        },
        reports: cfg.reports.clone(),
        junit: None,
        alerts: true,
        state_dir: cfg.state_dir.clone(),
        total: (None, None),
        textfile: None,
        stdout: None,
        alert_until: None,
    };
    // Nobody listens to progress events in the daemon: a closed receiver is fine.
    let (tx, _) = tokio::sync::mpsc::unbounded_channel();
    let done = match app::run_once(req, tx).await {
        Outcome::Finished(f) => f,
        Outcome::Refused { error, .. } => {
            tracing::warn!("job {}: {error}; this run is skipped", job.name);
            return crate::exit::ERROR;
        }
    };
    for e in &done.report_errors {
        tracing::error!("job {}: {e}", job.name);
    }
    for e in &done.alert_errors {
        tracing::warn!("job {}: alert: {e}", job.name);
    }
    let summary = done.summary;
    let code = summary.worst().exit_code();
    tracing::info!(
        "job {}: run {} finished: {} cases, worst {}",
        job.name,
        summary.run_id,
        summary.results.len(),
        summary.worst()
    );
    state.record_every(summary, job.case_period());
    code
}

/// The daily report of the day now ending, by the same binary (it owns its
/// runtime and output files).
async fn daily_report(s: &crate::suite::LoadedSuite, cfg: &Config) -> i32 {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("daily report: cannot find own binary: {e}");
            return crate::exit::INTERNAL;
        }
    };
    let mut c = tokio::process::Command::new(exe);
    c.arg("report")
        .arg(&s.path)
        .arg("--date")
        .arg(Local::now().date_naive().to_string())
        .arg("--reports")
        .arg(cfg.reports_dir(s))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    match c.status().await {
        Ok(st) => st.code().unwrap_or(crate::exit::INTERNAL),
        Err(e) => {
            tracing::error!("daily report: cannot start: {e}");
            crate::exit::INTERNAL
        }
    }
}
