//! What the town's staff build and supervise, stored beside the knowledge
//! base: user tokens and roles, the audit log, curated answers, excluded
//! topics, citizens' feedback and handoff tickets.
//!
//! Tokens are printed once at creation and stored only as their SHA-256
//! (they are 256-bit random strings, so a plain hash is enough, unlike
//! passwords); a presented token is hashed and compared in constant time
//! with every active user's hash.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::kb::store::{blob, unblob};
use crate::{Error, Result};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Subject expert: documents, curated answers, review.
    Referent,
    /// Everything a référent does, plus users and exports.
    Admin,
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "referent" => Ok(Self::Referent),
            "admin" => Ok(Self::Admin),
            _ => Err(format!("unknown role {s}: referent or admin")),
        }
    }
}

impl Role {
    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Referent => "referent",
            Role::Admin => "admin",
        }
    }
}

/// A user, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Unique name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// When the token was created.
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// One line of the audit log: who did what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// When (UTC).
    pub at: String,
    /// Who.
    pub user: String,
    /// What (`curated.create`, `user.revoke`…).
    pub action: String,
    /// On what (an id, a name).
    pub target: String,
    /// Details.
    pub detail: String,
}

/// A curated answer: validated by a référent, served verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Curated {
    /// Its id.
    #[serde(default)]
    pub id: i64,
    /// The question it answers.
    pub question: String,
    /// Other wordings of the question.
    #[serde(default)]
    pub variants: Vec<String>,
    /// The validated answer, served as is.
    pub answer: String,
    /// Its sources (titles, links), shown with it.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Who validated it.
    #[serde(default)]
    pub validated_by: String,
    /// When.
    #[serde(default)]
    pub validated_at: String,
    /// Date (YYYY-MM-DD) after which it is no longer served.
    #[serde(default)]
    pub expires_at: Option<String>,
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

/// A topic the assistant must not answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Exclusion {
    /// Its id.
    #[serde(default)]
    pub id: i64,
    /// What it is about (for référents).
    pub topic: String,
    /// Words or phrases that identify it in a question (any one matches,
    /// compared without case or accents, on whole words).
    pub keywords: Vec<String>,
    /// The message given instead of an answer.
    pub message: String,
    /// The contact to give (e.g. the service in charge).
    #[serde(default)]
    pub contact: String,
    /// Who created it.
    #[serde(default)]
    pub created_by: String,
}

/// A handoff ticket: a citizen asked for a person.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Handoff {
    /// Its id.
    pub id: i64,
    /// The reference given to the citizen.
    pub reference: String,
    /// The conversation.
    pub conversation_id: String,
    /// The citizen's contact details (name, e-mail, phone), as given.
    #[schema(value_type = Object)]
    pub contact: serde_json::Value,
    /// The citizen's message.
    pub message: String,
    /// `open` or `resolved`.
    pub status: String,
    /// The human answer, once resolved.
    pub answer: Option<String>,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When it was opened.
    pub created_at: String,
}

/// SHA-256 of a token, hex.
fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two strings in time independent of where they differ.
fn constant_time_eq(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn insert_vectors(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    vectors: &[(String, Vec<f32>)],
) -> Result<()> {
    for (text, v) in vectors {
        tx.execute(
            "INSERT INTO curated_vectors(curated_id, text, embedding) VALUES (?1, ?2, ?3)",
            params![id, text, blob(v)],
        )?;
    }
    Ok(())
}

/// The référents' tables.
pub struct Referents {
    conn: Connection,
}

impl Referents {
    /// Opens (creating) the tables in the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        let conn = crate::schema::open(path)?;
        Ok(Self { conn })
    }

    /// Creates a user; returns its token (shown once, never stored).
    pub fn add_user(&self, name: &str, role: Role) -> Result<String> {
        if name.trim().is_empty() {
            return Err(Error::Usage("a user needs a name".into()));
        }
        let bytes: [u8; 32] = rand::random();
        let token = format!(
            "gui_{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        self.conn
            .execute(
                "INSERT INTO users(name, role, token_sha256) VALUES (?1, ?2, ?3)",
                params![name, role.as_str(), digest(&token)],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    Error::Usage(format!("a user named {name} exists: revoke it first"))
                }
                e => e.into(),
            })?;
        self.audit(name, "user.create", name, role.as_str())?;
        Ok(token)
    }

    /// Every user (revoked ones too).
    pub fn users(&self) -> Result<Vec<User>> {
        let mut st = self
            .conn
            .prepare("SELECT name, role, created_at, revoked_at FROM users ORDER BY name")?;
        let rows = st.query_map([], |r| {
            let role: String = r.get(1)?;
            Ok(User {
                name: r.get(0)?,
                role: role.parse().unwrap_or(Role::Referent),
                created_at: r.get(2)?,
                revoked_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Revokes a user's token; false when there is no such active user.
    pub fn revoke(&self, name: &str) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE users SET revoked_at = strftime('%Y-%m-%dT%H:%M:%SZ','now'), name = name || '#revoked-' || id
             WHERE name = ?1 AND revoked_at IS NULL",
            [name],
        )?;
        if n > 0 {
            self.audit(name, "user.revoke", name, "")?;
        }
        Ok(n > 0)
    }

    /// The active user a token belongs to.
    pub fn authenticate(&self, token: &str) -> Result<Option<(String, Role)>> {
        let presented = digest(token);
        let mut st = self.conn.prepare_cached(
            "SELECT name, role, token_sha256 FROM users WHERE revoked_at IS NULL",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut found = None;
        for (name, role, hash) in rows {
            // Every row is compared, so timing does not tell which matched.
            if constant_time_eq(&hash, &presented) {
                found = Some((name, role.parse().unwrap_or(Role::Referent)));
            }
        }
        Ok(found)
    }

    /// Writes an audit entry.
    pub fn audit(&self, user: &str, action: &str, target: &str, detail: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO audit(user, action, target, detail) VALUES (?1, ?2, ?3, ?4)",
            params![user, action, target, detail],
        )?;
        Ok(())
    }

    /// The latest audit entries, newest first.
    pub fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut st = self.conn.prepare(
            "SELECT at, user, action, target, detail FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], |r| {
            Ok(AuditEntry {
                at: r.get(0)?,
                user: r.get(1)?,
                action: r.get(2)?,
                target: r.get(3)?,
                detail: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Stores a curated answer with the embeddings of its question and
    /// variants (`vectors[i]` for `texts[i]`); returns its id.
    pub fn add_curated(&mut self, c: &Curated, vectors: &[(String, Vec<f32>)]) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO curated(question, variants, answer, sources, validated_by, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                c.question,
                serde_json::to_string(&c.variants).unwrap_or_else(|_| "[]".into()),
                c.answer,
                serde_json::to_string(&c.sources).unwrap_or_else(|_| "[]".into()),
                c.validated_by,
                c.expires_at
            ],
        )?;
        let id = tx.last_insert_rowid();
        insert_vectors(&tx, id, vectors)?;
        tx.commit()?;
        Ok(id)
    }

    /// Replaces a curated answer (and its vectors); false when unknown.
    pub fn update_curated(
        &mut self,
        id: i64,
        c: &Curated,
        vectors: &[(String, Vec<f32>)],
    ) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE curated SET question = ?2, variants = ?3, answer = ?4, sources = ?5,
                validated_by = ?6, expires_at = ?7,
                validated_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?1",
            params![
                id,
                c.question,
                serde_json::to_string(&c.variants).unwrap_or_else(|_| "[]".into()),
                c.answer,
                serde_json::to_string(&c.sources).unwrap_or_else(|_| "[]".into()),
                c.validated_by,
                c.expires_at
            ],
        )?;
        if n > 0 {
            tx.execute("DELETE FROM curated_vectors WHERE curated_id = ?1", [id])?;
            insert_vectors(&tx, id, vectors)?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Deletes a curated answer; false when unknown.
    pub fn delete_curated(&self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM curated WHERE id = ?1", [id])?
            > 0)
    }

    /// A curated answer from a row of `id, question, variants, answer,
    /// sources, validated_by, validated_at, expires_at`.
    pub(crate) fn curated_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Curated> {
        let variants: String = r.get(2)?;
        let sources: String = r.get(4)?;
        Ok(Curated {
            id: r.get(0)?,
            question: r.get(1)?,
            variants: serde_json::from_str(&variants).unwrap_or_default(),
            answer: r.get(3)?,
            sources: serde_json::from_str(&sources).unwrap_or_default(),
            validated_by: r.get(5)?,
            validated_at: r.get(6)?,
            expires_at: r.get(7)?,
        })
    }

    /// Every curated answer (expired ones too), newest first.
    pub fn curated(&self) -> Result<Vec<Curated>> {
        let mut st = self.conn.prepare(
            "SELECT id, question, variants, answer, sources, validated_by, validated_at, expires_at
             FROM curated ORDER BY id DESC",
        )?;
        let rows = st.query_map([], Self::curated_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One curated answer.
    pub fn curated_by_id(&self, id: i64) -> Result<Option<Curated>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, question, variants, answer, sources, validated_by, validated_at, expires_at
                 FROM curated WHERE id = ?1",
                [id],
                Self::curated_row,
            )
            .optional()?)
    }

    /// The vectors of the curated answers still valid on `today`
    /// (YYYY-MM-DD): (curated id, text, vector).
    pub fn live_curated_vectors(&self, today: &str) -> Result<Vec<(i64, String, Vec<f32>)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT v.curated_id, v.text, v.embedding FROM curated_vectors v JOIN curated c ON c.id = v.curated_id
             WHERE c.expires_at IS NULL OR c.expires_at >= ?1",
        )?;
        let rows = st.query_map([today], |r| {
            let b: Vec<u8> = r.get(2)?;
            Ok((r.get(0)?, r.get(1)?, unblob(&b)))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Stores an exclusion; returns its id.
    pub fn add_exclusion(&self, e: &Exclusion) -> Result<i64> {
        if e.keywords.iter().all(|k| k.trim().is_empty()) {
            return Err(Error::Invalid(
                "Une exclusion a besoin d'au moins un mot-clé.".into(),
            ));
        }
        self.conn.execute(
            "INSERT INTO exclusions(topic, keywords, message, contact, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                e.topic,
                serde_json::to_string(&e.keywords).unwrap_or_else(|_| "[]".into()),
                e.message,
                e.contact,
                e.created_by
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Every exclusion.
    pub fn exclusions(&self) -> Result<Vec<Exclusion>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, topic, keywords, message, contact, created_by FROM exclusions ORDER BY id",
        )?;
        let rows = st.query_map([], |r| {
            let k: String = r.get(2)?;
            Ok(Exclusion {
                id: r.get(0)?,
                topic: r.get(1)?,
                keywords: serde_json::from_str(&k).unwrap_or_default(),
                message: r.get(3)?,
                contact: r.get(4)?,
                created_by: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Deletes an exclusion; false when unknown.
    pub fn delete_exclusion(&self, id: i64) -> Result<bool> {
        Ok(self
            .conn
            .execute("DELETE FROM exclusions WHERE id = ?1", [id])?
            > 0)
    }

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
            let e: String = r.get(4)?;
            Ok(Review {
                answer_id: r.get(0)?,
                verdict: r.get(1)?,
                reason: r.get(2)?,
                corrected_answer: r.get(3)?,
                expected_sources: serde_json::from_str(&e).unwrap_or_default(),
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
    pub fn review_queue(&self, limit: usize) -> Result<Vec<serde_json::Value>> {
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
            let sources: String = r.get(4)?;
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
            Ok(serde_json::json!({
                "answer_id": r.get::<_, String>(0)?,
                "question": r.get::<_, String>(1)?,
                "answer": r.get::<_, String>(2)?,
                "status": status,
                "sources": serde_json::from_str::<serde_json::Value>(&sources).unwrap_or_default(),
                "created_at": r.get::<_, String>(5)?,
                "comments": r.get::<_, Option<String>>(6)?,
                "handoff": handoff,
                "why": why,
            }))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Opens a handoff ticket; returns its reference (`H-…`).
    pub fn open_handoff(
        &self,
        conversation_id: &str,
        contact: &serde_json::Value,
        message: &str,
    ) -> Result<Handoff> {
        let r: u32 = rand::random();
        let reference = format!("H-{:08X}", r);
        self.conn.execute(
            "INSERT INTO handoffs(reference, conversation_id, contact, message) VALUES (?1, ?2, ?3, ?4)",
            params![reference, conversation_id, contact.to_string(), message],
        )?;
        let id = self.conn.last_insert_rowid();
        self.handoff(id)?
            .ok_or_else(|| Error::Unavailable("handoff vanished after insert".into()))
    }

    fn handoff_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Handoff> {
        let c: String = r.get(3)?;
        Ok(Handoff {
            id: r.get(0)?,
            reference: r.get(1)?,
            conversation_id: r.get(2)?,
            contact: serde_json::from_str(&c).unwrap_or_default(),
            message: r.get(4)?,
            status: r.get(5)?,
            answer: r.get(6)?,
            resolved_by: r.get(7)?,
            created_at: r.get(8)?,
        })
    }

    /// One handoff ticket.
    pub fn handoff(&self, id: i64) -> Result<Option<Handoff>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, reference, conversation_id, contact, message, status, answer, resolved_by, created_at
                 FROM handoffs WHERE id = ?1",
                [id],
                Self::handoff_row,
            )
            .optional()?)
    }

    /// Handoff tickets, newest first (only open ones when `open_only`).
    pub fn handoffs(&self, open_only: bool) -> Result<Vec<Handoff>> {
        let mut st = self.conn.prepare(
            "SELECT id, reference, conversation_id, contact, message, status, answer, resolved_by, created_at
             FROM handoffs WHERE (?1 = 0 OR status = 'open') ORDER BY id DESC",
        )?;
        let rows = st.query_map([i64::from(open_only)], Self::handoff_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Resolves a ticket with the human answer; false when unknown.
    pub fn resolve_handoff(&self, id: i64, answer: &str, by: &str) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE handoffs SET status = 'resolved', answer = ?2, resolved_by = ?3,
                resolved_at = strftime('%Y-%m-%dT%H:%M:%SZ','now') WHERE id = ?1",
            params![id, answer, by],
        )? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_authenticate_until_revoked_and_are_stored_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("guichet.db");
        let r = Referents::open(&db).unwrap();
        let t = r.add_user("alice", Role::Referent).unwrap();
        assert!(t.starts_with("gui_") && t.len() == 68);
        assert!(r.add_user("alice", Role::Admin).is_err());
        assert_eq!(
            r.authenticate(&t).unwrap(),
            Some(("alice".into(), Role::Referent))
        );
        assert_eq!(r.authenticate("gui_nope").unwrap(), None);
        let raw = std::fs::read(&db).unwrap();
        assert!(!raw.windows(t.len()).any(|w| w == t.as_bytes()));
        assert!(r.revoke("alice").unwrap());
        assert_eq!(r.authenticate(&t).unwrap(), None);
        assert!(!r.revoke("alice").unwrap());
        // The name is free again after revocation.
        r.add_user("alice", Role::Admin).unwrap();
        assert_eq!(r.users().unwrap().len(), 2);
        assert!(r
            .audit_log(10)
            .unwrap()
            .iter()
            .any(|e| e.action == "user.revoke"));
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd"));
    }

    #[test]
    fn expired_curated_answers_have_no_live_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = Referents::open(&dir.path().join("g.db")).unwrap();
        let mut c = Curated {
            id: 0,
            question: "Horaires de la mairie ?".into(),
            variants: vec!["Quand la mairie est-elle ouverte ?".into()],
            answer: "Du lundi au vendredi.".into(),
            sources: Vec::new(),
            validated_by: "alice".into(),
            validated_at: String::new(),
            expires_at: Some("2026-06-30".into()),
        };
        let id = r.add_curated(&c, &[("q".into(), vec![1.0, 0.0])]).unwrap();
        assert_eq!(r.live_curated_vectors("2026-06-30").unwrap().len(), 1);
        assert!(r.live_curated_vectors("2026-07-01").unwrap().is_empty());
        c.expires_at = None;
        assert!(r
            .update_curated(id, &c, &[("q".into(), vec![0.0, 1.0])])
            .unwrap());
        assert_eq!(
            r.live_curated_vectors("2099-01-01").unwrap()[0].2,
            vec![0.0, 1.0]
        );
        assert!(r.delete_curated(id).unwrap());
        assert!(r.live_curated_vectors("2026-01-01").unwrap().is_empty());
    }
}
