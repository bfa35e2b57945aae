//! French text normalisation for the lexical index: the same function runs
//! on chunks at indexing time and on questions at query time.
//!
//! Lower case, accents folded (NFD, combining marks dropped: "déchèterie"
//! and "decheterie" meet), split on anything that is not a letter or a digit,
//! French stop words dropped, Snowball French stems ("inscriptions" and
//! "inscrire" → "inscript"/"inscr"...). Digits are kept whole: form numbers
//! (Cerfa 13750) and amounts must match exactly.

use guichet_text::fold;
use rust_stemmers::{Algorithm, Stemmer};

/// Common French words that carry no topic (articles, pronouns,
/// prepositions, auxiliaries), compared after accent folding.
const STOP_WORDS: &[&str] = &[
    "a", "ai", "au", "aux", "avec", "c", "ce", "ces", "cet", "cette", "d", "dans", "de", "des",
    "du", "elle", "elles", "en", "est", "et", "etre", "eu", "il", "ils", "j", "je", "l", "la",
    "le", "les", "leur", "leurs", "lui", "m", "ma", "mais", "me", "mes", "moi", "mon", "n", "ne",
    "nos", "notre", "nous", "on", "ou", "par", "pas", "pour", "qu", "que", "qui", "s", "sa", "se",
    "ses", "son", "sont", "sur", "t", "ta", "te", "tes", "toi", "ton", "tu", "un", "une", "vos",
    "votre", "vous", "y", "comment", "quel", "quelle", "quels", "quelles", "quoi", "faut", "doit",
    "dois", "peut", "peux", "puis", "je", "mon", "ma",
    // A citizen's spoken words: « on va où », « je fais comment », « ça
    // coûte », « svp »; documents never turn on them (« combien », « quand »
    // and « faire » stay: fiches are titled « Combien coûte… », « Que
    // faire si… »).
    "va", "vais", "vas", "ca", "cela", "fais", "veux", "voudrais", "svp", "stp", "bonjour", "merci",
    "besoin", "amener", "amene", "ramener", "apporter", "apporte", "alors",
];

/// The index terms of `text`, in order (duplicates kept).
pub fn terms(text: &str) -> Vec<String> {
    let stemmer = Stemmer::create(Algorithm::French);
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(fold)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(|w| {
            if w.chars().any(|c| c.is_ascii_digit()) {
                w
            } else {
                stemmer.stem(&w).into_owned()
            }
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// The normalised text stored in the FTS5 table (terms joined by spaces).
pub fn normalize(text: &str) -> String {
    terms(text).join(" ")
}

/// Stems at least this long are also matched by their first
/// `len - PREFIX_DROP` letters (never fewer than [`PREFIX_MIN`]).
const PREFIX_FROM: usize = 7;
/// Letters dropped from a long stem to make its prefix.
const PREFIX_DROP: usize = 2;
/// The shortest prefix used.
const PREFIX_MIN: usize = 6;

/// An FTS5 query matching any of the question's terms (BM25 ranks chunks
/// with more and rarer terms first). `None` when nothing is left to match.
///
/// Snowball's French stemmer does not join a verb and its noun
/// (`inscrire` → `inscrir`, `inscription` → `inscript`; `renouveler`,
/// `renouvellement`), while citizens and documents use either. A long
/// stem is therefore matched by its prefix (`inscri*`), a truncation
/// known to work well for French (J. Savoy's stemming studies); the
/// effect is measured in `docs/knowledge-base.md`.
pub fn fts_query(question: &str) -> Option<String> {
    let mut t: Vec<String> = terms(question)
        .into_iter()
        .map(|w| {
            let n = w.chars().count();
            if n >= PREFIX_FROM && !w.chars().any(|c| c.is_ascii_digit()) {
                let keep = (n - PREFIX_DROP).max(PREFIX_MIN);
                format!("\"{}\"*", w.chars().take(keep).collect::<String>())
            } else {
                format!("\"{w}\"")
            }
        })
        .collect();
    t.sort();
    t.dedup();
    if t.is_empty() {
        return None;
    }
    // Terms are letters and digits only, so quoting is enough.
    Some(t.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accents_case_stop_words_and_stems_are_normalised() {
        assert_eq!(normalize("La Déchèterie"), normalize("decheterie"));
        assert_eq!(
            terms("les inscriptions sur la liste"),
            terms("inscription liste")
        );
        assert!(terms("Cerfa n° 13750*05").contains(&"13750".to_owned()));
        assert_eq!(fts_query("de la"), None);
        assert_eq!(fts_query("Prix cantine").unwrap(), "\"cantin\" OR \"prix\"");
        // Long stems match their verb or noun too.
        assert_eq!(
            fts_query("inscription électorale").unwrap(),
            "\"elector\"* OR \"inscri\"*"
        );
    }
}
