//! `guichet backup` and `guichet restore`: one `.tar.gz` archive holding a
//! consistent copy of the database (SQLite's `VACUUM INTO`, safe while
//! the server writes), the original document files, and a manifest with
//! versions, counts and a SHA-256 for every file.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The manifest's file name inside the archive (its first entry).
pub const MANIFEST: &str = "manifest.json";
/// The database's name inside the archive and in a data directory.
pub const DATABASE: &str = "guichet.db";

/// What an archive holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Always `guichet-backup`.
    pub kind: String,
    /// The Guichet version that wrote it.
    pub guichet_version: String,
    /// The database's schema version.
    pub schema_version: i64,
    /// When (UTC).
    pub created_at: String,
    /// The embedding model of the stored vectors (`id:dimension`).
    pub embedding_model: String,
    /// Rows per table.
    pub counts: BTreeMap<String, i64>,
    /// Every file of the archive but the manifest.
    pub files: Vec<ArchivedFile>,
    /// Documents whose original file could not be archived (missing or
    /// changed since ingestion): they stay answerable from their chunks.
    /// Crawled pages (a URL as source) have no file and are not listed.
    pub missing_documents: Vec<String>,
}

/// One archived file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArchivedFile {
    /// Path inside the archive.
    pub path: String,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// For a document file: the document's id and source when backed up.
    pub document: Option<(i64, String)>,
}

/// The tables counted in manifests (those a town builds).
pub const COUNTED: &[&str] = &[
    "documents",
    "chunks",
    "conversations",
    "answers",
    "users",
    "curated",
    "exclusions",
    "feedback",
    "reviews",
    "handoffs",
    "eval_cases",
];

/// SHA-256 of a file, hex, streaming.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(guichet_text::hex(&h.finalize()))
}

pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Rows per [`COUNTED`] table present in `conn`.
pub fn counts(conn: &Connection) -> Result<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    for t in COUNTED {
        let exists = conn
            .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
            .exists([t])?;
        if exists {
            let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get(0))?;
            out.insert((*t).to_string(), n);
        }
    }
    Ok(out)
}

fn meta(conn: &Connection, key: &str) -> String {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
        r.get::<_, String>(0)
    })
    .unwrap_or_default()
}

/// What [`backup`] wrote.
#[derive(Debug)]
pub struct BackupReport {
    /// The archive.
    pub path: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Its size.
    pub bytes: u64,
}

/// Writes an archive of the data directory `data_dir` to `out` (through a
/// temporary name, renamed when complete). Safe while a server runs: the
/// database is copied with `VACUUM INTO` inside one read transaction.
pub fn backup(data_dir: &Path, out: &Path) -> Result<BackupReport> {
    let db = data_dir.join(DATABASE);
    if !db.is_file() {
        return Err(Error::Usage(format!(
            "no database in {}: nothing to back up",
            data_dir.display()
        )));
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let work = tempfile::tempdir_in(parent).map_err(|e| io(parent, e))?;
    let snapshot = work.path().join(DATABASE);
    {
        // Read-write mode only so that SQLite may use the WAL's shared
        // memory; nothing is written to the source.
        let conn = Connection::open(&db)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.execute("VACUUM INTO ?1", [snapshot.to_string_lossy()])?;
    }
    let conn = Connection::open_with_flags(&snapshot, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut files = vec![ArchivedFile {
        path: DATABASE.into(),
        sha256: sha256_file(&snapshot)?,
        bytes: std::fs::metadata(&snapshot)
            .map_err(|e| io(&snapshot, e))?
            .len(),
        document: None,
    }];
    let mut sources: Vec<(PathBuf, String)> = Vec::new();
    let mut missing = Vec::new();
    {
        let mut st = conn.prepare("SELECT id, source, hash FROM documents ORDER BY id")?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for (id, source, hash) in rows {
            // A crawled page has no file: its text is in the database and
            // its original on the town's site.
            if source.contains("://") {
                continue;
            }
            let path = PathBuf::from(&source);
            let ok = path.is_file() && sha256_file(&path).is_ok_and(|h| h == hash);
            if !ok {
                missing.push(format!("{id}: {source}"));
                continue;
            }
            let name = path
                .file_name()
                .map_or("document".into(), |n| n.to_string_lossy().into_owned());
            let inside = format!("documents/{id}/{name}");
            files.push(ArchivedFile {
                path: inside.clone(),
                sha256: hash,
                bytes: std::fs::metadata(&path).map_err(|e| io(&path, e))?.len(),
                document: Some((id, source)),
            });
            sources.push((path, inside));
        }
    }
    let manifest = Manifest {
        kind: "guichet-backup".into(),
        guichet_version: env!("CARGO_PKG_VERSION").into(),
        schema_version: meta(&conn, "schema_version").parse().unwrap_or(0),
        created_at: crate::time::utc(crate::time::now_secs()),
        embedding_model: meta(&conn, "embedding_model"),
        counts: counts(&conn)?,
        files,
        missing_documents: missing,
    };
    drop(conn);
    let tmp = work.path().join("archive.tar.gz");
    {
        let f = std::fs::File::create(&tmp).map_err(|e| io(&tmp, e))?;
        let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| Error::Usage(format!("manifest: {e}")))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(crate::time::now_secs());
        header.set_cksum();
        tar.append_data(&mut header, MANIFEST, json.as_slice())
            .map_err(|e| io(&tmp, e))?;
        tar.append_path_with_name(&snapshot, DATABASE)
            .map_err(|e| io(&snapshot, e))?;
        for (path, inside) in &sources {
            tar.append_path_with_name(path, inside)
                .map_err(|e| io(path, e))?;
        }
        let gz = tar.into_inner().map_err(|e| io(&tmp, e))?;
        let f = gz.finish().map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
    }
    std::fs::rename(&tmp, out).map_err(|e| io(out, e))?;
    let bytes = std::fs::metadata(out).map_err(|e| io(out, e))?.len();
    Ok(BackupReport {
        path: out.to_owned(),
        manifest,
        bytes,
    })
}

/// Reads the manifest of an archive (its first entry).
pub fn read_manifest(archive: &Path) -> Result<Manifest> {
    let f = std::fs::File::open(archive).map_err(|e| io(archive, e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut entries = tar.entries().map_err(|e| io(archive, e))?;
    let bad = |why: String| {
        Error::Usage(format!(
            "{}: not a Guichet backup ({why})",
            archive.display()
        ))
    };
    let mut first = entries
        .next()
        .ok_or_else(|| bad("empty archive".into()))?
        .map_err(|e| bad(e.to_string()))?;
    if first.path().map_err(|e| bad(e.to_string()))?.as_os_str() != MANIFEST {
        return Err(bad("no manifest first".into()));
    }
    let mut text = String::new();
    first
        .read_to_string(&mut text)
        .map_err(|e| bad(e.to_string()))?;
    let m: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if m.kind != "guichet-backup" {
        return Err(bad(format!("kind {:?}", m.kind)));
    }
    Ok(m)
}

/// What [`restore`] did.
#[derive(Debug)]
pub struct RestoreReport {
    /// The archive's manifest.
    pub manifest: Manifest,
    /// Documents whose source now points at the restored copy (their
    /// original path is absent or different on this machine).
    pub relocated: usize,
}

/// Restores `archive` into `data_dir`, which must be empty or absent.
/// Every file is checked against the manifest before anything is put in
/// place; documents are restored under `data_dir/documents/`. The vector
/// index is not in archives: the next open rebuilds it.
pub fn restore(archive: &Path, data_dir: &Path) -> Result<RestoreReport> {
    let manifest = read_manifest(archive)?;
    if manifest.schema_version > crate::schema::CURRENT {
        return Err(Error::Usage(format!(
            "{} was written by Guichet {} (schema version {}), newer than this binary (schema {}): install that version to restore it",
            archive.display(),
            manifest.guichet_version,
            manifest.schema_version,
            crate::schema::CURRENT
        )));
    }
    if data_dir.exists() {
        let mut entries = std::fs::read_dir(data_dir).map_err(|e| io(data_dir, e))?;
        if entries.next().is_some() {
            return Err(Error::Usage(format!(
                "{} is not empty: restore into a new, empty data directory (nothing was changed)",
                data_dir.display()
            )));
        }
    }
    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let staging = tempfile::tempdir_in(parent).map_err(|e| io(parent, e))?;
    let expected: BTreeMap<&str, &ArchivedFile> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    {
        let f = std::fs::File::open(archive).map_err(|e| io(archive, e))?;
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(f));
        for entry in tar.entries().map_err(|e| io(archive, e))? {
            let mut entry = entry.map_err(|e| io(archive, e))?;
            let name = entry
                .path()
                .map_err(|e| io(archive, e))?
                .to_string_lossy()
                .into_owned();
            if name == MANIFEST {
                continue;
            }
            if !expected.contains_key(name.as_str()) {
                return Err(Error::Usage(format!(
                    "{}: {name} is not in the manifest: the archive was altered",
                    archive.display()
                )));
            }
            // `unpack_in` refuses paths escaping the staging folder.
            entry
                .unpack_in(staging.path())
                .map_err(|e| io(archive, e))?;
        }
    }
    for f in &manifest.files {
        let p = staging.path().join(&f.path);
        if !p.is_file() {
            return Err(Error::Usage(format!(
                "{}: {} is listed in the manifest but absent: the archive is incomplete",
                archive.display(),
                f.path
            )));
        }
        let h = sha256_file(&p)?;
        if h != f.sha256 {
            return Err(Error::Usage(format!(
                "{}: {} does not match its checksum: the archive is damaged (nothing was restored)",
                archive.display(),
                f.path
            )));
        }
    }
    // Documents whose original path is not the same file here point at
    // the restored copy.
    let mut relocated = 0;
    {
        let conn = Connection::open(staging.path().join(DATABASE))?;
        for f in &manifest.files {
            let Some((id, source)) = &f.document else {
                continue;
            };
            let same = Path::new(source).is_file()
                && sha256_file(Path::new(source)).is_ok_and(|h| h == f.sha256);
            if !same {
                let restored =
                    std::path::absolute(data_dir.join(&f.path)).map_err(|e| io(data_dir, e))?;
                conn.execute(
                    "UPDATE documents SET source = ?1 WHERE id = ?2",
                    rusqlite::params![restored.to_string_lossy(), id],
                )?;
                relocated += 1;
            }
        }
    }
    std::fs::create_dir_all(data_dir).map_err(|e| io(data_dir, e))?;
    for entry in std::fs::read_dir(staging.path()).map_err(|e| io(staging.path(), e))? {
        let entry = entry.map_err(|e| io(staging.path(), e))?;
        let to = data_dir.join(entry.file_name());
        std::fs::rename(entry.path(), &to).map_err(|e| io(&to, e))?;
    }
    Ok(RestoreReport {
        manifest,
        relocated,
    })
}

/// Removes all but the newest `keep` archives (`guichet-*.tar.gz`) of
/// `dir`; returns how many were removed.
pub fn prune(dir: &Path, keep: usize) -> Result<usize> {
    let mut archives: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("guichet-") && n.ends_with(".tar.gz"))
        })
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    archives.sort();
    let excess = archives.len().saturating_sub(keep);
    for (_, p) in archives.iter().take(excess) {
        std::fs::remove_file(p).map_err(|e| io(p, e))?;
    }
    Ok(excess)
}
