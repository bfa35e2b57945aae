//! Markdown (CommonMark with tables), with `pulldown-cmark`: the reference
//! Rust parser, pull-based (no tree to build), no dependencies with its
//! default features off.
//!
//! Headings give the section path; a first-level heading that opens the
//! document is its title (not repeated in the path). Paragraphs, list items
//! (nested items are items of their own), table rows (cells joined with
//! " | ") and code blocks become blocks; raw HTML is dropped. A YAML front
//! matter (`---` … `---`) is not content: its `title:` and `date:` lines,
//! when present, give the title and date.

use std::collections::BTreeMap;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::{clean, default_title, find_iso_date, Block, Document, Format, Result, SectionBuilder};

/// Loads Markdown.
pub(crate) fn load(name: &str, bytes: &[u8]) -> Result<Document> {
    let (source, encoding) = clean::decode_text(bytes);
    let source = clean::normalize_chars(&source);
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;

    let mut title: Option<String> = None;
    let mut date = None;
    let mut headings: Vec<(usize, String)> = Vec::new();
    let mut sections = SectionBuilder::default();
    let mut buffer = String::new();
    let mut item_depth = 0usize;
    let mut cells: Vec<String> = Vec::new();
    let mut in_metadata = false;
    let mut seen_content = false;

    let path = |h: &Vec<(usize, String)>| h.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>();
    let take = |buffer: &mut String| clean::inline(&std::mem::take(buffer));

    for event in Parser::new_ext(&source, options) {
        match event {
            Event::Start(Tag::MetadataBlock(_)) => in_metadata = true,
            Event::End(TagEnd::MetadataBlock(_)) => in_metadata = false,
            Event::Text(t) if in_metadata => {
                for line in t.lines() {
                    if let Some((k, v)) = line.split_once(':') {
                        let v = v.trim().trim_matches(['"', '\'']).trim();
                        match k.trim() {
                            "title" if !v.is_empty() => title = Some(clean::inline(v)),
                            "date" | "updated" | "modified" => date = find_iso_date(v).or(date),
                            _ => {}
                        }
                    }
                }
            }
            Event::Start(Tag::Heading { .. }) => {
                let t = take(&mut buffer);
                if !t.is_empty() {
                    sections.push(&path(&headings), None, Block::Paragraph(t));
                }
            }
            Event::End(TagEnd::Heading(level)) => {
                let text = take(&mut buffer);
                let level = heading_level(level);
                while headings.last().is_some_and(|(l, _)| *l >= level) {
                    headings.pop();
                }
                if level == 1 && title.is_none() && !seen_content {
                    title = Some(text);
                } else if !text.is_empty() {
                    headings.push((level, text));
                }
                seen_content = true;
            }
            Event::Start(Tag::Item) => {
                let t = take(&mut buffer);
                if !t.is_empty() {
                    let block = if item_depth > 0 {
                        Block::ListItem(t)
                    } else {
                        Block::Paragraph(t)
                    };
                    sections.push(&path(&headings), None, block);
                }
                item_depth += 1;
            }
            Event::End(TagEnd::Item) => {
                let t = take(&mut buffer);
                if !t.is_empty() {
                    sections.push(&path(&headings), None, Block::ListItem(t));
                }
                item_depth = item_depth.saturating_sub(1);
            }
            Event::End(TagEnd::Paragraph | TagEnd::CodeBlock | TagEnd::BlockQuote(_)) => {
                if item_depth > 0 {
                    buffer.push(' ');
                } else {
                    let t = take(&mut buffer);
                    if !t.is_empty() {
                        sections.push(&path(&headings), None, Block::Paragraph(t));
                        seen_content = true;
                    }
                }
            }
            Event::End(TagEnd::TableCell) => cells.push(take(&mut buffer)),
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                let row = std::mem::take(&mut cells).join(" | ");
                if !row.trim_matches([' ', '|']).is_empty() {
                    sections.push(&path(&headings), None, Block::TableRow(row));
                    seen_content = true;
                }
            }
            Event::Text(t) | Event::Code(t) => buffer.push_str(&t),
            Event::SoftBreak | Event::HardBreak => buffer.push(' '),
            Event::Html(_) | Event::InlineHtml(_) => {}
            _ => {}
        }
    }
    let t = take(&mut buffer);
    if !t.is_empty() {
        sections.push(&path(&headings), None, Block::Paragraph(t));
    }
    let mut metadata = BTreeMap::new();
    metadata.insert("encoding".to_string(), encoding.to_string());
    Ok(Document {
        title: title.unwrap_or_else(|| default_title(name)),
        format: Format::Markdown,
        url: None,
        date,
        metadata,
        sections: sections.finish(),
    })
}

fn heading_level(level: HeadingLevel) -> usize {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}
