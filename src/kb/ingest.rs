//! The ingestion pipeline: files → `guichet-ingest` (parse, chunk) →
//! embedder → store → vector index.
//!
//! Each document is committed on its own transaction: a failing file is
//! reported with its reason and never stops the others, and a crash leaves
//! every document fully old or fully new. An unchanged file (same sha256) is
//! skipped; with `sync`, documents whose files disappeared from the given
//! folders, or are now left out by a [`IGNORE_FILE`], are removed.
//!
//! Files are prepared (read, parsed, chunked, embedded) by as many workers
//! as the parser has ([`Parser::workers`]: one per core, at most four) and
//! committed one by one in file order. Side by side, one document's serial
//! steps (tokenizing, layer norms, copies between the embedder's products)
//! run while another's products use the cores: one worker at a time left
//! a core idle a third of the time.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use guichet_ingest::{ChunkOptions, Document};
use guichet_models::EmbedKind;
use sha2::{Digest, Sha256};

use super::store::{NewChunk, NewDocument};
use super::KnowledgeBase;
use crate::parse::Parser;
use crate::{Error, Result};

/// What happened to the files of one ingestion.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct IngestReport {
    /// New documents.
    pub added: usize,
    /// Documents whose file changed.
    pub updated: usize,
    /// Files already ingested with the same content.
    pub unchanged: usize,
    /// Documents removed because their file is gone (`sync`).
    pub removed: usize,
    /// Files that could not be ingested, with the reason.
    pub failed: Vec<(PathBuf, String)>,
    /// Entries that are not regular files (FIFOs, sockets, devices,
    /// symbolic-link loops, dangling links), left alone, with a note.
    pub skipped: Vec<(PathBuf, String)>,
    /// Chunks written.
    pub chunks: usize,
    /// Seconds spent reading, parsing and chunking (summed over the
    /// workers, so it can exceed [`IngestReport::seconds`]).
    pub parse_seconds: f64,
    /// Seconds spent embedding (summed over the workers).
    pub embed_seconds: f64,
    /// Seconds in total.
    pub seconds: f64,
    /// Documents whose scanned pages were read by OCR.
    pub ocr: Vec<OcrRead>,
}

/// A document read (in part) by OCR, for the summary: a référent should
/// know which answers rest on recognised text, and how sure it was.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OcrRead {
    /// The file name.
    pub name: String,
    /// Pages recognised.
    pub pages: usize,
    /// Tesseract's mean word confidence over them, 0 to 100.
    pub confidence: f64,
}

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Also remove documents whose files are gone from the given folders
    /// (or left out by an ignore file).
    pub sync: bool,
    /// Collection to file the documents under.
    pub collection: String,
    /// Index document titles (in each chunk's context line and in the
    /// lexical index). Only turned off to measure retrieval without them:
    /// Service-Public question sets often quote the fiche's title.
    pub index_titles: bool,
    /// Most chunks one document may give (`[ingest] max_chunks`).
    pub max_chunks: usize,
}

pub use crate::settings::DEFAULT_MAX_CHUNKS;

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            sync: false,
            collection: String::new(),
            index_titles: true,
            max_chunks: DEFAULT_MAX_CHUNKS,
        }
    }
}

/// Progress events for a progress bar.
#[derive(Debug, Clone)]
pub enum IngestEvent<'a> {
    /// The files to look at were listed.
    Files(usize),
    /// One file is done (whatever the outcome).
    FileDone(&'a Path),
}

/// The file that lists, in gitignore syntax, what a folder's ingestion
/// leaves out (`SOURCE.md`, `*.csv`, `brouillons/`), read in the ingested
/// folder, the folders below it and above it. A folder of documents often
/// holds its own notes or a listing of its files; ingested, they repeat
/// the documents' titles and get quoted to citizens as answers.
pub const IGNORE_FILE: &str = ".guichetignore";

/// What [`list_files`] found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Regular files to ingest, sorted.
    pub files: Vec<PathBuf>,
    /// Entries left alone, with the reason (not a regular file, a link
    /// loop, a dangling link, an unreadable folder).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Every file under `paths` (files as given, folders recursively; hidden
/// entries and what an [`IGNORE_FILE`] lists skipped), sorted. What is not
/// a regular file is noted in [`Listing::skipped`] and never opened: a FIFO
/// would block the run, a link loop would never end. Only a path given on
/// the command line that does not exist at all is an error.
pub fn list_files(paths: &[PathBuf]) -> Result<Listing> {
    let mut listing = Listing::default();
    for p in paths {
        let meta = match std::fs::metadata(p) {
            Ok(m) => m,
            Err(e) if std::fs::symlink_metadata(p).is_ok() => {
                listing.skipped.push((p.clone(), link_note(&e)));
                continue;
            }
            Err(_) => {
                return Err(Error::Io {
                    path: p.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no such file or folder",
                    ),
                })
            }
        };
        if meta.is_file() {
            listing.files.push(p.clone());
            continue;
        }
        if !meta.is_dir() {
            listing.skipped.push((p.clone(), not_regular(&meta)));
            continue;
        }
        let walk = ignore::WalkBuilder::new(p)
            .hidden(true)
            .parents(true)
            .ignore(false)
            .git_ignore(false)
            .git_global(false)
            .git_exclude(false)
            .require_git(false)
            .follow_links(true)
            .add_custom_ignore_filename(IGNORE_FILE)
            .build();
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = error_path(&e).unwrap_or_else(|| p.clone());
                    // The walk's own error hides the system's: ask again.
                    let note = match std::fs::metadata(&path) {
                        Err(io) => link_note(&io),
                        Ok(_) if matches!(e, ignore::Error::Loop { .. }) => {
                            "boucle de liens symboliques : ignoré".to_string()
                        }
                        Ok(_) => format!("non lu ({e}) : ignoré"),
                    };
                    listing.skipped.push((path, note));
                    continue;
                }
            };
            match entry.file_type() {
                Some(t) if t.is_file() => listing.files.push(entry.into_path()),
                Some(t) if t.is_dir() => {}
                _ => {
                    let note = std::fs::metadata(entry.path())
                        .map_or_else(|e| link_note(&e), |m| not_regular(&m));
                    listing.skipped.push((entry.into_path(), note));
                }
            }
        }
    }
    listing.files.sort();
    listing.files.dedup();
    Ok(listing)
}

/// The path an error of the folder walk is about.
fn error_path(e: &ignore::Error) -> Option<PathBuf> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

/// The note for an entry whose target cannot be read.
fn link_note(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "lien symbolique vers un fichier absent : ignoré".into(),
        _ if e.raw_os_error() == Some(40) => "boucle de liens symboliques : ignoré".into(),
        _ => format!("non lu ({e}) : ignoré"),
    }
}

/// The note for an entry that is neither a file nor a folder.
fn not_regular(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let what = if t.is_fifo() {
        "un tube nommé (FIFO)"
    } else if t.is_socket() {
        "une socket"
    } else if t.is_block_device() || t.is_char_device() {
        "un périphérique"
    } else {
        "un fichier spécial"
    };
    format!("pas un fichier ordinaire ({what}) : ignoré")
}

/// Reads a regular file of at most `max` bytes. The file is opened
/// without blocking and checked on the open handle, so that a file
/// replaced by a FIFO after the listing cannot hang the run.
pub fn read_regular(path: &Path, max: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    if !meta.is_file() {
        return Err(Error::Usage(format!("{name}: {}", not_regular(&meta))));
    }
    if meta.len() > max {
        return Err(guichet_ingest::Error::TooLarge {
            name,
            size: meta.len(),
            limit: max,
        }
        .into());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    // `take` guards against a file that grows while being read.
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(guichet_ingest::Error::TooLarge {
            name,
            size: bytes.len() as u64,
            limit: max,
        }
        .into());
    }
    Ok(bytes)
}

/// A file's identity in the store: its canonical path.
fn source_of(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_owned())
        .to_string_lossy()
        .into_owned()
}

impl KnowledgeBase {
    /// Ingests `paths`, parsing with `parser`; see the module
    /// documentation.
    pub fn ingest(
        &mut self,
        parser: &Parser,
        paths: &[PathBuf],
        options: &IngestOptions,
        on: &mut dyn FnMut(IngestEvent<'_>),
    ) -> Result<IngestReport> {
        let started = Instant::now();
        let Listing { files, skipped } = list_files(paths)?;
        on(IngestEvent::Files(files.len()));
        let mut report = IngestReport {
            skipped,
            ..IngestReport::default()
        };
        let known: HashMap<String, String> = self
            .store
            .documents()?
            .into_iter()
            .map(|d| (d.source, d.hash))
            .collect();
        let opts = ChunkOptions::default();
        let embedder = self.embedder.clone();
        let workers = parser.workers().clamp(1, files.len().max(1));
        let window = Window::default();
        let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
        std::thread::scope(|s| {
            for _ in 0..workers {
                let tx = tx.clone();
                let (files, known, embedder, opts, window) =
                    (&files, &known, &embedder, &opts, &window);
                s.spawn(move || {
                    while let Some(i) = window.take(files.len()) {
                        let outcome =
                            read_and_prepare(parser, embedder, &files[i], known, options, opts);
                        if tx.send((i, outcome)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            // Should this thread unwind, the workers stop waiting for it
            // (and stop at their next send): the scope can end.
            let _release = Release(&window);
            // Documents are committed in file order (ids and the graph do
            // not depend on which worker finished first).
            let mut ready = BTreeMap::new();
            let mut due = 0;
            for (i, outcome) in rx {
                ready.insert(i, outcome);
                while let Some(outcome) = ready.remove(&due) {
                    self.record(&files[due], outcome, &mut report);
                    on(IngestEvent::FileDone(&files[due]));
                    due += 1;
                    window.committed(due);
                }
            }
        });
        if options.sync {
            let listed: std::collections::HashSet<String> =
                files.iter().map(|f| source_of(f)).collect();
            let roots: Vec<String> = paths
                .iter()
                .filter(|p| p.is_dir())
                .map(|p| source_of(p))
                .collect();
            for doc in self.store.documents()? {
                let under = roots.iter().any(|r| Path::new(&doc.source).starts_with(r));
                if under && !listed.contains(&doc.source) && self.store.remove_document(doc.id)? {
                    report.removed += 1;
                }
            }
        }
        self.save_index()?;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Commits one file's outcome and counts it in `report`.
    fn record(&mut self, file: &Path, outcome: Outcome, report: &mut IngestReport) {
        report.parse_seconds += outcome.timing.parse_seconds;
        report.embed_seconds += outcome.timing.embed_seconds;
        report.ocr.extend(outcome.timing.ocr);
        let committed = match outcome.result {
            Ok(Some(prepared)) => self.commit(*prepared),
            Ok(None) => {
                report.unchanged += 1;
                return;
            }
            Err(e) => Err(e),
        };
        match committed {
            Ok(Committed::Added(_, n)) => {
                report.added += 1;
                report.chunks += n;
            }
            Ok(Committed::Updated(_, n)) => {
                report.updated += 1;
                report.chunks += n;
            }
            Err(e) => report.failed.push((file.to_owned(), e.to_string())),
        }
    }

    /// Whether the document from `source` is stored with this hash.
    pub fn is_unchanged(&self, source: &str, hash: &str) -> Result<bool> {
        Ok(self
            .store
            .find_source(source)?
            .is_some_and(|(_, h)| h == hash))
    }

    /// Stores a prepared document (replacing its previous version in one
    /// transaction) and adds its vectors to the index; the index file is
    /// saved by the caller ([`KnowledgeBase::save_index`]).
    pub fn commit(&mut self, p: Prepared) -> Result<Committed> {
        let current = format!("{}:{}", self.embedder.id(), self.embedder.dim());
        if p.model != current {
            return Err(Error::Usage(format!(
                "the knowledge base switched from {} to {current} while this file was being read: send it again",
                p.model
            )));
        }
        let previous = self.store.find_source(&p.document.source)?;
        let (id, ids) = self.store.replace_document(&p.document, &p.chunks)?;
        let pairs: Vec<(i64, Vec<f32>)> = ids
            .into_iter()
            .zip(p.chunks.into_iter().map(|c| c.embedding))
            .collect();
        self.vectors.insert(&pairs)?;
        Ok(if previous.is_some() {
            Committed::Updated(id, pairs.len())
        } else {
            Committed::Added(id, pairs.len())
        })
    }
}

/// How far ahead of the next document to commit the workers may go: a
/// slow file (a long PDF under OCR) holds the commits behind it, and the
/// documents prepared meanwhile wait in memory, so they are bounded.
const AHEAD: usize = 64;

/// Hands out file indices to the workers, at most [`AHEAD`] past the next
/// one to commit.
#[derive(Default)]
struct Window {
    /// (next index to hand out, next index to commit)
    state: Mutex<(usize, usize)>,
    moved: Condvar,
}

impl Window {
    /// The next file to prepare, waiting while it would be too far ahead;
    /// `None` once every file is handed out.
    fn take(&self, files: usize) -> Option<usize> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut state = self
            .moved
            .wait_while(state, |(next, due)| *next < files && *next >= *due + AHEAD)
            .unwrap_or_else(PoisonError::into_inner);
        let i = state.0;
        (i < files).then(|| {
            state.0 += 1;
            i
        })
    }

    /// Every file before `due` is committed.
    fn committed(&self, due: usize) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).1 = due;
        self.moved.notify_all();
    }
}

/// Lifts the window when the committing thread leaves, however it leaves.
struct Release<'a>(&'a Window);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.committed(usize::MAX / 2);
    }
}

/// One file read and prepared by a worker: the document to commit, `None`
/// when it is stored unchanged, or why it failed; with the time it took.
struct Outcome {
    result: Result<Option<Box<Prepared>>>,
    timing: IngestReport,
}

/// Reads `file`, skips it when `known` holds it with the same hash, else
/// parses, chunks and embeds it. A panic in this file's work is this file's
/// failure, never the run's.
fn read_and_prepare(
    parser: &Parser,
    embedder: &std::sync::Arc<dyn guichet_models::Embedder>,
    file: &Path,
    known: &HashMap<String, String>,
    options: &IngestOptions,
    opts: &ChunkOptions,
) -> Outcome {
    let mut timing = IngestReport::default();
    let work = std::panic::AssertUnwindSafe(|| -> Result<Option<Box<Prepared>>> {
        let bytes = read_regular(file, parser.limits().load.max_bytes)?;
        let source = source_of(file);
        let name = file
            .file_name()
            .map_or_else(|| source.clone(), |n| n.to_string_lossy().into_owned());
        let hash = format!("{:x}", Sha256::digest(&bytes));
        if known.get(&source) == Some(&hash) {
            return Ok(None);
        }
        let prepared = prepare(
            parser,
            embedder,
            &name,
            &source,
            &bytes,
            options,
            opts,
            &mut timing,
        )?;
        Ok(Some(Box::new(prepared)))
    });
    let result = std::panic::catch_unwind(work).unwrap_or_else(|_| {
        Err(Error::Usage(format!(
            "{}: erreur interne pendant la lecture (signalée dans le journal)",
            file.display()
        )))
    });
    Outcome { result, timing }
}

/// A document parsed, chunked and embedded, ready to be stored: the slow
/// part of ingestion, done without holding the knowledge base, so that
/// searches go on while a référent's upload is embedded.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The document row.
    pub document: NewDocument,
    /// Its chunks with their embeddings.
    pub chunks: Vec<NewChunk>,
    /// The embedding model that made them (`id:dimension`): a commit after
    /// the knowledge base switched model is refused.
    pub model: String,
}

/// What [`KnowledgeBase::commit`] did: the document id and chunk count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// A new document.
    Added(i64, usize),
    /// A new version of a stored one.
    Updated(i64, usize),
}

/// Parses `bytes` with `parser` (format detected from the content; `name`
/// for messages and titles), chunks and embeds them. Chunking runs here,
/// on the structured text the parser returned, in time linear in it.
#[allow(clippy::too_many_arguments)]
pub fn prepare(
    parser: &Parser,
    embedder: &std::sync::Arc<dyn guichet_models::Embedder>,
    name: &str,
    source: &str,
    bytes: &[u8],
    options: &IngestOptions,
    opts: &ChunkOptions,
    report: &mut IngestReport,
) -> Result<Prepared> {
    let t0 = Instant::now();
    let doc: Document = parser.parse(name, bytes)?;
    report.parse_seconds += t0.elapsed().as_secs_f64();
    let hash = format!("{:x}", Sha256::digest(bytes));
    prepare_document(embedder, doc, name, source, hash, options, opts, report)
}

/// [`prepare`] for a document already parsed (a crawler reads a page's
/// links before deciding to index it): chunks and embeds `doc`, whose
/// bytes hash to `hash`. A document read by OCR is listed in
/// `report.ocr`.
#[allow(clippy::too_many_arguments)]
pub fn prepare_document(
    embedder: &std::sync::Arc<dyn guichet_models::Embedder>,
    doc: Document,
    name: &str,
    source: &str,
    hash: String,
    options: &IngestOptions,
    opts: &ChunkOptions,
    report: &mut IngestReport,
) -> Result<Prepared> {
    let t0 = Instant::now();
    let untitled;
    let to_chunk = if options.index_titles {
        &doc
    } else {
        untitled = Document {
            title: String::new(),
            ..doc.clone()
        };
        &untitled
    };
    let chunks = guichet_ingest::chunk(to_chunk, opts, &|t: &str| {
        embedder
            .count_tokens(t, EmbedKind::Passage)
            .unwrap_or(t.len() / 4)
    });
    if chunks.is_empty() {
        return Err(Error::Usage(format!("{name}: no text to index")));
    }
    if chunks.len() > options.max_chunks {
        return Err(Error::Usage(format!(
            "{name}: trop de passages ({}, limite {} : [ingest] max_chunks)",
            chunks.len(),
            options.max_chunks
        )));
    }
    if let Some(pages) = doc.metadata.get("ocr_pages") {
        report.ocr.push(OcrRead {
            name: name.to_string(),
            pages: pages.split(", ").count(),
            confidence: doc
                .metadata
                .get("ocr_confidence")
                .and_then(|c| c.parse().ok())
                .unwrap_or(0.0),
        });
    }
    let sections: Vec<String> = chunks.iter().map(|c| c.section_path.join(" › ")).collect();
    // Each chunk's text opens with its context line (title › section),
    // so a short passage still says which document it is from.
    let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
    report.parse_seconds += t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let vectors = embedder.embed(&texts, EmbedKind::Passage)?;
    report.embed_seconds += t1.elapsed().as_secs_f64();
    let document = NewDocument {
        source: source.to_string(),
        collection: options.collection.clone(),
        index_title: options.index_titles,
        title: doc.title.clone(),
        format: doc.format.to_string(),
        hash,
        url: doc.url.clone(),
        date: doc.date.clone(),
        metadata: serde_json::to_value(&doc.metadata).unwrap_or_default(),
    };
    let chunks: Vec<NewChunk> = chunks
        .into_iter()
        .zip(sections)
        .zip(vectors)
        .map(|((c, section), embedding)| NewChunk {
            ordinal: c.ordinal,
            section,
            page_start: c.page_start,
            page_end: c.page_end,
            text: c.text,
            embedding,
        })
        .collect();
    Ok(Prepared {
        document,
        chunks,
        model: format!("{}:{}", embedder.id(), embedder.dim()),
    })
}
