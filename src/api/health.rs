//! `/healthz` (the process is alive), `/readyz` (models and index loaded:
//! what a container healthcheck or a load balancer waits for) and
//! `/metrics` (Prometheus text format).

use std::fmt::Write;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode};
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

/// `GET /metrics`: Prometheus counters.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let m = &state.metrics;
    let mut s = String::new();
    let _ = writeln!(s, "# HELP guichet_answers_total Answers given, by status.");
    let _ = writeln!(s, "# TYPE guichet_answers_total counter");
    for (i, name) in [
        "answered",
        "curated",
        "not_found",
        "out_of_scope",
        "handoff_suggested",
        "refused",
    ]
    .iter()
    .enumerate()
    {
        let _ = writeln!(
            s,
            "guichet_answers_total{{status=\"{name}\"}} {}",
            m.answers[i].load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        s,
        "# HELP guichet_rejected_total Requests refused, by reason."
    );
    let _ = writeln!(s, "# TYPE guichet_rejected_total counter");
    let _ = writeln!(
        s,
        "guichet_rejected_total{{reason=\"overloaded\"}} {}",
        m.overloaded.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        s,
        "guichet_rejected_total{{reason=\"rate_limited\"}} {}",
        m.rate_limited.load(Ordering::Relaxed)
    );
    let _ = writeln!(s, "# TYPE guichet_answers_failed_total counter");
    let _ = writeln!(
        s,
        "guichet_answers_failed_total {}",
        m.failed.load(Ordering::Relaxed)
    );
    for (name, help, h) in [
        (
            "guichet_answer_duration_ms",
            "Time to the whole answer, in milliseconds.",
            &m.total_ms,
        ),
        (
            "guichet_answer_first_text_ms",
            "Time to the first piece of answer text, in milliseconds.",
            &m.first_token_ms,
        ),
    ] {
        let _ = writeln!(s, "# HELP {name} {help}");
        let _ = writeln!(s, "# TYPE {name} histogram");
        for (b, bound) in h.buckets.iter().zip(super::LATENCY_BUCKETS_MS) {
            let _ = writeln!(
                s,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                b.load(Ordering::Relaxed)
            );
        }
        let count = h.count.load(Ordering::Relaxed);
        let _ = writeln!(s, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(s, "{name}_sum {}", h.sum_ms.load(Ordering::Relaxed));
        let _ = writeln!(s, "{name}_count {count}");
    }
    let _ = writeln!(s, "# TYPE guichet_answers_in_progress gauge");
    let _ = writeln!(
        s,
        "guichet_answers_in_progress {}",
        state.admission.in_use()
    );
    if let Ok(e) = state.engine() {
        if let Some(g) = e.assistant.generator() {
            let st = g.stats();
            let _ = writeln!(s, "# TYPE guichet_generations_total counter");
            let _ = writeln!(
                s,
                "guichet_generations_total {}",
                st.generations.load(Ordering::Relaxed)
            );
            let _ = writeln!(s, "# TYPE guichet_generations_cancelled_total counter");
            let _ = writeln!(
                s,
                "guichet_generations_cancelled_total {}",
                st.cancelled.load(Ordering::Relaxed)
            );
            let _ = writeln!(s, "# TYPE guichet_generated_tokens_total counter");
            let _ = writeln!(
                s,
                "guichet_generated_tokens_total {}",
                st.tokens.load(Ordering::Relaxed)
            );
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s,
    )
        .into_response()
}
