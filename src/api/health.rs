//! `/healthz` (the process is alive), `/readyz` (models and index loaded:
//! what a container healthcheck or a load balancer waits for) and
//! `/metrics` (Prometheus text format).

use axum::extract::State;

use axum::response::{IntoResponse, Response};
use axum::Json;

use super::AppState;

/// `GET /healthz`: the process is alive.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "`ok`")))]
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 with the knowledge base's size once ready, else 503.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "`{ready, documents, chunks, mode}`"),
    (status = 503, description = "Starting", body = super::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.engine() {
        Ok(e) => Json(serde_json::json!({
            "ready": true,
            "documents": e.documents,
            "chunks": e.chunks,
            "mode": e.assistant.settings().mode,
        }))
        .into_response(),
        Err(e) => e.into_response(),
    }
}
