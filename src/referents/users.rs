//! Users of the référents' routes and their tokens.
//!
//! Tokens are printed once at creation and stored only as their SHA-256
//! (they are 256-bit random strings, so a plain hash is enough, unlike
//! passwords); a presented token is hashed and compared in constant time
//! with every active user's hash. An account may expire (the last valid
//! day, in the town's time zone) and records when it was last used, so an
//! admin sees the accounts nobody uses any more. Its e-mail and topics
//! say which notices its owner receives.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{audit_on, Referents};
use crate::schema::json_column;
use crate::{Error, Result};

/// What a user may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
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

/// What describes an account besides its name and role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The last day the token is valid (`YYYY-MM-DD`, the town's time
    /// zone); `None`: no expiry.
    pub expires_at: Option<String>,
    /// Where its owner receives notices.
    pub email: Option<String>,
    /// Topics of the notices sent to it (words or phrases matched in the
    /// citizen's questions and the sources cited); empty: every notice.
    pub topics: Vec<String>,
}

impl Profile {
    /// Why this profile cannot be stored, in French, or `None`.
    pub fn problem(&self) -> Option<String> {
        if let Some(d) = &self.expires_at {
            if crate::time::days_since_epoch(d).is_none() {
                return Some(format!(
                    "« expires_at » doit être une date du calendrier (AAAA-MM-JJ) : {d:?}."
                ));
            }
        }
        if let Some(e) = &self.email {
            let ok = e.len() <= 254
                && !e.chars().any(|c| c.is_whitespace() || c.is_control())
                && e.split_once('@')
                    .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@'));
            if !ok {
                return Some(format!("« email » n'est pas une adresse : {e:?}."));
            }
        }
        if self.topics.len() > 50 {
            return Some("50 thèmes au plus par compte.".into());
        }
        if self
            .topics
            .iter()
            .any(|t| t.trim().is_empty() || t.chars().count() > 80)
        {
            return Some("Chaque thème a de 1 à 80 caractères.".into());
        }
        None
    }
}

/// A user, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct User {
    /// Unique name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// When the token was created.
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
    /// The last day the token is valid, if it expires.
    pub expires_at: Option<String>,
    /// When the token was last used (to the minute).
    pub last_used_at: Option<String>,
    /// Where notices go.
    pub email: Option<String>,
    /// Topics of its notices (empty: all).
    pub topics: Vec<String>,
}

impl User {
    /// Whether its token works on `today` (not revoked, not expired).
    pub fn valid_on(&self, today: &str) -> bool {
        self.revoked_at.is_none() && self.expires_at.as_deref().is_none_or(|d| d >= today)
    }
}

/// A change to an account; `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    /// A new role.
    pub role: Option<Role>,
    /// A new expiry (`Some(None)` removes it).
    pub expires_at: Option<Option<String>>,
    /// A new e-mail (`Some(None)` removes it).
    pub email: Option<Option<String>>,
    /// New topics.
    pub topics: Option<Vec<String>>,
}

/// Why `name` cannot name a new account, in French, or `None`: 1 to 64
/// characters, no control character and no `#` (revoked accounts are
/// renamed `NAME#revoked-ID`).
pub fn name_problem(name: &str) -> Option<String> {
    let ok = !name.trim().is_empty()
        && name.chars().count() <= 64
        && !name.contains('#')
        && !name.chars().any(char::is_control);
    (!ok).then(|| format!("Un nom de compte a de 1 à 64 caractères, sans « # » : {name:?}."))
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

/// Creates user `name` with `role` and `profile` on `conn` (a caller's
/// transaction, or the store's connection); returns the token, which is
/// stored only as its digest.
pub fn insert_user(conn: &Connection, name: &str, role: Role, profile: &Profile) -> Result<String> {
    if name.trim().is_empty() {
        return Err(Error::Usage("a user needs a name".into()));
    }
    if let Some(p) = profile.problem() {
        return Err(Error::Invalid(p));
    }
    let bytes: [u8; 32] = rand::random();
    let token = format!("gui_{}", guichet_text::hex(&bytes));
    conn.execute(
        "INSERT INTO users(name, role, token_sha256, expires_at, email, topics)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            name,
            role.as_str(),
            digest(&token),
            profile.expires_at,
            profile.email,
            serde_json::to_string(&profile.topics).unwrap_or_else(|_| "[]".into()),
        ],
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

/// Applies `change` to the active user `name` on `conn`, written in the
/// audit log as done by `by`; false when there is no such active user.
pub fn update_user_on(
    conn: &Connection,
    name: &str,
    change: &UserChange,
    by: &str,
) -> Result<bool> {
    let Some(current) = active_user(conn, name)? else {
        return Ok(false);
    };
    let profile = Profile {
        expires_at: change.expires_at.clone().unwrap_or(current.expires_at),
        email: change.email.clone().unwrap_or(current.email),
        topics: change.topics.clone().unwrap_or(current.topics),
    };
    if let Some(p) = profile.problem() {
        return Err(Error::Invalid(p));
    }
    let role = change.role.unwrap_or(current.role);
    conn.execute(
        "UPDATE users SET role = ?2, expires_at = ?3, email = ?4, topics = ?5
         WHERE name = ?1 AND revoked_at IS NULL",
        params![
            name,
            role.as_str(),
            profile.expires_at,
            profile.email,
            serde_json::to_string(&profile.topics).unwrap_or_else(|_| "[]".into()),
        ],
    )?;
    let detail = format!(
        "role={} expires_at={} email={} topics={}",
        role.as_str(),
        profile.expires_at.as_deref().unwrap_or("-"),
        if profile.email.is_some() { "set" } else { "-" },
        profile.topics.len()
    );
    audit_on(conn, by, "user.update", name, &detail)?;
    Ok(true)
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

/// Whether a user named `name` exists (revoked or not), read on `conn`.
pub fn user_exists(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE name = ?1")?
        .exists([name])?)
}

const USER_COLUMNS: &str =
    "id, name, role, created_at, revoked_at, expires_at, last_used_at, email, topics";

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        name: r.get(1)?,
        role: role.parse().unwrap_or(Role::Referent),
        created_at: r.get(3)?,
        revoked_at: r.get(4)?,
        expires_at: r.get(5)?,
        last_used_at: r.get(6)?,
        email: r.get(7)?,
        topics: json_column(r, 8, "users")?,
    })
}

fn active_user(conn: &Connection, name: &str) -> Result<Option<User>> {
    Ok(conn
        .query_row(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1 AND revoked_at IS NULL"),
            [name],
            user_row,
        )
        .optional()?)
}

impl Referents {
    /// Creates a user; returns its token (shown once, never stored).
    pub fn add_user(&self, name: &str, role: Role, profile: &Profile) -> Result<String> {
        insert_user(&self.conn, name, role, profile)
    }

    /// Every user (revoked ones too), by name.
    pub fn users(&self) -> Result<Vec<User>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))?;
        let rows = st.query_map([], user_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The active user `name`, if there is one.
    pub fn user(&self, name: &str) -> Result<Option<User>> {
        active_user(&self.conn, name)
    }

    /// Changes an active account; false when there is none named `name`.
    pub fn update_user(&self, name: &str, change: &UserChange, by: &str) -> Result<bool> {
        update_user_on(&self.conn, name, change, by)
    }

    /// Revokes a user's token; false when there is no such active user.
    pub fn revoke(&self, name: &str) -> Result<bool> {
        revoke_on(&self.conn, name)
    }

    /// Active admins whose token is valid on `today`.
    pub fn valid_admins(&self, today: &str) -> Result<usize> {
        let n: i64 = self.conn.query_row(
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND revoked_at IS NULL
             AND (expires_at IS NULL OR expires_at >= ?1)",
            [today],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// The active user a token belongs to when it is valid on `today` (the
    /// town's date); records the use, to the minute.
    pub fn authenticate(&self, token: &str, today: &str) -> Result<Option<(String, Role)>> {
        let presented = digest(token);
        let mut st = self.conn.prepare_cached(
            "SELECT id, name, role, token_sha256 FROM users
             WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at >= ?1)",
        )?;
        let rows = st
            .query_map([today], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut found = None;
        for (id, name, role, hash) in rows {
            // Every row is compared, so timing does not tell which matched.
            if constant_time_eq(&hash, &presented) {
                found = Some((id, name, role.parse().unwrap_or(Role::Referent)));
            }
        }
        let Some((id, name, role)) = found else {
            return Ok(None);
        };
        // One write a minute at most per account, not one per request.
        self.conn
            .prepare_cached(
                "UPDATE users SET last_used_at = strftime('%Y-%m-%dT%H:%M:00Z','now')
                 WHERE id = ?1 AND (last_used_at IS NULL
                     OR last_used_at < strftime('%Y-%m-%dT%H:%M:00Z','now'))",
            )?
            .execute([id])?;
        Ok(Some((name, role)))
    }

    /// The addresses of active accounts that receive a notice about
    /// `text`: those with no topic, and those with a topic found in it.
    /// Words are compared folded (case and accents do not matter) by their
    /// beginning, so « carte grise » also finds « cartes grises ».
    pub fn notice_recipients(&self, text: &str, today: &str) -> Result<Vec<String>> {
        let words = guichet_text::folded_words(text);
        let mut out = Vec::new();
        for u in self.users()? {
            let valid = u.valid_on(today);
            let Some(email) = u.email.filter(|_| valid) else {
                continue;
            };
            let wanted = u.topics.is_empty() || u.topics.iter().any(|t| mentions(&words, t));
            if wanted && !out.contains(&email) {
                out.push(email);
            }
        }
        Ok(out)
    }
}

/// Whether the words of `topic` appear in a row in `words`, each as the
/// beginning of a word.
fn mentions(words: &[String], topic: &str) -> bool {
    let topic = guichet_text::folded_words(topic);
    !topic.is_empty()
        && words.windows(topic.len()).any(|w| {
            w.iter()
                .zip(&topic)
                .all(|(word, t)| word.starts_with(t.as_str()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: &str = "2026-12-03";

    #[test]
    fn tokens_authenticate_until_revoked_and_are_stored_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("guichet.db");
        let r = Referents::open(&db).unwrap();
        let none = Profile::default();
        let t = r.add_user("alice", Role::Referent, &none).unwrap();
        assert!(t.starts_with("gui_") && t.len() == 68);
        assert!(r.add_user("alice", Role::Admin, &none).is_err());
        assert_eq!(r.users().unwrap()[0].last_used_at, None);
        assert_eq!(
            r.authenticate(&t, TODAY).unwrap(),
            Some(("alice".into(), Role::Referent))
        );
        assert!(r.users().unwrap()[0].last_used_at.is_some());
        assert_eq!(r.authenticate("gui_nope", TODAY).unwrap(), None);
        let raw = std::fs::read(&db).unwrap();
        assert!(!raw.windows(t.len()).any(|w| w == t.as_bytes()));
        assert!(r.revoke("alice").unwrap());
        assert_eq!(r.authenticate(&t, TODAY).unwrap(), None);
        assert!(!r.revoke("alice").unwrap());
        // The name is free again after revocation.
        r.add_user("alice", Role::Admin, &none).unwrap();
        assert_eq!(r.users().unwrap().len(), 2);
        assert!(r
            .audit_log(10)
            .unwrap()
            .iter()
            .any(|e| e.action == "user.revoke"));
        assert!(constant_time_eq("abc", "abc") && !constant_time_eq("abc", "abd"));
    }

    #[test]
    fn a_token_is_valid_through_its_last_day_and_changes_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let r = Referents::open(&dir.path().join("g.db")).unwrap();
        let profile = Profile {
            expires_at: Some("2026-12-31".into()),
            ..Profile::default()
        };
        let t = r.add_user("stagiaire", Role::Referent, &profile).unwrap();
        assert!(r.authenticate(&t, "2026-12-31").unwrap().is_some());
        assert_eq!(r.authenticate(&t, "2027-01-01").unwrap(), None);
        // Extended, then the expiry removed.
        let extend = UserChange {
            expires_at: Some(Some("2027-06-30".into())),
            role: Some(Role::Admin),
            ..UserChange::default()
        };
        assert!(r.update_user("stagiaire", &extend, "dgs").unwrap());
        assert_eq!(
            r.authenticate(&t, "2027-01-01").unwrap(),
            Some(("stagiaire".into(), Role::Admin))
        );
        assert_eq!(r.valid_admins("2027-01-01").unwrap(), 1);
        assert_eq!(r.valid_admins("2027-07-01").unwrap(), 0);
        let forever = UserChange {
            expires_at: Some(None),
            ..UserChange::default()
        };
        assert!(r.update_user("stagiaire", &forever, "dgs").unwrap());
        assert!(r.authenticate(&t, "2099-01-01").unwrap().is_some());
        // Not calendar dates, not addresses: refused, nothing changed.
        for bad in [
            UserChange {
                expires_at: Some(Some("2027-02-30".into())),
                ..UserChange::default()
            },
            UserChange {
                email: Some(Some("pas une adresse".into())),
                ..UserChange::default()
            },
            UserChange {
                topics: Some(vec![" ".into()]),
                ..UserChange::default()
            },
        ] {
            assert!(matches!(
                r.update_user("stagiaire", &bad, "dgs"),
                Err(Error::Invalid(_))
            ));
        }
        assert_eq!(r.user("stagiaire").unwrap().unwrap().expires_at, None);
        assert!(!r.update_user("personne", &forever, "dgs").unwrap());
        assert!(name_problem("a#b").is_some() && name_problem("").is_some());
        assert!(name_problem("Agnès Dupont").is_none());
    }

    #[test]
    fn notices_go_to_valid_accounts_whose_topics_the_text_mentions() {
        let dir = tempfile::tempdir().unwrap();
        let r = Referents::open(&dir.path().join("g.db")).unwrap();
        let p = |email: &str, topics: &[&str], expires: Option<&str>| Profile {
            email: Some(email.into()),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            expires_at: expires.map(str::to_string),
        };
        let role = Role::Referent;
        r.add_user("ec", role, &p("ec@v.fr", &["état civil"], None))
            .unwrap();
        r.add_user("cg", role, &p("cg@v.fr", &["carte grise"], None))
            .unwrap();
        r.add_user("all", role, &p("all@v.fr", &[], None)).unwrap();
        r.add_user("old", role, &p("old@v.fr", &[], Some("2020-01-01")))
            .unwrap();
        r.add_user("gone", role, &p("gone@v.fr", &[], None))
            .unwrap();
        r.revoke("gone").unwrap();
        let to = |text: &str| r.notice_recipients(text, TODAY).unwrap();
        // By account name.
        assert_eq!(
            to("Mes CARTES GRISES, l'adresse ?"),
            ["all@v.fr", "cg@v.fr"]
        );
        assert_eq!(to("Acte d'Etat-Civil"), ["all@v.fr", "ec@v.fr"]);
        // A topic's words must follow each other.
        assert_eq!(to("la carte est grise"), ["all@v.fr"]);
    }
}
