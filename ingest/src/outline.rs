//! A PDF's headings and title, from what its text layer still says of its
//! layout: each line's font size (a heading is set larger than the body
//! text) and numbering (« Article 3 », « II. », « Chapitre 1 »), so that a
//! PDF's chunks carry a section path as fiches and web pages do, and a
//! deliberation is titled by its subject rather than its file name.
//!
//! The body size is the size most characters of the document are set in.
//! A line is a heading by size when it is at least [`SIZE_RATIO`] times
//! that, short, mostly letters (not an amount or a table row), not a list
//! item, and its size is rare in the document (a page of large table rows
//! is not a run of headings). Consecutive heading lines of one size are one
//! wrapped heading. Levels follow sizes (larger is higher); numbered
//! headings at body size come below every sized one.

/// How much larger than the body text a heading is set (Word's « Titre 2 »
/// over « Normal » is 13/11 = 1.18).
pub(crate) const SIZE_RATIO: f32 = 1.18;

/// The longest line taken for a heading, in characters.
const MAX_HEADING_CHARS: usize = 160;

/// The most words in one line of a heading: more is a sentence set large
/// for emphasis.
const MAX_HEADING_WORDS: usize = 14;

/// At most this share of the document's characters may be set in one
/// heading size.
const MAX_HEADING_SHARE: f64 = 0.15;

/// One line of a page with its mean font size (0: unknown).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    /// The text, cleaned.
    pub text: String,
    /// Mean rendered size of its characters, in points.
    pub size: f32,
    /// A table row (cells joined with `" | "`): never a heading.
    pub table: bool,
}

/// A heading found in the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Heading {
    /// 1-based page number.
    pub page: u32,
    /// Index of its first line on the page.
    pub first: usize,
    /// Index of its last line (wrapped headings span several).
    pub last: usize,
    /// 1 is the highest level.
    pub level: u8,
    /// Its text, lines joined.
    pub text: String,
    /// Its font size (0 for a numbered heading at body size).
    pub size: f32,
}

fn bucket(size: f32) -> i32 {
    (size * 2.0).round() as i32
}

/// The size most running text is set in: lines of six words or more,
/// table rows apart (a deliberation whose annex is a long table in small
/// print has its body in the size of its sentences, not of its cells).
pub(crate) fn body_size(pages: &[(u32, Vec<Line>)]) -> f32 {
    let mut weight: std::collections::HashMap<i32, usize> = std::collections::HashMap::new();
    let running = |l: &&Line| l.size > 0.0 && !l.table && l.text.split_whitespace().count() >= 6;
    for (_, lines) in pages {
        for l in lines.iter().filter(running) {
            *weight.entry(bucket(l.size)).or_default() += l.text.chars().count();
        }
    }
    weight
        .into_iter()
        .max_by_key(|&(b, w)| (w, -b))
        .map_or(0.0, |(b, _)| b as f32 / 2.0)
}

/// What numbering makes a line a heading, if any: its rank among
/// numbered headings (0 highest).
fn numbered(text: &str) -> Option<u8> {
    let lower = text.to_lowercase();
    // The word, a space, then a number token: digits, a Roman numeral or
    // « premier » (« Section communale » is no heading).
    let word_then_number = |word: &str| {
        let Some(rest) = lower.strip_prefix(word) else {
            return false;
        };
        let trimmed = rest.trim_start();
        let token: String = trimmed
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        let number = !token.is_empty()
            && (token.chars().all(|c| c.is_ascii_digit())
                || token.len() <= 6
                    && !matches!(token.as_str(), "l" | "c")
                    && token.chars().all(|c| "ivxlc".contains(c))
                || matches!(token.as_str(), "premier" | "unique" | "1er"));
        trimmed.len() < rest.len() && number
    };
    if ["titre", "chapitre", "partie"]
        .iter()
        .any(|w| word_then_number(w))
    {
        return Some(0);
    }
    if roman_heading(text) {
        return Some(1);
    }
    if ["section", "annexe"].iter().any(|w| word_then_number(w)) {
        return Some(2);
    }
    if word_then_number("article") || word_then_number("art.") {
        return Some(3);
    }
    if decimal_heading(text) {
        return Some(4);
    }
    None
}

/// `II. Objet`, `IV - Tarifs`, `III) Conditions`: a Roman numeral, a mark,
/// then a capital.
fn roman_heading(text: &str) -> bool {
    let numeral: String = text.chars().take_while(|c| "IVXLC".contains(*c)).collect();
    if numeral.is_empty() || numeral.len() > 6 {
        return false;
    }
    let rest = text[numeral.len()..].trim_start();
    let Some(mark) = rest.chars().next() else {
        return false;
    };
    matches!(mark, '.' | '-' | '–' | ')' | '/')
        && rest[mark.len_utf8()..]
            .trim_start()
            .chars()
            .next()
            .is_some_and(char::is_uppercase)
}

/// `1.2 Objet`, `2.3.1. Pièces`, `1-2 : La restauration scolaire`: at
/// least two numbers of one or two digits joined by dots or hyphens,
/// optionally a colon or a dash, then a capital (one number alone is a list
/// item; `2014-2015` is a span of years).
fn decimal_heading(text: &str) -> bool {
    // « 2 – 2 : La mise à disposition des locaux scolaires »: a spaced
    // dash between the numbers reads as the hyphen.
    let lead = text.find(char::is_alphabetic).unwrap_or(text.len());
    let mut prefix = text[..lead].replace('–', "-");
    while prefix.contains(" -") || prefix.contains("- ") {
        prefix = prefix.replace(" -", "-").replace("- ", "-");
    }
    let joined = format!("{prefix}{}", &text[lead..]);
    let text = joined.as_str();
    let number: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
        .collect();
    let core = number.trim_end_matches(['.', '-']);
    let parts: Vec<&str> = core.split(['.', '-']).collect();
    let well_formed = parts.iter().all(|p| (1..=2).contains(&p.len()));
    let rest = text[number.len()..].trim_start();
    let rest = rest
        .strip_prefix([':', '-', '–'])
        .map_or(rest, str::trim_start);
    parts.len() >= 2
        && well_formed
        && text[number.len()..].starts_with(' ')
        && rest.chars().next().is_some_and(char::is_uppercase)
}

/// Whether a line reads as a heading's text: letters, short, starting
/// with a capital or a number, not an amount, not a sentence cut at a
/// comma or introducing a list.
fn heading_like(text: &str) -> bool {
    let chars = text.chars().count();
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let visible = text.chars().filter(|c| !c.is_whitespace()).count();
    let words = text.split_whitespace().count();
    let starts_lower = text
        .chars()
        .find(|c| c.is_alphanumeric())
        .is_some_and(char::is_lowercase);
    chars <= MAX_HEADING_CHARS
        && letters >= 3
        && words <= MAX_HEADING_WORDS
        && !starts_lower
        && !(text.ends_with(':') && words > 6)
        && letters * 2 >= visible
        && !text.contains('€')
        && !text.ends_with(',')
        && !text.ends_with(';')
        && crate::text::list_item(text).is_none()
}

/// The headings of the document, in reading order.
pub(crate) fn headings(pages: &[(u32, Vec<Line>)], body: f32) -> Vec<Heading> {
    let total: usize = pages
        .iter()
        .flat_map(|(_, l)| l.iter())
        .map(|l| l.text.chars().count())
        .sum();
    let mut share: std::collections::HashMap<i32, usize> = std::collections::HashMap::new();
    for (_, lines) in pages {
        for l in lines {
            *share.entry(bucket(l.size)).or_default() += l.text.chars().count();
        }
    }
    let sized = |l: &Line| {
        body > 0.0
            && l.size >= body * SIZE_RATIO
            && (share.get(&bucket(l.size)).copied().unwrap_or(0) as f64)
                <= total as f64 * MAX_HEADING_SHARE
    };
    let mut found: Vec<Heading> = Vec::new();
    for (page, lines) in pages {
        let mut i = 0;
        while i < lines.len() {
            let l = &lines[i];
            if l.text.is_empty() || l.table {
                i += 1;
                continue;
            }
            if sized(l) && heading_like(&l.text) {
                // A wrapped heading: the next lines of the same size.
                let mut text = l.text.clone();
                let mut last = i;
                while let Some(next) = lines.get(last + 1) {
                    let same =
                        !next.text.is_empty() && !next.table && bucket(next.size) == bucket(l.size);
                    if !same || text.ends_with(':') || text.chars().count() > MAX_HEADING_CHARS {
                        break;
                    }
                    crate::text::join_lines(&mut text, &next.text);
                    last += 1;
                }
                found.push(Heading {
                    page: *page,
                    first: i,
                    last,
                    level: 0,
                    text,
                    size: l.size,
                });
                i = last + 1;
                continue;
            }
            let near_body = l.size == 0.0 || body == 0.0 || l.size >= body * 0.95;
            if let Some(rank) = numbered(&l.text).filter(|_| near_body) {
                if l.text.chars().count() <= 120 && !l.text.ends_with(',') {
                    found.push(Heading {
                        page: *page,
                        first: i,
                        last: i,
                        level: 0,
                        text: l.text.clone(),
                        size: -f32::from(rank),
                    });
                }
            }
            i += 1;
        }
    }
    // Levels: sized headings by decreasing size, then numbered ones by rank.
    let mut sizes: Vec<i32> = found
        .iter()
        .filter(|h| h.size > 0.0)
        .map(|h| bucket(h.size))
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();
    let mut ranks: Vec<i32> = found
        .iter()
        .filter(|h| h.size <= 0.0)
        .map(|h| bucket(-h.size))
        .collect();
    ranks.sort_unstable();
    ranks.dedup();
    for h in &mut found {
        let level = if h.size > 0.0 {
            sizes.iter().position(|&s| s == bucket(h.size)).unwrap_or(0)
        } else {
            let rank = bucket(-h.size);
            h.size = 0.0;
            sizes.len() + ranks.iter().position(|&r| r == rank).unwrap_or(0)
        };
        h.level = u8::try_from(level + 1).unwrap_or(u8::MAX);
    }
    found
}

/// Whether a heading says only when (« Séance publique du jeudi 22 mai
/// 2014 »): a session date titles every deliberation of the session, so
/// it never titles a document, and an answer looks past it for what a
/// passage is about.
pub fn only_a_date(text: &str) -> bool {
    const MONTHS: &[&str] = &[
        "janvier",
        "février",
        "fevrier",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "aout",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
        "decembre",
    ];
    const DATE_WORDS: &[&str] = &[
        "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "séance",
        "seance", "publique", "du", "le", "de", "en", "date",
    ];
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has_month = words.iter().any(|w| MONTHS.contains(w));
    has_month
        && words.iter().all(|w| {
            MONTHS.contains(w) || DATE_WORDS.contains(w) || w.chars().all(|c| c.is_ascii_digit())
        })
}

/// The document's title: the largest heading of its first page with
/// headings, a dateline (« Séance publique du jeudi 22 mai 2014 », which
/// heads every deliberation of a session) passed over.
pub(crate) fn title(headings: &[Heading]) -> Option<String> {
    let first_page = headings.first()?.page;
    headings
        .iter()
        .filter(|h| h.page == first_page && h.size > 0.0 && !only_a_date(&h.text))
        .fold(None::<&Heading>, |best, h| match best {
            Some(b) if b.size >= h.size => Some(b),
            _ => Some(h),
        })
        .map(|h| h.text.clone())
}

/// Whether the PDF's own Title is worth showing: words, not a file name
/// or a tool's placeholder.
pub(crate) fn good_metadata_title(title: &str) -> Option<String> {
    let t = title.trim();
    let t = t.strip_prefix("Microsoft Word - ").unwrap_or(t).trim();
    let lower = t.to_lowercase();
    let file_like = [
        ".doc", ".docx", ".odt", ".pdf", ".rtf", ".xls", ".indd", ".qxd",
    ]
    .iter()
    .any(|e| lower.ends_with(e))
        || lower.contains('\\')
        || lower.contains('/') && !lower.contains(' ');
    let placeholder = matches!(
        lower.as_str(),
        "untitled" | "sans titre" | "document" | "titre"
    );
    let words = t.split_whitespace().count();
    (!file_like && !placeholder && words >= 2 && t.chars().count() >= 8).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: u32, lines: &[(&str, f32)]) -> (u32, Vec<Line>) {
        (
            n,
            lines
                .iter()
                .map(|(t, s)| Line {
                    text: (*t).to_string(),
                    size: *s,
                    table: false,
                })
                .collect(),
        )
    }

    #[test]
    fn sized_and_numbered_headings_with_levels_and_a_title() {
        let body = "Le conseil municipal approuve la convention passée avec l'association pour l'année 2014.";
        let pages = vec![
            page(
                1,
                &[
                    ("Séance publique du", 18.0),
                    ("jeudi 22 mai 2014", 18.0),
                    ("Carte Été Jeunes 2014", 15.0),
                    ("Attributions à titre gratuit", 15.0),
                    (body, 12.0),
                    (body, 12.0),
                    ("Article 1 : objet de la convention", 12.0),
                    (body, 12.0),
                    ("Entrée piscine adulte 3,40 €", 15.0),
                ],
            ),
            page(
                2,
                &[
                    ("II. Tarifs", 12.0),
                    (body, 12.0),
                    ("1. Fournir une pièce d'identité", 12.0),
                    (body, 12.0),
                    (body, 12.0),
                ],
            ),
        ];
        let size = body_size(&pages);
        assert_eq!(size, 12.0);
        let h = headings(&pages, size);
        let got: Vec<(&str, u8)> = h.iter().map(|h| (h.text.as_str(), h.level)).collect();
        assert_eq!(
            got,
            [
                ("Séance publique du jeudi 22 mai 2014", 1),
                ("Carte Été Jeunes 2014 Attributions à titre gratuit", 2),
                ("Article 1 : objet de la convention", 4),
                ("II. Tarifs", 3),
            ],
            "an amount is not a heading, nor a list item"
        );
        assert_eq!((h[0].first, h[0].last), (0, 1));
        assert_eq!(
            title(&h).as_deref(),
            Some("Carte Été Jeunes 2014 Attributions à titre gratuit"),
            "a session date does not title the deliberation"
        );
    }

    #[test]
    fn a_size_common_in_the_document_is_not_a_heading_size() {
        let row = "Salle des Rencontres (Hôtel de Ville) par jour tarif plein et demi";
        let mut lines: Vec<(&str, f32)> = vec![(row, 12.5); 30];
        lines.extend(
            [(
                "Le texte courant de la délibération, assez long pour peser.",
                11.0,
            ); 40],
        );
        let pages = vec![page(1, &lines)];
        let body = body_size(&pages);
        assert_eq!(body, 11.0);
        assert!(headings(&pages, body).is_empty());
    }

    #[test]
    fn numbering_patterns() {
        assert_eq!(numbered("Article 3 - Durée"), Some(3));
        assert_eq!(numbered("ARTICLE PREMIER"), Some(3));
        assert_eq!(numbered("Chapitre II : les usagers"), Some(0));
        assert_eq!(numbered("IV - Dispositions financières"), Some(1));
        assert_eq!(numbered("1.2 Pièces à fournir"), Some(4));
        assert_eq!(numbered("2.3.1. Pièces"), Some(4));
        assert_eq!(numbered("1-2 : La restauration scolaire"), Some(4));
        assert_eq!(
            numbered("2 – 2 : La mise à disposition des locaux scolaires"),
            Some(4)
        );
        assert_eq!(numbered("2014 – 2015 Saison culturelle"), None);
        assert_eq!(numbered("1 – Objet"), None);
        assert_eq!(numbered("2014-2015 Saison culturelle"), None);
        assert_eq!(numbered("1-2 enfants"), None);
        assert_eq!(numbered("1. Fournir une pièce"), None);
        assert_eq!(numbered("Il est demandé au conseil"), None);
        assert_eq!(numbered("Articles de sport"), None);
        assert_eq!(numbered("3.38 € pour un enfant"), None);
        assert_eq!(numbered("Section communale de Grabels"), None);
        assert_eq!(numbered("Titre de séjour"), None);
    }

    #[test]
    fn metadata_titles() {
        assert_eq!(good_metadata_title("Microsoft Word - delib 616.doc"), None);
        assert_eq!(good_metadata_title("Sans titre"), None);
        assert_eq!(
            good_metadata_title("Tarifs municipaux 2014").as_deref(),
            Some("Tarifs municipaux 2014")
        );
    }
}
