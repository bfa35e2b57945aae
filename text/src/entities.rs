//! Contact details in text: web links, e-mail addresses and French phone
//! numbers, found and normalised so that two spellings of the same one
//! compare equal ("04 67 34 70 00", "04.67.34.70.00" and "+33 4 67 34 70 00").
//!
//! The output guard masks those an answer invents; the privacy filter masks
//! a citizen's own before a question is stored.

use std::sync::LazyLock;

use regex::Regex;

/// What kind of contact detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// A web link.
    Url,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
}

/// One contact detail found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// Its kind.
    pub kind: EntityKind,
    /// Byte range in the text.
    pub range: std::ops::Range<usize>,
    /// Its normalised form (for comparisons).
    pub normalized: String,
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}\b")
        .expect("email regex: this is a bug")
});

static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:https?://|www\.)[^\s<>"'()\[\]{}]+|\b[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.(?:fr|gouv\.fr|com|org|net|eu|info)(?:/[^\s<>"'()\[\]{}]*)?"#)
        .expect("url regex: this is a bug")
});

static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+33\s?\(?0?\)?\s?|\b0)[1-9](?:[\s.\-]?\d{2}){4}\b")
        .expect("phone regex: this is a bug")
});

/// Digits of a phone number, `+33` folded to a leading 0.
fn normalize_phone(s: &str) -> String {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("33") {
        Some(rest) if s.trim_start().starts_with('+') => {
            let rest = rest.strip_prefix('0').unwrap_or(rest);
            format!("0{rest}")
        }
        _ => digits,
    }
}

/// Lower case, without scheme, `www.` or trailing punctuation and slashes.
fn normalize_url(s: &str) -> String {
    let s = s.to_lowercase();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(&s);
    let s = s.strip_prefix("www.").unwrap_or(s);
    s.trim_end_matches(['/', '.', ',', ';', ':', '!', '?'])
        .to_string()
}

/// The contact details of `text`, in order, without overlaps (an e-mail
/// address is not also read as a link).
pub fn find(text: &str) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    for m in EMAIL.find_iter(text) {
        out.push(Entity {
            kind: EntityKind::Email,
            range: m.range(),
            normalized: m.as_str().to_lowercase(),
        });
    }
    let overlaps = |out: &[Entity], r: &std::ops::Range<usize>| {
        out.iter()
            .any(|e| e.range.start < r.end && r.start < e.range.end)
    };
    for m in URL.find_iter(text) {
        let trimmed = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let range = m.start()..m.start() + trimmed.len();
        if trimmed.is_empty() || overlaps(&out, &range) {
            continue;
        }
        out.push(Entity {
            kind: EntityKind::Url,
            range,
            normalized: normalize_url(trimmed),
        });
    }
    for m in PHONE.find_iter(text) {
        let range = m.range();
        if overlaps(&out, &range) {
            continue;
        }
        out.push(Entity {
            kind: EntityKind::Phone,
            range,
            normalized: normalize_phone(m.as_str()),
        });
    }
    out.sort_by_key(|e| e.range.start);
    out
}

/// The normalised contact details of several texts: what an answer may
/// repeat.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    items: Vec<(EntityKind, String)>,
}

impl AllowList {
    /// Adds every contact detail found in `text`.
    pub fn add_text(&mut self, text: &str) {
        for e in find(text) {
            self.items.push((e.kind, e.normalized));
        }
    }

    /// Whether `e` appears in the allowed texts. A link may also be a
    /// shorter form of an allowed one ("service-public.fr" for a page of
    /// that site).
    pub fn allows(&self, e: &Entity) -> bool {
        self.items.iter().any(|(k, n)| {
            *k == e.kind
                && (*n == e.normalized
                    || (e.kind == EntityKind::Url
                        && n.starts_with(&e.normalized)
                        && n[e.normalized.len()..].starts_with(['/', '?', '#'])))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_details_are_found_and_normalised() {
        let t = "Appelez le 04 67 34 70 00 ou le +33 4.67.34.70.00, écrivez à Mairie@Ville.fr \
                 ou voir https://www.service-public.fr/particuliers/vosdroits/F1341.";
        let e = find(t);
        let kinds: Vec<EntityKind> = e.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EntityKind::Phone,
                EntityKind::Phone,
                EntityKind::Email,
                EntityKind::Url
            ]
        );
        assert_eq!(e[0].normalized, "0467347000");
        assert_eq!(e[1].normalized, "0467347000");
        assert_eq!(e[2].normalized, "mairie@ville.fr");
        assert_eq!(
            e[3].normalized,
            "service-public.fr/particuliers/vosdroits/f1341"
        );
        assert_eq!(
            &t[e[3].range.clone()],
            "https://www.service-public.fr/particuliers/vosdroits/F1341"
        );
    }

    #[test]
    fn amounts_and_dates_are_not_phone_numbers() {
        assert!(
            find("Le tarif est de 3,38 € depuis le 01/09/2014 (délibération 2014-125).").is_empty()
        );
    }

    #[test]
    fn allow_list_matches_equal_or_shorter_links() {
        let mut a = AllowList::default();
        a.add_text(
            "Voir https://www.service-public.fr/particuliers/vosdroits/F1341 ou 01 40 00 00 00.",
        );
        let ok = find("sur service-public.fr ou au 01.40.00.00.00");
        assert!(ok.iter().all(|e| a.allows(e)), "{ok:?}");
        let bad = find("sur www.arnaque.fr, au 01 02 03 04 05 ou service-public.fr.evil.com");
        assert!(bad.iter().all(|e| !a.allows(e)), "{bad:?}");
    }
}
