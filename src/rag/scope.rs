//! Topics the référents excluded: a question that mentions one gets their
//! message and contact, before any retrieval.

use super::lexicon;
use crate::referents::Exclusion;

/// The first exclusion whose keywords `question` mentions.
pub(super) fn excluded<'a>(exclusions: &'a [Exclusion], question: &str) -> Option<&'a Exclusion> {
    exclusions.iter().find(|e| mentions(question, &e.keywords))
}

/// Whether `keywords` (phrases) occur in `text` on whole words, without
/// case or accents.
fn mentions(text: &str, keywords: &[String]) -> bool {
    let t = lexicon::folded_words(text);
    keywords.iter().any(|k| {
        let k = lexicon::folded_words(k);
        !k.is_empty() && t.windows(k.len()).any(|w| w == k.as_slice())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exclusion(topic: &str, keywords: &[&str]) -> Exclusion {
        Exclusion {
            id: 0,
            topic: topic.into(),
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
            message: "Ce sujet relève de la préfecture.".into(),
            contact: String::new(),
            created_by: String::new(),
            created_at: String::new(),
        }
    }

    #[test]
    fn keywords_match_whole_words_without_case_or_accents() {
        let list = [
            exclusion("permis", &["permis de conduire"]),
            exclusion("élections", &["élection"]),
        ];
        assert_eq!(
            excluded(&list, "Comment refaire mon PERMIS de CONDUIRE ?").map(|e| e.topic.as_str()),
            Some("permis")
        );
        assert_eq!(
            excluded(&list, "la date de l'election").map(|e| e.topic.as_str()),
            Some("élections")
        );
        // A word inside another word is not a mention.
        assert!(excluded(&list, "les électionnaires").is_none());
        assert!(excluded(&list, "le permis de construire").is_none());
    }
}
