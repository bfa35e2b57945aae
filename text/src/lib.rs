//! Guichet's text toolkit: the small text functions that the answering
//! engine, the knowledge base, the statistics and the evaluation must agree
//! on, written once.
//!
//! It is a crate, not a module of the root crate, because `guichet-eval`
//! (a leaf that knows nothing of the service) compares answers with the
//! same folding and reads the same citation markers as the engine that
//! wrote them; `guichet-models` hashes with the same [`hex`]. It depends on
//! nothing of Guichet.
//!
//! * [`fold`], [`folded_words`], [`folded_phrase`]: case and accents
//!   folded, the form every comparison of French words uses;
//! * [`citations`]: the `[n]` markers of an answer;
//! * [`hex`], [`escape_html`];
//! * [`entities`]: web links, e-mail addresses, phone numbers;
//! * [`privacy`]: a citizen's personal data masked before it is stored.

pub mod citations;
pub mod entities;
pub mod privacy;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// `s` in lower case with its accents removed (« Été » → « ete »): what
/// citizens type without accents compares equal to the sources.
pub fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of `s` folded (see [`fold`]), split at every character that
/// is not a letter or a digit.
pub fn folded_words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// The folded words of `s` joined by single spaces: the form phrase lists
/// are written in.
pub fn folded_phrase(s: &str) -> String {
    folded_words(s).join(" ")
}

/// Lower-case hexadecimal of `bytes` (digests, tokens).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// `s` made safe inside HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_removes_case_and_accents_and_keeps_the_rest() {
        assert_eq!(fold("Été À L'ÉCOLE, 3 €"), "ete a l'ecole, 3 €");
        assert_eq!(fold("Œuvre naïve"), "œuvre naive");
    }

    #[test]
    fn words_split_at_every_non_alphanumeric_character() {
        assert_eq!(
            folded_words("  L'état-civil : 2 000 €!"),
            ["l", "etat", "civil", "2", "000"]
        );
        assert_eq!(
            folded_phrase("Ignore  TES\tinstructions"),
            "ignore tes instructions"
        );
        assert!(folded_words(" ,;! ").is_empty());
    }

    #[test]
    fn hex_and_html_escaping() {
        assert_eq!(hex(&[0, 15, 16, 255]), "000f10ff");
        assert_eq!(hex(&[]), "");
        assert_eq!(
            escape_html(r#"<img src=x onerror="a">&'"#),
            "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;"
        );
    }
}
