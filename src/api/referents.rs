//! The référents' endpoints (Bearer token, see [`super::auth`]): curated
//! answers, excluded topics, handoff tickets; and the citizens' feedback
//! and handoff requests (no token). Every référent action is written to
//! the audit log.

use std::sync::MutexGuard;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use guichet_models::EmbedKind;
use serde::Deserialize;

use super::auth::Staff;
use super::{ApiJson, AppState};
use crate::referents::{Curated, Exclusion, Referents, Review, Role};
use crate::{Error, Result};

fn store(state: &AppState) -> Result<MutexGuard<'_, Referents>> {
    state.engine()?.referents()
}

/// Embeds a curated answer's question and variants (as questions, like the
/// citizens' ones they are compared with) off the async workers.
async fn vectors(state: &AppState, c: &Curated) -> Result<Vec<(String, Vec<f32>)>> {
    let embedder = state.engine()?.assistant.embedder().clone();
    let texts: Vec<String> = std::iter::once(c.question.clone())
        .chain(c.variants.iter().cloned())
        .filter(|t| !t.trim().is_empty())
        .collect();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let v = embedder.embed(&refs, EmbedKind::Query)?;
        Ok::<_, Error>(texts.into_iter().zip(v).collect())
    })
    .await
    .map_err(|e| Error::Unavailable(format!("embedding task: {e}")))?
}

fn check_curated(c: &Curated) -> Result<()> {
    c.problem().map_or(Ok(()), |p| Err(Error::Invalid(p)))
}

/// `GET /api/curated`: every curated answer, with whether it is expired.
#[utoipa::path(get, path = "/api/curated", tag = "référents", security(("bearer" = [])),
    responses((status = 200, body = [Curated]), (status = 401, body = super::error::ErrorBody)))]
pub async fn list_curated(State(state): State<AppState>, _staff: Staff) -> Result<Response> {
    Ok(Json(store(&state)?.curated()?).into_response())
}

/// `POST /api/curated`: a validated answer, served verbatim to questions
/// close to its question or variants until `expires_at`.
#[utoipa::path(post, path = "/api/curated", tag = "référents", security(("bearer" = [])),
    request_body = Curated,
    responses((status = 201, body = Curated), (status = 401, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn create_curated(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(mut c): ApiJson<Curated>,
) -> Result<Response> {
    c.validated_by = staff.name.clone();
    // Validated now, by this référent: whatever the body said.
    c.validated_at.clear();
    check_curated(&c)?;
    let v = vectors(&state, &c).await?;
    let mut s = store(&state)?;
    let id = s.add_curated(&c, &v)?;
    s.audit(&staff.name, "curated.create", &id.to_string(), &c.question)?;
    let saved = s
        .curated_by_id(id)?
        .ok_or_else(|| Error::NotFound("Réponse introuvable.".into()))?;
    Ok((StatusCode::CREATED, Json(saved)).into_response())
}

/// `PUT /api/curated/{id}`: replaces a curated answer.
#[utoipa::path(put, path = "/api/curated/{id}", tag = "référents", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = Curated,
    responses((status = 200, body = Curated), (status = 404, body = super::error::ErrorBody)))]
pub async fn update_curated(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    ApiJson(mut c): ApiJson<Curated>,
) -> Result<Response> {
    check_curated(&c)?;
    c.validated_by = staff.name.clone();
    let v = vectors(&state, &c).await?;
    let mut s = store(&state)?;
    if !s.update_curated(id, &c, &v)? {
        return Err(Error::NotFound("Réponse validée inconnue.".into()));
    }
    s.audit(&staff.name, "curated.update", &id.to_string(), &c.question)?;
    let saved = s
        .curated_by_id(id)?
        .ok_or_else(|| Error::NotFound("Réponse introuvable.".into()))?;
    Ok(Json(saved).into_response())
}

/// `DELETE /api/curated/{id}`.
#[utoipa::path(delete, path = "/api/curated/{id}", tag = "référents", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
pub async fn delete_curated(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response> {
    let mut s = store(&state)?;
    if !s.delete_curated(id)? {
        return Err(Error::NotFound("Réponse validée inconnue.".into()));
    }
    s.audit(&staff.name, "curated.delete", &id.to_string(), "")?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/exclusions`.
#[utoipa::path(get, path = "/api/exclusions", tag = "référents", security(("bearer" = [])),
    responses((status = 200, body = [Exclusion])))]
pub async fn list_exclusions(State(state): State<AppState>, _staff: Staff) -> Result<Response> {
    Ok(Json(store(&state)?.exclusions()?).into_response())
}

/// `POST /api/exclusions`: a topic the assistant must not answer; matching
/// questions get its message and contact (status `out_of_scope`).
#[utoipa::path(post, path = "/api/exclusions", tag = "référents", security(("bearer" = [])),
    request_body = Exclusion, responses((status = 201, body = Exclusion), (status = 422, body = super::error::ErrorBody)))]
pub async fn create_exclusion(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(mut e): ApiJson<Exclusion>,
) -> Result<Response> {
    if e.message.trim().is_empty() {
        return Err(Error::Invalid(
            "Une exclusion a besoin d'un message.".into(),
        ));
    }
    e.created_by = staff.name.clone();
    e.created_at = crate::time::utc(crate::time::now_secs());
    let s = store(&state)?;
    e.id = s.add_exclusion(&e)?;
    s.audit(&staff.name, "exclusion.create", &e.id.to_string(), &e.topic)?;
    Ok((StatusCode::CREATED, Json(e)).into_response())
}

/// `DELETE /api/exclusions/{id}`.
#[utoipa::path(delete, path = "/api/exclusions/{id}", tag = "référents", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
pub async fn delete_exclusion(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response> {
    let s = store(&state)?;
    if !s.delete_exclusion(id)? {
        return Err(Error::NotFound("Exclusion inconnue.".into()));
    }
    s.audit(&staff.name, "exclusion.delete", &id.to_string(), "")?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Queues a notice to the référents and wakes its delivery. A failure to
/// queue is logged, never given to the citizen: their request is stored
/// and shown in the console whatever happens to the notice.
fn queue_notice(state: &AppState, notice: &crate::notify::Notice<'_>) {
    let Some(waker) = &state.notices else {
        return;
    };
    match store(state).and_then(|s| crate::notify::queue(&s, &state.settings, notice)) {
        Ok(0) => {}
        Ok(_) => waker.wake(),
        Err(e) => tracing::error!("notice {} not queued: {e}", notice.reference),
    }
}

/// The body of `POST /api/feedback`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// The answer rated (from `/api/chat`).
    pub answer_id: String,
    /// `up` or `down`.
    #[schema(pattern = "^(up|down)$")]
    pub rating: String,
    /// Optional comment.
    #[serde(default)]
    pub comment: Option<String>,
}

/// `POST /api/feedback` (citizens): a thumbs up or down on an answer.
#[utoipa::path(post, path = "/api/feedback", tag = "chat", request_body = FeedbackRequest,
    responses((status = 204), (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody), (status = 429, description = "Too many requests from this client", body = super::error::ErrorBody)))]
pub async fn feedback(
    State(state): State<AppState>,
    client: super::limits::Client,
    ApiJson(f): ApiJson<FeedbackRequest>,
) -> Result<Response> {
    state.check_rate(client.0)?;
    let up = match f.rating.as_str() {
        "up" => true,
        "down" => false,
        _ => return Err(Error::Invalid("« rating » vaut « up » ou « down ».".into())),
    };
    if f.comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(Error::TooLarge(
            "Le commentaire est trop long (2 000 caractères au plus).".into(),
        ));
    }
    let engine = state.engine()?;
    let known = engine.conversations()?.answer_exists(&f.answer_id)?;
    if !known {
        return Err(Error::NotFound("Réponse inconnue.".into()));
    }
    let comment = f
        .comment
        .as_deref()
        .map(guichet_text::privacy::mask_personal_data);
    store(&state)?.add_feedback(&f.answer_id, up, comment.as_deref())?;
    if !up {
        let flagged = engine.conversations()?.message(&f.answer_id)?;
        if let Some(m) = flagged {
            let notice = crate::notify::Notice {
                event: crate::notify::Event::Flagged,
                reference: &f.answer_id,
                exchanges: std::slice::from_ref(&m),
                message: comment.as_deref().unwrap_or_default(),
                contact: None,
            };
            queue_notice(&state, &notice);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The body of `POST /api/handoff`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffRequest {
    /// The conversation to hand over.
    pub conversation_id: String,
    /// How to reach the citizen (`name`, `email`, `phone`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub contact: Option<serde_json::Value>,
    /// What the citizen adds.
    #[serde(default)]
    pub message: Option<String>,
}

/// `POST /api/handoff` (citizens): "parler à un agent". A ticket with the
/// conversation for the référents; the citizen gets its reference and the
/// town's contact.
#[utoipa::path(post, path = "/api/handoff", tag = "chat", request_body = HandoffRequest,
    responses((status = 201, description = "`{reference, message}`"), (status = 404, body = super::error::ErrorBody), (status = 422, description = "Malformed request", body = super::error::ErrorBody), (status = 429, description = "Too many requests from this client", body = super::error::ErrorBody)))]
pub async fn handoff(
    State(state): State<AppState>,
    client: super::limits::Client,
    ApiJson(h): ApiJson<HandoffRequest>,
) -> Result<Response> {
    state.check_rate(client.0)?;
    let engine = state.engine()?;
    let known = engine.conversations()?.exists(&h.conversation_id)?;
    if !known {
        return Err(Error::NotFound("Conversation inconnue.".into()));
    }
    let message = h.message.unwrap_or_default();
    if message.chars().count() > state.settings.limits.max_message_chars {
        return Err(Error::TooLarge("Le message est trop long.".into()));
    }
    let contact = h.contact.unwrap_or_else(|| serde_json::json!({}));
    let t = store(&state)?.open_handoff(&h.conversation_id, &contact, &message)?;
    let exchanges = engine
        .conversations()?
        .messages(&h.conversation_id)?
        .unwrap_or_default();
    let notice = crate::notify::Notice {
        event: crate::notify::Event::Handoff,
        reference: &t.reference,
        exchanges: &exchanges,
        message: &message,
        contact: Some(&contact),
    };
    queue_notice(&state, &notice);
    let town = &state.settings.town;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "reference": t.reference,
            "message": format!(
                "Votre demande est transmise aux agents de {} sous la référence {}. Ils vous répondront dès que possible, {}. {}",
                town.name, t.reference, town.handoff_delay.trim().trim_end_matches('.'), town.contact_text()
            ),
        })),
    )
        .into_response())
}

/// `GET /api/handoffs`: the tickets, newest first.
#[utoipa::path(get, path = "/api/handoffs", tag = "référents", security(("bearer" = [])),
    responses((status = 200, body = [crate::referents::Handoff])))]
pub async fn list_handoffs(State(state): State<AppState>, _staff: Staff) -> Result<Response> {
    let tickets = store(&state)?.handoffs(false)?;
    let engine = state.engine()?;
    let conv = engine.conversations()?;
    let out: Vec<serde_json::Value> = tickets
        .into_iter()
        .map(|t| {
            let messages = conv
                .messages(&t.conversation_id)
                .ok()
                .flatten()
                .unwrap_or_default();
            let mut v = serde_json::to_value(&t).unwrap_or_default();
            v["conversation"] = serde_json::to_value(messages).unwrap_or_default();
            v
        })
        .collect();
    Ok(Json(out).into_response())
}

/// The body of `POST /api/handoffs/{id}/resolve`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// The human answer given to the citizen.
    pub answer: String,
    /// Also make it a curated answer to this question (the conversation's
    /// first question when `true` without one).
    #[serde(default)]
    pub curate: bool,
    /// The question the curated answer answers.
    #[serde(default)]
    pub question: Option<String>,
}

/// `POST /api/handoffs/{id}/resolve`: closes a ticket with the human
/// answer, optionally turned into a curated answer in the same call.
#[utoipa::path(post, path = "/api/handoffs/{id}/resolve", tag = "référents", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = ResolveRequest,
    responses((status = 200, description = "`{handoff, curated?}`"), (status = 404, body = super::error::ErrorBody)))]
pub async fn resolve_handoff(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    ApiJson(r): ApiJson<ResolveRequest>,
) -> Result<Response> {
    staff.require(Role::Referent)?;
    if r.answer.trim().is_empty() {
        return Err(Error::Invalid("La réponse est vide.".into()));
    }
    let ticket = store(&state)?
        .handoff(id)?
        .ok_or_else(|| Error::NotFound("Demande inconnue.".into()))?;
    let mut curated = None;
    if r.curate {
        let question = match r.question.clone() {
            Some(q) => q,
            None => state
                .engine()?
                .conversations()?
                .messages(&ticket.conversation_id)?
                .and_then(|m| m.first().map(|m| m.question.clone()))
                .ok_or_else(|| {
                    Error::Invalid("Aucune question à reprendre : donnez « question ».".into())
                })?,
        };
        let c = Curated {
            id: 0,
            question,
            variants: Vec::new(),
            answer: r.answer.clone(),
            sources: Vec::new(),
            validated_by: staff.name.clone(),
            validated_at: String::new(),
            expires_at: None,
        };
        let v = vectors(&state, &c).await?;
        let mut s = store(&state)?;
        let cid = s.add_curated(&c, &v)?;
        s.audit(
            &staff.name,
            "curated.create",
            &cid.to_string(),
            &format!("from handoff {}", ticket.reference),
        )?;
        curated = s.curated_by_id(cid)?;
    }
    let s = store(&state)?;
    s.resolve_handoff(id, &r.answer, &staff.name)?;
    s.audit(&staff.name, "handoff.resolve", &ticket.reference, "")?;
    let t = s.handoff(id)?;
    Ok(Json(serde_json::json!({ "handoff": t, "curated": curated })).into_response())
}

/// `GET /api/review`: what référents should look at, newest first —
/// answers with a thumbs-down, abstentions, conversations handed over —
/// not yet reviewed.
#[utoipa::path(get, path = "/api/review", tag = "référents", security(("bearer" = [])),
    responses((status = 200, body = [crate::referents::QueueItem]), (status = 401, body = super::error::ErrorBody)))]
pub async fn review_queue(State(state): State<AppState>, _staff: Staff) -> Result<Response> {
    Ok(Json(store(&state)?.review_queue(200)?).into_response())
}

/// The body of `POST /api/review/{answer_id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictRequest {
    /// `correct`, `incorrect` or `corrected`.
    #[schema(pattern = "^(correct|incorrect|corrected)$")]
    pub verdict: String,
    /// Why it was wrong, from the fixed list (`invented_facts`,
    /// `incomplete`, `wrong_or_missing_sources`, `obsolete_source`,
    /// `question_misunderstood`, `should_have_refused`,
    /// `should_have_answered`).
    #[serde(default)]
    pub reason: Option<String>,
    /// The right answer.
    #[serde(default)]
    pub corrected_answer: Option<String>,
    /// The documents that hold the answer (file names).
    #[serde(default)]
    pub expected_sources: Vec<String>,
    /// Also serve the corrected (or confirmed) answer as a curated answer.
    #[serde(default)]
    pub curate: bool,
}

/// `POST /api/review/{answer_id}`: a verdict on an answer. It becomes an
/// evaluation case (`guichet eval import-reviews`) and, with `curate`, a
/// curated answer.
#[utoipa::path(post, path = "/api/review/{answer_id}", tag = "référents", security(("bearer" = [])),
    params(("answer_id" = String, Path)), request_body = VerdictRequest,
    responses((status = 201, body = Review), (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody)))]
pub async fn review(
    State(state): State<AppState>,
    staff: Staff,
    Path(answer_id): Path<String>,
    ApiJson(v): ApiJson<VerdictRequest>,
) -> Result<Response> {
    let engine = state.engine()?;
    let (question, answer) = engine
        .conversations()?
        .answer_text(&answer_id)?
        .ok_or_else(|| Error::NotFound("Réponse inconnue.".into()))?;
    let mut r = Review {
        answer_id: answer_id.clone(),
        verdict: v.verdict,
        reason: v.reason,
        corrected_answer: v.corrected_answer,
        expected_sources: v.expected_sources,
        reviewer: staff.name.clone(),
        curated_id: None,
        created_at: String::new(),
    };
    // Checked before anything is written.
    store(&state)?.check_review(&r)?;
    if v.curate && r.verdict != "incorrect" {
        let c = Curated {
            id: 0,
            question,
            variants: Vec::new(),
            answer: r.corrected_answer.clone().unwrap_or(answer),
            sources: r.expected_sources.clone(),
            validated_by: staff.name.clone(),
            validated_at: String::new(),
            expires_at: None,
        };
        let vecs = vectors(&state, &c).await?;
        let mut s = store(&state)?;
        let id = s.add_curated(&c, &vecs)?;
        s.audit(
            &staff.name,
            "curated.create",
            &id.to_string(),
            &format!("from review of {answer_id}"),
        )?;
        r.curated_id = Some(id);
    }
    let s = store(&state)?;
    s.add_review(&r)?;
    s.audit(&staff.name, "review", &answer_id, &r.verdict)?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// `GET /api/audit` (admins): the latest référent actions, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "référents", security(("bearer" = [])),
    responses((status = 200, description = "`[{at, user, action, target, detail}]`"), (status = 403, body = super::error::ErrorBody)))]
pub async fn audit(State(state): State<AppState>, staff: Staff) -> Result<Response> {
    staff.require(Role::Admin)?;
    Ok(Json(store(&state)?.audit_log(500)?).into_response())
}

/// The query of `GET /api/stats`.
#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    /// First day (YYYY-MM-DD; default: 30 days ago).
    pub from: Option<String>,
    /// Last day, included (default: today).
    pub to: Option<String>,
    /// `day` (default) or `week`.
    pub granularity: Option<String>,
}

/// `GET /api/stats`: questions per period, answered / abstained / curated
/// / handed off, thumbs, median latency, topics, top unanswered questions
/// (the same question in other words counted once, see
/// [`crate::conversations::stats::group_similar`]).
#[utoipa::path(get, path = "/api/stats", tag = "référents", security(("bearer" = [])),
    params(("from" = Option<String>, Query, format = Date), ("to" = Option<String>, Query, format = Date), ("granularity" = Option<String>, Query)),
    responses((status = 200, body = crate::conversations::stats::Stats), (status = 422, body = super::error::ErrorBody)))]
pub async fn stats(
    State(state): State<AppState>,
    _staff: Staff,
    axum::extract::Query(q): axum::extract::Query<StatsQuery>,
) -> Result<Response> {
    // Days are the town's (Europe/Paris by default), as référents live them.
    let tz = state.settings.town.zone();
    let now = crate::time::now_secs();
    let to = q.to.unwrap_or_else(|| crate::time::local_date(&tz, now));
    let from = q
        .from
        .unwrap_or_else(|| crate::time::local_date(&tz, now.saturating_sub(30 * 86_400)));
    if !crate::conversations::stats::check_date(&from)
        || !crate::conversations::stats::check_date(&to)
    {
        return Err(Error::Invalid(
            "« from » et « to » sont des dates AAAA-MM-JJ.".into(),
        ));
    }
    let week = match q.granularity.as_deref() {
        None | Some("day") => false,
        Some("week") => true,
        Some(_) => return Err(Error::Invalid("« granularity » vaut day ou week.".into())),
    };
    let engine = state.engine()?;
    let min_group = state.settings.privacy.min_group_size;
    let mut s = engine
        .conversations()?
        .stats(&from, &to, week, min_group, &tz)?;
    // Grouped by similarity outside the store's lock.
    let embedder = engine.assistant.embedder();
    let groups = std::mem::take(&mut s.unanswered_groups);
    s.top_unanswered = tokio::task::spawn_blocking(move || {
        let embed = |texts: &[String]| -> Result<Vec<Vec<f32>>> {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Ok(embedder.embed(&refs, EmbedKind::Query)?)
        };
        crate::conversations::stats::group_similar(groups, &embed, min_group)
    })
    .await
    .map_err(|e| Error::Unavailable(format!("statistics task: {e}")))??;
    Ok(Json(s).into_response())
}

/// `GET /api/export` (admins): the town's knowledge — curated answers,
/// exclusions, reviewed evaluation cases, document metadata, users
/// without secrets — as one JSON object (`guichet export` writes the same
/// as JSONL files, with the documents' files).
#[utoipa::path(get, path = "/api/export", tag = "référents", security(("bearer" = [])),
    responses((status = 200, description = "`{curated, exclusions, eval_cases, documents, users}`"), (status = 403, body = super::error::ErrorBody)))]
pub async fn export(State(state): State<AppState>, staff: Staff) -> Result<Response> {
    staff.require(Role::Admin)?;
    let db = state.engine()?.data_dir.join("guichet.db");
    let k = tokio::task::spawn_blocking(move || crate::durability::export::collect(&db))
        .await
        .map_err(|e| Error::Unavailable(format!("export task: {e}")))??;
    Ok(Json(k).into_response())
}

/// The query of `POST /api/import`.
#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    /// Say what would change, write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// `skip` (default) or `replace` items that differ.
    #[serde(default)]
    pub on_conflict: crate::durability::export::OnConflict,
}

/// `POST /api/import` (admins): imports an object of `GET /api/export`
/// (idempotent). Documents need their files: import them with
/// `guichet import` or upload them; here they are reported as missing.
#[utoipa::path(post, path = "/api/import", tag = "référents", security(("bearer" = [])),
    params(("dry_run" = Option<bool>, Query), ("on_conflict" = Option<String>, Query)),
    responses((status = 200, description = "`{added, replaced, unchanged, conflicts, missing_files, new_tokens, dry_run}`"), (status = 403, body = super::error::ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    staff: Staff,
    axum::extract::Query(q): axum::extract::Query<ImportQuery>,
    ApiJson(k): ApiJson<crate::durability::export::Knowledge>,
) -> Result<Response> {
    staff.require(Role::Admin)?;
    let engine = state.engine()?;
    let data_dir = engine.data_dir.clone();
    let embedder = engine.assistant.embedder().clone();
    let report = tokio::task::spawn_blocking(move || {
        let embed = |texts: &[String]| -> Result<Vec<Vec<f32>>> {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            Ok(embedder.embed(&refs, EmbedKind::Query)?)
        };
        crate::durability::export::import(
            &k,
            &data_dir.join("guichet.db"),
            crate::durability::export::ImportOptions {
                data_dir: &data_dir,
                files_dir: None,
                policy: q.on_conflict,
                dry_run: q.dry_run,
            },
            &embed,
            &mut |_, _| Ok(()),
        )
    })
    .await
    .map_err(|e| Error::Unavailable(format!("import task: {e}")))??;
    if !report.dry_run {
        store(&state)?.audit(
            &staff.name,
            "import",
            "",
            &format!("{} change(s)", report.changes()),
        )?;
    }
    Ok(Json(report).into_response())
}
