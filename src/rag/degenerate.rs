//! Whether a generated answer has degenerated: small models cut off by the
//! token limit, or stuck repeating a line or a phrase ("de la maître de la
//! maître de la…"). Such text can still pass the citation and grounding
//! checks (every word of it is in the sources), so it is caught on its
//! form and the extractive answer is served instead.

use std::collections::HashMap;

use super::lexicon::folded_words;

/// Times one 4-word phrase may occur before the text is a loop.
const MAX_PHRASE_REPEATS: usize = 2;

/// Why `text` is unusable, or `None` when it reads as an answer.
/// `cut` tells that generation stopped at the token limit.
pub fn degenerate(text: &str, cut: bool) -> Option<&'static str> {
    if cut {
        return Some("cut off by the token limit");
    }
    let mut lines = HashMap::new();
    for line in text.lines() {
        let words = folded_words(line.trim_start_matches(|c: char| !c.is_alphabetic()));
        if words.len() >= 3 {
            let n = lines.entry(words).or_insert(0usize);
            *n += 1;
            if *n > 1 {
                return Some("a line repeated");
            }
        }
    }
    let words = folded_words(text);
    let mut phrases: HashMap<&[String], usize> = HashMap::new();
    for w in words.windows(4) {
        let n = phrases.entry(w).or_insert(0);
        *n += 1;
        if *n > MAX_PHRASE_REPEATS {
            return Some("a phrase repeated in a loop");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_and_cut_answers_are_caught() {
        assert_eq!(
            degenerate("Le passeport coûte 86 € [1].", true),
            Some("cut off by the token limit")
        );
        assert_eq!(
            degenerate(
                "[1] Adopté de l'adoption plénière\n[2] Adopté de l'adoption plénière",
                false
            ),
            Some("a line repeated")
        );
        assert_eq!(
            degenerate(
                "Index de la maître de la maître de la maître de la maître de la",
                false
            ),
            Some("a phrase repeated in a loop")
        );
    }

    #[test]
    fn a_plain_answer_passes() {
        let a = "Le passeport coûte 86 € pour un majeur [1].\n- Il faut un timbre fiscal [1].\n- La demande se fait en mairie [2].";
        assert_eq!(degenerate(a, false), None);
        // A list's items may share their first words.
        assert_eq!(
            degenerate(
                "- une photo d'identité\n- une photo de l'enfant\n- un justificatif",
                false
            ),
            None
        );
    }
}
