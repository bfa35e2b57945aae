//! Query expansion: citizens type "CNI", "CAF" or "PLU", and say "cantine"
//! or "prix" where the town's documents say "restauration scolaire" and
//! "tarif". The question sent to retrieval keeps the citizen's words and
//! adds their expansions, so both the lexical and the dense side can match;
//! the confidence score counts a document word of an expansion as the
//! citizen's word ([`Lexicon::expansions`]).
//!
//! The built-in lexicons are `acronyms.tsv` and `synonyms.tsv` beside this
//! file; a town adds its own (local services, neighbourhoods) with
//! `answer.lexicon`, a file of the same `KEY<TAB>expansion` format (keys
//! with two capitals or more are acronyms, the others words or phrases).

use std::collections::HashMap;
use std::path::Path;

/// Lower case, accents folded, split into words (what phrase matching
/// compares).
pub use guichet_text::folded_words;

use crate::{Error, Result};

/// The built-in acronyms.
const BUILTIN: &str = include_str!("acronyms.tsv");
/// The built-in synonyms.
const SYNONYMS: &str = include_str!("synonyms.tsv");

/// Acronyms and their expansions, keyed in upper case; synonyms keyed by
/// their folded words.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    entries: HashMap<String, String>,
    synonyms: Vec<(Vec<String>, String)>,
}

/// One expansion found in a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    /// The citizen's word or phrase, as typed.
    pub source: String,
    /// What it expands to.
    pub text: String,
}

/// Where the folded words `words` hold `phrase` (folded words joined by
/// spaces) as consecutive words: the index of its first word.
pub fn phrase_at(words: &[String], phrase: &str) -> Option<usize> {
    let p: Vec<&str> = phrase.split(' ').collect();
    words
        .windows(p.len())
        .position(|w| w.iter().zip(&p).all(|(a, b)| a == b))
}

impl Lexicon {
    /// The built-in lexicon.
    pub fn builtin() -> Self {
        let mut l = Self::default();
        l.add_text(BUILTIN);
        l.add_text(SYNONYMS);
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
                if a.is_empty() || e.is_empty() {
                    continue;
                }
                if a.chars().filter(|c| c.is_uppercase()).count() >= 2 {
                    self.entries.insert(a.to_uppercase(), e.to_string());
                } else {
                    let key = folded_words(a);
                    self.synonyms.retain(|(k, _)| *k != key);
                    self.synonyms.push((key, e.to_string()));
                }
            }
        }
    }

    /// Number of acronyms and synonyms known.
    pub fn len(&self) -> usize {
        self.entries.len() + self.synonyms.len()
    }

    /// Whether the lexicon is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The acronyms and synonyms of `question`, each once, in order.
    pub fn expansions(&self, question: &str) -> Vec<Expansion> {
        let mut out: Vec<Expansion> = Vec::new();
        let folded_question = folded_words(question).join(" ");
        for word in question.split(|c: char| !c.is_alphanumeric() && c != '\'') {
            let word = word.trim_matches('\'');
            if let Some(e) = self.expansion(word) {
                if !out.iter().any(|x| x.text == e) && !spelled_out(&folded_question, e) {
                    out.push(Expansion {
                        source: word.to_string(),
                        text: e.to_string(),
                    });
                }
            }
        }
        let words = folded_words(question);
        for (key, e) in &self.synonyms {
            let found = !key.is_empty() && words.windows(key.len()).any(|w| w == key.as_slice());
            if found && !out.iter().any(|x| x.text == *e) && !spelled_out(&folded_question, e) {
                out.push(Expansion {
                    source: key.join(" "),
                    text: e.clone(),
                });
            }
        }
        out
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
    /// after it ("ma CNI" → "ma CNI (carte nationale d'identité)") and the
    /// synonyms of its words after it ("… cantine ? (restauration
    /// scolaire, repas)"); unchanged when it has none.
    pub fn expand(&self, question: &str) -> String {
        let expansions = self.expansions(question);
        if expansions.is_empty() {
            return question.to_string();
        }
        let mut out = String::with_capacity(question.len() + 64);
        let mut word = String::new();
        let mut done: Vec<&str> = Vec::new();
        let mut flush = |word: &mut String, out: &mut String| {
            if word.is_empty() {
                return;
            }
            out.push_str(word);
            if let Some(x) = expansions.iter().find(|x| x.source == *word) {
                if self.entries.contains_key(&word.to_uppercase())
                    && !done.contains(&x.text.as_str())
                {
                    out.push_str(" (");
                    out.push_str(&x.text);
                    out.push(')');
                    done.push(&x.text);
                }
            }
            word.clear();
        };
        for c in question.chars() {
            if c.is_alphanumeric() {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        let synonyms: Vec<&str> = expansions
            .iter()
            .filter(|x| !self.entries.contains_key(&x.source.to_uppercase()))
            .map(|x| x.text.as_str())
            .collect();
        if !synonyms.is_empty() {
            out.push_str(" (");
            out.push_str(&synonyms.join(" ; "));
            out.push(')');
        }
        out
    }
}

/// Whether the expansion is already in the question.
fn spelled_out(folded_question: &str, expansion: &str) -> bool {
    let e = folded_words(expansion).join(" ");
    !e.is_empty() && folded_question.contains(&e)
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
        assert!(l.expand("où est le pc ?").starts_with("où est le pc ?"));
        assert!(!l.expand("où est le pc ?").contains("permis"));
        // Already spelled out: nothing added.
        let q = "la carte nationale d'identité (CNI)";
        assert_eq!(l.expand(q), q);
    }

    #[test]
    fn synonyms_are_added_at_the_end_and_listed() {
        let l = Lexicon::builtin();
        let e = l.expand("Quel est le prix de la Cantine ?");
        assert!(e.starts_with("Quel est le prix de la Cantine ? ("), "{e}");
        assert!(
            e.contains("restauration scolaire") && e.contains("tarif"),
            "{e}"
        );
        let x = l.expansions("Combien coûte la carte grise ?");
        assert!(x.iter().any(|x| x.source == "carte grise"), "{x:?}");
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
