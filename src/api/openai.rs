//! The OpenAI-compatible endpoints, so that any OpenAI client (and the
//! tools built on them) can talk to Guichet:
//! * `POST /v1/chat/completions`: the last user message goes through the
//!   same engine as `/api/chat` (earlier messages are its history); the
//!   answer's sources come as a compact list after the answer text and, in
//!   full, in the extra `guichet` field of the response (of the last chunk
//!   when streaming);
//! * `GET /v1/models`: the one model, `guichet`;
//! * `POST /v1/embeddings`: the embedding model, for clients that index
//!   their own texts (it does not wait behind generation).

use std::convert::Infallible;

use axum::extract::{FromRequest, Request, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use guichet_models::EmbedKind;
use serde::Deserialize;
use tokio_stream::wrappers::ReceiverStream;

use super::chat::{start_answer, wait_done, ChatResponse, Outgoing, Running};
use super::{client_ip, ApiJson, AppState};
use crate::rag::{Source, Turn};
use crate::{Error, Result};

/// The model name clients use.
pub const MODEL: &str = "guichet";

/// One message of an OpenAI conversation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Its text (a string, or a list of text parts).
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

/// The body of `/v1/chat/completions` (unknown fields are accepted and
/// ignored, as OpenAI clients send many).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CompletionRequest {
    /// The conversation.
    pub messages: Vec<Message>,
    /// Stream chunks as Server-Sent Events.
    #[serde(default)]
    pub stream: bool,
    /// The model asked for (informative: there is one).
    #[serde(default)]
    pub model: Option<String>,
}

fn text_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The compact source list appended to the answer text.
pub fn sources_text(sources: &[Source]) -> String {
    let cited: Vec<&Source> = sources.iter().filter(|s| s.cited).collect();
    if cited.is_empty() {
        return String::new();
    }
    let mut s = String::from("\n\nSources :");
    for src in cited {
        s.push_str(&format!("\n[{}] {}", src.n, src.title));
        if !src.section.is_empty() {
            s.push_str(&format!(" › {}", src.section));
        }
        if let Some(p) = src.page {
            s.push_str(&format!(", page {p}"));
        }
        s.push_str(&format!(" — {}", src.url.as_deref().unwrap_or(&src.source)));
    }
    s
}

fn created() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn guichet_field(r: &ChatResponse) -> serde_json::Value {
    serde_json::to_value(r).unwrap_or_default()
}

/// `POST /v1/chat/completions`: OpenAI-compatible chat over the same engine.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai",
    request_body = CompletionRequest,
    responses(
        (status = 200, description = "An OpenAI `chat.completion` (or a stream of `chat.completion.chunk` ending with `[DONE]`), with the answer object in the extra `guichet` field"),
        (status = 422, description = "No user message", body = super::error::ErrorBody),
        (status = 429, description = "Too many requests", body = super::error::ErrorBody),
        (status = 503, description = "Busy or starting", body = super::error::ErrorBody),
    ))]
pub async fn completions(State(state): State<AppState>, req: Request) -> Result<Response> {
    let ip = client_ip(&state, &req);
    let ApiJson(body) = ApiJson::<CompletionRequest>::from_request(req, &state).await?;
    let last_user = body
        .messages
        .iter()
        .rposition(|m| m.role == "user")
        .ok_or_else(|| Error::Invalid("Aucun message de l'utilisateur (role \"user\").".into()))?;
    let message = text_of(&body.messages[last_user].content);
    // Earlier user/assistant pairs are the history.
    let mut history = Vec::new();
    let mut pending: Option<String> = None;
    for m in &body.messages[..last_user] {
        match m.role.as_str() {
            "user" => pending = Some(text_of(&m.content)),
            "assistant" => {
                if let Some(q) = pending.take() {
                    history.push(Turn {
                        standalone: q.clone(),
                        question: q,
                        answer: text_of(&m.content),
                    });
                }
            }
            _ => {}
        }
    }
    let model = body.model.clone().unwrap_or_else(|| MODEL.to_string());
    let running = start_answer(&state, ip, message, None, Some(history), "openai")?;
    let id = format!("chatcmpl-{}", crate::conversations::new_id());
    if !body.stream {
        let r = wait_done(running).await?;
        let content = format!("{}{}", r.answer.answer, sources_text(&r.answer.sources));
        return Ok(Json(serde_json::json!({
            "id": id,
            "object": "chat.completion",
            "created": created(),
            "model": model,
            "choices": [{
                "index": 0,
                "message": { "role": "assistant", "content": content },
                "finish_reason": "stop",
            }],
            "usage": {
                "prompt_tokens": r.answer.prompt_tokens,
                "completion_tokens": r.answer.generated_tokens,
                "total_tokens": r.answer.prompt_tokens + r.answer.generated_tokens,
            },
            "guichet": guichet_field(&r),
        }))
        .into_response());
    }
    let Running { events, guard, .. } = running;
    let ts = created();
    let chunk =
        move |delta: serde_json::Value, finish: Option<&str>, extra: Option<serde_json::Value>| {
            let mut v = serde_json::json!({
                "id": id,
                "object": "chat.completion.chunk",
                "created": ts,
                "model": model,
                "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
            });
            if let Some(x) = extra {
                v["guichet"] = x;
            }
            SseEvent::default().data(v.to_string())
        };
    let mut first = true;
    let stream = ReceiverStream::new(events)
        .filter_map(move |m| {
            let _cancel_when_dropped = &guard;
            let role = if first {
                first = false;
                Some("assistant")
            } else {
                None
            };
            let out: Vec<SseEvent> =
                match m {
                    Outgoing::Sources(_) => role
                        .map(|r| {
                            vec![chunk(
                                serde_json::json!({ "role": r, "content": "" }),
                                None,
                                None,
                            )]
                        })
                        .unwrap_or_default(),
                    // A chunk cannot be withdrawn: the replacement follows a
                    // separator.
                    Outgoing::Reset => vec![chunk(
                        serde_json::json!({ "content": "\n\n---\n\n" }),
                        None,
                        None,
                    )],
                    Outgoing::Token(t) => {
                        let mut d = serde_json::json!({ "content": t });
                        if let Some(r) = role {
                            d["role"] = r.into();
                        }
                        vec![chunk(d, None, None)]
                    }
                    Outgoing::Done(r) => {
                        let tail = sources_text(&r.answer.sources);
                        let mut v = Vec::new();
                        if !tail.is_empty() {
                            v.push(chunk(serde_json::json!({ "content": tail }), None, None));
                        }
                        v.push(chunk(
                            serde_json::json!({}),
                            Some("stop"),
                            Some(guichet_field(&r)),
                        ));
                        v.push(SseEvent::default().data("[DONE]"));
                        v
                    }
                    Outgoing::Failed(e) => vec![SseEvent::default()
                        .data(serde_json::to_string(&e.body()).unwrap_or_default())],
                };
            std::future::ready(Some(futures_util::stream::iter(
                out.into_iter().map(Ok::<_, Infallible>),
            )))
        })
        .flatten();
    Ok(super::unbuffered(
        Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response(),
    ))
}

/// `GET /v1/models`: the one model, `guichet`.
#[utoipa::path(get, path = "/v1/models", tag = "openai",
    responses((status = 200, description = "An OpenAI model list")))]
pub async fn models(State(state): State<AppState>) -> Result<Response> {
    let engine = state.engine()?;
    let owned = engine
        .assistant
        .generator()
        .map_or("extractif".to_string(), |g| g.info().id.clone());
    Ok(Json(serde_json::json!({
        "object": "list",
        "data": [{ "id": MODEL, "object": "model", "created": 0, "owned_by": "guichet", "root": owned }],
    }))
    .into_response())
}

/// The body of `/v1/embeddings`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmbeddingRequest {
    /// One text or several.
    #[schema(value_type = Object)]
    pub input: serde_json::Value,
    /// The model asked for (informative).
    #[serde(default)]
    pub model: Option<String>,
    /// `query` or `passage` (default): e5 embeds them differently.
    #[serde(default)]
    pub input_type: Option<String>,
}

/// Most texts in one embeddings request.
const MAX_INPUTS: usize = 64;

/// `POST /v1/embeddings`: vectors from the embedding model.
#[utoipa::path(post, path = "/v1/embeddings", tag = "openai",
    request_body = EmbeddingRequest,
    responses(
        (status = 200, description = "An OpenAI embedding list"),
        (status = 422, description = "Bad input", body = super::error::ErrorBody),
        (status = 429, description = "Too many requests from this client (Retry-After)", body = super::error::ErrorBody),
    ))]
pub async fn embeddings(State(state): State<AppState>, req: Request) -> Result<Response> {
    // Up to 64 texts a call: counted against the caller's rate like a question.
    state.check_rate(client_ip(&state, &req))?;
    let ApiJson(body) = ApiJson::<EmbeddingRequest>::from_request(req, &state).await?;
    let engine = state.engine()?;
    let texts: Vec<String> = match &body.input {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                Error::Invalid("« input » doit être un texte ou une liste de textes.".into())
            })?,
        _ => {
            return Err(Error::Invalid(
                "« input » doit être un texte ou une liste de textes.".into(),
            ))
        }
    };
    if texts.is_empty() || texts.len() > MAX_INPUTS {
        return Err(Error::Invalid(format!(
            "Entre 1 et {MAX_INPUTS} textes par requête."
        )));
    }
    let kind = match body.input_type.as_deref() {
        Some("query") => EmbedKind::Query,
        None | Some("passage") => EmbedKind::Passage,
        Some(other) => {
            return Err(Error::Invalid(format!(
                "input_type {other:?} inconnu : query ou passage."
            )))
        }
    };
    let embedder = engine.assistant.embedder().clone();
    let (vectors, tokens) = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let mut tokens = 0;
        for t in &refs {
            tokens += embedder.count_tokens(t, kind)?;
        }
        embedder.embed(&refs, kind).map(|v| (v, tokens))
    })
    .await
    .map_err(|e| Error::Unavailable(format!("embedding task: {e}")))?
    .map_err(Error::from)?;
    let model = body
        .model
        .unwrap_or_else(|| engine.assistant.embedder().id().to_string());
    let data: Vec<serde_json::Value> = vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| serde_json::json!({ "object": "embedding", "index": i, "embedding": v }))
        .collect();
    Ok(Json(serde_json::json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": { "prompt_tokens": tokens, "total_tokens": tokens },
    }))
    .into_response())
}
