//! DOCX and ODT, with `zip` (already a workspace dependency) and
//! `roxmltree`.
//!
//! Both are zip archives of XML parts. Reading is bounded: at most
//! [`LoadOptions::max_zip_entries`] entries, and at most
//! [`LoadOptions::max_uncompressed`] bytes decompressed in all, counted on
//! the bytes actually produced (a zip bomb's headers may lie about the
//! size): past it the file is [`Error::TooLarge`].
//!
//! - DOCX: `word/document.xml` paragraphs (`w:p`) and tables (`w:tbl`, one
//!   row per `w:tr`). A paragraph is a heading when its style is a heading
//!   style: the style id or name (`word/styles.xml`) is `Heading1`…`9`,
//!   `Titre1`…`9` (French Word), `heading 1`…, or it has an outline level;
//!   the `Title`/`Titre` style gives the document title. Paragraphs with
//!   numbering (`w:numPr`) or a list style are list items. Deleted
//!   revisions, field codes and the fallback copies of text boxes are
//!   skipped. `docProps/core.xml` gives the title and modification date.
//! - ODT: `content.xml` headings (`text:h`, level from
//!   `text:outline-level`), paragraphs (`text:p`), lists (`text:list-item`)
//!   and tables (`table:table-row`); `meta.xml` the title and date.

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};

use roxmltree::{Document as XmlDocument, Node, ParsingOptions};

use crate::{
    clean, default_title, find_iso_date, Block, Document, Error, Format, LoadOptions, Result,
    SectionBuilder,
};

/// A zip archive read within the limits.
struct Archive<'a> {
    name: &'a str,
    zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    /// Uncompressed bytes still allowed.
    budget: u64,
    limit: u64,
}

impl<'a> Archive<'a> {
    fn open(name: &'a str, bytes: &'a [u8], opts: &LoadOptions) -> Result<Self> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| Error::malformed(name, format!("corrupt zip archive: {e}")))?;
        if zip.len() > opts.max_zip_entries {
            return Err(Error::malformed(
                name,
                format!(
                    "zip archive with {} entries (limit {})",
                    zip.len(),
                    opts.max_zip_entries
                ),
            ));
        }
        Ok(Archive {
            name,
            zip,
            budget: opts.max_uncompressed,
            limit: opts.max_uncompressed,
        })
    }

    fn too_large(&self, size: u64) -> Error {
        Error::TooLarge {
            name: self.name.to_string(),
            size,
            limit: self.limit,
        }
    }

    /// Reads one entry as UTF-8 text, `None` if absent.
    fn read(&mut self, entry: &str) -> Result<Option<String>> {
        let name = self.name;
        let file = match self.zip.by_name(entry) {
            Ok(f) => f,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(Error::malformed(name, format!("{entry}: {e}"))),
        };
        let declared = file.size();
        let budget = self.budget;
        if declared > budget {
            return Err(Error::TooLarge {
                name: name.to_string(),
                size: declared,
                limit: self.limit,
            });
        }
        let mut buf = Vec::new();
        file.take(budget.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| Error::malformed(name, format!("{entry}: {e}")))?;
        let read = buf.len() as u64;
        if read > budget {
            return Err(self.too_large(self.limit - budget + read));
        }
        self.budget -= read;
        String::from_utf8(buf)
            .map(Some)
            .map_err(|_| Error::malformed(name, format!("{entry} is not UTF-8")))
    }
}

/// Parses an XML part.
fn parse<'i>(
    name: &str,
    entry: &str,
    text: &'i str,
    opts: &LoadOptions,
) -> Result<XmlDocument<'i>> {
    let xml = XmlDocument::parse_with_options(
        text,
        ParsingOptions {
            allow_dtd: false,
            ..ParsingOptions::default()
        },
    )
    .map_err(|e| Error::malformed(name, format!("{entry}: invalid XML: {e}")))?;
    crate::check_xml_depth(name, &xml, opts.max_depth)?;
    Ok(xml)
}

/// An attribute by local name, whatever its namespace (`w:val`).
fn attr<'a>(node: Node<'a, '_>, local: &str) -> Option<&'a str> {
    node.attributes()
        .find(|a| a.name() == local)
        .map(|a| a.value())
}

/// The first child element with this local name.
fn child<'a, 'i>(node: Node<'a, 'i>, local: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == local)
}

/// Title and date from Dublin Core properties (`docProps/core.xml`,
/// `meta.xml`).
fn core_properties(xml: &XmlDocument) -> (Option<String>, Option<String>) {
    let mut title = None;
    let mut date = None;
    for n in xml.descendants().filter(Node::is_element) {
        let text = n.text().unwrap_or_default();
        match n.tag_name().name() {
            "title" => {
                let t = clean::inline(text);
                if !t.is_empty() {
                    title = Some(t);
                }
            }
            "modified" | "date" => date = find_iso_date(text).or(date),
            "created" | "creation-date" if date.is_none() => date = find_iso_date(text),
            _ => {}
        }
    }
    (title, date)
}

/// Keeps the heading stack and the sections.
#[derive(Default)]
struct Outline {
    headings: Vec<(usize, String)>,
    sections: SectionBuilder,
}

impl Outline {
    fn heading(&mut self, level: usize, text: String) {
        while self.headings.last().is_some_and(|(l, _)| *l >= level) {
            self.headings.pop();
        }
        if !text.is_empty() {
            self.headings.push((level, text));
        }
    }

    fn push(&mut self, block: Block) {
        let path: Vec<String> = self.headings.iter().map(|(_, t)| t.clone()).collect();
        self.sections.push(&path, None, block);
    }
}

/// Loads a DOCX.
pub(crate) fn load_docx(name: &str, bytes: &[u8], opts: &LoadOptions) -> Result<Document> {
    let mut archive = Archive::open(name, bytes, opts)?;
    let body_xml = archive
        .read("word/document.xml")?
        .ok_or_else(|| Error::malformed(name, "no word/document.xml in the archive"))?;
    let styles_xml = archive.read("word/styles.xml")?;
    let core_xml = archive.read("docProps/core.xml")?;

    // Style id → lower-case style name.
    let mut styles: HashMap<String, String> = HashMap::new();
    if let Some(text) = &styles_xml {
        if let Ok(xml) = parse(name, "word/styles.xml", text, opts) {
            for s in xml.descendants().filter(|n| n.has_tag_name_local("style")) {
                if let (Some(id), Some(n)) = (attr(s, "styleId"), child(s, "name")) {
                    styles.insert(
                        id.to_string(),
                        attr(n, "val").unwrap_or_default().to_lowercase(),
                    );
                }
            }
        }
    }
    let (mut title, date) = match &core_xml {
        Some(text) => parse(name, "docProps/core.xml", text, opts)
            .map(|x| core_properties(&x))
            .unwrap_or((None, None)),
        None => (None, None),
    };

    let xml = parse(name, "word/document.xml", &body_xml, opts)?;
    let body = xml
        .descendants()
        .find(|n| n.has_tag_name_local("body"))
        .ok_or_else(|| Error::malformed(name, "word/document.xml has no body"))?;
    let mut outline = Outline::default();
    docx_blocks(body, &styles, &mut title, &mut outline);
    Ok(Document {
        title: title.unwrap_or_else(|| default_title(name)),
        format: Format::Docx,
        url: None,
        date,
        metadata: BTreeMap::new(),
        sections: outline.sections.finish(),
    })
}

/// Walks the block-level children of the body (or of a content control).
fn docx_blocks(
    node: Node,
    styles: &HashMap<String, String>,
    title: &mut Option<String>,
    outline: &mut Outline,
) {
    for n in node.children().filter(Node::is_element) {
        match n.tag_name().name() {
            "p" => docx_paragraph(n, styles, title, outline),
            "tbl" => {
                for row in n.descendants().filter(|r| r.has_tag_name_local("tr")) {
                    let cells: Vec<String> = row
                        .children()
                        .filter(|c| c.has_tag_name_local("tc"))
                        .map(|c| {
                            let mut t = String::new();
                            docx_text(c, &mut t);
                            clean::inline(&t)
                        })
                        .collect();
                    if cells.iter().any(|c| !c.is_empty()) {
                        outline.push(Block::TableRow(cells.join(" | ")));
                    }
                }
            }
            "sdt" => {
                if let Some(content) = child(n, "sdtContent") {
                    docx_blocks(content, styles, title, outline);
                }
            }
            _ => {}
        }
    }
}

/// The kind of a paragraph from its properties.
enum ParaKind {
    Title,
    Heading(usize),
    Item,
    Body,
}

fn docx_kind(p: Node, styles: &HashMap<String, String>) -> ParaKind {
    let Some(ppr) = child(p, "pPr") else {
        return ParaKind::Body;
    };
    if let Some(level) = child(ppr, "outlineLvl")
        .and_then(|o| attr(o, "val"))
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&v| v < 9)
    {
        return ParaKind::Heading(level + 1);
    }
    let id = child(ppr, "pStyle")
        .and_then(|s| attr(s, "val"))
        .unwrap_or_default();
    let style_name = styles.get(id).map(String::as_str).unwrap_or_default();
    for candidate in [id.to_lowercase(), style_name.to_string()] {
        let c = candidate.replace(' ', "");
        if c == "title" || c == "titre" {
            return ParaKind::Title;
        }
        for prefix in ["heading", "titre", "berschrift", "titolo", "ttulo"] {
            if let Some(rest) = c.strip_prefix(prefix) {
                if let Ok(level) = rest.parse::<usize>() {
                    if (1..=9).contains(&level) {
                        return ParaKind::Heading(level);
                    }
                }
            }
        }
        if c.starts_with("listparagraph")
            || c.starts_with("paragraphedeliste")
            || c.starts_with("listbullet")
        {
            return ParaKind::Item;
        }
    }
    if child(ppr, "numPr").is_some() {
        return ParaKind::Item;
    }
    ParaKind::Body
}

fn docx_paragraph(
    p: Node,
    styles: &HashMap<String, String>,
    title: &mut Option<String>,
    outline: &mut Outline,
) {
    let mut raw = String::new();
    docx_text(p, &mut raw);
    let text = clean::inline(&raw);
    if text.is_empty() {
        return;
    }
    match docx_kind(p, styles) {
        ParaKind::Title if title.is_none() => *title = Some(text),
        ParaKind::Title => outline.heading(1, text),
        ParaKind::Heading(level) => outline.heading(level, text),
        ParaKind::Item => outline.push(Block::ListItem(text)),
        ParaKind::Body => outline.push(Block::Paragraph(text)),
    }
}

/// The visible text under a DOCX node.
fn docx_text(node: Node, out: &mut String) {
    for n in node.children() {
        if n.is_text() {
            continue; // Only w:t carries text; the rest is indentation.
        }
        if !n.is_element() {
            continue;
        }
        match n.tag_name().name() {
            "t" => out.push_str(n.text().unwrap_or_default()),
            "tab" | "br" | "cr" => out.push(' '),
            "p" => {
                docx_text(n, out);
                out.push(' ');
            }
            "delText" | "instrText" | "Fallback" | "pPr" | "rPr" => {}
            _ => docx_text(n, out),
        }
    }
}

/// Loads an ODT.
pub(crate) fn load_odt(name: &str, bytes: &[u8], opts: &LoadOptions) -> Result<Document> {
    let mut archive = Archive::open(name, bytes, opts)?;
    let content = archive
        .read("content.xml")?
        .ok_or_else(|| Error::malformed(name, "no content.xml in the archive"))?;
    let meta = archive.read("meta.xml")?;
    let (title, date) = match &meta {
        Some(text) => parse(name, "meta.xml", text, opts)
            .map(|x| core_properties(&x))
            .unwrap_or((None, None)),
        None => (None, None),
    };
    let xml = parse(name, "content.xml", &content, opts)?;
    let body = xml
        .descendants()
        .find(|n| {
            n.has_tag_name_local("text")
                && n.parent_element()
                    .is_some_and(|p| p.has_tag_name_local("body"))
        })
        .ok_or_else(|| Error::malformed(name, "content.xml has no office:text body"))?;
    let mut outline = Outline::default();
    odt_blocks(body, &mut outline, false);
    Ok(Document {
        title: title.unwrap_or_else(|| default_title(name)),
        format: Format::Odt,
        url: None,
        date,
        metadata: BTreeMap::new(),
        sections: outline.sections.finish(),
    })
}

/// Walks ODT block elements; inside a list, paragraphs are list items.
fn odt_blocks(node: Node, outline: &mut Outline, in_list: bool) {
    for n in node.children().filter(Node::is_element) {
        match n.tag_name().name() {
            "h" => {
                let level = attr(n, "outline-level")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(1);
                outline.heading(level, odt_text(n));
            }
            "p" => {
                let text = odt_text(n);
                outline.push(if in_list {
                    Block::ListItem(text)
                } else {
                    Block::Paragraph(text)
                });
            }
            "list" | "list-item" | "list-header" => odt_blocks(n, outline, true),
            "table" => {
                for row in n
                    .descendants()
                    .filter(|r| r.has_tag_name_local("table-row"))
                {
                    let cells: Vec<String> = row
                        .children()
                        .filter(|c| c.has_tag_name_local("table-cell"))
                        .map(|c| {
                            let parts: Vec<String> = c
                                .descendants()
                                .filter(|p| p.has_tag_name_local("p") || p.has_tag_name_local("h"))
                                .map(odt_text)
                                .collect();
                            parts.join(" ")
                        })
                        .collect();
                    if cells.iter().any(|c| !c.is_empty()) {
                        outline.push(Block::TableRow(cells.join(" | ")));
                    }
                }
            }
            "section" | "index-body" => odt_blocks(n, outline, in_list),
            // Tracked deletions and everything else (declarations, forms).
            _ => {}
        }
    }
}

/// The text of an ODT paragraph or heading.
fn odt_text(node: Node) -> String {
    fn walk(node: Node, out: &mut String) {
        for n in node.children() {
            if n.is_text() {
                out.push_str(n.text().unwrap_or_default());
            } else if n.is_element() {
                match n.tag_name().name() {
                    "s" | "tab" | "line-break" => out.push(' '),
                    "note" | "annotation" | "tracked-changes" => {}
                    _ => walk(n, out),
                }
            }
        }
    }
    let mut out = String::new();
    walk(node, &mut out);
    clean::inline(&out)
}

/// Local-name matching for roxmltree nodes.
trait LocalName {
    fn has_tag_name_local(&self, local: &str) -> bool;
}

impl LocalName for Node<'_, '_> {
    fn has_tag_name_local(&self, local: &str) -> bool {
        self.is_element() && self.tag_name().name() == local
    }
}
