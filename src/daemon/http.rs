//! HTTP: `GET /metrics` (Prometheus text format) and `GET /healthz`.
//! Other route sets (the status page) merge into [`router`]'s result.

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::state::SharedState;
use crate::report::metrics::{self, Exposition};

pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn router(state: SharedState) -> Router {
    Router::new()
        .route("/metrics", get(get_metrics))
        .route("/healthz", get(healthz))
        .with_state(state.clone())
        .merge(crate::status::routes(state))
}

/// Latest run of every suite plus the daemon's own counters.
pub fn render_metrics(state: &SharedState) -> String {
    let mut e = Exposition::default();
    for run in state.latest() {
        metrics::add_run(&mut e, &run);
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
