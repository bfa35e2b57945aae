//! `POST /api/index/reembed` and `GET /api/index/reembed` (admins): moves a
//! running service to another embedding model without stopping it.
//!
//! Every chunk and curated question is embedded with the new model on a
//! background thread, through the store's own connection, while answers
//! keep coming from the old vectors; then, under the knowledge base's lock
//! for a moment, the embeddings are replaced in one transaction, the new
//! index swapped in and the assistant switched. An answer whose question
//! was embedded with the old model just before the switch is searched
//! again with the new one (`Error::ModelChanged`).

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::Staff;
use super::{ApiJson, AppState};
use crate::referents::Role;
use crate::{Error, Result};

/// The state of a re-embedding.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReembedJob {
    /// `running`, `done` or `failed`.
    pub status: String,
    /// The model asked for (`e5`, `minilm` or a path).
    pub model: String,
    /// Chunks embedded so far.
    pub done: usize,
    /// Chunks to embed.
    pub total: usize,
    /// Why it failed.
    pub error: Option<String>,
    /// Who started it.
    pub by: String,
}

/// The current or last re-embedding of this process.
pub type ReembedSlot = Arc<Mutex<Option<ReembedJob>>>;

/// The body of `POST /api/index/reembed`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReembedRequest {
    /// `e5`, `minilm` or the path of an embedding model.
    pub model: String,
}

fn update(slot: &ReembedSlot, f: impl FnOnce(&mut ReembedJob)) {
    if let Ok(mut s) = slot.lock() {
        if let Some(j) = s.as_mut() {
            f(j);
        }
    }
}

/// `POST /api/index/reembed` (admins): starts re-embedding with `model`;
/// the service keeps answering meanwhile. Set `embedding_model` in the
/// configuration to the same model before the next restart.
#[utoipa::path(post, path = "/api/index/reembed", tag = "référents", security(("bearer" = [])),
    request_body = ReembedRequest,
    responses((status = 202, body = ReembedJob), (status = 403, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(r): ApiJson<ReembedRequest>,
) -> Result<Response> {
    staff.require(Role::Admin)?;
    state.engine()?;
    let model = crate::config::resolve_embedding_model(&state.settings.models, r.model.trim())?;
    let job = ReembedJob {
        status: "running".into(),
        model: r.model.clone(),
        done: 0,
        total: 0,
        error: None,
        by: staff.name.clone(),
    };
    {
        let mut slot = state
            .reembed
            .lock()
            .map_err(|_| Error::Unavailable("the re-embedding lock is poisoned".into()))?;
        if slot.as_ref().is_some_and(|j| j.status == "running") {
            return Err(Error::Invalid("Une réindexation est déjà en cours.".into()));
        }
        *slot = Some(job.clone());
    }
    let st = state.clone();
    let spec = r.model.clone();
    tokio::task::spawn_blocking(move || {
        let slot = st.reembed.clone();
        let run = || -> Result<()> {
            let engine = st.engine()?;
            if let Some(m) = guichet_models::fetch::default_model(&spec) {
                guichet_models::fetch::ensure(&st.settings.models, &[m], |_| {})?;
            }
            let embedder = crate::config::load_embedder(&model, Default::default())?;
            let store = crate::kb::Store::open(&engine.data_dir.join("guichet.db"))?;
            let r = crate::kb::reembed(&store, embedder.clone(), &mut |done, total| {
                update(&slot, |j| {
                    j.done = done;
                    j.total = total;
                });
            })?;
            drop(store);
            let mut kb = engine.kb()?;
            kb.switch_to(r)?;
            engine.assistant.switch_embedder(embedder);
            drop(kb);
            Ok(())
        };
        let outcome = run();
        if let Ok(engine) = st.engine() {
            if let Ok(s) = engine.referents() {
                let detail = match &outcome {
                    Ok(()) => "done".to_string(),
                    Err(e) => format!("failed: {e}"),
                };
                let _ = s.audit(&job.by, "index.reembed", &spec, &detail);
            }
        }
        match outcome {
            Ok(()) => {
                tracing::info!("re-embedded with {spec}: set embedding_model = \"{spec}\" in the configuration");
                update(&slot, |j| j.status = "done".into());
            }
            Err(e) => {
                tracing::error!("re-embedding with {spec} failed: {e}");
                update(&slot, |j| {
                    j.status = "failed".into();
                    j.error = Some(e.to_string());
                });
            }
        }
    });
    let current = state.reembed.lock().ok().and_then(|s| s.clone());
    Ok((StatusCode::ACCEPTED, Json(current)).into_response())
}

/// `GET /api/index/reembed` (admins): the current or last re-embedding.
#[utoipa::path(get, path = "/api/index/reembed", tag = "référents", security(("bearer" = [])),
    responses((status = 200, body = ReembedJob), (status = 404, body = super::error::ErrorBody)))]
pub async fn status(State(state): State<AppState>, staff: Staff) -> Result<Response> {
    staff.require(Role::Admin)?;
    let job = state.reembed.lock().ok().and_then(|s| s.clone());
    match job {
        Some(j) => Ok(Json(j).into_response()),
        None => Err(Error::NotFound(
            "Aucune réindexation depuis le démarrage.".into(),
        )),
    }
}
