//! JSON API of the status page (read-only):
//!
//! - `GET /api/v1/status` — the [`StatusDoc`] the page is drawn from.
//! - `GET /api/v1/cases/{id}/history` — one case over the kept runs (24h).
//!   Case ids contain `/` (`rndtrip/ims1/mta1/mmp1/pop3`), so the route is a
//!   wildcard and the trailing `/history` is stripped here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Source;
use super::model::{self, StatusDoc};

pub async fn status(State(state): State<Source>) -> Json<StatusDoc> {
    Json(model::build(&super::gather(&*state)))
}

fn not_found(msg: String) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": msg })),
    )
        .into_response()
}

pub async fn case_history(State(state): State<Source>, Path(rest): Path<String>) -> Response {
    let Some(id) = case_id(&rest) else {
        return not_found("use /api/v1/cases/<case id>/history".into());
    };
    match model::case_history(&super::gather(&*state), id) {
        Some(h) => Json(h).into_response(),
        None => not_found(format!("no kept run knows case `{id}`")),
    }
}

/// `rndtrip/ims1/mta1/mmp1/pop3/history` -> the id; None without the suffix.
pub fn case_id(rest: &str) -> Option<&str> {
    rest.trim_start_matches('/')
        .strip_suffix("/history")
        .filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_slashes() {
        assert_eq!(
            case_id("rndtrip/ims1/mta1/mmp1/pop3/history"),
            Some("rndtrip/ims1/mta1/mmp1/pop3")
        );
        assert_eq!(case_id("host/mta1/queue/history"), Some("host/mta1/queue"));
        assert_eq!(case_id("host/mta1/queue"), None);
        assert_eq!(case_id("/history"), None);
        assert_eq!(case_id("history"), None);
    }
}
