//! Curated answers: validated by a référent, served verbatim (before the
//! abstention check, so a curated answer is given even where the documents
//! are weak) to questions close to their question or variants (whose
//! embeddings are stored beside them), until their expiry date.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::Referents;
use crate::schema::{blob, json_column, unblob};
use crate::Result;

/// A curated answer: validated by a référent, served verbatim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Curated {
    /// Its id.
    #[serde(default)]
    pub id: i64,
    /// The question it answers.
    #[schema(pattern = r"\S")]
    pub question: String,
    /// Other wordings of the question.
    #[serde(default)]
    pub variants: Vec<String>,
    /// The validated answer, served as is.
    #[schema(pattern = r"\S")]
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
    #[schema(format = Date)]
    pub expires_at: Option<String>,
}

impl Curated {
    /// What makes this answer unfit to be stored (French, for the référent),
    /// if anything: one check for the API and for imports.
    pub fn problem(&self) -> Option<String> {
        if self.question.trim().is_empty() || self.answer.trim().is_empty() {
            return Some("Une réponse validée a besoin d'une question et d'une réponse.".into());
        }
        if !self.validated_at.is_empty() && !crate::time::is_date_or_time(&self.validated_at) {
            return Some(format!(
                "date de validation invalide « {} »",
                self.validated_at
            ));
        }
        match self.expires_at.as_deref() {
            Some(d) if crate::time::days_since_epoch(d).is_none() => Some(format!(
                "« expires_at » doit être une date AAAA-MM-JJ (« {d} »)."
            )),
            _ => None,
        }
    }
}

/// The columns [`Referents::curated_row`] reads, in its order.
const COLUMNS: &str =
    "id, question, variants, answer, sources, validated_by, validated_at, expires_at";

fn insert_vectors(conn: &Connection, id: i64, vectors: &[(String, Vec<f32>)]) -> Result<()> {
    for (text, v) in vectors {
        conn.execute(
            "INSERT INTO curated_vectors(curated_id, text, embedding) VALUES (?1, ?2, ?3)",
            params![id, text, blob(v)],
        )?;
    }
    Ok(())
}

/// The first curated answer whose question is `question` (an import
/// matches answers by their question), read on `conn`: these row
/// functions run inside a caller's transaction (an import's), the
/// [`Referents`] methods in their own.
pub fn curated_by_question(conn: &Connection, question: &str) -> Result<Option<Curated>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM curated WHERE question = ?1 ORDER BY id LIMIT 1"),
            [question],
            Referents::curated_row,
        )
        .optional()?)
}

/// Writes a curated answer with the embeddings of its question and
/// variants on `conn` (`validated_at` empty: now); returns its id.
pub fn insert_curated(
    conn: &Connection,
    c: &Curated,
    vectors: &[(String, Vec<f32>)],
) -> Result<i64> {
    conn.execute(
        "INSERT INTO curated(question, variants, answer, sources, validated_by, validated_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, COALESCE(NULLIF(?6, ''), strftime('%Y-%m-%dT%H:%M:%SZ','now')), ?7)",
        params![
            c.question,
            serde_json::to_string(&c.variants).unwrap_or_else(|_| "[]".into()),
            c.answer,
            serde_json::to_string(&c.sources).unwrap_or_else(|_| "[]".into()),
            c.validated_by,
            c.validated_at,
            c.expires_at
        ],
    )?;
    let id = conn.last_insert_rowid();
    insert_vectors(conn, id, vectors)?;
    Ok(id)
}

/// Deletes curated answer `id` on `conn` (its vectors go with it); false
/// when unknown.
pub fn delete_curated_on(conn: &Connection, id: i64) -> Result<bool> {
    conn.execute("DELETE FROM curated_vectors WHERE curated_id = ?1", [id])?;
    Ok(conn.execute("DELETE FROM curated WHERE id = ?1", [id])? > 0)
}

impl Referents {
    /// Stores a curated answer with the embeddings of its question and
    /// variants (`vectors[i]` for `texts[i]`); returns its id.
    pub fn add_curated(&mut self, c: &Curated, vectors: &[(String, Vec<f32>)]) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let id = insert_curated(&tx, c, vectors)?;
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
    pub fn delete_curated(&mut self, id: i64) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let deleted = delete_curated_on(&tx, id)?;
        tx.commit()?;
        Ok(deleted)
    }

    /// A curated answer from a row of [`COLUMNS`].
    pub(crate) fn curated_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Curated> {
        Ok(Curated {
            id: r.get(0)?,
            question: r.get(1)?,
            variants: json_column(r, 2, "curated")?,
            answer: r.get(3)?,
            sources: json_column(r, 4, "curated")?,
            validated_by: r.get(5)?,
            validated_at: r.get(6)?,
            expires_at: r.get(7)?,
        })
    }

    /// Every curated answer (expired ones too), newest first.
    pub fn curated(&self) -> Result<Vec<Curated>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM curated ORDER BY id DESC"))?;
        let rows = st.query_map([], Self::curated_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One curated answer.
    pub fn curated_by_id(&self, id: i64) -> Result<Option<Curated>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM curated WHERE id = ?1"),
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
}
