//! Text normalisation shared by the loaders.
//!
//! Unicode NFC (PDFs and some XML carry decomposed accents: `e` + U+0301),
//! typographic ligatures expanded (`ﬁ` → `fi`: a search for "fichier" must
//! find it), every kind of space folded to U+0020, soft hyphens, zero-width
//! characters and control characters dropped, private-use characters (the
//! Symbol/Wingdings bullets of Word PDFs) turned into `•`. NFKC is not used:
//! it would also rewrite `…`, `½`, `ᵉʳ` and the like, which citizens read.

use unicode_normalization::UnicodeNormalization;

/// Expands a ligature character, if it is one.
fn ligature(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{FB00}' => "ff",
        '\u{FB01}' => "fi",
        '\u{FB02}' => "fl",
        '\u{FB03}' => "ffi",
        '\u{FB04}' => "ffl",
        '\u{FB05}' | '\u{FB06}' => "st",
        '\u{0132}' => "IJ",
        '\u{0133}' => "ij",
        _ => return None,
    })
}

/// Normalises characters without touching the layout: NFC, ligatures,
/// spaces, invisible and control characters (newlines, tabs and form feeds
/// are kept as they are).
pub(crate) fn normalize_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfc() {
        if let Some(l) = ligature(c) {
            out.push_str(l);
            continue;
        }
        match c {
            '\n' | '\t' | '\u{000C}' => out.push(c),
            '\r' => out.push('\n'),
            // No-break, thin, figure, ideographic spaces…
            '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => {
                out.push(' ')
            }
            // Soft hyphen, zero-width characters, byte-order mark.
            '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => {}
            '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\u{E000}'..='\u{F8FF}' => out.push('•'),
            '\u{FFFD}' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Normalises characters and collapses all white space (newlines included)
/// into single spaces, trimmed: the text of one inline run, paragraph or
/// cell.
pub(crate) fn inline(s: &str) -> String {
    collapse_ws(&normalize_chars(s))
}

/// Collapses runs of white space into one space and trims.
pub(crate) fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Removes the spaces that markup leaves before `, . ) ]` and after `( [`
/// (`dématérialisé )` → `dématérialisé)`), keeping the French spaces before
/// `: ; ! ?`. For text assembled from XML/HTML inline elements.
pub(crate) fn tidy_punctuation(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            let next = chars.get(i + 1).copied();
            let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
            let before_closing = matches!(next, Some(',' | '.' | ')' | ']'))
                // Keep "… ." out of an ellipsis or a leading ". net".
                && !matches!(chars.get(i + 2), Some('.'));
            let after_opening = matches!(prev, Some('(' | '['));
            if before_closing || after_opening {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Cleans one inline run from markup: [`inline`] then
/// [`tidy_punctuation`].
pub(crate) fn markup_inline(s: &str) -> String {
    tidy_punctuation(&inline(s))
}

/// Whether the bytes look like text rather than binary data: no NUL byte
/// and few control characters in the first 8 KiB.
pub(crate) fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C))
        .count();
    control * 100 > head.len().max(1)
}

/// Decodes text bytes: UTF-8 (BOM stripped), UTF-16 with a BOM, or
/// Windows-1252 (a superset of Latin-1) when the bytes are not UTF-8, as in
/// legacy French files. Returns the text and the encoding's name. Invalid
/// UTF-8 is never decoded lossily: Windows-1252 maps every byte, so a
/// legacy file keeps its accents instead of getting U+FFFD.
pub(crate) fn decode_text(bytes: &[u8]) -> (String, &'static str) {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return (text.into_owned(), enc.name());
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), "UTF-8"),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (text.into_owned(), "windows-1252")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ligatures_and_spaces() {
        assert_eq!(inline("ﬁchier\u{a0}:  e\u{FB00}ort\n"), "fichier : effort");
        assert_eq!(inline("e\u{301}te\u{301}"), "été");
        assert_eq!(inline("ex\u{ad}emple"), "exemple");
    }

    #[test]
    fn punctuation() {
        assert_eq!(
            tidy_punctuation("est dématérialisé ) . Si ( voir ) , etc. Ok : oui"),
            "est dématérialisé). Si (voir), etc. Ok : oui"
        );
    }

    #[test]
    fn decoding() {
        assert_eq!(decode_text(b"caf\xe9").0, "café");
        assert_eq!(decode_text("café".as_bytes()).0, "café");
        assert_eq!(decode_text(b"\xef\xbb\xbfok").0, "ok");
    }
}
