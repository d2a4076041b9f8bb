//! The daemon in its agent role (`healthmon agent`): the scheduler runs the
//! host checks of this machine's suite hosts; these routes serve them to the
//! central monitor, read-only, behind the listener's auth:
//!
//! - `GET /api/v1/agent/results` — latest results of our hosts' checks with
//!   their age, our version and suite digest (`probe::agent::AgentResults`);
//! - `GET /api/v1/agent/queue?host=H&queue_id=Q` (or `message_id=<M>`) —
//!   the fixed `postqueue -j` (and `postcat -h -q`) look-up for a validated
//!   id on one of our MTAs, at most
//!   `role::LOOKUPS_AT_ONCE` at a time (more are answered 503).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;

pub use super::role::Role;
use super::state::SharedState;
use crate::hostcheck::queue_lookup;
use crate::probe::agent::{self as wire, AgentResults, AgentRun, QueueAnswer, QueueWhere};
use crate::result::Status;
use crate::status::StatusSource;

#[derive(Clone)]
struct Ctx {
    state: SharedState,
    role: Arc<Role>,
}

pub fn routes(state: SharedState, role: Arc<Role>) -> Router {
    let ctx = Ctx { state, role };
    Router::new()
        .route(wire::RESULTS_PATH, get(results))
        .route(wire::QUEUE_PATH, get(queue))
        .route_layer(middleware::from_fn_with_state(ctx.clone(), require))
        .with_state(ctx)
}

/// The agent API is always behind the listener's auth when one is set
/// (`healthmon agent` refuses to listen beyond loopback without one).
async fn require(State(ctx): State<Ctx>, req: Request, next: Next) -> Response {
    match crate::status::auth::gate(ctx.state.auth().as_ref(), &req) {
        None => next.run(req).await,
        Some(r) => r,
    }
}

/// The latest run's results of our hosts (skipped cases left out).
pub fn document(state: &SharedState, role: &Role) -> AgentResults {
    let latest = state.latest();
    let run = latest.iter().max_by_key(|r| r.finished_at);
    let mine = |r: &&crate::result::CaseResult| {
        r.kind == "host"
            && r.status != Status::Skipped
            && role.hosts.iter().any(|h| h == r.label("host"))
    };
    AgentResults {
        version: env!("CARGO_PKG_VERSION").into(),
        site: role.suite.spec.site.clone(),
        suite_digest: role.digest.clone(),
        hosts: role.hosts.clone(),
        interval_ms: role.interval.as_millis() as u64,
        run: run.map(|r| AgentRun {
            run_id: r.run_id.clone(),
            finished_at: r.finished_at,
            age_ms: (Utc::now() - r.finished_at).num_milliseconds().max(0) as u64,
        }),
        results: run
            .map(|r| r.results.iter().filter(mine).cloned().collect())
            .unwrap_or_default(),
    }
}

async fn results(State(ctx): State<Ctx>) -> impl IntoResponse {
    axum::Json(document(&ctx.state, &ctx.role))
}

async fn queue(State(ctx): State<Ctx>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let host = q.get("host").map(String::as_str).unwrap_or("");
    if !ctx.role.hosts.iter().any(|h| h == host) {
        return (StatusCode::NOT_FOUND, "not a host of this agent\n").into_response();
    }
    let by_mid = q.get("message_id").filter(|m| wire::valid_message_id(m));
    let qid = q.get("queue_id").filter(|q| wire::valid_queue_id(q));
    let Ok(_slot) = ctx.role.lookups.try_acquire() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "queue look-ups busy\n").into_response();
    };
    let spec = &ctx.role.suite.spec;
    let step = spec.step_timeout();
    let (queue_id, at) = match (qid, by_mid) {
        (Some(id), _) => (id.clone(), queue_lookup::lookup(spec, host, id, step).await),
        (None, Some(m)) => {
            // Bounded as a whole too: one postcat per queued message.
            let work = queue_lookup::lookup_message_id(spec, host, m, step);
            match tokio::time::timeout(step * 3, work).await {
                Ok(x) => x,
                Err(_) => (
                    String::new(),
                    QueueWhere::Unknown {
                        message: format!(
                            "no answer within {}",
                            crate::suite::duration::Dur(step * 3)
                        ),
                    },
                ),
            }
        }
        (None, None) => {
            let why = "give queue_id (5-32 letters or digits) or message_id (<local@domain>)\n";
            return (StatusCode::BAD_REQUEST, why).into_response();
        }
    };
    let what = if queue_id.is_empty() {
        "message"
    } else {
        queue_id.as_str()
    };
    match &at {
        QueueWhere::Unknown { message } => {
            tracing::warn!("agent: queue look-up of {what} on {host}: {message}")
        }
        QueueWhere::Queued { queue, .. } => {
            tracing::info!("agent: queue look-up of {what} on {host}: {queue}")
        }
        QueueWhere::Gone => tracing::info!("agent: queue look-up of {what} on {host}: not queued"),
    }
    axum::Json(QueueAnswer {
        host: host.into(),
        queue_id,
        message_id: by_mid.cloned(),
        at,
    })
    .into_response()
}
