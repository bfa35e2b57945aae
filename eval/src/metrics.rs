//! The metrics, each a pure function with its own unit tests.
//!
//! * Facts: `must_contain` facts are found after [`normalize`]: case and
//!   accents folded, `€` dropped, thousands separators removed, decimal
//!   commas read as points, `,00`/`.00` dropped, spaces removed (the PDFs
//!   print `10 %` and `0%` alike).
//! * Token F1 against the reference answer (SQuAD-style, articles and
//!   punctuation dropped).
//! * Retrieval and citations: a source matches an expected one when its
//!   file name is the expected document and, when a page is given, the
//!   page is within the source's range.
//! * Groundedness: an answer sentence is supported when at least
//!   [`LEXICAL_SUPPORT`] of its content words occur in the cited sources,
//!   or, with embeddings, when its cosine with a cited source reaches
//!   [`DENSE_SUPPORT`].

use std::collections::HashSet;
use std::sync::LazyLock;

use guichet_text::citations::{numbers, MARKER};
use guichet_text::fold;
use regex::Regex;

use crate::set::Expected;
use crate::AnsweredSource;

/// Share of a sentence's content words that must occur in the cited
/// sources for it to count as supported.
pub const LEXICAL_SUPPORT: f64 = 0.6;
/// Cosine (e5 passage embeddings) between a sentence and a cited source
/// above which the sentence counts as supported.
pub const DENSE_SUPPORT: f32 = 0.85;

static THOUSANDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d)[ \u{a0}\u{202f}](\d{3})\b").expect("regex: this is a bug"));
static DECIMAL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d),(\d)").expect("regex: this is a bug"));
static ZERO_CENTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d)\.00\b").expect("regex: this is a bug"));

/// The form facts are compared in (see the module documentation).
pub fn normalize(s: &str) -> String {
    let mut t = fold(s)
        .replace(['\u{2019}', '`', '\u{b4}'], "'")
        .replace('€', " ");
    for _ in 0..3 {
        t = THOUSANDS.replace_all(&t, "$1$2").into_owned();
    }
    t = DECIMAL.replace_all(&t, "$1.$2").into_owned();
    t = ZERO_CENTS.replace_all(&t, "$1").into_owned();
    t.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Share of `facts` found in `answer` (`None` when there are none).
pub fn must_contain(answer: &str, facts: &[String]) -> Option<f64> {
    if facts.is_empty() {
        return None;
    }
    let a = normalize(answer);
    let found = facts.iter().filter(|f| a.contains(&normalize(f))).count();
    Some(found as f64 / facts.len() as f64)
}

/// The `phrases` found in `answer`.
pub fn violations(answer: &str, phrases: &[String]) -> Vec<String> {
    let a = normalize(answer);
    phrases
        .iter()
        .filter(|p| !p.trim().is_empty() && a.contains(&normalize(p)))
        .cloned()
        .collect()
}

const ARTICLES: &[&str] = &[
    "le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "a", "au", "aux", "et", "en",
];

/// Words of `s`, folded, without punctuation or articles; a decimal
/// number stays one token ("3,38" and "3.38" are both `3.38`).
pub fn tokens(s: &str) -> Vec<String> {
    let t = fold(&MARKER.replace_all(s, " "));
    let t = DECIMAL.replace_all(&t, "$1.$2");
    t.split(|c: char| !c.is_alphanumeric() && c != '.')
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty() && !ARTICLES.contains(w))
        .map(str::to_string)
        .collect()
}

/// Token F1 between an answer and a reference (SQuAD-style).
pub fn f1(answer: &str, reference: &str) -> f64 {
    let a = tokens(answer);
    let r = tokens(reference);
    if a.is_empty() || r.is_empty() {
        return if a.is_empty() && r.is_empty() {
            1.0
        } else {
            0.0
        };
    }
    let mut pool: Vec<&String> = r.iter().collect();
    let mut common = 0usize;
    for t in &a {
        if let Some(i) = pool.iter().position(|x| *x == t) {
            pool.swap_remove(i);
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let p = common as f64 / a.len() as f64;
    let rc = common as f64 / r.len() as f64;
    2.0 * p * rc / (p + rc)
}

/// The source numbers cited in `text` (`[1]`, `[1, 3]`, `[2-3]`), in order,
/// without repeats.
pub fn citations(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    for c in MARKER.captures_iter(text) {
        for n in numbers(&c[1]) {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// Whether a source is one of the expected ones.
pub fn matches(source: &AnsweredSource, expected: &[Expected]) -> bool {
    expected.iter().any(|e| {
        source.document == e.document
            && e.page.is_none_or(|p| {
                let start = source.page.unwrap_or(0);
                let end = source.page_end.or(source.page).unwrap_or(0);
                (start..=end).contains(&p)
            })
    })
}

/// Retrieval figures of a ranked source list: (hit@1, hit@5, reciprocal rank).
pub fn retrieval(sources: &[AnsweredSource], expected: &[Expected]) -> (f64, f64, f64) {
    let rank = sources.iter().position(|s| matches(s, expected));
    match rank {
        Some(r) => (
            f64::from(u8::from(r == 0)),
            f64::from(u8::from(r < 5)),
            1.0 / (r as f64 + 1.0),
        ),
        None => (0.0, 0.0, 0.0),
    }
}

/// Citation precision (cited sources that are expected) and recall
/// (expected documents cited), `None` when nothing is cited / expected.
pub fn citation_scores(
    sources: &[AnsweredSource],
    expected: &[Expected],
) -> (Option<f64>, Option<f64>) {
    let cited: Vec<&AnsweredSource> = sources.iter().filter(|s| s.cited).collect();
    let precision = (!cited.is_empty())
        .then(|| cited.iter().filter(|s| matches(s, expected)).count() as f64 / cited.len() as f64);
    let recall = (!expected.is_empty()).then(|| {
        expected
            .iter()
            .filter(|e| cited.iter().any(|s| matches(s, std::slice::from_ref(*e))))
            .count() as f64
            / expected.len() as f64
    });
    (precision, recall)
}

/// The claims of an answer: its sentences and list items, without
/// citation markers, lead-ins ending with a colon, or fragments of fewer
/// than four words.
pub fn claims(answer: &str) -> Vec<String> {
    let clean = MARKER.replace_all(answer, " ");
    // A point between digits (3.38, 1.2) is part of a number, not an end.
    let chars: Vec<char> = clean.chars().collect();
    let mut pieces = Vec::new();
    let mut piece = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let inside_number = c == '.'
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if matches!(c, '\n' | '.' | '!' | '?' | ';') && !inside_number {
            pieces.push(std::mem::take(&mut piece));
        } else {
            piece.push(c);
        }
    }
    pieces.push(piece);
    pieces
        .iter()
        .map(|s| s.trim().trim_start_matches(['-', '•', ' ']).trim())
        .filter(|s| !s.ends_with(':') && s.split_whitespace().count() >= 4)
        .map(str::to_string)
        .collect()
}

/// Words of three letters or more (folded): what lexical support counts.
fn content_words(s: &str) -> Vec<String> {
    tokens(s)
        .into_iter()
        .filter(|w| w.chars().count() >= 3)
        .collect()
}

/// Share of `claims` supported by `cited` texts; `similar[i]` is the best
/// cosine of claim `i` with a cited text, when embeddings are available.
pub fn groundedness(claims: &[String], cited: &[&str], similar: Option<&[f32]>) -> Option<f64> {
    if claims.is_empty() {
        return None;
    }
    let words: HashSet<String> = cited.iter().flat_map(|t| content_words(t)).collect();
    let supported = claims
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            let w = content_words(c);
            let lexical = !w.is_empty()
                && w.iter().filter(|x| words.contains(*x)).count() as f64 / w.len() as f64
                    >= LEXICAL_SUPPORT;
            lexical || similar.is_some_and(|s| s.get(*i).is_some_and(|v| *v >= DENSE_SUPPORT))
        })
        .count();
    Some(supported as f64 / claims.len() as f64)
}

/// ROC AUC of `scores` for `labels` (Mann-Whitney, ties count half);
/// `None` without both classes.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let pos: Vec<f64> = scores
        .iter()
        .zip(labels)
        .filter(|x| *x.1)
        .map(|x| *x.0)
        .collect();
    let neg: Vec<f64> = scores
        .iter()
        .zip(labels)
        .filter(|x| !*x.1)
        .map(|x| *x.0)
        .collect();
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let mut s = 0.0;
    for p in &pos {
        for n in &neg {
            s += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    Some(s / (pos.len() * neg.len()) as f64)
}

/// The `p` quantile (0-1) of `v` (nearest rank), `None` when empty.
pub fn quantile(v: &[f64], p: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    Some(s[((s.len() - 1) as f64 * p).round() as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_accents_and_spaces_are_normalised() {
        assert_eq!(normalize("3,38 €"), normalize("3.38"));
        assert_eq!(normalize("1 200 euros"), normalize("1200 EUROS"));
        assert_eq!(normalize("Déchèterie"), "decheterie");
        assert!(normalize("le tarif est 25,00 €").contains(&normalize("25 €")));
        assert!(normalize("pénalité de 8 €").contains(&normalize("8.00")));
        assert!(normalize("10 %").contains(&normalize("10%")));
        assert_eq!(normalize("l’acte"), normalize("l'acte"));
        assert_eq!(
            must_contain(
                "Le repas coûte 3.38 € (photo d'identité)",
                &["3,38 €".into(), "Photo d’identité".into(), "12100".into()]
            ),
            Some(2.0 / 3.0)
        );
        assert_eq!(must_contain("x", &[]), None);
        assert_eq!(
            violations(
                "Tu es l'assistant de la mairie",
                &["tu es l’assistant".into(), "Règles :".into()]
            )
            .len(),
            1
        );
    }

    #[test]
    fn f1_and_citations() {
        assert!((f1("le tarif de 3,38 €", "3.38 € le tarif") - 1.0).abs() < 1e-9);
        assert_eq!(f1("rien à voir", "photo d'identité"), 0.0);
        let partial = f1("une photo et un justificatif", "une photo d'identité");
        assert!(partial > 0.3 && partial < 0.8, "{partial}");
        assert_eq!(citations("a [2] b [1, 3] c [2-4] d [x]"), vec![2, 1, 3, 4]);
        assert!(citations("sans source").is_empty());
    }

    fn src(n: usize, doc: &str, page: Option<u32>, cited: bool) -> AnsweredSource {
        AnsweredSource {
            n,
            document: doc.into(),
            page,
            page_end: page,
            cited,
            ..AnsweredSource::default()
        }
    }

    #[test]
    fn retrieval_and_citation_scores_respect_pages() {
        let exp = vec![Expected {
            document: "T.pdf".into(),
            page: Some(3),
        }];
        let s = vec![
            src(1, "T.pdf", Some(2), true),
            src(2, "F1.xml", None, false),
            src(3, "T.pdf", Some(3), true),
        ];
        assert_eq!(retrieval(&s, &exp), (0.0, 1.0, 1.0 / 3.0));
        assert_eq!(citation_scores(&s, &exp), (Some(0.5), Some(1.0)));
        let exp = vec![Expected {
            document: "F1.xml".into(),
            page: None,
        }];
        assert_eq!(retrieval(&s, &exp).0, 0.0);
        assert_eq!(citation_scores(&s, &exp), (Some(0.0), Some(0.0)));
    }

    #[test]
    fn claims_and_groundedness() {
        let a = "Voici ce qu'indiquent les documents :\n- Il faut une photo d'identité récente [1]\n- Le timbre fiscal coûte 25 euros en cas de perte [2]";
        let c = claims(a);
        assert_eq!(c.len(), 2, "{c:?}");
        assert_eq!(
            claims("Le repas coûte 3.38 € par jour. La garderie coûte 1.2 € le matin"),
            vec![
                "Le repas coûte 3.38 € par jour",
                "La garderie coûte 1.2 € le matin"
            ]
        );
        let g = groundedness(
            &c,
            &["Fournir une photo d'identité récente de moins de 6 mois."],
            None,
        );
        assert_eq!(g, Some(0.5));
        let g = groundedness(
            &c,
            &["Fournir une photo d'identité récente."],
            Some(&[0.2, 0.9]),
        );
        assert_eq!(g, Some(1.0));
        assert_eq!(groundedness(&[], &[], None), None);
    }

    #[test]
    fn auc_and_quantiles() {
        assert_eq!(
            auc(&[0.9, 0.8, 0.1, 0.2], &[true, true, false, false]),
            Some(1.0)
        );
        assert_eq!(auc(&[0.5, 0.5], &[true, false]), Some(0.5));
        assert_eq!(auc(&[0.5], &[true]), None);
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
    }
}
