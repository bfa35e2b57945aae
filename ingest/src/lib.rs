//! `guichet-ingest`: turning municipal documents into clean, structured text
//! and chunks. Bytes in, chunks out: no database, no model, no HTTP.
//!
//! # What it owns
//!
//! - **Loading** ([`load_file`], [`load_bytes`] and their `_with` variants
//!   taking [`LoadOptions`]): the format is detected from the content
//!   ([`detect`]), then one loader per [`Format`] turns the bytes into a
//!   [`Document`]: a title, optional URL and date, metadata, and a list of
//!   [`Section`]s, each with its heading path, its page (PDFs) and its
//!   [`Block`]s (paragraphs, list items, table rows).
//!   - PDF: `pdf-extract` (on lopdf), page by page, with the text cleaned up:
//!     ligatures expanded, hyphenated line breaks joined, lines joined into
//!     paragraphs, running headers, footers and page numbers removed.
//!     Scanned PDF pages (no text layer) are read by OCR when it is on and
//!     Tesseract is installed; otherwise such a PDF is [`Error::ScannedPdf`].
//!   - Service-Public "vosdroits" XML fiches (`roxmltree`): chapters, cases,
//!     "À savoir", "Où s'adresser", forms with their Cerfa numbers,
//!     references, the breadcrumb as metadata, the public URL and date.
//!   - HTML (main content only, `scraper`), Markdown (`pulldown-cmark`),
//!     plain text, DOCX and ODT (`zip` + `roxmltree`, with zip-bomb limits).
//! - **Chunking** ([`chunk`]): structure-aware chunks sized with the
//!   caller's token counter, cut on sentence boundaries, with overlap, each
//!   starting with a context line so it stands alone for retrieval.
//!
//! # What it does not own
//!
//! Storage, embeddings, indexing and search belong to the root crate's
//! knowledge base (`src/kb`); fetching documents from the web is the
//! caller's business. This crate never does I/O besides reading the one file
//! given to [`load_file`] and, for scanned PDF pages when OCR is on,
//! piping them through `pdftoppm` and `tesseract` (`ocr`), never panics on input (a panic inside the PDF
//! parser is caught and becomes [`Error::Malformed`]), and has no global
//! state.
//!
//! # Modules
//!
//! - `detect`: the format from the bytes (magic numbers, zip contents, XML
//!   root, HTML markers), the extension only as a hint between Markdown and
//!   text.
//! - `pdf`, `service_public`, `html`, `markdown`, `text`, `office`: one
//!   loader per format, each `fn load(name, bytes, ..) -> Result<Document>`.
//! - `clean`: text normalisation shared by the loaders (whitespace,
//!   ligatures, control characters, Unicode NFC).
//! - `chunk`: sentence splitting for French and the chunker.
//! - [`hostile`]: builders of hostile files (nested PDFs, deflate bombs,
//!   megabyte words) for the tests that check the limits.
//!
//! # Limits
//!
//! [`LoadOptions`] bounds what one file may cost: its size, what it
//! decompresses to, its pages, its text, its nesting. Each limit is
//! checked before the work it bounds (a PDF's nesting is scanned before
//! lopdf parses it, its streams are inflated into a counter before a page
//! is read), and chunking is linear in the text. The loaders still run in
//! the caller's process: the root crate runs them in confined worker
//! processes, the backstop for what no check here foresaw.

mod chunk;
mod clean;
mod detect;
mod error;
mod html;
mod markdown;
mod ocr;
mod office;
mod outline;
mod pdf;
mod service_public;
mod text;

pub mod hostile;
pub use ocr::{unavailable as ocr_unavailable, OcrOptions};

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use chunk::{chunk, split_sentences, Chunk, ChunkOptions, MAX_WORD_BYTES};
pub use detect::detect;
pub use error::{Error, Result};
pub use outline::only_a_date;

/// The formats this crate can load.
///
/// Detected from the content by [`detect`] (the extension is only a hint
/// between Markdown and plain text). `Display` and serde use the lower-case
/// name (`pdf`, `servicepublic`, `html`, …), the form stored in the
/// knowledge base and shown to référents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// PDF with a text layer, read page by page.
    Pdf,
    /// A Service-Public.fr "vosdroits" XML fiche (`<Publication spUrl=…>`).
    ServicePublic,
    /// An HTML page; only its main content is kept.
    Html,
    /// CommonMark Markdown.
    Markdown,
    /// Plain text (UTF-8, or Windows-1252 for legacy files).
    Text,
    /// Office Open XML word-processing document (Word 2007 and later).
    Docx,
    /// OpenDocument text (LibreOffice Writer).
    Odt,
}

impl Format {
    /// Every format, in a stable order (for listings and exhaustive tests).
    pub const ALL: [Format; 7] = [
        Format::Pdf,
        Format::ServicePublic,
        Format::Html,
        Format::Markdown,
        Format::Text,
        Format::Docx,
        Format::Odt,
    ];

    /// The lower-case name used by `Display` and serde.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::ServicePublic => "servicepublic",
            Format::Html => "html",
            Format::Markdown => "markdown",
            Format::Text => "text",
            Format::Docx => "docx",
            Format::Odt => "odt",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A loaded document: clean text organised by its own structure.
///
/// The fields are public and plain so that the caller may fix them before
/// chunking, e.g. replace a PDF's file-name title by the title of a
/// deliberation taken from an index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// A human title: the fiche's `dc:title`, the HTML `<h1>`/`<title>`, the
    /// Markdown first `#` heading, the office document's title property or
    /// first title paragraph, the PDF's `Title` when it is words (not a file
    /// name) or else the largest heading of its first page (a heading that
    /// only gives a date passed over); otherwise the file name without its
    /// extension.
    pub title: String,
    /// The format the content was detected as.
    pub format: Format,
    /// The public address of the source when the file says it (Service-Public
    /// `spUrl`, HTML canonical link); the caller may set its own.
    pub url: Option<String>,
    /// Last modification date, ISO `yyyy-mm-dd`, when the file says it
    /// (`dc:date`, PDF `ModDate`/`CreationDate`, office metadata…).
    pub date: Option<String>,
    /// Extra facts about the document, by key. Keys used by the loaders:
    /// `breadcrumb` (" > "-joined), `sp_id`, `sp_type`, `audience`,
    /// `subject`, `description`, `dossier`, `cerfa` (", "-joined form
    /// numbers), `pages`, `pdf_producer`, `pdf_title`,
    /// `pdf_pages_failed`, `pdf_pages_without_text`, `encoding`,
    /// `ocr_pages`, `ocr_confidence`, `ocr_pages_skipped`, `ocr_error`
    /// (PDFs read by OCR), `lang`, and for HTML the page's `links`
    /// (newline-separated `href`s, menus included), `base_href` and
    /// `robots` (its `<meta name="robots">`), which a crawler follows.
    pub metadata: BTreeMap<String, String>,
    /// The content, in reading order.
    pub sections: Vec<Section>,
}

impl Document {
    /// All the text of the document, blocks separated by newlines and
    /// sections by blank lines (headings not repeated): for full-text
    /// checks, previews and tests.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for section in &self.sections {
            if !out.is_empty() {
                out.push('\n');
            }
            for block in &section.blocks {
                out.push_str(block.text());
                out.push('\n');
            }
        }
        out
    }

    /// The text of one PDF page (1-based), or `None` if no section has it.
    pub fn page_text(&self, page: u32) -> Option<String> {
        let mut found = false;
        let mut out = String::new();
        for section in self.sections.iter().filter(|s| s.page == Some(page)) {
            found = true;
            for block in &section.blocks {
                out.push_str(block.text());
                out.push('\n');
            }
        }
        found.then_some(out)
    }
}

/// A run of blocks under one heading path (and, for PDFs, on one page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// The headings above this content, outermost first, without the
    /// document title: e.g. `["Demande en France", "Pièces à fournir",
    /// "Vous avez un passeport périmé"]`. Empty at the top level. PDF
    /// headings come from font sizes and numbering (`outline.rs`); pages
    /// read by OCR have none.
    pub path: Vec<String>,
    /// The 1-based page number, for PDFs.
    pub page: Option<u32>,
    /// The content, in reading order.
    pub blocks: Vec<Block>,
}

/// One unit of content. Chunking never cuts a list item or a table row
/// between chunks unless it alone exceeds the chunk size limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Block {
    /// A paragraph of running text (may hold several sentences).
    Paragraph(String),
    /// One item of a bulleted or numbered list, without its marker.
    ListItem(String),
    /// One table row, cells joined with `" | "`.
    TableRow(String),
}

impl Block {
    /// The block's text, whatever its kind.
    pub fn text(&self) -> &str {
        match self {
            Block::Paragraph(t) | Block::ListItem(t) | Block::TableRow(t) => t,
        }
    }
}

/// Limits applied while loading, so that one hostile or accidental file
/// cannot exhaust memory or time. The defaults let every real document of
/// the shared municipal corpus through with a wide margin (its largest PDF
/// is under 1 MiB, 40 pages and 200,000 characters) and refuse what no
/// town publishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadOptions {
    /// Largest input accepted, in bytes (default 64 MiB: a long council
    /// minutes PDF is a few MiB, a scanned one tens of MiB).
    pub max_bytes: u64,
    /// Largest total of uncompressed bytes read from a DOCX/ODT archive or
    /// from a PDF's compressed streams other than images (default 256 MiB):
    /// a zip or deflate bomb stops here, whatever its headers claim.
    pub max_uncompressed: u64,
    /// Most entries accepted in a DOCX/ODT archive (default 10,000; a real
    /// document has tens).
    pub max_zip_entries: usize,
    /// Most pages read from a PDF (default 5,000).
    pub max_pages: usize,
    /// Most characters of text a document may hold once loaded (default
    /// 10 million, about 4,000 pages): past it the file is refused rather
    /// than spending an hour embedding it.
    pub max_text_chars: usize,
    /// Deepest nesting of elements (XML, HTML) or of arrays and
    /// dictionaries (PDF) accepted (default 256; real documents stay under a
    /// few dozen). Tree walks are recursive: deeper input would overflow
    /// the stack, an abort rather than a catchable error.
    pub max_depth: usize,
    /// OCR of PDF pages without text (off by default here; the root
    /// crate's `[ingest] ocr` turns it on when Tesseract is installed).
    pub ocr: OcrOptions,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            max_bytes: 64 * 1024 * 1024,
            max_uncompressed: 256 * 1024 * 1024,
            max_zip_entries: 10_000,
            max_pages: 5_000,
            max_text_chars: 10_000_000,
            max_depth: MAX_DEPTH,
            ocr: OcrOptions::default(),
        }
    }
}

/// Loads a file with the default [`LoadOptions`]: reads it (refusing files
/// over 64 MiB before reading them), detects its format from the content and
/// parses it. Errors name the file.
pub fn load_file(path: &Path) -> Result<Document> {
    load_file_with(path, &LoadOptions::default())
}

/// [`load_file`] with explicit limits.
pub fn load_file_with(path: &Path, opts: &LoadOptions) -> Result<Document> {
    let io_err = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let file = std::fs::File::open(path).map_err(io_err)?;
    let size = file.metadata().map_err(io_err)?.len();
    if size > opts.max_bytes {
        return Err(Error::TooLarge {
            name,
            size,
            limit: opts.max_bytes,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // `take` guards against a file that grows while being read.
    file.take(opts.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    load_bytes_with(&name, &bytes, opts)
}

/// Loads a document from memory with the default [`LoadOptions`]. `name` is
/// the file name: it appears in errors, its extension is a hint between
/// Markdown and text, and its stem is the default title.
pub fn load_bytes(name: &str, bytes: &[u8]) -> Result<Document> {
    load_bytes_with(name, bytes, &LoadOptions::default())
}

/// [`load_bytes`] with explicit limits.
pub fn load_bytes_with(name: &str, bytes: &[u8], opts: &LoadOptions) -> Result<Document> {
    let size = bytes.len() as u64;
    if size > opts.max_bytes {
        return Err(Error::TooLarge {
            name: name.to_string(),
            size,
            limit: opts.max_bytes,
        });
    }
    let format = detect(name, bytes, opts)?;
    // A character takes at most four bytes: a text file larger than four
    // times the text limit is refused before it is decoded.
    let textual = matches!(format, Format::Text | Format::Markdown | Format::Html);
    if textual && size / 4 > opts.max_text_chars as u64 {
        return Err(Error::TextTooLong {
            name: name.to_string(),
            chars: None,
            limit: opts.max_text_chars,
        });
    }
    let doc = match format {
        Format::Pdf => pdf::load(name, bytes, opts)?,
        Format::ServicePublic => service_public::load(name, bytes, opts)?,
        Format::Html => html::load(name, bytes, opts)?,
        Format::Markdown => markdown::load(name, bytes)?,
        Format::Text => text::load(name, bytes)?,
        Format::Docx => office::load_docx(name, bytes, opts)?,
        Format::Odt => office::load_odt(name, bytes, opts)?,
    };
    finish(name, doc, opts)
}

/// Drops empty blocks and sections, refuses a document without text or
/// with more than [`LoadOptions::max_text_chars`] of it.
fn finish(name: &str, mut doc: Document, opts: &LoadOptions) -> Result<Document> {
    for section in &mut doc.sections {
        section.blocks.retain(|b| !b.text().trim().is_empty());
    }
    doc.sections.retain(|s| !s.blocks.is_empty());
    if doc.sections.is_empty() {
        return Err(Error::NoText {
            name: name.to_string(),
        });
    }
    let chars: usize = doc
        .sections
        .iter()
        .flat_map(|s| &s.blocks)
        .map(|b| b.text().chars().count())
        .sum();
    if chars > opts.max_text_chars {
        return Err(Error::TextTooLong {
            name: name.to_string(),
            chars: Some(chars),
            limit: opts.max_text_chars,
        });
    }
    // Text that is mostly "words" longer than any word (an encoded blob, a
    // file of one megabyte-long word) has nothing to say to a citizen.
    let in_long_words: usize = doc
        .sections
        .iter()
        .flat_map(|s| &s.blocks)
        .flat_map(|b| b.text().split_whitespace())
        .filter(|w| w.len() > chunk::MAX_WORD_BYTES)
        .map(str::len)
        .sum();
    let bytes: usize = doc
        .sections
        .iter()
        .flat_map(|s| &s.blocks)
        .map(|b| b.text().len())
        .sum();
    if in_long_words * 2 > bytes {
        return Err(Error::NotWords {
            name: name.to_string(),
        });
    }
    if doc.title.trim().is_empty() {
        doc.title = default_title(name);
    }
    Ok(doc)
}

/// The file name without directory and extension: the title of last resort.
pub(crate) fn default_title(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = match base.rfind('.') {
        Some(i) if i > 0 => &base[..i],
        _ => base,
    };
    stem.to_string()
}

/// Collects sections while a loader walks a document: consecutive blocks
/// with the same path and page go to the same section.
#[derive(Debug, Default)]
pub(crate) struct SectionBuilder {
    sections: Vec<Section>,
}

impl SectionBuilder {
    /// Appends a block under `path` (and `page`), starting a new section
    /// when either differs from the last one. Blank blocks are dropped.
    pub(crate) fn push(&mut self, path: &[String], page: Option<u32>, block: Block) {
        if block.text().trim().is_empty() {
            return;
        }
        match self.sections.last_mut() {
            Some(last) if last.path == path && last.page == page => last.blocks.push(block),
            _ => self.sections.push(Section {
                path: path.to_vec(),
                page,
                blocks: vec![block],
            }),
        }
    }

    /// The sections collected so far.
    pub(crate) fn finish(self) -> Vec<Section> {
        self.sections
    }
}

/// The default of [`LoadOptions::max_depth`]. The loaders' tree walks are
/// recursive, so a hostile file of a million nested elements would
/// otherwise overflow the stack (an abort, not a catchable panic); real
/// documents stay under a few dozen levels.
pub const MAX_DEPTH: usize = 256;

/// Refuses an XML tree nested deeper than `limit` (one linear pass).
pub(crate) fn check_xml_depth(name: &str, xml: &roxmltree::Document, limit: usize) -> Result<()> {
    let mut depth = vec![0usize; xml.descendants().count() + 1];
    for node in xml.descendants() {
        let parent = node.parent().map(|p| p.id().get_usize());
        let d = parent.and_then(|p| depth.get(p).copied()).unwrap_or(0) + 1;
        if let Some(slot) = depth.get_mut(node.id().get_usize()) {
            *slot = d;
        }
        if d > limit {
            return Err(Error::TooDeep {
                name: name.to_string(),
                limit,
            });
        }
    }
    Ok(())
}

/// Finds the first ISO date `yyyy-mm-dd` in a string (`modified
/// 2019-08-28`, `2020-01-01T00:00:00`).
pub(crate) fn find_iso_date(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 10 {
        return None;
    }
    (0..=b.len() - 10).find_map(|i| {
        let w = &b[i..i + 10];
        let ok = w.iter().enumerate().all(|(j, c)| match j {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
        let boundary = i == 0 || !b[i - 1].is_ascii_digit();
        (ok && boundary).then(|| String::from_utf8_lossy(w).into_owned())
    })
}
