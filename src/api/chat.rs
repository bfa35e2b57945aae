//! `POST /api/chat` and `GET /api/conversations/{id}`.
//!
//! With `stream` (the default) the answer is a Server-Sent Events stream:
//! `sources` first (the retrieved sources, so a page can show them at
//! once), `token` events with text deltas, then `done` with the whole
//! answer object (the same as the JSON answer), or `error`. When a
//! generated answer fails its citation check, a `reset` event withdraws
//! the text streamed so far and the extractive answer follows as tokens:
//! the tokens after the last `reset` always make `done`'s `answer`.
//! Without stream, one JSON object.
//!
//! The answer runs on a blocking thread holding an answer slot; the
//! generation itself runs on the model's own thread. A client that goes
//! away drops the stream, which cancels the generation.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{FromRequest, Path, Request, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use guichet_models::Cancel;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{client_ip, ApiJson, AppState};
use crate::conversations::new_id;
use crate::rag::{Answer, Event, Request as AskRequest, Source, Turn};
use crate::{Error, Result};

/// Exchanges of a conversation given to the assistant as history.
const HISTORY_TURNS: usize = 3;

/// The body of `POST /api/chat`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The conversation to continue; a new one is started when absent.
    pub conversation_id: Option<String>,
    /// The citizen's message (not blank; longer than `limits.max_message_chars` is a 413).
    #[schema(pattern = r"\S")]
    pub message: String,
    /// Stream the answer as Server-Sent Events (default) or return JSON.
    #[serde(default = "yes")]
    pub stream: bool,
}

fn yes() -> bool {
    true
}

/// An answer as the API returns it (and the `done` event carries).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChatResponse {
    /// The conversation (new or continued).
    pub conversation_id: String,
    /// This answer's id (for feedback).
    pub answer_id: String,
    /// The answer.
    #[serde(flatten)]
    pub answer: Answer,
}

/// What the answering thread sends to the response.
#[derive(Debug)]
pub enum Outgoing {
    /// The retrieved sources.
    Sources(Vec<Source>),
    /// A piece of text.
    Token(String),
    /// The text so far is withdrawn; its replacement follows.
    Reset,
    /// The final answer.
    Done(Box<ChatResponse>),
    /// The answer failed.
    Failed(Error),
}

/// Cancels the answer's generation when dropped: held by the response
/// stream (or the handler's future), which the server drops when the
/// client disconnects.
#[derive(Debug)]
pub struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// An answer being written: its events, its conversation, and the guard
/// that cancels it.
pub struct Running {
    /// The events.
    pub events: mpsc::Receiver<Outgoing>,
    /// The conversation id.
    pub conversation_id: String,
    /// Cancels on drop.
    pub guard: CancelOnDrop,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks limits and starts answering `message` on a blocking thread.
/// `history` replaces the stored conversation's (OpenAI clients send it).
pub fn start_answer(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    message: String,
    conversation_id: Option<String>,
    history: Option<Vec<Turn>>,
    channel: &'static str,
) -> Result<Running> {
    let engine = state.engine()?;
    state.check_rate(ip)?;
    let message = message.trim().to_string();
    if message.is_empty() {
        return Err(Error::Invalid("Le message est vide.".into()));
    }
    let max = state.settings.limits.max_message_chars;
    let len = message.chars().count();
    if len > max {
        return Err(Error::TooLarge(format!(
            "Le message est trop long ({len} caractères, {max} au plus) : merci de le raccourcir."
        )));
    }
    if let Some(id) = &conversation_id {
        if !valid_id(id) {
            return Err(Error::Invalid(
                "Identifiant de conversation invalide (lettres, chiffres, - et _, 64 au plus)."
                    .into(),
            ));
        }
    }
    check_caps(state, engine, conversation_id.as_deref())?;
    let permit = state.admit()?;
    let conversation_id = conversation_id.unwrap_or_else(new_id);
    let history = match history {
        Some(h) => h,
        None => engine
            .conversations()?
            .history(&conversation_id, HISTORY_TURNS)?,
    };
    let (tx, rx) = mpsc::channel(256);
    let cancel = Cancel::new();
    let timed_out = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let cancel = cancel.clone();
        let timed_out = timed_out.clone();
        let limit = super::answer_timeout(&state.settings);
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            timed_out.store(true, Ordering::Relaxed);
            cancel.cancel();
        })
    };
    let assistant = engine.assistant.clone();
    let conversations = engine.conversations.clone();
    let metrics = state.metrics.clone();
    let conv = conversation_id.clone();
    let job_cancel = cancel.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let request = AskRequest {
            message: message.clone(),
            history,
        };
        let result = assistant.answer(&request, &job_cancel, &mut |ev| {
            let out = match ev {
                Event::Sources(s) => Outgoing::Sources(s.to_vec()),
                Event::Token(t) => Outgoing::Token(t.to_string()),
                Event::Reset => Outgoing::Reset,
            };
            if tx.blocking_send(out).is_err() {
                job_cancel.cancel();
            }
        });
        watchdog.abort();
        match result {
            Ok(answer) => {
                metrics.answered(&answer);
                let answer_id = new_id();
                match conversations.lock() {
                    Ok(mut c) => {
                        if let Err(e) =
                            c.record(&conv, &answer_id, &answer.exchange(&message), channel)
                        {
                            tracing::error!("could not store the answer: {e}");
                        }
                    }
                    Err(_) => tracing::error!("conversation store lock poisoned"),
                }
                let _ = tx.blocking_send(Outgoing::Done(Box::new(ChatResponse {
                    conversation_id: conv,
                    answer_id,
                    answer,
                })));
            }
            Err(e) => {
                let e = match e {
                    Error::Cancelled(_) if timed_out.load(Ordering::Relaxed) => Error::Timeout,
                    e => e,
                };
                metrics.failed();
                let _ = tx.blocking_send(Outgoing::Failed(e));
            }
        }
    });
    Ok(Running {
        events: rx,
        conversation_id,
        guard: CancelOnDrop(cancel),
    })
}

/// The question caps of `[limits]`: per conversation (a page stuck in a
/// loop stops there) and per day for the whole service (counted in the
/// database, so a restart does not reset it).
fn check_caps(state: &AppState, engine: &super::Engine, conversation: Option<&str>) -> Result<()> {
    let limits = &state.settings.limits;
    let conv = engine.conversations()?;
    if let Some(id) = conversation {
        let cap = limits.questions_per_conversation;
        if cap > 0 && conv.question_count(id)? >= cap {
            return Err(Error::Quota {
                message: format!(
                    "Cette conversation a atteint {cap} questions : commencez une nouvelle conversation pour continuer."
                ),
                retry_after_secs: 0,
            });
        }
    }
    let cap = limits.questions_per_day;
    if cap > 0 {
        // The town's day: from local midnight (Europe/Paris by default).
        let now = crate::time::now_secs();
        let (midnight, next) = crate::time::local_day_bounds(&state.settings.town.zone(), now);
        // Without the `Z`, the stamp is a prefix of every stored time of
        // its second (`…T10:00:00.123Z`), which then compares after it.
        let since = crate::time::utc(midnight);
        if conv.questions_since(since.trim_end_matches('Z'))? >= cap {
            return Err(Error::Quota {
                message: format!(
                    "Le service a répondu à {cap} questions aujourd'hui, son maximum : merci de revenir demain ou de contacter directement {}.",
                    state.settings.town.name
                ),
                retry_after_secs: next.saturating_sub(now).max(1),
            });
        }
    }
    Ok(())
}

fn sse(event: &str, data: &impl Serialize) -> SseEvent {
    SseEvent::default()
        .event(event)
        .json_data(data)
        .unwrap_or_else(|_| SseEvent::default().event("error").data("{}"))
}

fn error_event(e: &Error) -> SseEvent {
    sse("error", &e.body())
}

/// Waits for the final answer of `running`.
pub async fn wait_done(mut running: Running) -> Result<ChatResponse> {
    while let Some(m) = running.events.recv().await {
        match m {
            Outgoing::Done(r) => return Ok(*r),
            Outgoing::Failed(e) => return Err(e),
            Outgoing::Sources(_) | Outgoing::Token(_) | Outgoing::Reset => {}
        }
    }
    Err(Error::Unavailable(
        "the answer stopped without a result".into(),
    ))
}

/// `POST /api/chat`: answers a citizen's message, streamed (SSE events
/// `sources`, `token`, `done`, `error`) or as one JSON object.
#[utoipa::path(post, path = "/api/chat", tag = "chat",
    request_body = ChatRequest,
    responses(
        (status = 200, description = "The answer (JSON), or with `stream` a `text/event-stream` of `sources`, `token` ({\"text\"}), `done` (this object) and `error` events", body = ChatResponse),
        (status = 413, description = "Message too long", body = super::error::ErrorBody),
        (status = 422, description = "Malformed request", body = super::error::ErrorBody),
        (status = 429, description = "Too many requests from this client (Retry-After)", body = super::error::ErrorBody),
        (status = 503, description = "Every answer slot is taken, or starting (Retry-After)", body = super::error::ErrorBody),
        (status = 504, description = "The answer took too long", body = super::error::ErrorBody),
    ))]
pub async fn chat(State(state): State<AppState>, req: Request) -> Result<Response> {
    let ip = client_ip(&state, &req);
    let ApiJson(body) = ApiJson::<ChatRequest>::from_request(req, &state).await?;
    let running = start_answer(&state, ip, body.message, body.conversation_id, None, "api")?;
    if !body.stream {
        return Ok(Json(wait_done(running).await?).into_response());
    }
    let Running {
        events,
        conversation_id,
        guard,
    } = running;
    let stream = ReceiverStream::new(events).map(move |m| {
        let _cancel_when_dropped = &guard;
        Ok::<_, Infallible>(match m {
            Outgoing::Sources(s) => sse(
                "sources",
                &serde_json::json!({ "conversation_id": conversation_id, "sources": s }),
            ),
            Outgoing::Token(t) => sse("token", &serde_json::json!({ "text": t })),
            Outgoing::Reset => sse(
                "reset",
                &serde_json::json!({ "reason": "generated answer failed its citation check" }),
            ),
            Outgoing::Done(r) => sse("done", &r),
            Outgoing::Failed(e) => error_event(&e),
        })
    });
    Ok(super::unbuffered(
        Sse::new(stream)
            .keep_alive(KeepAlive::default())
            .into_response(),
    ))
}

/// `GET /api/conversations/{id}`: the messages with their answers and
/// sources.
#[utoipa::path(get, path = "/api/conversations/{id}", tag = "chat",
    params(("id" = String, Path, description = "The conversation id returned by /api/chat")),
    responses(
        (status = 200, description = "`{conversation_id, messages: [{answer_id, question (masked), standalone_question, answer, status, confidence, topic, sources, timings, model, created_at}]}`"),
        (status = 404, description = "Unknown conversation", body = super::error::ErrorBody),
    ))]
pub async fn conversation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response> {
    let engine = state.engine()?;
    let messages = engine
        .conversations()?
        .messages(&id)?
        .ok_or_else(|| Error::NotFound("Conversation inconnue.".into()))?;
    Ok(Json(serde_json::json!({ "conversation_id": id, "messages": messages })).into_response())
}
