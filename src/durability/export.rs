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

use serde::{Deserialize, Serialize};

use super::backup::{io, sha256_file};
use crate::referents::{self, Curated, Exclusion, Referents};
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

impl From<Curated> for CuratedRecord {
    fn from(c: Curated) -> Self {
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

impl CuratedRecord {
    /// The curated answer this record imports as.
    fn to_curated(&self) -> Curated {
        Curated {
            id: 0,
            question: self.question.clone(),
            variants: self.variants.clone(),
            answer: self.answer.clone(),
            sources: self.sources.clone(),
            validated_by: self.validated_by.clone(),
            validated_at: self.validated_at.clone(),
            expires_at: self.expires_at.clone(),
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

impl From<Exclusion> for ExclusionRecord {
    fn from(e: Exclusion) -> Self {
        Self {
            topic: e.topic,
            keywords: e.keywords,
            message: e.message,
            contact: e.contact,
            created_by: e.created_by,
            created_at: e.created_at,
        }
    }
}

impl ExclusionRecord {
    /// The exclusion this record imports as.
    fn to_exclusion(&self) -> Exclusion {
        Exclusion {
            id: 0,
            topic: self.topic.clone(),
            keywords: self.keywords.clone(),
            message: self.message.clone(),
            contact: self.contact.clone(),
            created_by: self.created_by.clone(),
            created_at: self.created_at.clone(),
        }
    }
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
    /// The last day the token is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Where notices go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Topics of its notices.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
}

impl UserRecord {
    /// Its expiry, e-mail and topics, as the store takes them.
    pub fn profile(&self) -> referents::Profile {
        referents::Profile {
            expires_at: self.expires_at.clone(),
            email: self.email.clone(),
            topics: self.topics.clone(),
        }
    }
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

/// Reads the town's knowledge from the database at `db`.
pub fn collect(db: &Path) -> Result<Knowledge> {
    let conn = crate::schema::open(db)?;
    let referents = Referents::open(db)?;
    let mut k = Knowledge {
        curated: referents.curated()?.into_iter().map(Into::into).collect(),
        ..Knowledge::default()
    };
    k.curated
        .sort_by(|a, b| (&a.question, &a.answer).cmp(&(&b.question, &b.answer)));
    k.exclusions = referents
        .exclusions()?
        .into_iter()
        .map(Into::into)
        .collect();
    k.exclusions.sort_by(|a, b| a.topic.cmp(&b.topic));
    let mut cases: BTreeMap<String, serde_json::Value> =
        referents::eval_cases(&conn)?.into_iter().collect();
    for case in super::reviewed::cases(db)? {
        let id = case["id"].as_str().unwrap_or_default().to_string();
        cases.entry(id).or_insert(case);
    }
    k.eval_cases = cases.into_values().collect();
    k.documents = crate::kb::store::documents_with_metadata(&conn)?
        .into_iter()
        .map(|(d, metadata)| DocumentRecord {
            hash: d.hash,
            title: d.title,
            collection: d.collection,
            format: d.format,
            url: d.url,
            date: d.date,
            metadata,
            source: d.source,
            file: None,
        })
        .collect();
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
            expires_at: u.expires_at,
            email: u.email,
            topics: u.topics,
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

/// Checks every row of `k` before anything is written, so that an import
/// applies whole or changes nothing: the first bad row is named by its
/// file and line in the export (`users.jsonl:2`) with what is wrong
/// ([`Error::Invalid`], a 422 over HTTP).
pub fn validate(k: &Knowledge) -> Result<()> {
    let bad = |file: &str, i: usize, what: String| {
        Err(Error::Invalid(format!(
            "{file}:{} : {what} ; rien n'a été importé.",
            i + 1
        )))
    };
    let blank = |s: &str| s.trim().is_empty();
    for (i, c) in k.curated.iter().enumerate() {
        if let Some(problem) = c.to_curated().problem() {
            return bad("curated.jsonl", i, problem);
        }
    }
    for (i, e) in k.exclusions.iter().enumerate() {
        if blank(&e.topic) || e.keywords.iter().all(|w| blank(w)) {
            return bad(
                "exclusions.jsonl",
                i,
                "sujet exclu sans nom ou sans mot-clé".into(),
            );
        }
        if !e.created_at.is_empty() && !crate::time::is_date_or_time(&e.created_at) {
            return bad(
                "exclusions.jsonl",
                i,
                format!("date invalide « {} »", e.created_at),
            );
        }
    }
    for (i, c) in k.eval_cases.iter().enumerate() {
        if c["id"].as_str().is_none_or(blank) {
            return bad(
                "eval-cases.jsonl",
                i,
                "cas d'évaluation sans identifiant".into(),
            );
        }
        if !c["question"].is_string() {
            return bad(
                "eval-cases.jsonl",
                i,
                "cas d'évaluation sans question".into(),
            );
        }
    }
    for (i, u) in k.users.iter().enumerate() {
        if blank(&u.name) {
            return bad("users.jsonl", i, "utilisateur sans nom".into());
        }
        if let Some(p) = u.profile().problem() {
            return bad("users.jsonl", i, p);
        }
        if u.role.parse::<crate::referents::Role>().is_err() {
            return bad(
                "users.jsonl",
                i,
                format!(
                    "rôle inconnu « {} » pour {} (referent ou admin)",
                    u.role, u.name
                ),
            );
        }
    }
    for (i, d) in k.documents.iter().enumerate() {
        if d.hash.len() != 64 || !d.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return bad(
                "documents.jsonl",
                i,
                format!("empreinte SHA-256 invalide pour « {} »", d.title),
            );
        }
        if d.file.as_deref().is_some_and(|f| {
            std::path::Path::new(f)
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        }) {
            return bad(
                "documents.jsonl",
                i,
                format!("chemin de fichier refusé pour « {} »", d.title),
            );
        }
    }
    Ok(())
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
    validate(k)?;
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
        super::reviewed::cases(db)?
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_string))
            .collect()
    } else {
        Vec::new()
    };
    let tx = conn.transaction()?;
    for c in &k.curated {
        let existing = referents::curated_by_question(&tx, &c.question)?;
        let replace_id = match existing {
            Some(e) if &CuratedRecord::from(e.clone()) == c => {
                ImportReport::count(&mut report.unchanged, "curated");
                continue;
            }
            Some(e) if policy == OnConflict::Replace => Some(e.id),
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
                referents::delete_curated_on(&tx, id)?;
            }
            let texts: Vec<String> = std::iter::once(c.question.clone())
                .chain(c.variants.iter().cloned())
                .filter(|t| !t.trim().is_empty())
                .collect();
            let vectors: Vec<(String, Vec<f32>)> =
                texts.iter().cloned().zip(embed(&texts)?).collect();
            referents::insert_curated(&tx, &c.to_curated(), &vectors)?;
        }
        let kind = if replace_id.is_some() {
            &mut report.replaced
        } else {
            &mut report.added
        };
        ImportReport::count(kind, "curated");
    }
    for e in &k.exclusions {
        let existing = referents::exclusion_by_topic(&tx, &e.topic)?;
        let replace_id = match existing {
            Some(x) if &ExclusionRecord::from(x.clone()) == e => {
                ImportReport::count(&mut report.unchanged, "exclusions");
                continue;
            }
            Some(x) if policy == OnConflict::Replace => Some(x.id),
            Some(_) => {
                report.conflicts.push(format!("exclusion « {} »", e.topic));
                continue;
            }
            None => None,
        };
        if !dry_run {
            if let Some(id) = replace_id {
                referents::delete_exclusion_on(&tx, id)?;
            }
            referents::insert_exclusion(&tx, &e.to_exclusion())?;
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
            continue; // refused by validate
        };
        let existing = referents::eval_case(&tx, id)?;
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
            referents::put_eval_case(&tx, id, case)?;
        }
    }
    // Users get a fresh token each (an export holds no secret), printed
    // once; revoked ones are created revoked.
    for u in &k.users {
        if referents::user_exists(&tx, &u.name)? {
            ImportReport::count(&mut report.unchanged, "users");
            continue;
        }
        ImportReport::count(&mut report.added, "users");
        if dry_run {
            continue;
        }
        let role = u
            .role
            .parse()
            .map_err(|e: String| Error::Invalid(format!("users.jsonl: {e}")))?;
        let token = referents::insert_user(&tx, &u.name, role, &u.profile())?;
        if u.revoked_at.is_some() {
            referents::revoke_on(&tx, &u.name)?;
        } else {
            report.new_tokens.push((u.name.clone(), token));
        }
    }
    let mut to_ingest = Vec::new();
    for d in &k.documents {
        if crate::kb::store::has_document_hash(&tx, &d.hash)? {
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
