//! The live status page served by `healthmon daemon` (merged into the
//! daemon's router by `daemon::http`):
//!
//! - `GET /` — the page: path matrix, verdicts, host checks, 24h charts.
//! - `GET /fragment/live`, `GET /fragment/history` — the parts the page's
//!   script swaps in place (no full reload); without JavaScript a
//!   `<noscript>` meta refresh reloads the whole page.
//! - `GET /status.js` — that script (same origin: the CSP allows no inline script).
//! - `GET /api/v1/status`, `GET /api/v1/cases/{id}/history` — JSON (`api`).
//!
//! - `model` — the status document, a pure function of the kept runs.
//! - `page`  — HTML, a pure function of the document (everything escaped).
//! - `charts` — the 24h series (latency per path, queue depth), bucketed.
//! - `api`   — the JSON handlers.
//! - `auth`  — optional basic/bearer auth from the schedule's `status:`.
//!
//! Read-only: nothing here writes; the alert state is read, never locked or
//! repaired (a corrupt file is reported as a note, left to the alert code).

pub mod api;
pub mod auth;
pub mod charts;
pub mod model;
pub mod page;

use std::collections::BTreeSet;
use std::path::PathBuf;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;

pub use auth::StatusSpec;
pub use charts::history;
pub use model::{Inputs, StatusDoc};

use crate::alert::state::StateFile;
use crate::case::CaseKind;
use crate::daemon::SharedState;
use crate::daemon::schedule::Config;
use crate::suite::checks::CheckSpec;
use crate::suite::model::NumLimit;

/// Seconds between refreshes of the page (script and `<noscript>` fallback).
pub const REFRESH_S: u32 = 30;

/// Content-Security-Policy of every status response: nothing but this
/// origin's script, no plugins, no framing, no form posts anywhere.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn routes(state: SharedState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/fragment/live", get(fragment_live))
        .route("/fragment/history", get(fragment_history))
        .route("/status.js", get(script))
        .route("/api/v1/status", get(api::status))
        .route("/api/v1/cases/{*rest}", get(api::case_history))
        .route_layer(middleware::from_fn(headers))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require))
        .with_state(state)
}

/// Security headers on every status response; nothing is cached.
async fn headers(req: axum::extract::Request, next: middleware::Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn index(State(state): State<SharedState>) -> Html<String> {
    let inp = gather(&state);
    let doc = model::build(&inp);
    let hist = page::history(&history(&inp, &doc));
    Html(page::render(&doc, &hist, REFRESH_S))
}

async fn fragment_live(State(state): State<SharedState>) -> Html<String> {
    Html(page::live(&model::build(&gather(&state))))
}

async fn fragment_history(State(state): State<SharedState>) -> Html<String> {
    let inp = gather(&state);
    let doc = model::build(&inp);
    Html(page::history(&history(&inp, &doc)))
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        page::SCRIPT,
    )
}

/// Everything the status is built from, out of the daemon's shared state
/// (the runs) and the schedule in force (limits, alert state, policies).
pub fn gather(state: &SharedState) -> Inputs {
    let (runs, cfg) = {
        let g = state.read();
        let runs = g
            .history
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().cloned().collect()))
            .collect();
        (runs, g.config.clone())
    };
    let mut inp = Inputs {
        now: Utc::now(),
        runs,
        ..Inputs::default()
    };
    if let Some(cfg) = cfg {
        from_config(&mut inp, &cfg);
    }
    inp
}

/// Same name as the runner gives a suite in its results.
fn suite_name(s: &crate::suite::LoadedSuite) -> String {
    s.path
        .file_stem()
        .map(|x| x.to_string_lossy().into_owned())
        .unwrap_or_else(|| s.spec.site.clone())
}

fn from_config(inp: &mut Inputs, cfg: &Config) {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for s in cfg.jobs.iter().flat_map(|j| &j.suites) {
        let name = suite_name(s);
        dirs.insert(
            cfg.state_dir
                .clone()
                .unwrap_or_else(|| crate::daemon::reports_dir(s, cfg).join("state")),
        );
        let policy = s
            .spec
            .alerting
            .as_ref()
            .map(|a| a.policy())
            .unwrap_or_default();
        if let Some(iv) = policy.reminder_interval {
            inp.reminder.insert(name.clone(), iv);
        }
        for c in crate::case::expand::expand(&s.spec, 0) {
            if let CaseKind::Host(h) = &c.kind {
                for (metric, lim) in check_limits(&h.check) {
                    inp.limits.insert((name.clone(), c.id.clone(), metric), lim);
                }
            }
        }
    }
    for d in dirs {
        read_alert_state(inp, &StateFile::path(&d));
    }
}

/// Read-only: never renames a corrupt file aside (the alert code does).
fn read_alert_state(inp: &mut Inputs, path: &std::path::Path) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            inp.notes
                .push(format!("alert state {}: {e}", path.display()));
            return;
        }
    };
    match serde_json::from_slice::<StateFile>(&bytes) {
        Ok(f) => {
            for (site, keys) in f.sites {
                inp.alerts.entry(site).or_default().extend(keys);
            }
        }
        Err(e) => inp
            .notes
            .push(format!("alert state {} is not valid: {e}", path.display())),
    }
}

/// Limits per metric of a host check, for the kinds whose limits the page shows.
fn check_limits(c: &CheckSpec) -> Vec<(String, NumLimit)> {
    if c.limits_on_status_page() {
        c.limits()
    } else {
        vec![]
    }
}
