//! Format detection from the content.
//!
//! Rules, in order (the first that applies wins):
//!
//! 1. No bytes, or only white space: [`Error::Empty`].
//! 2. `%PDF-` in the first 1,024 bytes (the PDF specification tolerates
//!    junk before the header): [`Format::Pdf`].
//! 3. A zip archive (`PK\x03\x04`): a `mimetype` entry saying
//!    `application/vnd.oasis.opendocument.text` is [`Format::Odt`]; a
//!    `word/document.xml` entry (with `[Content_Types].xml`) is
//!    [`Format::Docx`]; any other archive (spreadsheet, presentation, plain
//!    zip) is [`Error::Unsupported`].
//! 4. Binary data (NUL bytes or many control characters in the first 8 KiB)
//!    is [`Error::Unsupported`], whatever the extension says.
//! 5. Markup, looking at the start of the text: a root element
//!    `<Publication` or `<ServiceComplementaire` with a `spUrl` attribute or
//!    the Dublin Core namespace (older fiches have no `spUrl`) is
//!    [`Format::ServicePublic`]; `<!doctype html`, `<html`, or a `.html` /
//!    `.htm` / `.xhtml` name on content starting with `<` is
//!    [`Format::Html`]; any other XML is [`Error::Unsupported`].
//! 6. Otherwise text: a `.md` / `.markdown` name, or (for names other than
//!    `.txt`) Markdown syntax at the start of lines (`# ` headings, fences,
//!    `- [` links…) in the first 4 KiB, is [`Format::Markdown`]; the rest is
//!    [`Format::Text`].

use std::io::{Cursor, Read};

use crate::{clean, Error, Format, LoadOptions, Result};

/// Detects the format of `bytes` (see the module rules above: content
/// first, the extension of `name` only to tell Markdown from text and to
/// accept HTML fragments). Errors for empty, binary and unsupported content
/// name the file.
pub fn detect(name: &str, bytes: &[u8], opts: &LoadOptions) -> Result<Format> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::Empty {
            name: name.to_string(),
        });
    }
    let head = &bytes[..bytes.len().min(1024)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return detect_zip(name, bytes, opts);
    }
    let unsupported = |detected: &str| Error::Unsupported {
        name: name.to_string(),
        detected: detected.to_string(),
    };
    if encoding_rs::Encoding::for_bom(bytes).is_none() && clean::looks_binary(bytes) {
        return Err(unsupported("binary data"));
    }
    let (text, _) = clean::decode_text(&bytes[..bytes.len().min(8192)]);
    let start = text.trim_start();
    let ext = extension(name);
    if start.starts_with('<') {
        let lower: String = start.chars().take(4096).collect::<String>().to_lowercase();
        if let Some(root) = xml_root(start) {
            let dublin_core = start.contains("spUrl=") || start.contains("purl.org/dc/elements");
            if (root == "Publication" || root == "ServiceComplementaire") && dublin_core {
                return Ok(Format::ServicePublic);
            }
            if root.eq_ignore_ascii_case("html") {
                return Ok(Format::Html);
            }
        }
        if lower.starts_with("<!doctype html")
            || lower.contains("<html")
            || matches!(ext.as_str(), "html" | "htm" | "xhtml")
        {
            return Ok(Format::Html);
        }
        if lower.starts_with("<?xml") || lower.starts_with("<!doctype") {
            let root = xml_root(start).unwrap_or_default();
            return Err(unsupported(&format!("XML with root <{root}>")));
        }
    }
    match ext.as_str() {
        "md" | "markdown" | "mdown" | "mkd" => return Ok(Format::Markdown),
        "txt" | "text" => return Ok(Format::Text),
        _ => {}
    }
    if looks_like_markdown(&text) {
        Ok(Format::Markdown)
    } else {
        Ok(Format::Text)
    }
}

/// The lower-case extension of a file name, or "".
fn extension(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    match base.rfind('.') {
        Some(i) if i > 0 => base[i + 1..].to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// The name of the first element of an XML/HTML text, skipping the
/// declaration, comments, processing instructions and doctype.
fn xml_root(text: &str) -> Option<String> {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("<?") {
            rest = &r[r.find("?>")? + 2..];
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = &r[r.find("-->")? + 3..];
        } else if let Some(r) = rest.strip_prefix("<!") {
            rest = &r[r.find('>')? + 1..];
        } else if let Some(r) = rest.strip_prefix('<') {
            let name: String = r
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect();
            return (!name.is_empty()).then_some(name);
        } else {
            return None;
        }
    }
}

/// Markdown syntax at the start of lines in the first 4 KiB: an ATX
/// heading, a code fence, a setext underline, or several list items with
/// links.
fn looks_like_markdown(text: &str) -> bool {
    let head: String = text.chars().take(4096).collect();
    let mut score = 0;
    for line in head.lines() {
        let t = line.trim_start();
        if (t.starts_with("# ") || t.starts_with("## ") || t.starts_with("### "))
            || t.starts_with("```")
            || (t.len() >= 3 && (t.chars().all(|c| c == '=') || t.chars().all(|c| c == '-')))
        {
            score += 2;
        } else if t.contains("](") || t.starts_with("* ") || t.starts_with("> ") {
            score += 1;
        }
    }
    score >= 2
}

/// Tells DOCX from ODT by the archive's entries.
fn detect_zip(name: &str, bytes: &[u8], opts: &LoadOptions) -> Result<Format> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| Error::malformed(name, format!("corrupt zip archive: {e}")))?;
    if archive.len() > opts.max_zip_entries {
        return Err(Error::malformed(
            name,
            format!(
                "zip archive with {} entries (limit {})",
                archive.len(),
                opts.max_zip_entries
            ),
        ));
    }
    if let Ok(entry) = archive.by_name("mimetype") {
        let mut mime = String::new();
        // A mimetype entry is a few dozen bytes: read at most 256.
        let _ = entry.take(256).read_to_string(&mut mime);
        let mime = mime.trim().to_string();
        return if mime == "application/vnd.oasis.opendocument.text" {
            Ok(Format::Odt)
        } else {
            Err(Error::Unsupported {
                name: name.to_string(),
                detected: format!("OpenDocument of type {mime}"),
            })
        };
    }
    let has = |n: &str| {
        archive
            .file_names()
            .any(|f| f.as_deref().is_ok_and(|f| f == n))
    };
    if has("word/document.xml") {
        return Ok(Format::Docx);
    }
    let detected = if has("[Content_Types].xml") {
        "Office Open XML other than a Word document (spreadsheet or presentation?)"
    } else {
        "zip archive"
    };
    Err(Error::Unsupported {
        name: name.to_string(),
        detected: detected.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots() {
        assert_eq!(
            xml_root("<?xml version=\"1.0\"?><!-- c --><Publication ID=\"F1\">").as_deref(),
            Some("Publication")
        );
        assert_eq!(xml_root("<!DOCTYPE html><html>").as_deref(), Some("html"));
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("a/b.MD"), "md");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(extension("README"), "");
    }
}
