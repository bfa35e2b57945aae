//! What the town's staff build and supervise, stored beside the knowledge
//! base: user tokens and roles, the audit log, curated answers, excluded
//! topics, citizens' feedback and handoff tickets.
//!
//! Users and their tokens are in `users.rs`; notices waiting for delivery
//! in [`notifications`].

use std::path::Path;

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::{Error, Result};

mod curated;
mod exclusions;
mod handoffs;
pub mod notifications;
mod reviews;
mod users;

pub use curated::{curated_by_question, delete_curated_on, insert_curated, Curated};
pub use exclusions::{delete_exclusion_on, exclusion_by_topic, insert_exclusion, Exclusion};
pub use handoffs::Handoff;
pub use reviews::{eval_case, eval_cases, put_eval_case, QueueItem, Review, REASONS};
pub use users::{
    constant_time_eq, insert_user, name_problem, revoke_on, update_user_on, user_exists, Profile,
    Role, User, UserChange,
};

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

/// Appends an audit entry on `conn`.
pub fn audit_on(
    conn: &Connection,
    user: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<()> {
    conn.execute(
        "INSERT INTO audit(user, action, target, detail) VALUES (?1, ?2, ?3, ?4)",
        params![user, action, target, detail],
    )?;
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

    /// Writes an audit entry.
    pub fn audit(&self, user: &str, action: &str, target: &str, detail: &str) -> Result<()> {
        audit_on(&self.conn, user, action, target, detail)
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_stored_row_is_an_error_naming_it_not_an_empty_value() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.db");
        let r = Referents::open(&db).unwrap();
        let conn = crate::schema::open(&db).unwrap();
        conn.execute(
            "INSERT INTO exclusions(topic, keywords, message, created_by) VALUES ('urbanisme', '[\"plu\"', 'Non.', 'alice')",
            [],
        )
        .unwrap();
        let e = r.exclusions().unwrap_err().to_string();
        assert!(
            e.contains("exclusions row 1") && e.contains("not valid JSON"),
            "{e}"
        );
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
