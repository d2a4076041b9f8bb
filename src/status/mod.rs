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
//! - `auth`  — optional basic/bearer auth (the daemon's schedule `status:`).
//!
//! What it shows comes through [`StatusSource`], which the daemon implements.
//!
//! Read-only: nothing here writes; the alert state is read, never locked or
//! repaired (a corrupt file is reported as a note, left to the alert code).

pub mod api;
pub mod auth;
pub mod charts;
pub mod model;
pub mod page;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;

pub use auth::AuthSpec;
pub use charts::history;
pub use model::{Inputs, StatusDoc};

use crate::alert::state::StateFile;
use crate::result::RunSummary;

/// What the status page reads from whoever serves it (the daemon provides
/// it; the page never depends on the daemon).
pub trait StatusSource: Send + Sync + 'static {
    /// Kept runs per suite key, oldest first (the latest is last).
    fn runs(&self) -> BTreeMap<String, Vec<Arc<RunSummary>>>;
    /// Credentials the page and API require (None: open).
    fn auth(&self) -> Option<AuthSpec>;
    /// Where the alert state lives and the suites' reminder intervals.
    fn alerting(&self) -> Alerting;
}

impl<T: StatusSource + ?Sized> StatusSource for Arc<T> {
    fn runs(&self) -> BTreeMap<String, Vec<Arc<RunSummary>>> {
        (**self).runs()
    }
    fn auth(&self) -> Option<AuthSpec> {
        (**self).auth()
    }
    fn alerting(&self) -> Alerting {
        (**self).alerting()
    }
}

/// The alert side of the configuration in force.
#[derive(Debug, Clone, Default)]
pub struct Alerting {
    /// Directories holding an `alert-state.json` to read.
    pub state_dirs: BTreeSet<PathBuf>,
    /// Suite name -> reminder interval of its alerting policy.
    pub reminder: HashMap<String, Duration>,
}

/// The handle every route gets.
type Source = Arc<dyn StatusSource>;

/// Seconds between refreshes of the page (script and `<noscript>` fallback).
pub const REFRESH_S: u32 = 30;

/// Content-Security-Policy of every status response: nothing but this
/// origin's script, no plugins, no framing, no form posts anywhere.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn routes(source: impl StatusSource) -> Router {
    let state: Source = Arc::new(source);
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

async fn index(State(state): State<Source>) -> Html<String> {
    let inp = gather(&*state);
    let doc = model::build(&inp);
    let hist = page::history(&history(&inp, &doc));
    Html(page::render(&doc, &hist, REFRESH_S))
}

async fn fragment_live(State(state): State<Source>) -> Html<String> {
    Html(page::live(&model::build(&gather(&*state))))
}

async fn fragment_history(State(state): State<Source>) -> Html<String> {
    let inp = gather(&*state);
    let doc = model::build(&inp);
    Html(page::history(&history(&inp, &doc)))
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        page::SCRIPT,
    )
}

/// Everything the status is built from: the kept runs (each result
/// carries the limits it was judged against) and the alert state.
pub fn gather(source: &dyn StatusSource) -> Inputs {
    let alerting = source.alerting();
    let mut inp = Inputs {
        now: Utc::now(),
        runs: source.runs(),
        reminder: alerting.reminder,
        ..Inputs::default()
    };
    for d in alerting.state_dirs {
        read_alert_state(&mut inp, &StateFile::path(&d));
    }
    inp
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
