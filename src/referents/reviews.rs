//! Citizens' ratings of answers, the référents' verdicts on them and the
//! review queue built from both.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::Referents;
use crate::schema::json_column;
use crate::{Error, Result};

/// An answer waiting for a référent's verdict (`GET /api/review`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueueItem {
    /// The answer's id.
    pub answer_id: String,
    /// The citizen's question (masked).
    pub question: String,
    /// The answer given.
    pub answer: String,
    /// What became of it (`answered`, `not_found`…).
    pub status: String,
    /// Its sources, as stored with the answer.
    #[schema(value_type = Vec<Object>)]
    pub sources: serde_json::Value,
    /// When it was given (UTC).
    pub created_at: String,
    /// Citizens' comments with their thumbs-down, if any.
    pub comments: Option<String>,
    /// The reference of the handoff ticket of its conversation, if any.
    pub handoff: Option<String>,
    /// Why it is queued: `handoff`, `thumbs_down`, `no_valid_citation` or
    /// `abstention`.
    pub why: String,
}

/// Why an answer was wrong: a fixed list, so that statistics show which
/// kind of failure dominates.
pub const REASONS: &[&str] = &[
    "invented_facts",
    "incomplete",
    "wrong_or_missing_sources",
    "obsolete_source",
    "question_misunderstood",
    "should_have_refused",
    "should_have_answered",
];

/// A référent's verdict on an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Review {
    /// The answer reviewed.
    #[serde(default)]
    pub answer_id: String,
    /// `correct`, `incorrect` or `corrected`.
    pub verdict: String,
    /// For `incorrect` and `corrected`: one of [`REASONS`].
    #[serde(default)]
    pub reason: Option<String>,
    /// The right answer (`corrected`).
    #[serde(default)]
    pub corrected_answer: Option<String>,
    /// The documents that hold the answer (file names).
    #[serde(default)]
    pub expected_sources: Vec<String>,
    /// Who reviewed.
    #[serde(default)]
    pub reviewer: String,
    /// The curated answer made from it, if any.
    #[serde(default)]
    pub curated_id: Option<i64>,
    /// When.
    #[serde(default)]
    pub created_at: String,
}

/// Imported evaluation cases (table `eval_cases`), by id, read on `conn`:
/// a case that does not parse is an error naming it.
pub fn eval_cases(conn: &Connection) -> Result<Vec<(String, serde_json::Value)>> {
    let mut st = conn.prepare("SELECT id, case_json FROM eval_cases ORDER BY id")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, json_column(r, 1, "eval_cases")?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One imported evaluation case, read on `conn`.
pub fn eval_case(conn: &Connection, id: &str) -> Result<Option<serde_json::Value>> {
    Ok(conn
        .query_row(
            "SELECT id, case_json FROM eval_cases WHERE id = ?1",
            [id],
            |r| json_column(r, 1, "eval_cases"),
        )
        .optional()?)
}

/// Writes (or replaces) imported evaluation case `id` on `conn`.
pub fn put_eval_case(conn: &Connection, id: &str, case: &serde_json::Value) -> Result<()> {
    conn.execute(
        "INSERT INTO eval_cases(id, case_json) VALUES (?1, ?2)
         ON CONFLICT(id) DO UPDATE SET case_json = excluded.case_json",
        params![id, case.to_string()],
    )?;
    Ok(())
}

impl Referents {
    /// Stores a citizen's rating of an answer.
    pub fn add_feedback(&self, answer_id: &str, up: bool, comment: Option<&str>) -> Result<()> {
        self.conn.execute(
            "INSERT INTO feedback(answer_id, rating, comment) VALUES (?1, ?2, ?3)",
            params![answer_id, if up { "up" } else { "down" }, comment],
        )?;
        Ok(())
    }

    /// Thumbs-down ratings: (answer id, comment, when), newest first.
    pub fn negative_feedback(&self) -> Result<Vec<(String, Option<String>, String)>> {
        let mut st = self.conn.prepare(
            "SELECT answer_id, comment, created_at FROM feedback WHERE rating = 'down' ORDER BY id DESC",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Checks a verdict against the fixed lists.
    pub fn check_review(&self, r: &Review) -> Result<()> {
        if !["correct", "incorrect", "corrected"].contains(&r.verdict.as_str()) {
            return Err(Error::Invalid(
                "« verdict » vaut correct, incorrect ou corrected.".into(),
            ));
        }
        if r.verdict != "correct" {
            match &r.reason {
                Some(x) if REASONS.contains(&x.as_str()) => {}
                _ => {
                    return Err(Error::Invalid(format!(
                        "« reason » est obligatoire pour ce verdict, parmi : {}.",
                        REASONS.join(", ")
                    )))
                }
            }
        }
        if r.verdict == "corrected"
            && r.corrected_answer
                .as_ref()
                .is_none_or(|a| a.trim().is_empty())
        {
            return Err(Error::Invalid(
                "« corrected_answer » est obligatoire pour le verdict corrected.".into(),
            ));
        }
        Ok(())
    }

    /// Stores a verdict (checked first); returns its id.
    pub fn add_review(&self, r: &Review) -> Result<i64> {
        self.check_review(r)?;
        self.conn.execute(
            "INSERT INTO reviews(answer_id, verdict, reason, corrected_answer, expected_sources, reviewer, curated_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                r.answer_id,
                r.verdict,
                r.reason,
                r.corrected_answer,
                serde_json::to_string(&r.expected_sources).unwrap_or_else(|_| "[]".into()),
                r.reviewer,
                r.curated_id
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Every verdict, oldest first.
    pub fn reviews(&self) -> Result<Vec<Review>> {
        let mut st = self.conn.prepare(
            "SELECT answer_id, verdict, reason, corrected_answer, expected_sources, reviewer, curated_id, created_at
             FROM reviews ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(Review {
                answer_id: r.get(0)?,
                verdict: r.get(1)?,
                reason: r.get(2)?,
                corrected_answer: r.get(3)?,
                expected_sources: json_column(r, 4, "reviews")?,
                reviewer: r.get(5)?,
                curated_id: r.get(6)?,
                created_at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The review queue, newest first: answers with a thumbs-down,
    /// abstentions, generated answers that failed their citation check
    /// (the extractive answer was shown instead), and open handoffs, not
    /// yet reviewed. Reads the
    /// conversation tables of the same database.
    pub fn review_queue(&self, limit: usize) -> Result<Vec<QueueItem>> {
        let mut st = self.conn.prepare(
            "SELECT a.id, a.question, a.answer, a.status, a.sources, a.created_at,
                    (SELECT group_concat(coalesce(f.comment, ''), ' | ') FROM feedback f WHERE f.answer_id = a.id AND f.rating = 'down'),
                    (SELECT count(*) FROM feedback f WHERE f.answer_id = a.id AND f.rating = 'down'),
                    (SELECT h.reference FROM handoffs h WHERE h.conversation_id = a.conversation_id AND h.status = 'open' LIMIT 1),
                    a.fallback
             FROM answers a
             WHERE NOT EXISTS (SELECT 1 FROM reviews r WHERE r.answer_id = a.id)
               AND (a.status IN ('not_found', 'out_of_scope') OR a.fallback = 1
                    OR EXISTS (SELECT 1 FROM feedback f WHERE f.answer_id = a.id AND f.rating = 'down')
                    OR EXISTS (SELECT 1 FROM handoffs h WHERE h.conversation_id = a.conversation_id AND h.status = 'open'))
             ORDER BY a.created_at DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], |r| {
            let sources: serde_json::Value = json_column(r, 4, "answers")?;
            let downs: i64 = r.get(7)?;
            let handoff: Option<String> = r.get(8)?;
            let status: String = r.get(3)?;
            let fallback: bool = r.get(9)?;
            let why = if handoff.is_some() {
                "handoff"
            } else if downs > 0 {
                "thumbs_down"
            } else if fallback {
                "no_valid_citation"
            } else {
                "abstention"
            };
            Ok(QueueItem {
                answer_id: r.get(0)?,
                question: r.get(1)?,
                answer: r.get(2)?,
                status,
                sources,
                created_at: r.get(5)?,
                comments: r.get(6)?,
                handoff,
                why: why.to_string(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}
