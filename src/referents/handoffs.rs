//! Handoff tickets: a citizen asked for a person; a référent answers and
//! resolves the ticket.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::Referents;
use crate::schema::json_column;
use crate::{Error, Result};

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

impl Referents {
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
        Ok(Handoff {
            id: r.get(0)?,
            reference: r.get(1)?,
            conversation_id: r.get(2)?,
            contact: json_column(r, 3, "handoffs")?,
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
