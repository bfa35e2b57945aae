//! Conversations: every citizen question and its answer, stored with the
//! sources, status, timings and model, for the conversation's follow-ups,
//! statistics and the référents' review.
//!
//! Questions are stored masked ([`guichet_text::privacy`]); the original only when
//! `privacy.keep_original_questions` is set. The tables live in the
//! knowledge base's database file, through a connection of their own so
//! that storing an answer never waits for a search.

pub mod stats;

use std::path::Path;

use guichet_text::privacy::mask_personal_data;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::schema::json_column;
use crate::Result;

/// One stored exchange, as `GET /api/conversations/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StoredMessage {
    /// The answer's id (for feedback).
    pub answer_id: String,
    /// The question, masked.
    pub question: String,
    /// The question as searched.
    pub standalone_question: String,
    /// The answer text.
    pub answer: String,
    /// What became of it.
    pub status: String,
    /// Confidence score.
    pub confidence: f64,
    /// Municipal topic.
    pub topic: Option<String>,
    /// Its sources.
    pub sources: serde_json::Value,
    /// Its timings.
    pub timings: serde_json::Value,
    /// The model that wrote it.
    pub model: String,
    /// When (UTC).
    pub created_at: String,
}

/// One exchange of a conversation (a turn of the assistant's history).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Turn {
    /// The citizen's message as typed.
    pub question: String,
    /// The standalone question it was searched as.
    pub standalone: String,
    /// The answer given.
    pub answer: String,
}

/// An exchange as this store keeps it: the answer's columns, so that the
/// store knows its rows and not the answering engine's types (the engine
/// builds one with `rag::Answer::exchange`).
#[derive(Debug, Clone)]
pub struct Exchange<'a> {
    /// The citizen's message as typed (masked before it is written).
    pub question: &'a str,
    /// The standalone question it was searched as (masked too).
    pub standalone: &'a str,
    /// The answer text.
    pub answer: &'a str,
    /// What became of it (`answered`, `not_found`…).
    pub status: &'a str,
    /// Confidence score.
    pub confidence: f64,
    /// Municipal topic.
    pub topic: Option<&'a str>,
    /// How it was written (`extractive`, `generative`…).
    pub mode: &'a str,
    /// The model that wrote it.
    pub model: &'a str,
    /// Its sources, as JSON.
    pub sources: serde_json::Value,
    /// Its timings, as JSON.
    pub timings: serde_json::Value,
    /// Prompt tokens read.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub generated_tokens: u64,
    /// Whether a generated answer fell back to the extractive one.
    pub fallback: bool,
}

/// A stored question drawn for a draft evaluation set.
#[derive(Debug, Clone)]
pub struct Sampled {
    /// Its answer's id.
    pub answer_id: String,
    /// Its conversation.
    pub conversation_id: String,
    /// The masked question.
    pub question: String,
    /// What became of it.
    pub status: String,
    /// Sources its answer cited (paths or URLs).
    pub cited: Vec<String>,
    /// When (UTC).
    pub created_at: String,
}

/// The documents an answer cited, from its stored sources.
fn cited(sources: Vec<serde_json::Value>) -> Vec<String> {
    sources
        .iter()
        .filter(|s| s["cited"] == true)
        .filter_map(|s| s["source"].as_str().map(str::to_string))
        .collect()
}

/// The conversation tables.
pub struct Conversations {
    conn: Connection,
    keep_original: bool,
}

/// A fresh random identifier (128 bits, hex): conversation and answer ids
/// are unguessable, since they give access to a conversation.
pub fn new_id() -> String {
    let a: u128 = rand::random();
    format!("{a:032x}")
}

impl Conversations {
    /// Opens the tables in the database at `path`.
    pub fn open(path: &Path, keep_original: bool) -> Result<Self> {
        let conn = crate::schema::open(path)?;
        Ok(Self {
            conn,
            keep_original,
        })
    }

    /// Whether the conversation exists.
    pub fn exists(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM conversations WHERE id = ?1",
                [id],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The (masked) question and the answer of an answer id.
    pub fn answer_text(&self, id: &str) -> Result<Option<(String, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT question, answer FROM answers WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The status of an answer and the sources it cited (paths or URLs).
    pub fn answer_outcome(&self, id: &str) -> Result<Option<(String, Vec<String>)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, status, sources FROM answers WHERE id = ?1",
                [id],
                |r| Ok((r.get(1)?, cited(json_column(r, 2, "answers")?))),
            )
            .optional()?)
    }

    /// The statistics of the local days `from..=to` in `tz` (see
    /// [`stats`]).
    pub fn stats(
        &self,
        from: &str,
        to: &str,
        week: bool,
        min_group: u64,
        tz: &crate::time::TimeZone,
    ) -> Result<stats::Stats> {
        stats::compute(&self.conn, from, to, week, min_group, tz)
    }

    /// Whether an answer id exists.
    pub fn answer_exists(&self, id: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM answers WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Questions a conversation has asked (its per-conversation cap).
    pub fn question_count(&self, id: &str) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM answers WHERE conversation_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Questions answered since `since` (an RFC 3339 UTC time; the daily
    /// cap counts from the town's local midnight). Uses the `created_at`
    /// index.
    pub fn questions_since(&self, since: &str) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM answers WHERE created_at >= ?1",
            [since],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// The last `n` exchanges of a conversation, oldest first (the
    /// assistant's history).
    pub fn history(&self, id: &str, n: usize) -> Result<Vec<Turn>> {
        let mut st = self.conn.prepare_cached(
            "SELECT question, standalone, answer FROM answers WHERE conversation_id = ?1
             ORDER BY ordinal DESC LIMIT ?2",
        )?;
        let mut turns = st
            .query_map(params![id, n as i64], |r| {
                Ok(Turn {
                    question: r.get(0)?,
                    standalone: r.get(1)?,
                    answer: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        turns.reverse();
        Ok(turns)
    }

    /// Stores an exchange (creating the conversation if needed); the
    /// question is masked first. `channel` says which API it came from.
    pub fn record(
        &mut self,
        conversation_id: &str,
        answer_id: &str,
        e: &Exchange<'_>,
        channel: &str,
    ) -> Result<()> {
        let masked = mask_personal_data(e.question);
        let original = (self.keep_original && masked != e.question).then_some(e.question);
        let standalone = mask_personal_data(e.standalone);
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR IGNORE INTO conversations(id) VALUES (?1)",
            [conversation_id],
        )?;
        let ordinal: i64 = tx.query_row(
            "SELECT coalesce(max(ordinal), 0) + 1 FROM answers WHERE conversation_id = ?1",
            [conversation_id],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO answers(id, conversation_id, ordinal, question, question_original,
                standalone, answer, status, confidence, topic, mode, model, sources, timings,
                prompt_tokens, generated_tokens, channel, fallback)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            params![
                answer_id,
                conversation_id,
                ordinal,
                masked,
                original,
                standalone,
                e.answer,
                e.status,
                e.confidence,
                e.topic,
                e.mode,
                e.model,
                e.sources.to_string(),
                e.timings.to_string(),
                e.prompt_tokens as i64,
                e.generated_tokens as i64,
                channel,
                e.fallback,
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The messages of a conversation, oldest first; `None` if unknown.
    pub fn messages(&self, id: &str) -> Result<Option<Vec<StoredMessage>>> {
        if !self.exists(id)? {
            return Ok(None);
        }
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM answers WHERE conversation_id = ?1 ORDER BY ordinal"
        ))?;
        let rows = st
            .query_map([id], message_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Some(rows))
    }

    /// One answer with its question; `None` if unknown.
    pub fn message(&self, answer_id: &str) -> Result<Option<StoredMessage>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {MESSAGE_COLUMNS} FROM answers WHERE id = ?1"),
                [answer_id],
                message_row,
            )
            .optional()?)
    }

    /// Up to `n` stored questions asked between `from` and `to` (ISO dates,
    /// `to` included), drawn in a stable pseudo-random order (the answer
    /// ids are random), with their status and cited documents: the raw
    /// material of a draft evaluation set. Questions are the masked ones.
    pub fn sample(&self, from: &str, to: &str, n: usize) -> Result<Vec<Sampled>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, conversation_id, question, status, sources, created_at FROM answers
             WHERE substr(created_at, 1, 10) >= ?1 AND substr(created_at, 1, 10) <= ?2
             ORDER BY id LIMIT ?3",
        )?;
        let rows = st
            .query_map(params![from, to, n as i64], |r| {
                Ok(Sampled {
                    answer_id: r.get(0)?,
                    conversation_id: r.get(1)?,
                    question: r.get(2)?,
                    status: r.get(3)?,
                    cited: cited(json_column(r, 4, "answers")?),
                    created_at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The stored original question of an answer, if the configuration
    /// kept it (tests and the référents' review).
    pub fn original_question(&self, answer_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT question_original FROM answers WHERE id = ?1",
                [answer_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }
}

const MESSAGE_COLUMNS: &str =
    "id, question, standalone, answer, status, confidence, topic, sources, timings, model, created_at";

fn message_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredMessage> {
    Ok(StoredMessage {
        answer_id: r.get(0)?,
        question: r.get(1)?,
        standalone_question: r.get(2)?,
        answer: r.get(3)?,
        status: r.get(4)?,
        confidence: r.get(5)?,
        topic: r.get(6)?,
        sources: json_column(r, 7, "answers")?,
        timings: json_column(r, 8, "answers")?,
        model: r.get(9)?,
        created_at: r.get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(question: &str) -> Exchange<'_> {
        Exchange {
            question,
            standalone: "carte d'identité, jean@exemple.fr",
            answer: "Il faut une photo [1].",
            status: "answered",
            confidence: 0.9,
            topic: Some("papiers d'identité"),
            mode: "extractive",
            model: "extractif",
            sources: serde_json::json!([]),
            timings: serde_json::json!({}),
            prompt_tokens: 0,
            generated_tokens: 0,
            fallback: false,
        }
    }

    #[test]
    fn questions_are_stored_masked_and_the_original_only_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("guichet.db");
        let q = "Je suis jean@exemple.fr, que faut-il pour ma carte d'identité ?";
        for keep in [false, true] {
            let mut c = Conversations::open(&db, keep).unwrap();
            let (conv, id) = (new_id(), new_id());
            c.record(&conv, &id, &exchange(q), "api").unwrap();
            c.record(&conv, &new_id(), &exchange("et pour un mineur ?"), "api")
                .unwrap();
            let m = c.messages(&conv).unwrap().unwrap();
            assert_eq!(m.len(), 2);
            assert!(m[0].question.contains("[courriel]") && !m[0].question.contains("jean@"));
            assert!(!m[0].standalone_question.contains("jean@"));
            assert_eq!(
                c.original_question(&id).unwrap().as_deref(),
                keep.then_some(q)
            );
            let h = c.history(&conv, 1).unwrap();
            assert_eq!(h.len(), 1);
            assert_eq!(h[0].question, "et pour un mineur ?");
        }
        let c = Conversations::open(&db, false).unwrap();
        assert!(c.messages("inconnue").unwrap().is_none());
    }
}
