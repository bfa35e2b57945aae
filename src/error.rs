//! The application error: one enum for everything the CLI (and later the
//! service) can report, each variant saying what failed and what to do.

use std::path::PathBuf;

/// An error of the `guichet` crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model could not be fetched, loaded or run.
    #[error(transparent)]
    Models(#[from] guichet_models::Error),
    /// A model the configuration points to is not there.
    #[error("model not found at {path}: run `guichet models fetch` (or point --embedding-model / --generation-model to your own file)")]
    ModelNotFound {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A file given on the command line could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The knowledge base's database failed.
    #[error("knowledge base database error: {0}")]
    Store(#[from] rusqlite::Error),
    /// A document could not be read or parsed.
    #[error(transparent)]
    Ingest(#[from] guichet_ingest::Error),
    /// A document was refused by its parse worker, or the worker died on
    /// it (see [`crate::parse`]).
    #[error(transparent)]
    Parse(#[from] crate::parse::ParseFailure),
    /// The command line or configuration is inconsistent.
    #[error("{0}")]
    Usage(String),
    /// A request is malformed or its values are invalid (the message is in
    /// French: it is shown to the citizen).
    #[error("{0}")]
    Invalid(String),
    /// A request is larger than the configured limits (French message).
    #[error("{0}")]
    TooLarge(String),
    /// What was asked for does not exist (French message).
    #[error("{0}")]
    NotFound(String),
    /// Every answer slot is taken: try again shortly.
    #[error("the service is busy: every answer slot is taken")]
    Overloaded,
    /// This client sent too many requests.
    #[error("too many requests from this client: retry in {retry_after_secs} s")]
    RateLimited {
        /// Seconds until the next request is accepted.
        retry_after_secs: u64,
    },
    /// A question cap (per conversation or per day) is reached (French
    /// message saying what to do).
    #[error("{message}")]
    Quota {
        /// What the citizen reads.
        message: String,
        /// Seconds until the cap resets (0: it does not, start anew).
        retry_after_secs: u64,
    },
    /// The knowledge base switched embedding model while a question was
    /// being answered (re-embedding): embed it again.
    #[error("the embedding model changed during the search: retry")]
    ModelChanged,
    /// The service is still starting (models, index).
    #[error("the service is starting: models and index are not loaded yet")]
    NotReady,
    /// An answer took longer than the configured limit.
    #[error("the answer took longer than the time limit")]
    Timeout,
    /// The caller cancelled (client gone, time limit).
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// Generation failed.
    #[error("generation failed: {0}")]
    Generation(String),
    /// No valid token for an endpoint that needs one.
    #[error("authentication required")]
    Unauthorized,
    /// The token's role may not do this.
    #[error("forbidden for this role")]
    Forbidden,
    /// The request contradicts the current state (e.g. revoking the last
    /// admin); the message is in French.
    #[error("{0}")]
    Conflict(String),
    /// A part of the service is not running.
    #[error("{0}")]
    Unavailable(String),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
