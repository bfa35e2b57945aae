//! PDF, page by page, with `pdf-extract` (on lopdf).
//!
//! Why `pdf-extract` rather than lopdf's own `extract_text`: on the
//! municipal corpus lopdf garbled Word 2010 fonts, put spaces inside words
//! of iText files ("avr il") and missed text in form XObjects, while
//! `pdf-extract` (which re-exports the lopdf it is built on, so there is one
//! lopdf in the build) lays characters out by position and recovered 98.7
//! to 100 % of poppler's words (see the crate README for our figures).
//!
//! The pipeline for one file:
//! 1. `Document::load_mem`, decrypting with the empty password (files that
//!    are only "protected" against editing); each page extracted on its own
//!    with `output_doc_page` into a `PlainTextOutput`, so one broken page
//!    loses that page only (`pdf-extract`'s `extract_text_from_mem_by_pages`
//!    stops silently at the first failing page). Every call into
//!    `pdf-extract` runs under `catch_unwind`: it panics on some malformed
//!    files (`unwrap`s in its page walker), and a panic must become a
//!    per-file error, never a crash of the ingestion.
//! 2. Characters normalised (`clean::normalize_chars`: ligatures, NFC,
//!    spaces), lines trimmed and white space collapsed.
//! 3. Running headers and footers removed: a line among the first or last
//!    two of a page that repeats (the page's own number blinded) at the top
//!    or bottom of at least four pages in five, and of three or more; and
//!    page-number lines (`12`, `- 12 -`, `Page 3 sur 27`, `3/27`) there.
//! 4. Structure (`outline.rs`): each line's mean font size is taken from
//!    `pdf-extract`'s own layout through a tapped output device
//!    (`SizedOutput`); headings are the lines set larger than the body text
//!    or numbered (« Article 3 », « II. »), their levels from their sizes;
//!    the title is the PDF's `Title` when it is words, else the largest
//!    heading of the first page. A line cut by wide gaps (over
//!    [`COLUMN_GAP_EMS`] ems) whose later cells hold a figure is a table
//!    row, cells joined with `" | "` (« Entrée Adulte | 6,50 € | 5,50 € »).
//! 5. The other lines between two headings assembled into paragraphs and
//!    list items (`text::lines_to_blocks` with the page's usual line
//!    length), which also glues words hyphenated at line ends.
//! 6. [`Section`]s under the path of headings above them, one per path and
//!    page at least, `page` = the 1-based page number.
//!
//! 7. Pages without text (fewer than 16 letters or digits: scanned
//!    images) are read by OCR when [`crate::OcrOptions::enabled`] and
//!    Tesseract is installed (`crate::ocr`): one section per page, the pages
//!    and the mean confidence in the `ocr_pages` and `ocr_confidence`
//!    metadata.
//!
//! A PDF where no page has text, even by OCR, is [`Error::ScannedPdf`] with
//! the reason (OCR off, Tesseract missing and how to install it, nothing
//! recognised); pages left without text in an otherwise textual PDF are
//! listed in the `pdf_pages_without_text` metadata, and pages the parser
//! failed on in `pdf_pages_failed`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::panic::{catch_unwind, AssertUnwindSafe};

use pdf_extract::{Document as PdfDocument, Object, PlainTextOutput};

use crate::{
    clean, default_title, outline, text, Block, Document, Error, Format, LoadOptions, Result,
    Section,
};

/// Minimum letters and digits for a page to count as having text.
const MIN_PAGE_CHARS: usize = 16;

/// One page's text as `pdf-extract` lays it out, with the mean font size
/// (in points, after the text matrix) of each of its lines.
struct PageText {
    text: String,
    /// `sizes[i]`: the mean size of the characters of line `i` of `text`
    /// (0 for a line without characters).
    sizes: Vec<f32>,
}

/// `pdf-extract`'s own plain-text layout, tapped: the text goes to a
/// shared buffer, and each character's rendered size is added to the line
/// it landed on. Font sizes are how a PDF marks its headings; the plain
/// output alone drops them.
struct SizedOutput<'a> {
    inner: PlainTextOutput<&'a mut dyn std::io::Write>,
    text: std::rc::Rc<std::cell::RefCell<Vec<u8>>>,
    /// Newlines in `text` up to `scanned`.
    line: usize,
    scanned: usize,
    /// Per line: (sum of sizes, characters).
    sums: Vec<(f64, u32)>,
    /// Where the last visible character ended (x) and its baseline (y),
    /// to see column gaps.
    last_end: f64,
    last_y: f64,
}

/// A gap wider than this many ems between two characters of one line
/// separates table columns (word spaces, even justified, stay under one).
const COLUMN_GAP_EMS: f64 = 1.5;

/// Marks a column gap in the tapped text (a control character: the text
/// cleaning drops it, so only the table reader sees it).
const COLUMN_MARK: char = '\u{1F}';

/// The shared end of [`SizedOutput`]'s buffer.
struct Tap(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for Tap {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl pdf_extract::OutputDev for SizedOutput<'_> {
    fn begin_page(
        &mut self,
        page_num: u32,
        media_box: &pdf_extract::MediaBox,
        art_box: Option<(f64, f64, f64, f64)>,
    ) -> std::result::Result<(), pdf_extract::OutputError> {
        self.inner.begin_page(page_num, media_box, art_box)
    }
    fn end_page(&mut self) -> std::result::Result<(), pdf_extract::OutputError> {
        self.inner.end_page()
    }
    fn output_character(
        &mut self,
        trm: &pdf_extract::Transform,
        width: f64,
        spacing: f64,
        font_size: f64,
        char: &str,
    ) -> std::result::Result<(), pdf_extract::OutputError> {
        self.inner
            .output_character(trm, width, spacing, font_size, char)?;
        {
            let text = self.text.borrow();
            self.line += text[self.scanned..].iter().filter(|&&b| b == b'\n').count();
            self.scanned = text.len();
        }
        // The same rendered size as the plain layout computes: the side of
        // the square of the font's transformed unit box.
        let (x, y) = (
            font_size * (trm.m11 + trm.m21),
            font_size * (trm.m12 + trm.m22),
        );
        let size = (x * y).abs().sqrt();
        let (px, py) = (trm.m31, trm.m32);
        let same_line = (py - self.last_y).abs() <= size * 0.5;
        if same_line && px > self.last_end + size * COLUMN_GAP_EMS && !char.trim().is_empty() {
            let mut text = self.text.borrow_mut();
            let at = text.len().saturating_sub(char.len());
            let mut mark = [0u8; 4];
            text.splice(at..at, COLUMN_MARK.encode_utf8(&mut mark).bytes());
            self.scanned = text.len();
        }
        // Measured from the last visible character: a PDF may draw the
        // space of a column gap as one wide space glyph.
        if size.is_finite() && !char.trim().is_empty() {
            self.last_end = px + width * size;
            self.last_y = py;
        }
        if size.is_finite() && !char.trim().is_empty() {
            if self.sums.len() <= self.line {
                self.sums.resize(self.line + 1, (0.0, 0));
            }
            let s = &mut self.sums[self.line];
            s.0 += size;
            s.1 += 1;
        }
        Ok(())
    }
    fn begin_word(&mut self) -> std::result::Result<(), pdf_extract::OutputError> {
        self.inner.begin_word()
    }
    fn end_word(&mut self) -> std::result::Result<(), pdf_extract::OutputError> {
        self.inner.end_word()
    }
    fn end_line(&mut self) -> std::result::Result<(), pdf_extract::OutputError> {
        self.inner.end_line()
    }
}

/// Extracts one page with its line sizes.
fn page_text(doc: &PdfDocument, page: u32) -> std::result::Result<PageText, String> {
    let buffer = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut tap = Tap(buffer.clone());
    let mut dev = SizedOutput {
        inner: PlainTextOutput::new(&mut tap as &mut dyn std::io::Write),
        text: buffer.clone(),
        line: 0,
        scanned: 0,
        sums: Vec::new(),
        last_end: f64::MAX,
        last_y: 0.0,
    };
    pdf_extract::output_doc_page(doc, &mut dev, page).map_err(|e| format!("page {page}: {e}"))?;
    let sums = std::mem::take(&mut dev.sums);
    drop(dev);
    let text = String::from_utf8_lossy(&buffer.borrow()).into_owned();
    // Lines are counted as `load` splits them: on '\n' only.
    let sizes = (0..text.split('\n').count())
        .map(|i| match sums.get(i) {
            Some(&(sum, n)) if n > 0 => (sum / f64::from(n)) as f32,
            _ => 0.0,
        })
        .collect();
    Ok(PageText { text, sizes })
}

/// What `pdf-extract` gave for the whole file.
struct Extracted {
    /// (page number, text or the reason it failed), in page order.
    pages: Vec<(u32, std::result::Result<PageText, String>)>,
    /// The Info dictionary's string entries we use.
    info: BTreeMap<String, String>,
}

/// Loads a PDF.
pub(crate) fn load(name: &str, bytes: &[u8], opts: &LoadOptions) -> Result<Document> {
    if nesting_exceeds(bytes, opts.max_depth) {
        return Err(Error::TooDeep {
            name: name.to_string(),
            limit: opts.max_depth,
        });
    }
    let extracted =
        catch_unwind(AssertUnwindSafe(|| extract(name, bytes, opts))).map_err(|panic| {
            Error::malformed(
                name,
                format!("the PDF parser crashed ({})", panic_message(&panic)),
            )
        })??;

    let mut failed = Vec::new();
    let mut pages: Vec<(u32, Vec<String>)> = Vec::new();
    let mut sizes: HashMap<u32, Vec<f32>> = HashMap::new();
    let mut rows: HashMap<u32, Vec<Option<String>>> = HashMap::new();
    let mut first_error = None;
    for (page, result) in extracted.pages {
        match result {
            Ok(raw) => {
                let lines: Vec<String> = raw
                    .text
                    .split('\n')
                    .map(|l| clean::collapse_ws(&clean::normalize_chars(l)))
                    .collect();
                rows.insert(page, raw.text.split('\n').map(table_row).collect());
                sizes.insert(page, raw.sizes);
                pages.push((page, lines));
            }
            Err(reason) => {
                failed.push(page.to_string());
                first_error.get_or_insert(reason);
            }
        }
    }
    if pages.is_empty() {
        let reason = first_error.unwrap_or_else(|| "the PDF has no pages".to_string());
        return Err(Error::malformed(name, reason));
    }

    remove_running_lines(&mut pages);

    let mut without_text: Vec<String> = Vec::new();
    let mut texted: Vec<(u32, Vec<outline::Line>)> = Vec::new();
    for (page, lines) in pages.iter() {
        let chars: usize = lines
            .iter()
            .map(|l| l.chars().filter(|c| c.is_alphanumeric()).count())
            .sum();
        if chars < MIN_PAGE_CHARS {
            without_text.push(page.to_string());
            continue;
        }
        let page_sizes = sizes.remove(page).unwrap_or_default();
        let page_rows = rows.remove(page).unwrap_or_default();
        let lines = lines
            .iter()
            .enumerate()
            .map(|(i, text)| {
                // A running line cleared above stays cleared.
                let row = page_rows
                    .get(i)
                    .cloned()
                    .flatten()
                    .filter(|_| !text.is_empty());
                outline::Line {
                    table: row.is_some(),
                    text: row.unwrap_or_else(|| text.clone()),
                    size: page_sizes.get(i).copied().unwrap_or(0.0),
                }
            })
            .collect();
        texted.push((*page, lines));
    }
    let body = outline::body_size(&texted);
    let headings = outline::headings(&texted, body);
    let title = extracted
        .info
        .get("Title")
        .and_then(|t| outline::good_metadata_title(t))
        .or_else(|| outline::title(&headings))
        .unwrap_or_else(|| default_title(name));
    let mut sections = structured_sections(&texted, &headings, &title);
    let mut metadata = BTreeMap::new();
    if !without_text.is_empty() {
        let scanned: Vec<u32> = without_text.iter().filter_map(|p| p.parse().ok()).collect();
        let why_not = if opts.ocr.enabled {
            crate::ocr::unavailable(&opts.ocr.language)
        } else {
            Some("la lecture par OCR est désactivée ([ingest] ocr = \"off\")".to_string())
        };
        match why_not {
            Some(reason) if sections.is_empty() => {
                return Err(Error::ScannedPdf {
                    name: name.to_string(),
                    reason,
                })
            }
            Some(_) => {}
            None => {
                let read = ocr_pages(bytes, &scanned, opts, &mut metadata);
                if read.is_empty() && sections.is_empty() {
                    let reason = metadata
                        .get("ocr_error")
                        .cloned()
                        .unwrap_or_else(|| "l'OCR n'y a reconnu aucun texte".to_string());
                    return Err(Error::ScannedPdf {
                        name: name.to_string(),
                        reason,
                    });
                }
                let done: HashSet<u32> = read.iter().filter_map(|s| s.page).collect();
                without_text.retain(|p| p.parse().is_ok_and(|p: u32| !done.contains(&p)));
                sections.extend(read);
                sections.sort_by_key(|s| s.page);
            }
        }
    }
    if sections.is_empty() {
        return Err(Error::ScannedPdf {
            name: name.to_string(),
            reason: "aucune page n'a de texte".to_string(),
        });
    }

    let page_count = pages.len() + failed.len();
    metadata.insert("pages".to_string(), page_count.to_string());
    if !failed.is_empty() {
        metadata.insert("pdf_pages_failed".to_string(), failed.join(", "));
    }
    if !without_text.is_empty() {
        metadata.insert(
            "pdf_pages_without_text".to_string(),
            without_text.join(", "),
        );
    }
    let info = &extracted.info;
    if let Some(p) = info.get("Producer") {
        metadata.insert("pdf_producer".to_string(), p.clone());
    }
    if let Some(t) = info.get("Title") {
        metadata.insert("pdf_title".to_string(), t.clone());
    }
    let date = ["ModDate", "CreationDate"]
        .iter()
        .find_map(|k| info.get(*k).and_then(|d| pdf_date(d)));
    Ok(Document {
        title,
        format: Format::Pdf,
        url: None,
        date,
        metadata,
        sections,
    })
}

/// The pages' lines as sections: the blocks between two headings under
/// the path of headings above them (the document's title left out of it),
/// one section per page at least, so that page numbers stay exact.
fn structured_sections(
    pages: &[(u32, Vec<outline::Line>)],
    headings: &[outline::Heading],
    title: &str,
) -> Vec<Section> {
    let mut builder = crate::SectionBuilder::default();
    let mut path: Vec<(u8, String)> = Vec::new();
    let mut next = headings.iter().peekable();
    for (page, lines) in pages {
        let texts: Vec<String> = lines.iter().map(|l| l.text.clone()).collect();
        let width = usual_line_length(&texts);
        let mut run: Vec<String> = Vec::new();
        let flush =
            |run: &mut Vec<String>, path: &[(u8, String)], builder: &mut crate::SectionBuilder| {
                let names: Vec<String> = path.iter().map(|(_, t)| t.clone()).collect();
                for block in text::lines_to_blocks(run, Some(width)) {
                    builder.push(&names, Some(*page), block);
                }
                run.clear();
            };
        let mut i = 0;
        while i < lines.len() {
            match next.peek() {
                Some(h) if h.page == *page && h.first == i => {
                    flush(&mut run, &path, &mut builder);
                    while path.last().is_some_and(|(l, _)| *l >= h.level) {
                        path.pop();
                    }
                    if h.text != title {
                        path.push((h.level, h.text.clone()));
                    }
                    i = h.last + 1;
                    next.next();
                }
                _ if lines[i].table => {
                    flush(&mut run, &path, &mut builder);
                    let names: Vec<String> = path.iter().map(|(_, t)| t.clone()).collect();
                    builder.push(&names, Some(*page), Block::TableRow(lines[i].text.clone()));
                    i += 1;
                }
                _ => {
                    run.push(lines[i].text.clone());
                    i += 1;
                }
            }
        }
        flush(&mut run, &path, &mut builder);
    }
    builder.finish()
}

/// A line as a table row, cells joined with `" | "`, when column gaps cut
/// it into cells and one of the cells after the first is a figure
/// (« Entrée Adulte | 6,50 € | 5,50 € »); `None` for running text.
fn table_row(raw: &str) -> Option<String> {
    if !raw.contains(COLUMN_MARK) {
        return None;
    }
    let cells: Vec<String> = raw
        .split(COLUMN_MARK)
        .map(|c| clean::collapse_ws(&clean::normalize_chars(c)))
        .filter(|c| !c.is_empty())
        .collect();
    let figure = |c: &String| {
        let chars = c.chars().count();
        let numeric = c
            .chars()
            .filter(|ch| ch.is_ascii_digit() || "€%,.-+/ ".contains(*ch))
            .count();
        chars <= 30 && c.chars().any(|ch| ch.is_ascii_digit()) && numeric * 2 >= chars
    };
    (cells.len() >= 2 && cells[1..].iter().any(figure)).then(|| cells.join(" | "))
}

/// Reads `pages` (those without a text layer) by OCR, at most
/// `opts.ocr.max_pages` of them: one section per page with text. Records
/// in `metadata` the pages read (`ocr_pages`), their mean word confidence
/// (`ocr_confidence`, 0 to 100), the pages left unread (`ocr_pages_skipped`)
/// and the first failure (`ocr_error`).
fn ocr_pages(
    bytes: &[u8],
    pages: &[u32],
    opts: &LoadOptions,
    metadata: &mut BTreeMap<String, String>,
) -> Vec<Section> {
    let mut sections = Vec::new();
    let mut read = Vec::new();
    let (mut confidence, mut words) = (0.0, 0usize);
    let limit = opts.ocr.max_pages;
    for &page in pages.iter().take(limit) {
        match crate::ocr::recognise(bytes, page, &opts.ocr) {
            Ok(p) => {
                let lines: Vec<String> = p
                    .lines
                    .iter()
                    .map(|l| clean::collapse_ws(&clean::normalize_chars(l)))
                    .collect();
                let chars: usize = lines
                    .iter()
                    .map(|l| l.chars().filter(|c| c.is_alphanumeric()).count())
                    .sum();
                if chars < MIN_PAGE_CHARS {
                    continue;
                }
                let blocks = text::lines_to_blocks(&lines, Some(usual_line_length(&lines)));
                if blocks.is_empty() {
                    continue;
                }
                confidence += p.confidence * p.words as f64;
                words += p.words;
                read.push(page.to_string());
                sections.push(Section {
                    path: Vec::new(),
                    page: Some(page),
                    blocks,
                });
            }
            Err(e) => {
                metadata.entry("ocr_error".to_string()).or_insert(e);
            }
        }
    }
    if !read.is_empty() {
        metadata.insert("ocr_pages".to_string(), read.join(", "));
        metadata.insert(
            "ocr_confidence".to_string(),
            format!("{:.0}", confidence / words.max(1) as f64),
        );
    }
    if pages.len() > limit {
        let skipped: Vec<String> = pages[limit..].iter().map(u32::to_string).collect();
        metadata.insert("ocr_pages_skipped".to_string(), skipped.join(", "));
    }
    sections
}

/// Parses the file and extracts each page; runs inside `catch_unwind`.
fn extract(name: &str, bytes: &[u8], opts: &LoadOptions) -> Result<Extracted> {
    let mut doc = PdfDocument::load_mem(bytes)
        .map_err(|e| Error::malformed(name, format!("cannot parse the PDF: {e}")))?;
    if doc.is_encrypted() {
        doc.decrypt("")
            .map_err(|_| Error::malformed(name, "encrypted PDF: a password is needed"))?;
    }
    if inflated_exceeds(&doc, opts.max_uncompressed) {
        return Err(Error::Inflated {
            name: name.to_string(),
            limit: opts.max_uncompressed,
        });
    }
    let info = info_strings(&doc);
    let page_numbers: Vec<u32> = doc.get_pages().keys().copied().collect();
    if page_numbers.len() > opts.max_pages {
        return Err(Error::TooManyPages {
            name: name.to_string(),
            pages: page_numbers.len(),
            limit: opts.max_pages,
        });
    }
    let pages = page_numbers
        .into_iter()
        .map(|page| {
            let result =
                catch_unwind(AssertUnwindSafe(|| page_text(&doc, page))).unwrap_or_else(|panic| {
                    Err(format!(
                        "page {page}: the PDF parser crashed ({})",
                        panic_message(&panic)
                    ))
                });
            (page, result)
        })
        .collect();
    Ok(Extracted { pages, info })
}

/// Whether arrays (`[`) and dictionaries (`<<`) nest deeper than `limit`
/// anywhere in the file's syntax. lopdf's parser and pdf-extract's walks
/// recurse on nesting, so a file of 100,000 nested arrays overflows the
/// stack: this linear scan refuses it first. Streams, strings and comments
/// are skipped (their bytes are data, not syntax), and the depth restarts
/// at each `endobj` so that one unbalanced object cannot add up with the
/// next. Nesting hidden in compressed object streams is not seen here: the
/// parse worker's stack limit is the backstop for it.
fn nesting_exceeds(bytes: &[u8], limit: usize) -> bool {
    let n = bytes.len();
    let mut depth = 0usize;
    let mut i = 0;
    while i < n {
        match bytes[i] {
            b'%' => {
                while i < n && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'(' => {
                // A literal string: balanced parentheses, `\` escapes.
                let mut open = 0usize;
                while i < n {
                    match bytes[i] {
                        b'\\' => i += 1,
                        b'(' => open += 1,
                        b')' => {
                            open -= 1;
                            if open == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'<' if bytes.get(i + 1) == Some(&b'<') => {
                depth += 1;
                i += 1;
            }
            b'<' => {
                // A hex string.
                while i < n && bytes[i] != b'>' {
                    i += 1;
                }
            }
            b'>' if bytes.get(i + 1) == Some(&b'>') => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'[' => depth += 1,
            b']' => depth = depth.saturating_sub(1),
            b's' if keyword_at(bytes, i, b"stream") => {
                i += b"stream".len();
                match find(&bytes[i..], b"endstream") {
                    Some(p) => i += p + b"endstream".len() - 1,
                    None => return false,
                }
            }
            b'e' if keyword_at(bytes, i, b"endobj") => depth = 0,
            _ => {}
        }
        if depth > limit {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether `word` stands at `i` as a keyword: not inside a longer name.
fn keyword_at(bytes: &[u8], i: usize, word: &[u8]) -> bool {
    let before = i.checked_sub(1).map(|j| bytes[j]);
    let after = bytes.get(i + word.len()).copied();
    let delimiter =
        |c: Option<u8>| c.is_none_or(|c| c.is_ascii_whitespace() || b"()<>[]{}/%".contains(&c));
    bytes[i..].starts_with(word) && delimiter(before) && delimiter(after)
}

/// The first position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Whether the PDF's Flate-compressed streams, images left aside (the text
/// extraction never decodes them), expand to more than `limit` bytes in
/// all. Each stream is inflated into a counter, never into memory, and the
/// count stops at the limit: a 3 MB file inflating to 3 GiB is refused
/// after reading `limit` bytes of it, instead of exhausting memory when the
/// page is read.
fn inflated_exceeds(doc: &PdfDocument, limit: u64) -> bool {
    use std::io::Read;
    let mut total = 0u64;
    for object in doc.objects.values() {
        let Object::Stream(stream) = object else {
            continue;
        };
        let image = stream
            .dict
            .get(b"Subtype")
            .ok()
            .and_then(|s| s.as_name().ok())
            .is_some_and(|s| s == b"Image");
        let flate = match stream.dict.get(b"Filter") {
            Ok(Object::Name(n)) => n.as_slice() == b"FlateDecode",
            Ok(Object::Array(filters)) => filters
                .first()
                .and_then(|f| f.as_name().ok())
                .is_some_and(|f| f == b"FlateDecode"),
            _ => false,
        };
        if image || !flate {
            continue;
        }
        let mut decoder = flate2::read::ZlibDecoder::new(stream.content.as_slice());
        let mut buf = [0u8; 16 * 1024];
        // A corrupt stream counts what it yielded before the error.
        while let Ok(read @ 1..) = decoder.read(&mut buf) {
            total += read as u64;
            if total > limit {
                return true;
            }
        }
    }
    false
}

/// The panic payload as text, when it is one.
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_string()
    }
}

/// The string entries of the trailer's Info dictionary.
fn info_strings(doc: &PdfDocument) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Ok(info) = doc.trailer.get_deref(b"Info", doc) else {
        return out;
    };
    let Ok(dict) = info.as_dict() else {
        return out;
    };
    for (key, value) in dict.iter() {
        if let Object::String(bytes, _) = value {
            let text = clean::inline(&pdf_string(bytes));
            if !text.is_empty() {
                out.insert(String::from_utf8_lossy(key).into_owned(), text);
            }
        }
    }
    out
}

/// Decodes a PDF text string: UTF-16BE with a BOM, else PDFDocEncoding
/// (Latin-1 for the characters that matter here).
fn pdf_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        bytes.iter().map(|&b| char::from(b)).collect()
    }
}

/// `D:20131217094512+01'00'` → `2013-12-17`.
fn pdf_date(s: &str) -> Option<String> {
    let digits: String = s
        .trim_start_matches("D:")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if digits.len() < 8 {
        return None;
    }
    let (y, m, d) = (&digits[0..4], &digits[4..6], &digits[6..8]);
    let valid = matches!(m.parse::<u32>(), Ok(1..=12)) && matches!(d.parse::<u32>(), Ok(1..=31));
    valid.then(|| format!("{y}-{m}-{d}"))
}

/// The 90th percentile of the page's line lengths in characters (at least
/// 40): the length of a full line of running text.
fn usual_line_length(lines: &[String]) -> usize {
    let mut lengths: Vec<usize> = lines
        .iter()
        .map(|l| l.chars().count())
        .filter(|&n| n > 0)
        .collect();
    if lengths.is_empty() {
        return 40;
    }
    lengths.sort_unstable();
    let idx = (lengths.len() * 9 / 10).min(lengths.len() - 1);
    lengths[idx].max(40)
}

/// A line's form for comparing headers across pages: lower case, with the
/// page's own number blinded (`Délibération 2014/140 - page 3`), other
/// digits kept so that similar table rows on different pages differ.
fn running_key(line: &str, page: u32) -> String {
    let page = page.to_string();
    let mut out = String::with_capacity(line.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if *digits == page {
            out.push('#');
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in line.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.extend(c.to_lowercase());
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// Whether a line is only a page number: `12`, `- 12 -`, `Page 3`,
/// `Page 3 sur 27`, `3/27`, `p. 3`. A bare number must be near the page's
/// own number, so that a table's last value is not taken for one.
fn is_page_number(line: &str, page: u32) -> bool {
    let lower = line.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | '–' | '—' | '|' | '/' | '.'))
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() || words.len() > 4 {
        return false;
    }
    let numbers: Vec<u32> = words.iter().filter_map(|w| w.parse().ok()).collect();
    let others = words
        .iter()
        .filter(|w| w.parse::<u32>().is_err())
        .all(|w| matches!(*w, "page" | "p" | "sur" | "of" | "pages"));
    if !others || numbers.is_empty() {
        return false;
    }
    if words.len() == 1 {
        return numbers[0].abs_diff(page) <= 2;
    }
    numbers.contains(&page) || numbers.iter().any(|n| n.abs_diff(page) <= 2)
}

/// Removes running headers/footers and page numbers (see the module doc).
fn remove_running_lines(pages: &mut [(u32, Vec<String>)]) {
    const ZONE: usize = 2;
    /// Indices of the first and last `ZONE` non-empty lines.
    fn zone(lines: &[String]) -> Vec<usize> {
        let non_empty: Vec<usize> = (0..lines.len()).filter(|&i| !lines[i].is_empty()).collect();
        let mut idx: Vec<usize> = non_empty.iter().take(ZONE).copied().collect();
        idx.extend(non_empty.iter().rev().take(ZONE).copied());
        idx.sort_unstable();
        idx.dedup();
        idx
    }
    let n = pages.len();
    let mut counts: HashMap<String, usize> = HashMap::new();
    if n >= 3 {
        for (page, lines) in pages.iter() {
            let keys: HashSet<String> = zone(lines)
                .iter()
                .map(|&i| running_key(&lines[i], *page))
                .collect();
            for key in keys {
                *counts.entry(key).or_default() += 1;
            }
        }
    }
    // Four pages in five, and at least three: "Adopté à l'unanimité" ends
    // 8 of the 12 pages of a council report and is content, not a footer.
    let threshold = (n * 4).div_ceil(5).max(3);
    for (page, lines) in pages.iter_mut() {
        for i in zone(lines) {
            let line = &lines[i];
            let repeated = counts.get(&running_key(line, *page)).copied().unwrap_or(0) >= threshold
                && line.chars().any(char::is_alphanumeric);
            if repeated || is_page_number(line, *page) {
                lines[i].clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_numbers() {
        assert!(is_page_number("12", 12));
        assert!(is_page_number("- 3 -", 3));
        assert!(is_page_number("Page 3 sur 27", 3));
        assert!(is_page_number("3/27", 3));
        assert!(!is_page_number("2014", 3));
        assert!(!is_page_number("Page de garde", 1));
        assert!(!is_page_number("8,00 €", 8));
    }

    #[test]
    fn dates() {
        assert_eq!(
            pdf_date("D:20131217094512+01'00'").as_deref(),
            Some("2013-12-17")
        );
        assert_eq!(pdf_date("garbage"), None);
    }

    #[test]
    fn running_headers() {
        let page = |n: u32| {
            (
                n,
                vec![
                    format!("Délibération 2014/140 - page {n}"),
                    format!("Contenu {} qui change.", "x".repeat(n as usize)),
                    "Accusé de réception – Ministère de l'intérieur".to_string(),
                    format!("{n}"),
                ],
            )
        };
        let mut pages: Vec<_> = (1..=4).map(page).collect();
        remove_running_lines(&mut pages);
        for (n, lines) in &pages {
            let kept: Vec<&String> = lines.iter().filter(|l| !l.is_empty()).collect();
            assert_eq!(
                kept,
                vec![&format!("Contenu {} qui change.", "x".repeat(*n as usize))]
            );
        }
    }
}
