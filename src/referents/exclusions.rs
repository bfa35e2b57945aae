//! Excluded topics: questions matching their keywords get the town's
//! message instead of an answer.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::Referents;
use crate::schema::json_column;
use crate::{Error, Result};

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
    #[schema(min_items = 1)]
    pub keywords: Vec<String>,
    /// The message given instead of an answer.
    #[schema(pattern = r"\S")]
    pub message: String,
    /// The contact to give (e.g. the service in charge).
    #[serde(default)]
    pub contact: String,
    /// Who created it.
    #[serde(default)]
    pub created_by: String,
    /// When (UTC; set by the store).
    #[serde(default)]
    pub created_at: String,
}

const COLUMNS: &str = "id, topic, keywords, message, contact, created_by, created_at";

fn exclusion_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Exclusion> {
    Ok(Exclusion {
        id: r.get(0)?,
        topic: r.get(1)?,
        keywords: json_column(r, 2, "exclusions")?,
        message: r.get(3)?,
        contact: r.get(4)?,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
    })
}

/// The first exclusion named `topic` (an import matches exclusions by
/// their topic), read on `conn`, a caller's transaction.
pub fn exclusion_by_topic(conn: &Connection, topic: &str) -> Result<Option<Exclusion>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM exclusions WHERE topic = ?1 ORDER BY id LIMIT 1"),
            [topic],
            exclusion_row,
        )
        .optional()?)
}

/// Writes an exclusion on `conn` (`created_at` empty: now); returns its id.
pub fn insert_exclusion(conn: &Connection, e: &Exclusion) -> Result<i64> {
    if e.keywords.iter().all(|k| k.trim().is_empty()) {
        return Err(Error::Invalid(
            "Une exclusion a besoin d'au moins un mot-clé.".into(),
        ));
    }
    conn.execute(
        "INSERT INTO exclusions(topic, keywords, message, contact, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, COALESCE(NULLIF(?6, ''), strftime('%Y-%m-%dT%H:%M:%SZ','now')))",
        params![
            e.topic,
            serde_json::to_string(&e.keywords).unwrap_or_else(|_| "[]".into()),
            e.message,
            e.contact,
            e.created_by,
            e.created_at
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Deletes exclusion `id` on `conn`; false when unknown.
pub fn delete_exclusion_on(conn: &Connection, id: i64) -> Result<bool> {
    Ok(conn.execute("DELETE FROM exclusions WHERE id = ?1", [id])? > 0)
}

impl Referents {
    /// Stores an exclusion; returns its id.
    pub fn add_exclusion(&self, e: &Exclusion) -> Result<i64> {
        insert_exclusion(&self.conn, e)
    }

    /// Every exclusion.
    pub fn exclusions(&self) -> Result<Vec<Exclusion>> {
        let mut st = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM exclusions ORDER BY id"))?;
        let rows = st.query_map([], exclusion_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Deletes an exclusion; false when unknown.
    pub fn delete_exclusion(&self, id: i64) -> Result<bool> {
        delete_exclusion_on(&self.conn, id)
    }
}
