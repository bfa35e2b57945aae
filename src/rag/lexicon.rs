//! Acronym expansion: citizens type "CNI", "CAF" or "PLU"; documents often
//! spell them out. The question sent to retrieval keeps the acronym and
//! adds its expansion, so both the lexical and the dense side can match.
//!
//! The built-in lexicon is `acronyms.tsv` beside this file; a town adds its
//! own (local services, neighbourhoods) with `answer.lexicon`, a file of the
//! same `ACRONYM<TAB>expansion` format.

use std::collections::HashMap;
use std::path::Path;

use crate::{Error, Result};

/// The built-in acronyms.
const BUILTIN: &str = include_str!("acronyms.tsv");

/// Acronyms and their expansions, keyed in upper case.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    entries: HashMap<String, String>,
}

impl Lexicon {
    /// The built-in lexicon.
    pub fn builtin() -> Self {
        let mut l = Self::default();
        l.add_text(BUILTIN);
        l
    }

    /// The built-in lexicon plus the town's file (whose entries win).
    pub fn with_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut l = Self::builtin();
        l.add_text(&text);
        Ok(l)
    }

    /// Adds `ACRONYM<TAB>expansion` lines; `#` starts a comment line.
    fn add_text(&mut self, text: &str) {
        for line in text.lines() {
            let line = line.trim_end();
            if line.trim_start().starts_with('#') {
                continue;
            }
            if let Some((a, e)) = line.split_once('\t') {
                let (a, e) = (a.trim(), e.trim());
                if !a.is_empty() && !e.is_empty() {
                    self.entries.insert(a.to_uppercase(), e.to_string());
                }
            }
        }
    }

    /// Number of acronyms known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the lexicon is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The expansion of `word`, if it is a known acronym. Matching needs
    /// the word in upper case as typed ("CAF", "Pacs" and "PACS"), or all in
    /// lower case when at least 3 letters ("cni"), so that ordinary words
    /// ("pa", "du") are never expanded.
    pub fn expansion(&self, word: &str) -> Option<&str> {
        let upper = word.to_uppercase();
        let letters = word.chars().filter(|c| c.is_alphabetic()).count();
        let typed_as_acronym = word.chars().filter(|c| c.is_uppercase()).count() >= 2
            || (word == word.to_lowercase() && letters >= 3)
            || (word.chars().next().is_some_and(char::is_uppercase) && letters >= 4);
        if !typed_as_acronym {
            return None;
        }
        self.entries.get(&upper).map(String::as_str)
    }

    /// `question` with the expansion of each acronym added in brackets
    /// after it ("ma CNI" → "ma CNI (carte nationale d'identité)"); the
    /// question is returned unchanged when it has none.
    pub fn expand(&self, question: &str) -> String {
        let mut out = String::with_capacity(question.len() + 32);
        let mut seen = Vec::new();
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String, seen: &mut Vec<String>| {
            if word.is_empty() {
                return;
            }
            out.push_str(word);
            if let Some(e) = self.expansion(word) {
                let key = word.to_uppercase();
                let already = question.to_lowercase().contains(&e.to_lowercase());
                if !seen.contains(&key) && !already {
                    out.push_str(" (");
                    out.push_str(e);
                    out.push(')');
                    seen.push(key);
                }
            }
            word.clear();
        };
        for c in question.chars() {
            if c.is_alphanumeric() || c == '\'' && word.is_empty() {
                word.push(c);
            } else {
                flush(&mut word, &mut out, &mut seen);
                out.push(c);
            }
        }
        flush(&mut word, &mut out, &mut seen);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acronyms_are_expanded_once_and_words_are_left_alone() {
        let l = Lexicon::builtin();
        assert!(l.len() >= 50, "{}", l.len());
        let e = l.expand("Comment refaire ma CNI ? La CNI est perdue.");
        assert_eq!(e.matches("carte nationale d'identité").count(), 1, "{e}");
        assert!(e.starts_with("Comment refaire ma CNI (carte nationale d'identité) ?"));
        let e = l.expand("Je veux me pacser avec la caf");
        assert!(e.contains("caf (caisse d'allocations familiales)"), "{e}");
        // A two-letter word in lower case is not an acronym.
        assert_eq!(l.expand("où est le pc ?"), "où est le pc ?");
        // Already spelled out: nothing added.
        let q = "la carte nationale d'identité (CNI)";
        assert_eq!(l.expand(q), q);
    }

    #[test]
    fn a_town_file_adds_and_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lex.tsv");
        std::fs::write(&p, "# ours\nMPT\tmaison pour tous\nCNI\tcarte d'identité\n").unwrap();
        let l = Lexicon::with_file(&p).unwrap();
        assert_eq!(l.expansion("MPT"), Some("maison pour tous"));
        assert_eq!(l.expansion("CNI"), Some("carte d'identité"));
        assert!(Lexicon::with_file(&dir.path().join("none.tsv")).is_err());
    }
}
