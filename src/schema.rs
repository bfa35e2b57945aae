//! The database's versioned schema and its migrations.
//!
//! One SQLite file, `guichet.db`, holds everything a town builds: the
//! knowledge base, the conversations and the référents' work. Its
//! `meta.schema_version` says which schema it has:
//!
//! 1. documents, chunks, their FTS5 index, `meta` (first release);
//! 2. conversations and answers;
//! 3. the référents' tables (users, audit, curated answers, exclusions,
//!    feedback, reviews, handoffs), `answers.fallback`, imported
//!    evaluation cases (`eval_cases`) and the `migrations` log;
//! 4. users' expiry, last use, e-mail and topics; the `notifications`
//!    outbox (notices to référents waiting for delivery).
//!
//! Every store opens the database through [`open`], which creates a new
//! database at [`CURRENT`], refuses a database newer than this binary
//! without writing to it (it is first read with SQLite's `immutable`
//! flag), and migrates an older one: a copy is written under
//! `backups/` next to it (`VACUUM INTO`), then every step runs inside one
//! transaction, so an interrupted upgrade leaves the old version whole.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::{Error, Result};

/// An embedding as every table stores it (chunks, curated questions):
/// little-endian f32s.
pub fn blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The embedding of a stored blob (see [`blob`]).
pub fn unblob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The JSON column `col` of a stored row, read strictly: text that does
/// not parse is an error naming the table and the row (its first column,
/// the id), never an empty value that would silently hide a corrupt row.
pub fn json_column<T: serde::de::DeserializeOwned>(
    r: &rusqlite::Row<'_>,
    col: usize,
    table: &str,
) -> rusqlite::Result<T> {
    let text: String = r.get(col)?;
    serde_json::from_str(&text).map_err(|e| {
        use rusqlite::types::ValueRef;
        let id = match r.get_ref(0) {
            Ok(ValueRef::Integer(i)) => i.to_string(),
            Ok(ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
            _ => "?".into(),
        };
        rusqlite::Error::FromSqlConversionFailure(
            col,
            rusqlite::types::Type::Text,
            format!("{table} row {id}: column {col} is not valid JSON ({e})").into(),
        )
    })
}

/// The schema version this binary reads and writes.
pub const CURRENT: i64 = 4;

/// Version 1: the knowledge base.
const V1: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL UNIQUE,
    collection TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    format TEXT NOT NULL,
    hash TEXT NOT NULL,
    url TEXT,
    date TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    chunk_count INTEGER NOT NULL,
    ingested_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    section TEXT NOT NULL,
    page_start INTEGER,
    page_end INTEGER,
    text TEXT NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');
";

/// Version 2: conversations.
const V2: &str = "
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    question TEXT NOT NULL,
    question_original TEXT,
    standalone TEXT NOT NULL,
    answer TEXT NOT NULL,
    status TEXT NOT NULL,
    confidence REAL NOT NULL,
    topic TEXT,
    mode TEXT NOT NULL,
    model TEXT NOT NULL,
    sources TEXT NOT NULL,
    timings TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    generated_tokens INTEGER NOT NULL,
    channel TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX IF NOT EXISTS answers_conversation ON answers(conversation_id, ordinal);
CREATE INDEX IF NOT EXISTS answers_created ON answers(created_at);
";

/// Version 3: the référents' tables (some version-2 databases already
/// have them: every statement is idempotent).
const V3: &str = "
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    token_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    user TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS curated (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    question TEXT NOT NULL,
    variants TEXT NOT NULL DEFAULT '[]',
    answer TEXT NOT NULL,
    sources TEXT NOT NULL DEFAULT '[]',
    validated_by TEXT NOT NULL,
    validated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    expires_at TEXT
);
CREATE TABLE IF NOT EXISTS curated_vectors (
    curated_id INTEGER NOT NULL REFERENCES curated(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    embedding BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS exclusions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    keywords TEXT NOT NULL,
    message TEXT NOT NULL,
    contact TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL,
    rating TEXT NOT NULL,
    comment TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT,
    corrected_answer TEXT,
    expected_sources TEXT NOT NULL DEFAULT '[]',
    reviewer TEXT NOT NULL,
    curated_id INTEGER,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    contact TEXT NOT NULL DEFAULT '{}',
    message TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    answer TEXT,
    resolved_by TEXT,
    resolved_at TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE IF NOT EXISTS eval_cases (
    id TEXT PRIMARY KEY,
    case_json TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT 'import',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
CREATE TABLE IF NOT EXISTS migrations (
    version INTEGER NOT NULL,
    from_version INTEGER NOT NULL,
    binary TEXT NOT NULL,
    backup TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
);
";

/// Version 4: accounts that expire and say when they were last used, with
/// an e-mail and topics for notices; the outbox of those notices.
const V4: &str = "
ALTER TABLE users ADD COLUMN expires_at TEXT;
ALTER TABLE users ADD COLUMN last_used_at TEXT;
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN topics TEXT NOT NULL DEFAULT '[]';
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event TEXT NOT NULL,
    reference TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    last_error TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications(status, next_attempt_at);
";

/// Brings a database from version `to - 1` to version `to`.
fn step(conn: &Connection, to: i64) -> Result<()> {
    match to {
        1 => conn.execute_batch(V1)?,
        2 => conn.execute_batch(V2)?,
        3 => {
            conn.execute_batch(V3)?;
            let has_fallback = conn
                .prepare("SELECT 1 FROM pragma_table_info('answers') WHERE name = 'fallback'")?
                .exists([])?;
            if !has_fallback {
                conn.execute_batch(
                    "ALTER TABLE answers ADD COLUMN fallback INTEGER NOT NULL DEFAULT 0;",
                )?;
            }
        }
        4 => conn.execute_batch(V4)?,
        v => {
            return Err(Error::Usage(format!(
                "no migration to schema version {v}: this is a bug"
            )))
        }
    }
    Ok(())
}

/// The schema version of the database at `path`, read without writing to
/// it; `None` for a new (absent or empty) database.
pub fn version_of(path: &Path) -> Result<Option<i64>> {
    if !path.exists() || std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0 {
        return Ok(None);
    }
    // Without a write-ahead log nothing is pending: read the file as
    // immutable (no lock, no side file). With one, its content counts, and
    // a read-only connection sees it through the shared memory file.
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let conn = if wal.exists() {
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?
    } else {
        Connection::open_with_flags(
            format!("file:{}?immutable=1", uri_path(path)),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )?
    };
    let has_meta = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")?
        .exists([])?;
    if !has_meta {
        return Ok(None);
    }
    let v: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(Some(v.and_then(|v| v.parse().ok()).unwrap_or(i64::MAX)))
}

/// A path as a `file:` URI path (`%`, `?` and `#` escaped).
fn uri_path(path: &Path) -> String {
    path.to_string_lossy()
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23")
}

/// Opens the database at `path` read-write at [`CURRENT`]: created if new,
/// migrated (after a backup) if older, refused untouched if newer.
pub fn open(path: &Path) -> Result<Connection> {
    let found = version_of(path)?;
    if let Some(v) = found {
        if v > CURRENT {
            return Err(Error::Usage(format!(
                "{} has schema version {}, newer than this binary's {CURRENT}: it was written by a newer Guichet. Install that version (or newer); the database was not modified",
                path.display(),
                if v == i64::MAX { "unknown".to_string() } else { v.to_string() }
            )));
        }
    }
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let from = found.unwrap_or(0);
    if from == CURRENT {
        return Ok(conn);
    }
    let backup = if from > 0 {
        let b = backup_before_migration(&conn, path, from)?;
        tracing::warn!(
            "migrating {} from schema version {from} to {CURRENT}; a copy of the old database is in {}",
            path.display(),
            b.display()
        );
        b.display().to_string()
    } else {
        String::new()
    };
    migrate(&conn, from, &backup)?;
    Ok(conn)
}

/// A new in-memory database at [`CURRENT`] (tests).
pub fn in_memory() -> Result<Connection> {
    let conn = Connection::open_in_memory()?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&conn, 0, "")?;
    Ok(conn)
}

/// Runs the steps after `from` up to [`CURRENT`] in one transaction.
fn migrate(conn: &Connection, from: i64, backup: &str) -> Result<()> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let run = || -> Result<()> {
        // Another process may have migrated it while we waited.
        let now: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .unwrap_or(None);
        let start = now.and_then(|v| v.parse().ok()).unwrap_or(from);
        for to in start + 1..=CURRENT {
            step(conn, to)?;
        }
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [CURRENT.to_string()],
        )?;
        if start > 0 && start < CURRENT {
            conn.execute(
                "INSERT INTO migrations(version, from_version, binary, backup) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![CURRENT, start, env!("CARGO_PKG_VERSION"), backup],
            )?;
        }
        Ok(())
    };
    match run() {
        Ok(()) => {
            conn.execute_batch("COMMIT")?;
            Ok(())
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// `VACUUM INTO backups/guichet-v{from}-{time}.db` beside the database:
/// a consistent copy even while other connections write.
fn backup_before_migration(conn: &Connection, path: &Path, from: i64) -> Result<PathBuf> {
    let dir = path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join("backups");
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let stamp = crate::time::file_stamp();
    let mut out = dir.join(format!("guichet-v{from}-{stamp}.db"));
    let mut n = 1;
    while out.exists() {
        n += 1;
        out = dir.join(format!("guichet-v{from}-{stamp}-{n}.db"));
    }
    conn.execute("VACUUM INTO ?1", [out.to_string_lossy()])?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_is_created_at_the_current_version() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.db");
        assert_eq!(version_of(&db).unwrap(), None);
        drop(open(&db).unwrap());
        assert_eq!(version_of(&db).unwrap(), Some(CURRENT));
        // Opening again changes nothing and writes no migration.
        let c = open(&db).unwrap();
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM migrations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
        assert!(!dir.path().join("backups").exists());
    }

    #[test]
    fn a_failed_step_leaves_the_old_version_whole() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.db");
        let c = Connection::open(&db).unwrap();
        c.execute_batch(V1).unwrap();
        c.execute_batch(
            "INSERT INTO meta VALUES ('schema_version', '1');
             CREATE TABLE answers_conversation (x);", // clashes with version 2's index
        )
        .unwrap();
        drop(c);
        let e = open(&db).unwrap_err().to_string();
        assert!(e.contains("answers_conversation"), "{e}");
        assert_eq!(version_of(&db).unwrap(), Some(1));
        let c = Connection::open(&db).unwrap();
        let answers = c
            .prepare("SELECT 1 FROM sqlite_master WHERE name = 'answers'")
            .unwrap()
            .exists([])
            .unwrap();
        assert!(!answers, "version 2's tables were rolled back");
    }
}
