//! Follow-up questions: "et pour un mineur ?" after a question on the
//! identity card means "the identity card for a minor". Retrieval needs the
//! standalone question.
//!
//! The cheap rewrite, always available, carries the previous standalone
//! question over when the new message looks like a follow-up (it starts
//! with a connector, refers back with a pronoun, or has too few words of
//! its own to be searched). The assistant may ask the LLM instead
//! (`answer.rewrite_with_model`) and falls back to this when the model's
//! rewrite is unusable.

use guichet_text::fold;

use crate::kb::lexical;

/// Words that open a follow-up ("et pour…", "mais si…", "donc…").
const CONNECTORS: &[&str] = &[
    "et", "mais", "donc", "alors", "aussi", "sinon", "pareil", "idem", "ensuite", "puis", "ou",
];

/// Words that refer back to the previous question.
const ANAPHORA: &[&str] = &[
    "ca", "cela", "celle", "celui", "celles", "ceux", "celle-ci", "celui-ci", "meme", "pareil",
    "dernier", "derniere", "la-bas", "y", "le faire", "en faire",
];

/// Whether `message` needs the previous question to be understood.
pub fn is_followup(message: &str) -> bool {
    let folded = fold(message);
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty())
        .collect();
    let Some(first) = words.first() else {
        return false;
    };
    if CONNECTORS.contains(first) {
        return true;
    }
    if words.iter().any(|w| ANAPHORA.contains(w)) && words.len() <= 8 {
        return true;
    }
    lexical::terms(message).len() <= 2
}

/// The standalone question for `message` given the previous standalone
/// question: the message itself when it stands alone, else both joined.
pub fn carry_over(previous: Option<&str>, message: &str) -> String {
    match previous {
        Some(p) if is_followup(message) => {
            let p = p.trim().trim_end_matches(['?', '.', '!', ' ']);
            format!("{p} — {}", message.trim())
        }
        _ => message.trim().to_string(),
    }
}

/// Whether a model's rewrite of `message` can be used: one line, not
/// empty, not too long, and keeping the message's own words.
pub fn usable_rewrite(message: &str, rewrite: &str) -> bool {
    let r = rewrite.trim();
    if r.is_empty() || r.contains('\n') || r.chars().count() > 300 {
        return false;
    }
    let own = lexical::terms(message);
    let kept = lexical::terms(r);
    own.iter().all(|t| kept.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followups_carry_the_previous_question() {
        let prev = "Quels documents pour une carte d'identité ?";
        assert!(is_followup("et pour un mineur ?"));
        assert!(is_followup("Combien ça coûte ?"));
        assert_eq!(
            carry_over(Some(prev), "et pour un mineur ?"),
            "Quels documents pour une carte d'identité — et pour un mineur ?"
        );
        let own = "Comment s'inscrire sur les listes électorales après un déménagement ?";
        assert!(!is_followup(own));
        assert_eq!(carry_over(Some(prev), own), own);
        assert_eq!(
            carry_over(None, "et pour un mineur ?"),
            "et pour un mineur ?"
        );
    }

    #[test]
    fn rewrites_must_keep_the_messages_words() {
        let m = "et pour un mineur ?";
        assert!(usable_rewrite(
            m,
            "Quels documents pour la carte d'identité d'un mineur ?"
        ));
        assert!(!usable_rewrite(
            m,
            "Quels documents pour la carte d'identité ?"
        ));
        assert!(!usable_rewrite(m, ""));
        assert!(!usable_rewrite(m, "mineur ?\nRéponse : oui"));
    }
}
