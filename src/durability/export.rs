//! `guichet export` / `guichet import`: what référents built, in a
//! documented, human-readable format a town can keep in version control,
//! move to a new server or share with a neighbouring commune.
//!
//! An export is a folder:
//! * `manifest.json`: `kind` (`guichet-export`), versions, counts, and the
//!   source priorities of `[answer.priorities]` (configuration, not data:
//!   import shows them for the new server's `guichet.toml`);
//! * `curated.jsonl`: curated answers (question, variants, answer,
//!   sources, validated_by, validated_at, expires_at);
//! * `exclusions.jsonl`: excluded topics (topic, keywords, message,
//!   contact, created_by, created_at);
//! * `eval-cases.jsonl`: reviewed evaluation cases, in the evaluation set
//!   format (`eval/README.md`);
//! * `documents.jsonl`: document metadata (title, collection, format,
//!   hash, url, date, metadata, original source, `file`);
//! * `users.jsonl`: users (name, role, dates) without any secret;
//! * `files/<hash prefix>/<name>`: the documents' original files.
//!
//! Lines are sorted and carry no database ids, so that two exports of the
//! same knowledge are identical but for the manifest's date. Import matches
//! what exists (curated answers by question, exclusions by topic, cases by
//! id, documents by content hash, users by name): importing twice changes
//! nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::backup::{io, sha256_file};
use crate::{Error, Result};

/// A curated answer as exported.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CuratedRecord {
    /// The question it answers (its identity).
    pub question: String,
    /// Other wordings.
    #[serde(default)]
    pub variants: Vec<String>,
    /// The validated answer.
    pub answer: String,
    /// Its sources.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Who validated it.
    #[serde(default)]
    pub validated_by: String,
    /// When.
    #[serde(default)]
    pub validated_at: String,
    /// Last day it is served.
    #[serde(default)]
    pub expires_at: Option<String>,
}

impl From<crate::referents::Curated> for CuratedRecord {
    fn from(c: crate::referents::Curated) -> Self {
        Self {
            question: c.question,
            variants: c.variants,
            answer: c.answer,
            sources: c.sources,
            validated_by: c.validated_by,
            validated_at: c.validated_at,
            expires_at: c.expires_at,
        }
    }
}

/// An excluded topic as exported.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExclusionRecord {
    /// Its name (its identity).
    pub topic: String,
    /// The words that recognise it.
    pub keywords: Vec<String>,
    /// What citizens are told.
    pub message: String,
    /// Whom to contact.
    #[serde(default)]
    pub contact: String,
    /// Who created it.
    #[serde(default)]
    pub created_by: String,
    /// When.
    #[serde(default)]
    pub created_at: String,
}

/// A document's metadata as exported.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DocumentRecord {
    /// SHA-256 of the original file (its identity).
    pub hash: String,
    /// Its title.
    pub title: String,
    /// Its collection.
    #[serde(default)]
    pub collection: String,
    /// Its format.
    pub format: String,
    /// Public URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Document date.
    #[serde(default)]
    pub date: Option<String>,
    /// Other metadata.
    #[serde(default)]
    pub metadata: serde_json::Value,
    /// Where it came from on the exporting server.
    pub source: String,
    /// Its file in `files/` (absent when it was missing at export).
    #[serde(default)]
    pub file: Option<String>,
}

/// A user as exported: no token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserRecord {
    /// Name (identity).
    pub name: String,
    /// `referent` or `admin`.
    pub role: String,
    /// Created.
    #[serde(default)]
    pub created_at: String,
    /// Revoked.
    #[serde(default)]
    pub revoked_at: Option<String>,
}

/// Everything an export holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Knowledge {
    /// Curated answers.
    pub curated: Vec<CuratedRecord>,
    /// Excluded topics.
    pub exclusions: Vec<ExclusionRecord>,
    /// Reviewed evaluation cases.
    pub eval_cases: Vec<serde_json::Value>,
    /// Documents.
    pub documents: Vec<DocumentRecord>,
    /// Users.
    pub users: Vec<UserRecord>,
}

fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

/// Reads the town's knowledge from the database at `db`.
pub fn collect(db: &Path) -> Result<Knowledge> {
    let conn = crate::schema::open(db)?;
    let referents = crate::referents::Referents::open(db)?;
    let mut k = Knowledge {
        curated: referents.curated()?.into_iter().map(Into::into).collect(),
        ..Knowledge::default()
    };
    k.curated
        .sort_by(|a, b| (&a.question, &a.answer).cmp(&(&b.question, &b.answer)));
    let mut st = conn.prepare(
        "SELECT topic, keywords, message, contact, created_by, created_at FROM exclusions",
    )?;
    k.exclusions = st
        .query_map([], |r| {
            Ok(ExclusionRecord {
                topic: r.get(0)?,
                keywords: json_list(&r.get::<_, String>(1)?),
                message: r.get(2)?,
                contact: r.get(3)?,
                created_by: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    k.exclusions.sort_by(|a, b| a.topic.cmp(&b.topic));
    let mut cases: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut st = conn.prepare("SELECT id, case_json FROM eval_cases")?;
    for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (id, json) = row?;
        if let Ok(v) = serde_json::from_str(&json) {
            cases.insert(id, v);
        }
    }
    drop(st);
    for case in crate::evaluation::review_cases(db)? {
        let id = case["id"].as_str().unwrap_or_default().to_string();
        cases.entry(id).or_insert(case);
    }
    k.eval_cases = cases.into_values().collect();
    let mut st = conn.prepare(
        "SELECT hash, title, collection, format, url, date, metadata, source FROM documents",
    )?;
    k.documents = st
        .query_map([], |r| {
            Ok(DocumentRecord {
                hash: r.get(0)?,
                title: r.get(1)?,
                collection: r.get(2)?,
                format: r.get(3)?,
                url: r.get(4)?,
                date: r.get(5)?,
                metadata: serde_json::from_str(&r.get::<_, String>(6)?)
                    .unwrap_or(serde_json::Value::Null),
                source: r.get(7)?,
                file: None,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    k.documents
        .sort_by(|a, b| (&a.title, &a.hash).cmp(&(&b.title, &b.hash)));
    k.users = referents
        .users()?
        .into_iter()
        .map(|u| UserRecord {
            name: u.name,
            role: u.role.as_str().to_string(),
            created_at: u.created_at,
            revoked_at: u.revoked_at,
        })
        .collect();
    k.users.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(k)
}

fn file_name_for(d: &DocumentRecord) -> String {
    let name = Path::new(&d.source)
        .file_name()
        .map_or("document".into(), |n| n.to_string_lossy().into_owned());
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // A folder per hash keeps the file's own name (PDF titles come from it).
    format!("{}/{safe}", &d.hash[..16.min(d.hash.len())])
}

fn write_jsonl<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut text = String::new();
    for r in rows {
        text.push_str(&serde_json::to_string(r).map_err(|e| Error::Usage(format!("export: {e}")))?);
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| io(path, e))
}

fn read_jsonl<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::Usage(format!("{}:{}: {e}", path.display(), i + 1)))
        })
        .collect()
}

/// Writes the knowledge of the data directory `data_dir` into the folder
/// `out` (created; files already there are replaced). `priorities` (the
/// configuration's `[answer.priorities]`) go into the manifest.
pub fn export(
    data_dir: &Path,
    out: &Path,
    priorities: &BTreeMap<String, f64>,
) -> Result<Knowledge> {
    let db = data_dir.join(super::backup::DATABASE);
    if !db.is_file() {
        return Err(Error::Usage(format!(
            "no database in {}",
            data_dir.display()
        )));
    }
    let mut k = collect(&db)?;
    let files = out.join("files");
    std::fs::create_dir_all(&files).map_err(|e| io(&files, e))?;
    for d in &mut k.documents {
        let src = PathBuf::from(&d.source);
        if src.is_file() && sha256_file(&src).is_ok_and(|h| h == d.hash) {
            let name = file_name_for(d);
            let to = files.join(&name);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            std::fs::copy(&src, &to).map_err(|e| io(&to, e))?;
            d.file = Some(format!("files/{name}"));
        }
    }
    write_jsonl(&out.join("curated.jsonl"), &k.curated)?;
    write_jsonl(&out.join("exclusions.jsonl"), &k.exclusions)?;
    write_jsonl(&out.join("eval-cases.jsonl"), &k.eval_cases)?;
    write_jsonl(&out.join("documents.jsonl"), &k.documents)?;
    write_jsonl(&out.join("users.jsonl"), &k.users)?;
    let manifest = serde_json::json!({
        "kind": "guichet-export",
        "guichet_version": env!("CARGO_PKG_VERSION"),
        "schema_version": crate::schema::CURRENT,
        "created_at": crate::time::utc(crate::time::now_secs()),
        "priorities": priorities,
        "counts": {
            "curated": k.curated.len(),
            "exclusions": k.exclusions.len(),
            "eval_cases": k.eval_cases.len(),
            "documents": k.documents.len(),
            "users": k.users.len(),
        },
    });
    let m = out.join("manifest.json");
    std::fs::write(&m, format!("{manifest:#}\n")).map_err(|e| io(&m, e))?;
    Ok(k)
}

/// The source priorities recorded in an export's manifest.
pub fn read_priorities(dir: &Path) -> BTreeMap<String, f64> {
    std::fs::read_to_string(dir.join("manifest.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|m| serde_json::from_value(m["priorities"].clone()).ok())
        .unwrap_or_default()
}

/// Reads an export folder.
pub fn read(dir: &Path) -> Result<Knowledge> {
    let m = dir.join("manifest.json");
    let manifest: serde_json::Value = std::fs::read_to_string(&m)
        .map_err(|e| io(&m, e))
        .and_then(|t| {
            serde_json::from_str(&t).map_err(|e| Error::Usage(format!("{}: {e}", m.display())))
        })?;
    if manifest["kind"] != "guichet-export" {
        return Err(Error::Usage(format!(
            "{} is not a Guichet export (manifest kind {})",
            dir.display(),
            manifest["kind"]
        )));
    }
    Ok(Knowledge {
        curated: read_jsonl(&dir.join("curated.jsonl"))?,
        exclusions: read_jsonl(&dir.join("exclusions.jsonl"))?,
        eval_cases: read_jsonl(&dir.join("eval-cases.jsonl"))?,
        documents: read_jsonl(&dir.join("documents.jsonl"))?,
        users: read_jsonl(&dir.join("users.jsonl"))?,
    })
}

/// What to do when an imported item exists with different content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    /// Keep what is there (the default).
    #[default]
    Skip,
    /// Replace it with the imported version.
    Replace,
}

/// What an import did (or would do, with `dry_run`), per kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Items added, per kind.
    pub added: BTreeMap<String, usize>,
    /// Items replaced (conflict policy `replace`).
    pub replaced: BTreeMap<String, usize>,
    /// Items already there, identical.
    pub unchanged: BTreeMap<String, usize>,
    /// Items there with different content, kept (policy `skip`).
    pub conflicts: Vec<String>,
    /// Documents whose file is missing from the export.
    pub missing_files: Vec<String>,
    /// Tokens of the users created (shown once: give them to their owners).
    pub new_tokens: Vec<(String, String)>,
    /// Whether nothing was written.
    pub dry_run: bool,
}

impl ImportReport {
    fn count(map: &mut BTreeMap<String, usize>, kind: &str) {
        *map.entry(kind.to_string()).or_default() += 1;
    }

    /// Items written (added or replaced).
    pub fn changes(&self) -> usize {
        self.added.values().sum::<usize>() + self.replaced.values().sum::<usize>()
    }
}

/// Where and how [`import`] writes.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions<'a> {
    /// The data directory (documents are copied under `documents/imported/`).
    pub data_dir: &'a Path,
    /// The export folder holding `files/`, if any.
    pub files_dir: Option<&'a Path>,
    /// What to do with differing items.
    pub policy: OnConflict,
    /// Write nothing.
    pub dry_run: bool,
}

/// Imports `k` into the database at `db`; documents are copied from the
/// export into the data directory and handed to `ingest` (with their
/// collection). Curated questions are embedded with `embed`.
pub fn import(
    k: &Knowledge,
    db: &Path,
    options: ImportOptions<'_>,
    embed: crate::EmbedTexts<'_>,
    ingest: &mut dyn FnMut(&Path, &str) -> Result<()>,
) -> Result<ImportReport> {
    let ImportOptions {
        data_dir,
        files_dir,
        policy,
        dry_run,
    } = options;
    let mut report = ImportReport {
        dry_run,
        ..ImportReport::default()
    };
    // A dry run into a data directory without a database compares with an
    // empty one and creates nothing.
    let exists = db.is_file();
    let mut conn = if dry_run && !exists {
        crate::schema::in_memory()?
    } else {
        crate::schema::open(db)?
    };
    // Cases from this database's own reviews are there already.
    let own_cases: Vec<String> = if exists {
        crate::evaluation::review_cases(db)?
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_string))
            .collect()
    } else {
        Vec::new()
    };
    let tx = conn.transaction()?;
    for c in &k.curated {
        let existing: Option<(i64, CuratedRecord)> = tx
            .query_row(
                "SELECT id, question, variants, answer, sources, validated_by, validated_at, expires_at
                 FROM curated WHERE question = ?1 ORDER BY id LIMIT 1",
                [&c.question],
                crate::referents::Referents::curated_row,
            )
            .optional()?
            .map(|e| (e.id, e.into()));
        let replace_id = match existing {
            Some((_, e)) if &e == c => {
                ImportReport::count(&mut report.unchanged, "curated");
                continue;
            }
            Some((id, _)) if policy == OnConflict::Replace => Some(id),
            Some(_) => {
                report
                    .conflicts
                    .push(format!("curated answer « {} »", c.question));
                continue;
            }
            None => None,
        };
        if !dry_run {
            if let Some(id) = replace_id {
                tx.execute("DELETE FROM curated WHERE id = ?1", [id])?;
            }
            let validated_at = if c.validated_at.is_empty() {
                crate::time::utc(crate::time::now_secs())
            } else {
                c.validated_at.clone()
            };
            tx.execute(
                "INSERT INTO curated(question, variants, answer, sources, validated_by, validated_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    c.question,
                    serde_json::to_string(&c.variants).unwrap_or_else(|_| "[]".into()),
                    c.answer,
                    serde_json::to_string(&c.sources).unwrap_or_else(|_| "[]".into()),
                    c.validated_by,
                    validated_at,
                    c.expires_at
                ],
            )?;
            let id = tx.last_insert_rowid();
            let texts: Vec<String> = std::iter::once(c.question.clone())
                .chain(c.variants.iter().cloned())
                .filter(|t| !t.trim().is_empty())
                .collect();
            for (text, v) in texts.iter().zip(embed(&texts)?) {
                tx.execute(
                    "INSERT INTO curated_vectors(curated_id, text, embedding) VALUES (?1, ?2, ?3)",
                    params![id, text, crate::kb::store::blob(&v)],
                )?;
            }
        }
        let kind = if replace_id.is_some() {
            &mut report.replaced
        } else {
            &mut report.added
        };
        ImportReport::count(kind, "curated");
    }
    for e in &k.exclusions {
        let existing: Option<(i64, ExclusionRecord)> = tx
            .query_row(
                "SELECT id, topic, keywords, message, contact, created_by, created_at
                 FROM exclusions WHERE topic = ?1 ORDER BY id LIMIT 1",
                [&e.topic],
                |r| {
                    Ok((
                        r.get(0)?,
                        ExclusionRecord {
                            topic: r.get(1)?,
                            keywords: json_list(&r.get::<_, String>(2)?),
                            message: r.get(3)?,
                            contact: r.get(4)?,
                            created_by: r.get(5)?,
                            created_at: r.get(6)?,
                        },
                    ))
                },
            )
            .optional()?;
        let replace_id = match existing {
            Some((_, x)) if &x == e => {
                ImportReport::count(&mut report.unchanged, "exclusions");
                continue;
            }
            Some((id, _)) if policy == OnConflict::Replace => Some(id),
            Some(_) => {
                report.conflicts.push(format!("exclusion « {} »", e.topic));
                continue;
            }
            None => None,
        };
        if !dry_run {
            if let Some(id) = replace_id {
                tx.execute("DELETE FROM exclusions WHERE id = ?1", [id])?;
            }
            tx.execute(
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
        }
        let kind = if replace_id.is_some() {
            &mut report.replaced
        } else {
            &mut report.added
        };
        ImportReport::count(kind, "exclusions");
    }
    for case in &k.eval_cases {
        let Some(id) = case["id"].as_str() else {
            return Err(Error::Usage("an evaluation case has no id".into()));
        };
        let existing: Option<String> = tx
            .query_row(
                "SELECT case_json FROM eval_cases WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let existing = existing.and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok());
        let from_reviews = existing.is_none() && own_cases.iter().any(|c| c == id);
        match existing {
            Some(x) if &x == case => {
                ImportReport::count(&mut report.unchanged, "eval_cases");
                continue;
            }
            Some(_) if policy == OnConflict::Skip => {
                report.conflicts.push(format!("evaluation case {id}"));
                continue;
            }
            None if from_reviews => {
                ImportReport::count(&mut report.unchanged, "eval_cases");
                continue;
            }
            Some(_) => ImportReport::count(&mut report.replaced, "eval_cases"),
            None => ImportReport::count(&mut report.added, "eval_cases"),
        }
        if !dry_run {
            tx.execute(
                "INSERT INTO eval_cases(id, case_json) VALUES (?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET case_json = excluded.case_json",
                params![id, case.to_string()],
            )?;
        }
    }
    for u in &k.users {
        let exists = tx
            .prepare("SELECT 1 FROM users WHERE name = ?1")?
            .exists([&u.name])?;
        if exists {
            ImportReport::count(&mut report.unchanged, "users");
            continue;
        }
        ImportReport::count(&mut report.added, "users");
        if !dry_run && u.revoked_at.is_none() {
            report.new_tokens.push((u.name.clone(), u.role.clone()));
        }
    }
    let mut to_ingest = Vec::new();
    for d in &k.documents {
        let exists = tx
            .prepare("SELECT 1 FROM documents WHERE hash = ?1")?
            .exists([&d.hash])?;
        if exists {
            ImportReport::count(&mut report.unchanged, "documents");
            continue;
        }
        let file = d
            .file
            .as_ref()
            .zip(files_dir)
            .map(|(f, dir)| dir.join(f))
            .filter(|p| p.is_file());
        let Some(file) = file else {
            report.missing_files.push(d.title.clone());
            continue;
        };
        ImportReport::count(&mut report.added, "documents");
        to_ingest.push((file, d.clone()));
    }
    if dry_run {
        return Ok(report);
    }
    tx.commit()?;
    drop(conn);
    // Users get a fresh token each (an export holds no secret).
    let referents = crate::referents::Referents::open(db)?;
    let mut tokens = Vec::new();
    for (name, role) in std::mem::take(&mut report.new_tokens) {
        let role = role
            .parse()
            .map_err(|e: String| Error::Usage(format!("user {name}: {e}")))?;
        tokens.push((name.clone(), referents.add_user(&name, role)?));
    }
    report.new_tokens = tokens;
    for u in k.users.iter().filter(|u| u.revoked_at.is_some()) {
        let fresh = !referents.users()?.iter().any(|x| x.name == u.name);
        if fresh {
            let role = u.role.parse().map_err(|e: String| Error::Usage(e))?;
            referents.add_user(&u.name, role)?;
            referents.revoke(&u.name)?;
        }
    }
    drop(referents);
    let target = data_dir.join("documents").join("imported");
    for (file, d) in to_ingest {
        let name = file
            .file_name()
            .map_or("document".into(), |n| n.to_string_lossy().into_owned());
        let folder = target.join(&d.hash[..16.min(d.hash.len())]);
        std::fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
        let to = folder.join(name);
        std::fs::copy(&file, &to).map_err(|e| io(&to, e))?;
        ingest(&to, &d.collection)?;
    }
    Ok(report)
}
