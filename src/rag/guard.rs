//! The output guard: a link, e-mail address or phone number in an answer
//! that is in neither the sources nor the town's configuration is masked
//! before it leaves, in the stream too. A small model invents plausible
//! ones ("04 67 00 00 00", "mairie-montpellier.fr/cantine").
//!
//! Streaming: text is released up to the last point where no contact
//! detail can still be growing: the current word is held back (links and
//! e-mail addresses have no spaces), and so are trailing groups of digits,
//! which may be the start of a phone number. At the end everything left is
//! checked and released.

use guichet_text::entities::{find, AllowList};

/// What replaces a masked contact detail.
pub const MASK: &str = "[coordonnée masquée]";

/// Checks a stream of text against an allow list.
#[derive(Debug)]
pub struct Guard {
    allowed: AllowList,
    pending: String,
    masked: usize,
}

impl Guard {
    /// A guard allowing the contact details of `allowed`.
    pub fn new(allowed: AllowList) -> Self {
        Self {
            allowed,
            pending: String::new(),
            masked: 0,
        }
    }

    /// How many contact details were masked so far.
    pub fn masked(&self) -> usize {
        self.masked
    }

    /// Adds generated text; returns what can be shown now (maybe empty).
    pub fn push(&mut self, delta: &str) -> String {
        self.pending.push_str(delta);
        let cut = safe_cut(&self.pending);
        if cut == 0 {
            return String::new();
        }
        let ready: String = self.pending.drain(..cut).collect();
        self.mask(&ready)
    }

    /// The rest of the text, checked.
    pub fn finish(&mut self) -> String {
        let rest = std::mem::take(&mut self.pending);
        self.mask(&rest)
    }

    /// Masks the contact details of a whole text.
    pub fn check(&mut self, text: &str) -> String {
        self.mask(text)
    }

    /// Masks a whole text without counting what it masks (a text whose
    /// stream was counted already).
    pub fn check_uncounted(&self, text: &str) -> String {
        self.mask_text(text).0
    }

    fn mask(&mut self, text: &str) -> String {
        let (out, n) = self.mask_text(text);
        self.masked += n;
        out
    }

    fn mask_text(&self, text: &str) -> (String, usize) {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        let mut n = 0;
        for e in find(text) {
            if self.allowed.allows(&e) {
                continue;
            }
            out.push_str(&text[at..e.range.start]);
            out.push_str(MASK);
            at = e.range.end;
            n += 1;
        }
        out.push_str(&text[at..]);
        (out, n)
    }
}

/// Whether a word could be part of a phone number still being written.
fn phone_like(word: &str) -> bool {
    !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | '.' | '-' | '(' | ')'))
}

/// The byte index up to which `text` can be released.
fn safe_cut(text: &str) -> usize {
    // Hold back the last word (it may be a link or address being written).
    let Some(last_space) = text.rfind(char::is_whitespace) else {
        return 0;
    };
    let mut cut = last_space;
    // Then hold back the words before it while they look like digit groups.
    loop {
        let head = &text[..cut];
        let trimmed = head.trim_end();
        let start = trimmed.rfind(char::is_whitespace).map_or(0, |i| {
            i + trimmed[i..].chars().next().map_or(1, char::len_utf8)
        });
        let word = &trimmed[start..];
        if phone_like(word) {
            cut = start;
            if cut == 0 {
                return 0;
            }
        } else {
            return trimmed.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        let mut a = AllowList::default();
        a.add_text("Mairie : 04 67 34 70 00, accueil@ville.fr, https://www.ville.fr/cantine");
        Guard::new(a)
    }

    #[test]
    fn invented_contacts_are_masked_and_real_ones_kept() {
        let mut g = guard();
        let out = g.check(
            "Appelez le 04 67 34 70 00 ou le 04 67 00 11 22, écrivez à faux@ville.fr, voir www.ville.fr/cantine.",
        );
        assert_eq!(
            out,
            format!("Appelez le 04 67 34 70 00 ou le {MASK}, écrivez à {MASK}, voir www.ville.fr/cantine.")
        );
        assert_eq!(g.masked(), 2);
    }

    #[test]
    fn streamed_pieces_give_the_same_text_and_never_leak_a_partial_number() {
        let text = "Le numéro est le 04 67 00 11 22 et le site https://arnaque.fr/x ; sinon 04 67 34 70 00.";
        let whole = guard().check(text);
        for step in 1..7 {
            let mut g = guard();
            let mut shown = String::new();
            let chars: Vec<char> = text.chars().collect();
            for piece in chars.chunks(step) {
                let s: String = piece.iter().collect();
                shown.push_str(&g.push(&s));
                assert!(
                    !shown.contains("04 67 00"),
                    "leaked at step {step}: {shown}"
                );
                assert!(!shown.contains("arnaque"), "leaked at step {step}: {shown}");
            }
            shown.push_str(&g.finish());
            assert_eq!(shown, whole, "step {step}");
        }
    }
}
