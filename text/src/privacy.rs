//! Personal data in citizens' questions: masked before anything is stored
//! (statistics, review queue, evaluation samples), since a citizen often
//! types their own e-mail address, phone number, social security number or
//! IBAN. The original is kept only when the configuration allows it.

use std::sync::LazyLock;

use regex::Regex;

use crate::entities::{find, EntityKind};

static IBAN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,4})?\b")
        .expect("iban regex: this is a bug")
});

/// French social security number (NIR): sex, year, month, department
/// (2A/2B for Corsica), commune, order, optional key.
static NIR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[12]\s?\d{2}\s?(?:0[1-9]|1[0-2]|[2-9]\d)\s?(?:\d{2}|2A|2B)\s?\d{3}\s?\d{3}(?:\s?\d{2})?\b")
        .expect("nir regex: this is a bug")
});

/// `text` without the personal data (labels removed too): what retrieval
/// searches, since a citizen's name, address or number matches no
/// document and only lowers the confidence.
pub fn strip_personal_data(text: &str) -> String {
    let masked = mask_personal_data(text);
    let mut out = masked;
    for label in [
        "[IBAN]",
        "[numéro de sécurité sociale]",
        "[courriel]",
        "[téléphone]",
    ] {
        out = out.replace(label, " ");
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` with e-mail addresses, phone numbers, social security numbers
/// and IBANs replaced by a bracketed label.
pub fn mask_personal_data(text: &str) -> String {
    let text = IBAN.replace_all(text, |c: &regex::Captures| {
        // An IBAN has letters and digits mixed; a long plain number is left
        // to the NIR and phone rules.
        if c[0].chars().take(2).all(|ch| ch.is_ascii_alphabetic()) {
            "[IBAN]".to_string()
        } else {
            c[0].to_string()
        }
    });
    let text = NIR.replace_all(&text, "[numéro de sécurité sociale]");
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in find(&text) {
        let label = match e.kind {
            EntityKind::Email => "[courriel]",
            EntityKind::Phone => "[téléphone]",
            EntityKind::Url => continue,
        };
        out.push_str(&text[at..e.range.start]);
        out.push_str(label);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_masked_and_the_question_kept() {
        let q = "Je suis jean.dupont@gmail.com, tél 06 12 34 56 78, NIR 1 85 05 78 006 084 36, \
                 IBAN FR76 3000 6000 0112 3456 7890 189 : quand est la cantine à 3,38 € ?";
        let m = mask_personal_data(q);
        assert_eq!(
            m,
            "Je suis [courriel], tél [téléphone], NIR [numéro de sécurité sociale], \
                 IBAN [IBAN] : quand est la cantine à 3,38 € ?"
        );
        let plain = "Quels documents pour une carte d'identité en 2024 ?";
        assert_eq!(mask_personal_data(plain), plain);
    }
}
