//! Plain text, and the line-to-paragraph assembly shared with the PDF
//! loader.
//!
//! Encoding: UTF-8 (with or without BOM), UTF-16 with a BOM, otherwise
//! Windows-1252, the usual legacy encoding of French files; the encoding
//! used is recorded in the `encoding` metadata. Binary content never gets
//! here: detection refuses it ([`crate::Error::Unsupported`]), so random
//! bytes named `.txt` are an error rather than a page of mojibake.
//!
//! Structure: paragraphs are separated by blank lines and their lines
//! joined; lines starting with a bullet (`-`, `•`, `*`, `–`…) or a number
//! (`1)`, `2.`) are list items; form feeds (as in `pdftotext` output) start
//! a new page, and pages are numbered from 1.

use std::collections::BTreeMap;

use crate::{clean, default_title, Block, Document, Format, Result, SectionBuilder};

/// Loads plain text.
pub(crate) fn load(name: &str, bytes: &[u8]) -> Result<Document> {
    let (text, encoding) = clean::decode_text(bytes);
    let text = clean::normalize_chars(&text);
    let mut builder = SectionBuilder::default();
    let paged = text.contains('\u{000C}');
    for (i, page) in text.split('\u{000C}').enumerate() {
        let page_no = paged.then(|| u32::try_from(i + 1).unwrap_or(u32::MAX));
        let lines: Vec<String> = page.lines().map(clean::collapse_ws).collect();
        for block in lines_to_blocks(&lines, None) {
            builder.push(&[], page_no, block);
        }
    }
    let mut metadata = BTreeMap::new();
    metadata.insert("encoding".to_string(), encoding.to_string());
    Ok(Document {
        title: default_title(name),
        format: Format::Text,
        url: None,
        date: None,
        metadata,
        sections: builder.finish(),
    })
}

/// If `line` starts with a list marker, the text after it. Numbered markers
/// (`1)`, `12.`, `a)`) are kept in the text, since they carry meaning
/// ("2) Autres services…").
pub(crate) fn list_item(line: &str) -> Option<&str> {
    let mut chars = line.chars();
    let first = chars.next()?;
    let rest = chars.as_str();
    if matches!(
        first,
        '•' | '·' | '▪' | '◦' | '●' | '○' | '■' | '□' | '➢' | '►' | '✓'
    ) {
        return Some(rest.trim_start());
    }
    if matches!(first, '-' | '–' | '—' | '*' | '+') {
        if rest.starts_with(' ') {
            let r = rest.trim_start();
            return (!r.is_empty()).then_some(r);
        }
        // "-Ressources : …" in Word PDFs.
        if first == '-' && rest.chars().next().is_some_and(char::is_uppercase) {
            return Some(rest);
        }
        return None;
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let letter = digits == 0 && first.is_ascii_lowercase();
    let marker_len = if letter { 1 } else { digits };
    if (1..=2).contains(&marker_len) {
        let after = &line[marker_len..];
        if (after.starts_with(") ") || (!letter && after.starts_with(". "))) && after.len() > 2 {
            return Some(line);
        }
    }
    None
}

/// Joins two lines of one paragraph: a word cut by a hyphen at the end of
/// the first line is glued back (`ré-` + `gularisation` → `régularisation`;
/// a hyphen before a capital or a digit is kept: `LEVY-` + `RAMEAU` →
/// `LEVY-RAMEAU`); otherwise the lines are joined with a space.
pub(crate) fn join_lines(acc: &mut String, next: &str) {
    let mut rev = acc.chars().rev();
    let hyphen = rev.next() == Some('-') && rev.next().is_some_and(char::is_alphabetic);
    if hyphen {
        if next.chars().next().is_some_and(char::is_lowercase) {
            acc.pop();
        }
        acc.push_str(next);
    } else {
        if !acc.is_empty() {
            acc.push(' ');
        }
        acc.push_str(next);
    }
}

/// Assembles trimmed lines into blocks. A blank line ends a block; a list
/// marker starts a list item. Without `wrap_width` (plain text) the other
/// lines of a block are joined. With it (PDF pages), a line is joined to
/// the previous one only when that one looks wrapped (at least 70 % of the
/// page's usual line length and not ending with `:`) or when it starts in
/// lower case or with closing punctuation: so table rows and short lines
/// stay separate blocks.
pub(crate) fn lines_to_blocks(lines: &[String], wrap_width: Option<usize>) -> Vec<Block> {
    enum Kind {
        Para,
        Item,
    }
    let mut blocks = Vec::new();
    let mut current: Option<(Kind, String)> = None;
    let mut prev_len = 0usize;
    let flush = |current: &mut Option<(Kind, String)>, blocks: &mut Vec<Block>| {
        if let Some((kind, text)) = current.take() {
            let text = text.trim().to_string();
            if !text.is_empty() {
                blocks.push(match kind {
                    Kind::Para => Block::Paragraph(text),
                    Kind::Item => Block::ListItem(text),
                });
            }
        }
    };
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            flush(&mut current, &mut blocks);
            prev_len = 0;
            continue;
        }
        let len = line.chars().count();
        if let Some(item) = list_item(line) {
            flush(&mut current, &mut blocks);
            current = Some((Kind::Item, item.to_string()));
            prev_len = len;
            continue;
        }
        let join = match (&current, wrap_width) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some((_, acc)), Some(width)) => {
                let first = line.chars().next();
                let continues = first.is_some_and(|c| {
                    c.is_lowercase() || matches!(c, ',' | ';' | ')' | ']' | '»' | '%' | '€')
                });
                let wrapped = prev_len * 10 >= width * 7 && !acc.ends_with(':');
                continues || wrapped || acc.ends_with('-')
            }
        };
        match (&mut current, join) {
            (Some((_, acc)), true) => join_lines(acc, line),
            _ => {
                flush(&mut current, &mut blocks);
                current = Some((Kind::Para, line.to_string()));
            }
        }
        prev_len = len;
    }
    flush(&mut current, &mut blocks);
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(|l| l.trim().to_string()).collect()
    }

    #[test]
    fn hyphens() {
        let mut a = String::from("en cours de ré-");
        join_lines(&mut a, "gularisation");
        assert_eq!(a, "en cours de régularisation");
        let mut a = String::from("Chantal LEVY-");
        join_lines(&mut a, "RAMEAU");
        assert_eq!(a, "Chantal LEVY-RAMEAU");
        let mut a = String::from("Salaire -");
        join_lines(&mut a, "Pensions");
        assert_eq!(a, "Salaire - Pensions");
    }

    #[test]
    fn plain_paragraphs_and_items() {
        let blocks = lines_to_blocks(
            &lines("Un paragraphe\nsur deux lignes.\n\n- premier\n- second\n1) numéroté"),
            None,
        );
        assert_eq!(
            blocks,
            vec![
                Block::Paragraph("Un paragraphe sur deux lignes.".into()),
                Block::ListItem("premier".into()),
                Block::ListItem("second".into()),
                Block::ListItem("1) numéroté".into()),
            ]
        );
    }

    #[test]
    fn pdf_lines_keep_rows_apart() {
        let text = "Le tarif général pour la restauration scolaire est de 3.38 € pour un enfant en\n\
                    élémentaire.\nQ 1: de 0 € à 167 € 1,76 € 1,76 €\nQ 2: de 168 € à 191 € 2,44 € 2,44 €";
        let blocks = lines_to_blocks(&lines(text), Some(80));
        assert_eq!(blocks.len(), 3, "{blocks:?}");
    }
}
