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
    /// The command line or configuration is inconsistent.
    #[error("{0}")]
    Usage(String),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
