//! `guichet-eval`: the answer-quality benchmark.
//!
//! It owns the evaluation sets' format ([`set`]), the metrics ([`metrics`]),
//! runs with per-case results, resume and comparison ([`run`]), the HTML
//! report ([`report`]), the regression gates ([`gate`]) and the reviewed
//! statements that count false ones ([`statements`]). It evaluates
//! anything that implements the small [`Answerer`] trait: the `guichet`
//! crate implements it with the real `rag::Assistant` in process (the
//! harness measures exactly what citizens get), and [`http::HttpAnswerer`]
//! implements it over a running server's OpenAI-compatible endpoint. It
//! knows nothing of models, retrieval or storage.

pub mod gate;
pub mod http;
pub mod metrics;
pub mod report;
pub mod run;
pub mod set;
pub mod statements;

pub use set::{Case, Kind};

/// An error of the evaluation harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A set, results or thresholds file is malformed.
    #[error("{0}")]
    Format(String),
    /// The answerer failed on a case.
    #[error("answering failed: {0}")]
    Answer(String),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A previous turn given with a follow-up case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Turn {
    /// `user` or `assistant`.
    pub role: String,
    /// Its text.
    pub content: String,
}

/// One source of an answer, as the harness sees it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnsweredSource {
    /// Its citation number.
    pub n: usize,
    /// The document's file name (or last path segment of its URL).
    pub document: String,
    /// Its title.
    pub title: String,
    /// First page, for paged documents.
    pub page: Option<u32>,
    /// Last page.
    pub page_end: Option<u32>,
    /// Whether the answer cites it.
    pub cited: bool,
    /// The chunk's text when the answerer has it (in process), else its
    /// extract: what groundedness is checked against.
    pub text: String,
}

/// An answer as the harness scores it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Answered {
    /// `answered`, `curated`, `not_found`, `out_of_scope`,
    /// `handoff_suggested` or `refused`.
    pub status: String,
    /// The answer text.
    pub answer: String,
    /// Whether the assistant abstained.
    pub abstained: bool,
    /// Its confidence score (0-1).
    pub confidence: f64,
    /// The retrieved sources, in rank order, cited ones flagged.
    pub sources: Vec<AnsweredSource>,
    /// Milliseconds to the first piece of text.
    pub first_token_ms: f64,
    /// Milliseconds in all.
    pub total_ms: f64,
    /// Tokens generated (0 for extractive answers).
    pub generated_tokens: usize,
    /// What wrote the answer.
    pub model: String,
    /// `extractive`, `generative` or `none`.
    pub mode: String,
    /// The language the assistant took the question for (ISO 639-1; empty
    /// when the answerer does not say).
    #[serde(default)]
    pub language: String,
}

/// What the harness evaluates: the assistant in process, or a server.
pub trait Answerer {
    /// A description for the report (mode, models, where).
    fn describe(&self) -> String;

    /// Answers `question` after `history`.
    fn answer(&self, question: &str, history: &[Turn]) -> Result<Answered>;

    /// The town's contact details an abstention must give (phone, e-mail).
    fn contacts(&self) -> Vec<String> {
        Vec::new()
    }

    /// Embeddings of `texts` (unit vectors), for the groundedness check's
    /// similarity side; `None` when the answerer has no embedder (then
    /// groundedness is lexical only).
    fn embed(&self, texts: &[&str]) -> Option<Vec<Vec<f32>>> {
        let _ = texts;
        None
    }
}
