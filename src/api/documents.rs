//! Documents over HTTP (référents): upload one or more files, follow the
//! ingestion job, list, show, replace and delete documents.
//!
//! An upload answers at once with a job id; the files are ingested in the
//! background through the same pipeline as `guichet ingest`, parsed,
//! chunked and embedded *without* holding the knowledge base (searches go
//! on), then committed one document at a time: a failing file never blocks
//! the others, and a document is answerable as soon as its job has
//! committed it. Uploaded files are kept under `DATA/documents/` with a
//! sanitised name (a file name is never used as a path); formats are
//! detected from the content, and office archives are size-capped by the
//! loaders (zip bombs).

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Mutex;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::auth::Staff;
use super::AppState;
use crate::kb::ingest::{prepare, Committed, IngestOptions, IngestReport};
use crate::{Error, Result};

/// The outcome of one file of a job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileResult {
    /// The file name as sent.
    pub name: String,
    /// `queued`, `added`, `updated`, `unchanged` or `failed`.
    pub status: String,
    /// The stored document, once committed.
    pub document_id: Option<i64>,
    /// Chunks stored.
    pub chunks: usize,
    /// Why it failed.
    pub error: Option<String>,
}

/// An ingestion job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Job {
    /// Its id.
    pub id: String,
    /// `running` or `done`.
    pub status: String,
    /// Who uploaded.
    pub by: String,
    /// Its files.
    pub files: Vec<FileResult>,
}

/// The jobs of this process (kept until restart).
#[derive(Debug, Default)]
pub struct Jobs(Mutex<HashMap<String, Job>>);

impl Jobs {
    fn update(&self, id: &str, f: impl FnOnce(&mut Job)) {
        if let Ok(mut m) = self.0.lock() {
            if let Some(j) = m.get_mut(id) {
                f(j);
            }
        }
    }

    fn get(&self, id: &str) -> Option<Job> {
        self.0.lock().ok().and_then(|m| m.get(id).cloned())
    }
}

/// A file name reduced to letters, digits, `.`, `-` and `_`, without any
/// folder part and without a leading dot: safe inside the uploads folder.
pub fn sanitize(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    let clean = clean.trim_start_matches('.').to_string();
    if clean.is_empty() {
        "document".into()
    } else {
        clean
    }
}

struct Upload {
    name: String,
    bytes: Vec<u8>,
}

/// Reads the multipart body: `file` parts (one or more) and an optional
/// `collection`. Every file is checked against the per-file limit before
/// anything is written.
async fn read_parts(state: &AppState, mut m: Multipart) -> Result<(Vec<Upload>, String)> {
    let limit = state.settings.limits.max_upload_bytes;
    let mut files = Vec::new();
    let mut collection = String::new();
    loop {
        let field = match m.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(Error::TooLarge(
                    "L'envoi dépasse la taille autorisée.".into(),
                ))
            }
            Err(e) => return Err(Error::Invalid(format!("Envoi multipart invalide : {e}"))),
        };
        let field_name = field.name().unwrap_or("").to_string();
        if field_name == "collection" {
            collection = field
                .text()
                .await
                .map_err(|e| Error::Invalid(format!("Champ « collection » illisible : {e}")))?;
            continue;
        }
        let name = field.file_name().unwrap_or("document").to_string();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::TooLarge("L'envoi dépasse la taille autorisée.".into())
            } else {
                Error::Invalid(format!("Fichier {name} illisible : {e}"))
            }
        })?;
        if bytes.len() > limit {
            return Err(Error::TooLarge(format!(
                "Le fichier {} dépasse la taille autorisée ({} octets au plus).",
                sanitize(&name),
                limit
            )));
        }
        if bytes.is_empty() {
            return Err(Error::Invalid(format!(
                "Le fichier {} est vide.",
                sanitize(&name)
            )));
        }
        files.push(Upload {
            name,
            bytes: bytes.to_vec(),
        });
    }
    if files.is_empty() {
        return Err(Error::Invalid(
            "Aucun fichier envoyé (champ « file »).".into(),
        ));
    }
    Ok((files, collection))
}

/// Writes `bytes` under `DATA/documents/<id>/<name>` (temporary name, then
/// rename) and returns the path.
fn save(data_dir: &FsPath, name: &str, bytes: &[u8]) -> Result<PathBuf> {
    let dir = data_dir
        .join("documents")
        .join(crate::conversations::new_id());
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(sanitize(name));
    let tmp = dir.join(".upload.tmp");
    std::fs::write(&tmp, bytes).map_err(|source| Error::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, &path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Ingests one saved file under `source`; the knowledge base is locked only
/// to check for an unchanged version and to commit.
fn ingest_one(
    engine: &super::Engine,
    path: &FsPath,
    name: &str,
    source: &str,
    collection: &str,
) -> Result<(String, Option<i64>, usize)> {
    use sha2::Digest;
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let hash = format!("{:x}", sha2::Sha256::digest(&bytes));
    let lock = || engine.kb();
    if lock()?.is_unchanged(source, &hash)? {
        return Ok(("unchanged".into(), None, 0));
    }
    let embedder = engine.assistant.embedder().clone();
    let options = IngestOptions {
        collection: collection.to_string(),
        ..engine.ingest_options.clone()
    };
    let prepared = prepare(
        &engine.parser,
        &embedder,
        name,
        source,
        &bytes,
        &options,
        &guichet_ingest::ChunkOptions::default(),
        &mut IngestReport::default(),
    )?;
    let mut kb = lock()?;
    let done = kb.commit(prepared)?;
    kb.save_index()?;
    Ok(match done {
        Committed::Added(id, n) => ("added".into(), Some(id), n),
        Committed::Updated(id, n) => ("updated".into(), Some(id), n),
    })
}

/// Starts a job over saved files: `(name as sent, saved path, source)`.
fn start_job(
    state: &AppState,
    staff: &Staff,
    files: Vec<(String, PathBuf, String)>,
    collection: String,
) -> Result<Job> {
    let id = crate::conversations::new_id();
    let job = Job {
        id: id.clone(),
        status: "running".into(),
        by: staff.name.clone(),
        files: files
            .iter()
            .map(|(n, _, _)| FileResult {
                name: n.clone(),
                status: "queued".into(),
                document_id: None,
                chunks: 0,
                error: None,
            })
            .collect(),
    };
    if let Ok(mut m) = state.jobs.0.lock() {
        m.insert(id.clone(), job.clone());
    }
    let jobs = state.jobs.clone();
    let state2 = state.clone();
    let who = staff.name.clone();
    tokio::task::spawn_blocking(move || {
        let Ok(engine) = state2.engine() else { return };
        for (i, (name, path, source)) in files.iter().enumerate() {
            let r = ingest_one(engine, path, name, source, &collection);
            if let Ok(s) = engine.referents.lock() {
                let detail = match &r {
                    Ok((st, _, n)) => format!("{st}, {n} chunks"),
                    Err(e) => format!("failed: {e}"),
                };
                let _ = s.audit(&who, "document.ingest", name, &detail);
            }
            jobs.update(&id, |j| {
                let f = &mut j.files[i];
                match r {
                    Ok((st, doc, n)) => {
                        f.status = st;
                        f.document_id = doc;
                        f.chunks = n;
                    }
                    Err(e) => {
                        f.status = "failed".into();
                        f.error = Some(e.to_string());
                    }
                }
            });
        }
        jobs.update(&id, |j| j.status = "done".into());
    });
    Ok(job)
}

/// `POST /api/documents` (multipart: `file` parts, optional `collection`):
/// a job id at once, ingestion in the background.
#[utoipa::path(post, path = "/api/documents", tag = "documents", security(("bearer" = [])),
    request_body(content_type = "multipart/form-data", description = "`file` (one or more), `collection`"),
    responses((status = 202, body = Job), (status = 401, body = super::error::ErrorBody), (status = 413, body = super::error::ErrorBody)))]
pub async fn upload(State(state): State<AppState>, staff: Staff, m: Multipart) -> Result<Response> {
    let engine = state.engine()?;
    let (uploads, collection) = read_parts(&state, m).await?;
    let mut files = Vec::new();
    for u in uploads {
        let path = save(&engine.data_dir, &u.name, &u.bytes)?;
        let source = path
            .canonicalize()
            .unwrap_or(path.clone())
            .to_string_lossy()
            .into_owned();
        files.push((u.name, path, source));
    }
    let job = start_job(&state, &staff, files, collection)?;
    Ok((StatusCode::ACCEPTED, Json(job)).into_response())
}

/// `PUT /api/documents/{id}` (multipart, one `file`): a new version of a
/// document; its old chunks are replaced in one transaction once the new
/// ones are embedded.
#[utoipa::path(put, path = "/api/documents/{id}", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "`file`"),
    responses((status = 202, body = Job), (status = 404, body = super::error::ErrorBody)))]
pub async fn replace(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
    m: Multipart,
) -> Result<Response> {
    let engine = state.engine()?;
    let doc = engine
        .kb()?
        .store()
        .document(id)?
        .ok_or_else(|| Error::NotFound("Document inconnu.".into()))?;
    let (mut uploads, _) = read_parts(&state, m).await?;
    if uploads.len() != 1 {
        return Err(Error::Invalid(
            "Envoyez un seul fichier pour remplacer un document.".into(),
        ));
    }
    let u = uploads.remove(0);
    let path = save(&engine.data_dir, &u.name, &u.bytes)?;
    // The document keeps its identity (its source): the new version
    // replaces the old one.
    let job = start_job(
        &state,
        &staff,
        vec![(u.name, path, doc.source)],
        doc.collection,
    )?;
    Ok((StatusCode::ACCEPTED, Json(job)).into_response())
}

/// `GET /api/jobs/{id}`: a job's status and per-file results.
#[utoipa::path(get, path = "/api/jobs/{id}", tag = "documents", security(("bearer" = [])),
    params(("id" = String, Path)), responses((status = 200, body = Job), (status = 404, body = super::error::ErrorBody)))]
pub async fn job(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<String>,
) -> Result<Response> {
    let j = state
        .jobs
        .get(&id)
        .ok_or_else(|| Error::NotFound("Tâche inconnue.".into()))?;
    Ok(Json(j).into_response())
}

/// The query of `GET /api/documents`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Text searched in titles and sources.
    pub q: Option<String>,
    /// Only this collection.
    pub collection: Option<String>,
    /// Page (1-based).
    pub page: Option<usize>,
    /// Documents per page (default 50).
    pub per_page: Option<usize>,
}

/// `GET /api/documents`: stored documents, paged, filtered by text or
/// collection.
#[utoipa::path(get, path = "/api/documents", tag = "documents", security(("bearer" = [])),
    params(("q" = Option<String>, Query), ("collection" = Option<String>, Query), ("page" = Option<usize>, Query), ("per_page" = Option<usize>, Query)),
    responses((status = 200, description = "`{total, page, documents: [...]}`")))]
pub async fn list(
    State(state): State<AppState>,
    _staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<Response> {
    let engine = state.engine()?;
    let docs = engine.kb()?.store().documents()?;
    let needle =
        q.q.as_deref()
            .map(|s| crate::rag::lexicon::folded_words(s).join(" "));
    let filtered: Vec<_> = docs
        .into_iter()
        .filter(|d| q.collection.as_ref().is_none_or(|c| &d.collection == c))
        .filter(|d| {
            needle.as_ref().is_none_or(|n| {
                crate::rag::lexicon::folded_words(&format!("{} {}", d.title, d.source))
                    .join(" ")
                    .contains(n.as_str())
            })
        })
        .collect();
    let per = q.per_page.unwrap_or(50).clamp(1, 500);
    let page = q.page.unwrap_or(1).max(1);
    let total = filtered.len();
    let items: Vec<_> = filtered
        .into_iter()
        .skip((page - 1) * per)
        .take(per)
        .collect();
    Ok(
        Json(serde_json::json!({ "total": total, "page": page, "documents": items }))
            .into_response(),
    )
}

/// `GET /api/documents/{id}`: metadata and chunks.
#[utoipa::path(get, path = "/api/documents/{id}", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 200, description = "`{document, chunks}`"), (status = 404, body = super::error::ErrorBody)))]
pub async fn show(
    State(state): State<AppState>,
    _staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response> {
    let engine = state.engine()?;
    let kb = engine.kb()?;
    let doc = kb
        .store()
        .document(id)?
        .ok_or_else(|| Error::NotFound("Document inconnu.".into()))?;
    let chunks = kb.store().document_chunks(id)?;
    Ok(Json(serde_json::json!({ "document": doc, "chunks": chunks })).into_response())
}

/// `DELETE /api/documents/{id}`: the document and its chunks; it is never
/// cited again (its vectors are filtered out until the next rebuild).
#[utoipa::path(delete, path = "/api/documents/{id}", tag = "documents", security(("bearer" = [])),
    params(("id" = i64, Path)), responses((status = 204), (status = 404, body = super::error::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<i64>,
) -> Result<Response> {
    let engine = state.engine()?;
    let source = {
        let mut kb = engine.kb()?;
        let doc = kb
            .store()
            .document(id)?
            .ok_or_else(|| Error::NotFound("Document inconnu.".into()))?;
        kb.remove_document(id)?;
        doc.source
    };
    // An uploaded file goes with its document; the town's own files stay.
    let uploads = engine.data_dir.join("documents");
    let up = uploads.canonicalize().unwrap_or(uploads);
    let p = PathBuf::from(&source);
    if p.starts_with(&up) {
        if let Some(dir) = p.parent().filter(|d| d != &up.as_path()) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    if let Ok(s) = engine.referents.lock() {
        let _ = s.audit(&staff.name, "document.delete", &id.to_string(), &source);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Routes of this module, with their own body limit (uploads are larger
/// than questions).
pub fn routes(limit: usize) -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(list, upload))
        .routes(routes!(show, replace, delete))
        .routes(routes!(job))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                // Refused before a byte of the body is read: without this, the
                // limit is only met after `limit` bytes have come in.
                let declared = req
                    .headers()
                    .get(axum::http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                if declared.is_some_and(|n| n > limit as u64) {
                    return Error::TooLarge(format!(
                        "La requête dépasse la taille maximale des envois ({} Mo).",
                        limit >> 20
                    ))
                    .into_response();
                }
                next.run(req).await
            },
        ))
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn file_names_cannot_escape_the_uploads_folder() {
        assert_eq!(sanitize("../../etc/passwd"), "passwd");
        assert_eq!(sanitize("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(sanitize(".htaccess"), "htaccess");
        assert_eq!(sanitize("Délibération n°3.pdf"), "D_lib_ration_n_3.pdf");
        assert_eq!(sanitize("/"), "document");
        assert_eq!(sanitize(".."), "document");
    }
}
