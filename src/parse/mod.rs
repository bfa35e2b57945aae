//! Untrusted parsing, out of harm's way: documents are parsed in worker
//! processes, never in the process that holds the knowledge base or serves
//! citizens.
//!
//! A file is hostile or broken more often than one would think (a PDF of
//! 100,000 nested arrays, a deflate bomb, a one-megabyte word). Rust makes
//! the parsers memory-safe, but not bounded: a stack overflow aborts the
//! whole process (`catch_unwind` cannot catch it), and an allocation that
//! fails aborts too. So `guichet` re-executes itself as a parse worker
//! ([`worker`], the hidden `__parse-worker` argument): bytes in, a
//! [`guichet_ingest::Document`] out over a pipe (`protocol`), under
//! limits set before the first byte is parsed (address space, CPU time per
//! file, no file written, no core dump, no network where the kernel allows
//! a private namespace, a large stack for the parse thread). The parent's
//! [`Parser`] keeps a small pool of workers (one per core, at most four),
//! reuses them from file to file, enforces the wall-clock limit and the
//! output size, and turns a worker's death into a [`ParseFailure`] that
//! names the file and says why in French: the next file goes on with a
//! fresh worker.
//!
//! What this module does not own: the formats (`guichet-ingest`),
//! chunking and embedding (`kb::ingest`, on the structured text the worker
//! returned, in linear time).

mod pool;
mod protocol;
pub mod worker;

use std::path::PathBuf;
use std::sync::Arc;

use guichet_ingest::{Document, LoadOptions};
use serde::{Deserialize, Serialize};

pub use worker::WORKER_ARG;

/// The limits of one parse, as the worker applies them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseLimits {
    /// What the loaders accept (sizes, pages, text, nesting).
    pub load: LoadOptions,
    /// Seconds one file may take to parse, wall clock and CPU alike.
    pub timeout_secs: u64,
    /// Seconds more a PDF may take for each page OCR may read, when OCR is
    /// on (see [`ParseLimits::budget_secs`]).
    pub ocr_page_secs: u64,
    /// The worker's address-space limit, in bytes (`RLIMIT_AS`).
    pub memory_bytes: u64,
    /// The largest parsed document the parent accepts back, in bytes of
    /// its serialised form.
    pub max_output_bytes: u64,
    /// Stack of the worker's parse thread, in bytes: room for the
    /// recursive walks of legitimately deep documents; deeper nesting is
    /// refused before it is walked.
    pub stack_bytes: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            load: LoadOptions::default(),
            timeout_secs: 60,
            ocr_page_secs: 15,
            memory_bytes: 1024 * 1024 * 1024,
            max_output_bytes: 256 * 1024 * 1024,
            stack_bytes: 64 * 1024 * 1024,
        }
    }
}

impl ParseLimits {
    /// Seconds the file `bytes` may take: [`ParseLimits::timeout_secs`],
    /// plus [`ParseLimits::ocr_page_secs`] for each page OCR may read when
    /// OCR is on and the file is a PDF (scanned pages take seconds each;
    /// other files keep the short limit).
    pub fn budget_secs(&self, bytes: &[u8]) -> u64 {
        let pdf = bytes.len() >= 5
            && bytes[..bytes.len().min(1024)]
                .windows(5)
                .any(|w| w == b"%PDF-");
        if self.load.ocr.enabled && pdf {
            let pages = u64::try_from(self.load.ocr.max_pages).unwrap_or(u64::MAX);
            self.timeout_secs
                .saturating_add(self.ocr_page_secs.saturating_mul(pages))
        } else {
            self.timeout_secs
        }
    }
}

/// Why a file gave no document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The loader refused the file and said why (unsupported, malformed,
    /// too large, too deep, scanned…).
    Refused,
    /// The worker's stack overflowed: nesting the loader's own checks did
    /// not see (a chain of indirect references, a compressed object).
    TooComplex,
    /// The worker ran out of its memory limit.
    OutOfMemory,
    /// The file took longer than the time limit.
    Timeout,
    /// The parsed document is larger than the parent accepts.
    OutputTooLarge,
    /// The worker died otherwise (a signal, an exit status).
    Crashed,
    /// No worker could be started.
    Unavailable,
}

/// A file that could not be parsed: its name, the kind of failure and the
/// reason a référent reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct ParseFailure {
    /// The file name.
    pub name: String,
    /// What went wrong.
    pub kind: FailureKind,
    /// In plain words (French for the failures found here; the loader's
    /// own message, without the file name, for [`FailureKind::Refused`]).
    pub reason: String,
}

impl ParseFailure {
    fn new(name: &str, kind: FailureKind, reason: impl Into<String>) -> Self {
        Self {
            name: name.to_string(),
            kind,
            reason: reason.into(),
        }
    }

    /// A loader's refusal, its message stripped of the file name it
    /// starts with (the failure names the file itself).
    fn refused(name: &str, message: &str) -> Self {
        let reason = message
            .strip_prefix(name)
            .and_then(|m| m.strip_prefix(": "))
            .unwrap_or(message);
        Self::new(name, FailureKind::Refused, reason)
    }
}

/// Parses documents: in worker processes ([`Parser::isolated`], what
/// `guichet ingest` and `guichet serve` use), or in this process
/// ([`Parser::in_process`], for tests of logic on trusted files). Cheap to
/// clone; clones share the pool.
#[derive(Clone)]
pub struct Parser {
    inner: Arc<Inner>,
}

enum Inner {
    Isolated(pool::Pool),
    InProcess(ParseLimits),
}

impl std::fmt::Debug for Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.inner {
            Inner::Isolated(p) => f
                .debug_struct("Parser::Isolated")
                .field("workers", &p.size())
                .finish(),
            Inner::InProcess(_) => f.write_str("Parser::InProcess"),
        }
    }
}

impl Parser {
    /// Parses in up to `workers` processes of `program` (the `guichet`
    /// binary: [`std::env::current_exe`]), started when first needed and
    /// reused across files.
    pub fn isolated(program: PathBuf, limits: ParseLimits, workers: usize) -> Self {
        Self {
            inner: Arc::new(Inner::Isolated(pool::Pool::new(
                program,
                limits,
                workers.max(1),
            ))),
        }
    }

    /// Parses in the calling thread, with the loaders' limits only: a
    /// hostile file can take this process down. For unit tests and for
    /// callers that trust their files.
    pub fn in_process(limits: ParseLimits) -> Self {
        Self {
            inner: Arc::new(Inner::InProcess(limits)),
        }
    }

    /// How many files it parses at once: the isolated pool's size, or one
    /// per core (at most four) in process. Ingestion prepares that many
    /// documents side by side.
    pub fn workers(&self) -> usize {
        match &*self.inner {
            Inner::Isolated(p) => p.size(),
            Inner::InProcess(_) => default_workers(0),
        }
    }

    /// The limits parses run under.
    pub fn limits(&self) -> &ParseLimits {
        match &*self.inner {
            Inner::Isolated(p) => p.limits(),
            Inner::InProcess(l) => l,
        }
    }

    /// Parses one file's bytes; `name` is its file name (messages, the
    /// Markdown/text hint, the default title).
    pub fn parse(&self, name: &str, bytes: &[u8]) -> Result<Document, ParseFailure> {
        match &*self.inner {
            Inner::Isolated(p) => p.parse(name, bytes),
            Inner::InProcess(limits) => guichet_ingest::load_bytes_with(name, bytes, &limits.load)
                .map_err(|e| ParseFailure::refused(name, &e.to_string())),
        }
    }
}

/// The worker count for a setting: `0` means one per core, at most four
/// (parsing is a small part of ingestion next to embedding).
pub fn default_workers(setting: usize) -> usize {
    if setting > 0 {
        return setting;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}
