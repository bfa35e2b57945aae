//! The crate's one error type.

use std::path::PathBuf;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a file could not be turned into a [`crate::Document`].
///
/// Every variant names the file (as given to [`crate::load_bytes`], or the
/// path for I/O errors) and says why in plain words, so that a référent who
/// uploaded it can act on the message; errors are per file, so a batch
/// ingestion can report them and go on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read from disk.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The path that was read.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is empty (no bytes, or only white space).
    #[error("{name}: empty file")]
    Empty {
        /// The file name.
        name: String,
    },
    /// The file parsed but holds no text at all (e.g. an HTML page whose
    /// only content is a menu, or a DOCX with only images).
    #[error("{name}: no text found in the document")]
    NoText {
        /// The file name.
        name: String,
    },
    /// The file is larger than the configured limit
    /// ([`crate::LoadOptions::max_bytes`]), or a compressed part of it
    /// expands past [`crate::LoadOptions::max_uncompressed`] (zip bomb).
    #[error("{name}: too large ({size} bytes, limit {limit} bytes)")]
    TooLarge {
        /// The file name.
        name: String,
        /// The size found (or reached, for archives, when reading stopped).
        size: u64,
        /// The limit that was exceeded.
        limit: u64,
    },
    /// The content is not one of the supported formats.
    #[error("{name}: unsupported format ({detected}); supported: PDF, Service-Public XML, HTML, Markdown, text, DOCX, ODT")]
    Unsupported {
        /// The file name.
        name: String,
        /// What the content looks like, e.g. "binary data", "zip archive",
        /// "XML with root `<rss>`".
        detected: String,
    },
    /// The content is of a supported format but broken: truncated PDF,
    /// invalid XML, a fiche without a title, a corrupt archive; or the PDF
    /// parser crashed on it.
    #[error("{name}: malformed document: {reason}")]
    Malformed {
        /// The file name.
        name: String,
        /// What is wrong, in plain words.
        reason: String,
    },
    /// A PDF whose pages carry no text layer, most likely scanned images;
    /// OCR is not done here.
    #[error("{name}: no extractable text: scanned document?")]
    ScannedPdf {
        /// The file name.
        name: String,
    },
}

impl Error {
    /// A [`Error::Malformed`] for `name`.
    pub(crate) fn malformed(name: &str, reason: impl Into<String>) -> Self {
        Error::Malformed {
            name: name.to_string(),
            reason: reason.into(),
        }
    }
}
