//! HTTP: `GET /metrics` (Prometheus text format) and `GET /healthz`, behind
//! the status auth when the schedule says `status.auth_metrics: true`.
//! Other route sets (the status page, the agent API) merge into
//! [`router`]'s result; `serve` runs it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::state::SharedState;
use crate::report::metrics::{self, Exposition};
use crate::status::StatusSource;

pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn router(state: SharedState, agent: Option<Arc<super::role::Role>>) -> Router {
    let mut r = Router::new()
        .route("/metrics", get(get_metrics))
        .route("/healthz", get(healthz))
        .route_layer(middleware::from_fn_with_state(state.clone(), metrics_auth))
        .with_state(state.clone())
        .merge(crate::status::routes(state.clone()));
    if let Some(role) = agent {
        r = r.merge(super::agent::routes(state, role));
    }
    r
}

/// `/metrics` and `/healthz` are open unless `status.auth_metrics` is set.
async fn metrics_auth(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let protect = state
        .read()
        .config
        .as_ref()
        .is_some_and(|c| c.status.auth_metrics);
    let auth = if protect { state.auth() } else { None };
    match crate::status::auth::gate(auth.as_ref(), &req) {
        None => next.run(req).await,
        Some(r) => r,
    }
}

/// Latest run of every suite, each case's last result until stale (see
/// `state::stale_after`), plus the daemon's own counters.
pub fn render_metrics(state: &SharedState) -> String {
    render_metrics_at(state, chrono::Utc::now())
}

/// [`render_metrics`] as of `now` (what is stale then is left out).
pub fn render_metrics_at(state: &SharedState, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut e = Exposition::default();
    for (run, cases) in state.current_cases(now) {
        let base = [("site", run.site.clone()), ("suite", run.suite_key())];
        metrics::add_run_info(&mut e, &run, &base);
        for r in &cases {
            metrics::add_case(&mut e, &base, r);
        }
    }
    let g = state.read();
    for (job, s) in &g.jobs {
        let l = || vec![("job", job.clone())];
        e.add(
            "healthmon_job_runs_total",
            "counter",
            "Runs started by the daemon for the job.",
            l(),
            s.runs as f64,
        );
        e.add(
            "healthmon_job_overlap_skipped_total",
            "counter",
            "Due times skipped because the previous run of the job was still going.",
            l(),
            s.skipped_overlap as f64,
        );
        e.add(
            "healthmon_job_missed_total",
            "counter",
            "Due times not run because the daemon was suspended or late (never replayed).",
            l(),
            s.missed as f64,
        );
        e.add(
            "healthmon_job_running",
            "gauge",
            "1 while a run of the job is in progress.",
            l(),
            if s.running { 1.0 } else { 0.0 },
        );
        // Per job, not per suite: a rotation job keeps the suite's last-run
        // time fresh while the full run may have stopped finishing.
        if let Some(t) = s.last_finished {
            e.add(
                "healthmon_job_last_finished_timestamp_seconds",
                "gauge",
                "Unix time the job's last run finished.",
                l(),
                t.timestamp_millis() as f64 / 1000.0,
            );
        }
        if let Some(code) = s.last_exit {
            e.add(
                "healthmon_job_last_exit_code",
                "gauge",
                "Exit code of the job's last run: 0 all passed, 1 a case failed, 2 a case could not run, 3 invalid configuration, 4 healthmon failed (README, Exit codes).",
                l(),
                code as f64,
            );
        }
    }
    for (result, n) in [("ok", g.reloads_ok), ("failed", g.reloads_failed)] {
        e.add(
            "healthmon_config_reloads_total",
            "counter",
            "Schedule reloads on SIGHUP, by result.",
            vec![("result", result.into())],
            n as f64,
        );
    }
    let (open, accepted, refused) = state.http.snapshot();
    e.add(
        "healthmon_http_connections_open",
        "gauge",
        "Connections open on the daemon's HTTP listener.",
        vec![],
        open as f64,
    );
    e.add(
        "healthmon_http_connections_total",
        "counter",
        "Connections accepted by the daemon's HTTP listener.",
        vec![],
        accepted as f64,
    );
    e.add(
        "healthmon_http_connections_refused_total",
        "counter",
        "Connections closed on accept because the listener's max_connections were open.",
        vec![],
        refused as f64,
    );
    e.add(
        "healthmon_daemon_start_timestamp_seconds",
        "gauge",
        "Unix time the daemon started.",
        vec![],
        state.started_at.timestamp() as f64,
    );
    e.render()
}

async fn get_metrics(State(state): State<SharedState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        render_metrics(&state),
    )
}

async fn healthz(State(state): State<SharedState>) -> impl IntoResponse {
    let g = state.read();
    let body = serde_json::json!({
        "status": "ok",
        "uptime_seconds": state.uptime().as_secs(),
        "jobs": g.jobs.iter().map(|(k, j)| (k.clone(), serde_json::json!({
            "runs": j.runs,
            "skipped_overlap": j.skipped_overlap,
            "missed": j.missed,
            "running": j.running,
            "last_exit": j.last_exit,
        }))).collect::<serde_json::Map<_, _>>(),
        "reloads": {"ok": g.reloads_ok, "failed": g.reloads_failed, "last_error": g.last_reload_error},
    });
    axum::Json(body)
}
