//! What the town's staff build and supervise, stored beside the knowledge
//! base: user tokens and roles, the audit log, curated answers, excluded
//! topics, citizens' feedback and handoff tickets.
//!
//! Tokens are printed once at creation and stored only as their SHA-256
//! (they are 256-bit random strings, so a plain hash is enough, unlike
//! passwords); a presented token is hashed and compared in constant time
//! with every active user's hash.

use std::path::Path;

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

mod curated;
mod exclusions;
mod handoffs;
mod reviews;

pub use curated::{curated_by_question, delete_curated_on, insert_curated, Curated};
pub use exclusions::{delete_exclusion_on, exclusion_by_topic, insert_exclusion, Exclusion};
pub use handoffs::Handoff;
pub use reviews::{eval_case, eval_cases, put_eval_case, QueueItem, Review, REASONS};

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

/// SHA-256 of a token, hex.
fn digest(token: &str) -> String {
    guichet_text::hex(&Sha256::digest(token.as_bytes()))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.bytes()
        .zip(b.bytes())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Creates user `name` with `role` on `conn` (a caller's transaction, or
/// the store's connection); returns the token, which is stored only as
/// its digest.
pub fn insert_user(conn: &Connection, name: &str, role: Role) -> Result<String> {
    if name.trim().is_empty() {
        return Err(Error::Usage("a user needs a name".into()));
    }
    let bytes: [u8; 32] = rand::random();
    let token = format!("gui_{}", guichet_text::hex(&bytes));
    conn.execute(
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
    audit_on(conn, name, "user.create", name, role.as_str())?;
    Ok(token)
}

/// Revokes `name`'s token on `conn`; false when there is no such active
/// user.
pub fn revoke_on(conn: &Connection, name: &str) -> Result<bool> {
    let n = conn.execute(
        "UPDATE users SET revoked_at = strftime('%Y-%m-%dT%H:%M:%SZ','now'), name = name || '#revoked-' || id
         WHERE name = ?1 AND revoked_at IS NULL",
        [name],
    )?;
    if n > 0 {
        audit_on(conn, name, "user.revoke", name, "")?;
    }
    Ok(n > 0)
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

/// Whether a user named `name` exists (revoked or not), read on `conn`.
pub fn user_exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE name = ?1")?
        .exists([name])?)
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
        insert_user(&self.conn, name, role)
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
        revoke_on(&self.conn, name)
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
