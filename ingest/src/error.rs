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
    /// Elements (XML, HTML) or arrays and dictionaries (PDF) nested deeper
    /// than [`crate::LoadOptions::max_depth`]: no real document is built so,
    /// and parsing it would overflow the stack.
    #[error("{name}: fichier trop complexe (imbrication de plus de {limit} niveaux)")]
    TooDeep {
        /// The file name.
        name: String,
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The compressed parts of a PDF expand past
    /// [`crate::LoadOptions::max_uncompressed`] (a deflate bomb).
    #[error("{name}: contenu décompressé trop volumineux (plus de {} Mo)", limit / 1_000_000)]
    Inflated {
        /// The file name.
        name: String,
        /// The limit that was exceeded, in bytes.
        limit: u64,
    },
    /// A PDF with more pages than [`crate::LoadOptions::max_pages`].
    #[error("{name}: trop de pages ({pages}, limite {limit})")]
    TooManyPages {
        /// The file name.
        name: String,
        /// The pages found.
        pages: usize,
        /// The limit.
        limit: usize,
    },
    /// More text than [`crate::LoadOptions::max_text_chars`].
    #[error("{name}: texte trop long ({}limite {limit} caractères)", chars.map(|c| format!("{c} caractères, ")).unwrap_or_default())]
    TextTooLong {
        /// The file name.
        name: String,
        /// The characters found, when the file was decoded before refusing.
        chars: Option<usize>,
        /// The limit.
        limit: usize,
    },
    /// Most of the text is in "words" longer than any real word (over
    /// [`crate::MAX_WORD_BYTES`] bytes): encoded data, not prose.
    #[error("{name}: le texte n'est pas fait de mots (données encodées ?)")]
    NotWords {
        /// The file name.
        name: String,
    },
    /// A PDF whose pages carry no text layer (scanned images) and that OCR
    /// could not read: `reason` says why (off, not installed and how to
    /// install it, nothing recognised).
    #[error("{name} : PDF numérisé, sans texte lisible : {reason}")]
    ScannedPdf {
        /// The file name.
        name: String,
        /// Why OCR did not read it, in French.
        reason: String,
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
