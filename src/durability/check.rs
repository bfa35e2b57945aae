//! `guichet check`: what is wrong with a data directory, and what to do.
//!
//! Checked, in order: the database's integrity (`PRAGMA integrity_check`)
//! and schema version; that every chunk has an embedding of the stored
//! model's dimension and a lexical entry; that the vector index on disk
//! matches the database; that every document's original file is there
//! and unchanged. Nothing is modified.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use super::backup::{sha256_file, DATABASE};
use crate::Result;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Data is lost or unreadable: restore a backup.
    Critical,
    /// The service works, degraded, or repairs itself (derived data).
    Warning,
}

/// One problem found.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// How bad.
    pub severity: Severity,
    /// What is wrong.
    pub what: String,
    /// What to do about it.
    pub advice: String,
}

/// The outcome of [`check`].
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Documents, chunks and vectors looked at.
    pub documents: i64,
    /// Chunks in the database.
    pub chunks: i64,
    /// Vectors in the index on disk (0 when absent).
    pub indexed: usize,
    /// What is wrong (empty: all good).
    pub problems: Vec<Problem>,
}

fn critical(what: String, advice: &str) -> Problem {
    Problem {
        severity: Severity::Critical,
        what,
        advice: advice.into(),
    }
}

fn warning(what: String, advice: &str) -> Problem {
    Problem {
        severity: Severity::Warning,
        what,
        advice: advice.into(),
    }
}

const RESTORE: &str = "stop the server, keep a copy of the damaged folder, then `guichet restore LAST_BACKUP.tar.gz --data-dir NEW_DIR` and point the server at NEW_DIR (see the README, disaster recovery)";

/// Checks the data directory `dir`.
pub fn check(dir: &Path) -> Result<CheckReport> {
    let mut report = CheckReport {
        documents: 0,
        chunks: 0,
        indexed: 0,
        problems: Vec::new(),
    };
    let db = dir.join(DATABASE);
    if !db.is_file() {
        report.problems.push(critical(
            format!("no database at {}", db.display()),
            "check --data-dir; if the folder was lost, restore the last backup",
        ));
        return Ok(report);
    }
    let version = match crate::schema::version_of(&db) {
        Ok(v) => v,
        Err(e) => {
            report.problems.push(critical(
                format!("the database cannot be read: {e}"),
                RESTORE,
            ));
            return Ok(report);
        }
    };
    match version {
        Some(v) if v > crate::schema::CURRENT => report.problems.push(critical(
            format!(
                "schema version {v} is newer than this binary's {}",
                crate::schema::CURRENT
            ),
            "run the check with the Guichet version that wrote it",
        )),
        _ => {}
    }
    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let integrity: Vec<String> = match conn.prepare("PRAGMA integrity_check").and_then(|mut st| {
        st.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()
    }) {
        Ok(v) => v,
        Err(e) => vec![e.to_string()],
    };
    if integrity != ["ok"] {
        let first: Vec<&str> = integrity.iter().take(3).map(String::as_str).collect();
        report.problems.push(critical(
            format!(
                "the database is damaged ({} problem(s), e.g. {})",
                integrity.len(),
                first.join("; ")
            ),
            RESTORE,
        ));
        return Ok(report);
    }
    let model: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'embedding_model'",
            [],
            |r| r.get(0),
        )
        .unwrap_or_default();
    let dim: usize = model
        .rsplit(':')
        .next()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    report.chunks = conn.query_row("SELECT COUNT(*) FROM chunks", [], |r| r.get(0))?;
    report.documents = conn.query_row("SELECT COUNT(*) FROM documents", [], |r| r.get(0))?;
    let bad_embeddings: i64 = conn.query_row(
        "SELECT COUNT(*) FROM chunks WHERE length(embedding) != ?1",
        [(dim * 4) as i64],
        |r| r.get(0),
    )?;
    if report.chunks > 0 && dim == 0 {
        report.problems.push(critical(
            "the embedding model of the stored vectors is not recorded".into(),
            "re-embed: `guichet index reembed --embedding-model e5` (or the model used)",
        ));
    } else if bad_embeddings > 0 {
        report.problems.push(critical(
            format!("{bad_embeddings} chunk(s) have no embedding of dimension {dim} ({model})"),
            "re-embed every chunk: `guichet index reembed` with the configured model",
        ));
    }
    let fts: i64 = conn.query_row("SELECT COUNT(*) FROM chunks_fts", [], |r| r.get(0))?;
    if fts != report.chunks {
        report.problems.push(critical(
            format!(
                "the lexical index has {fts} entries for {} chunks",
                report.chunks
            ),
            "re-ingest the documents concerned (`guichet ingest --sync` on their folders), or restore the last backup",
        ));
    }
    let generation: u64 = conn
        .query_row("SELECT value FROM meta WHERE key = 'generation'", [], |r| {
            r.get::<_, String>(0)
        })
        .ok()
        .and_then(|g| g.parse().ok())
        .unwrap_or(0);
    let index_dir = dir.join("index");
    if report.chunks > 0 {
        match crate::kb::vector::VectorIndex::load(&index_dir, dim, generation) {
            Some(v) => {
                report.indexed = v.len();
                if v.len() as i64 != report.chunks {
                    report.problems.push(warning(
                        format!(
                            "the vector index holds {} vectors for {} chunks",
                            v.len(),
                            report.chunks
                        ),
                        "`guichet index rebuild` (or restart the server: it rebuilds a stale index)",
                    ));
                }
            }
            None => report.problems.push(warning(
                format!(
                    "the vector index in {} is missing, unreadable or older than the database",
                    index_dir.display()
                ),
                "nothing is lost (it is derived from the stored embeddings): the server rebuilds it at start-up, or run `guichet index rebuild` now",
            )),
        }
    }
    let mut st = conn.prepare("SELECT id, source, hash, title FROM documents ORDER BY id")?;
    let docs = st
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (id, source, hash, title) in docs {
        let p = Path::new(&source);
        if source.contains("://") {
            continue;
        }
        if !p.is_file() {
            report.problems.push(warning(
                format!("document {id} « {title} »: its original file {source} is missing"),
                "answers still use its stored text, but citations cannot open it: put the file back (from the last backup) or upload it again with `PUT /api/documents/{id}`",
            ));
        } else if sha256_file(p)? != hash {
            report.problems.push(warning(
                format!("document {id} « {title} »: {source} changed since it was ingested"),
                "re-ingest it (`guichet ingest` on the file) so that answers follow the new version",
            ));
        }
    }
    Ok(report)
}
