//! The confidence score: how likely the retrieved sources answer the
//! question, from 0 to 1. Under `answer.abstain_below` the assistant
//! abstains and offers a human instead of answering.
//!
//! A raw BM25 or cosine score alone separates answerable from unanswerable
//! questions poorly (Etalab's PIAF-ML measured a ROC AUC of about 0.5 for
//! BM25 on Service-Public questions): BM25 grows with question length, and
//! e5's cosines sit in a narrow band for any French text. Two signals that
//! do not depend on the question's length are combined instead:
//! * `dense`: the best cosine between the question and a retrieved chunk;
//! * `coverage`: the share of the question's words, weighted by rarity in
//!   the knowledge base (IDF), that occur in the best chunks. A question
//!   about Peru's capital has rare words no chunk contains.
//!
//! They are combined by a logistic model whose weights were fitted by
//! `guichet bench calibrate` (see `docs/answering.md`, "Abstention
//! calibration", for the data and the figures).

use std::collections::HashSet;

use super::lexicon::Expansion;
use crate::kb::lexical;

/// Logistic weights: bias, cosine, coverage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Intercept.
    pub bias: f64,
    /// Weight of the best cosine.
    pub dense: f64,
    /// Weight of the IDF-weighted term coverage.
    pub coverage: f64,
}

/// The weights fitted by `guichet bench calibrate` (`docs/answering.md`,
/// "Abstention calibration").
pub const CALIBRATED: Weights = Weights {
    bias: -77.7,
    dense: 86.8,
    coverage: 4.9,
};

/// The default abstention threshold on the calibrated score: the
/// configuration's default (`answer.abstain_below`), chosen with
/// [`CALIBRATED`]; defined with the settings so that they need not import
/// the answering engine.
pub use crate::settings::DEFAULT_ABSTAIN_BELOW as DEFAULT_THRESHOLD;

/// The weights of a question in another language than the sources'
/// ([`super::language`]): its words are not the sources' words, so the
/// coverage is left out and the cosine alone decides. Cross-lingual
/// cosines are lower: on `eval/calibration/cross-lingual.tsv` (32
/// answerable questions in seven languages, 24 that nothing answers; demo
/// corpus) the best cosines run 0.808-0.903 and 0.724-0.837. The same
/// slope as [`CALIBRATED`]'s puts [`DEFAULT_THRESHOLD`] at a cosine of 0.82,
/// where 3 of 32 answerable and 3 of 24 unanswerable questions fall on the
/// wrong side; `answer.abstain_below` moves both scores together.
pub const CROSS_LINGUAL: Weights = Weights {
    bias: -71.58,
    dense: 86.8,
    coverage: 0.0,
};

/// Whether the assistant abstains on `assessment`: nothing retrieved, or
/// a calibrated confidence under `threshold` (`answer.abstain_below`). The
/// one place the threshold is applied.
pub fn abstains(assessment: &super::Assessment, threshold: f64) -> bool {
    assessment.hits.is_empty() || assessment.confidence < threshold
}

/// What the confidence score is computed from.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Features {
    /// Best cosine similarity between the question and a retrieved chunk.
    pub dense: f64,
    /// IDF-weighted share of the question's terms found in the best chunks.
    pub coverage: f64,
}

impl Weights {
    /// The score of `f`, between 0 and 1.
    pub fn score(&self, f: &Features) -> f64 {
        let z = self.bias + self.dense * f.dense + self.coverage * f.coverage;
        1.0 / (1.0 + (-z).exp())
    }
}

/// One term of a question with the document terms that stand for it (its
/// synonyms' and expansions' terms), and its weight.
pub type TermGroup = (Vec<String>, f64);

/// The question's distinct terms, each with the terms of its expansions
/// (the first term of a group is the question's own).
pub fn term_groups(question: &str, expansions: &[Expansion]) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = distinct_terms(question)
        .into_iter()
        .map(|t| vec![t])
        .collect();
    for x in expansions {
        let from = lexical::terms(&x.source);
        let to = lexical::terms(&x.text);
        for g in groups.iter_mut().filter(|g| from.contains(&g[0])) {
            for t in &to {
                if !g.contains(t) {
                    g.push(t.clone());
                }
            }
        }
    }
    groups
}

/// Weighs each group by the IDF of its first term in the knowledge base
/// (`ln(1 + N / (df + 1))`: a term no chunk has weighs the most).
pub fn weighted_terms(total: u64, dfs: &[u64], groups: Vec<Vec<String>>) -> Vec<TermGroup> {
    groups
        .into_iter()
        .zip(dfs)
        .map(|(g, &df)| (g, (1.0 + total as f64 / (df as f64 + 1.0)).ln()))
        .collect()
}

/// Groups of one term each, weighing 1 (plain term overlap).
pub fn unweighted(terms: Vec<String>) -> Vec<TermGroup> {
    terms.into_iter().map(|t| (vec![t], 1.0)).collect()
}

/// The capitalised words after a place preposition ("à Toulouse", "de
/// Lyon", "en Bretagne"), not at the start of the text: the places a
/// question names. One that no document contains means the question is
/// about another town, whatever the other words match.
pub fn place_names(text: &str) -> Vec<&str> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '?' | '!' | '.' | ';' | ':'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = Vec::new();
    for pair in words.windows(2) {
        let (prep, word) = (pair[0].to_lowercase(), pair[1]);
        let word = word
            .strip_prefix("d'")
            .or(word.strip_prefix("d’"))
            .unwrap_or(word);
        let prep_ok = matches!(prep.as_str(), "à" | "a" | "au" | "aux" | "de" | "du" | "en")
            || pair[1].starts_with("d'")
            || pair[1].starts_with("d’");
        if prep_ok
            && word.chars().count() >= 3
            && word.chars().next().is_some_and(char::is_uppercase)
            && !word.chars().all(|c| c.is_uppercase() || !c.is_alphabetic())
        {
            out.push(word);
        }
    }
    out
}

/// Words of a question that ask about a commune's own services (its
/// mairie, canteen, streets, pool, collection rounds), folded: what
/// another commune decides for itself.
const LOCAL_SERVICES: &[&str] = &[
    "mairie",
    "maire",
    "ville",
    "commune",
    "municipal",
    "municipale",
    "municipaux",
    "cantine",
    "restauration",
    "encombrants",
    "poubelles",
    "collecte",
    "decheterie",
    "piscine",
    "rue",
    "quartier",
    "mediatheque",
    "bibliotheque",
    "creche",
    "stationnement",
    "parking",
    "marche",
    "musee",
    "gymnase",
    "salle",
    "cimetiere",
    "conseil",
];

/// How many words may stand between a local service word and the place
/// it is of: « la cantine scolaire à Toulouse », « la mairie de Bordeaux ».
const SERVICE_REACH: usize = 4;

/// The places of `question` ([`place_names`]) that a commune's own
/// service is asked of (« la cantine à Toulouse », « la mairie de
/// Bordeaux », « ma rue à Nantes ») and that none of the retrieved
/// passages names. Fiches name many towns (the civil registry service in
/// Nantes), so a place some document holds can still be another
/// commune's; what tells is that nothing found for the question speaks of
/// it. A place that only says where the asker comes from (« je suis né à
/// Lyon, je demande mon acte à la mairie ») follows no service word and
/// is kept. `ours` says whether a place is the town's own or a country
/// (both kept).
pub fn elsewhere<'q>(
    question: &'q str,
    passages: &[&str],
    ours: impl Fn(&str) -> bool,
) -> Vec<&'q str> {
    // Folded words between spaces, so that a name matches whole words.
    let padded = |t: &str| format!(" {} ", guichet_text::folded_words(t).join(" "));
    let texts: Vec<String> = passages.iter().map(|p| padded(p)).collect();
    place_names(question)
        .into_iter()
        .filter(|p| !ours(p))
        .filter(|p| {
            let before = question.find(*p).map_or("", |at| &question[..at]);
            let words = guichet_text::folded_words(before);
            words
                .iter()
                .rev()
                .take(SERVICE_REACH + 1)
                .any(|w| LOCAL_SERVICES.contains(&w.as_str()))
        })
        .filter(|p| {
            let name = padded(p);
            !texts.iter().any(|t| t.contains(&name))
        })
        .collect()
}

/// The distinct terms of `text`, in order of first occurrence.
pub fn distinct_terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    lexical::terms(text)
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// Weighted share of the groups with a term in `texts`.
pub fn coverage(groups: &[TermGroup], texts: &[&str]) -> f64 {
    let total: f64 = groups.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return 0.0;
    }
    let present: HashSet<String> = texts.iter().flat_map(|t| lexical::terms(t)).collect();
    let found: f64 = groups
        .iter()
        .filter(|(g, _)| g.iter().any(|t| present.contains(t)))
        .map(|(_, w)| w)
        .sum();
    found / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_missing_words_lower_coverage_more_than_common_ones() {
        let groups = term_groups("capitale du Pérou mairie", &[]);
        let dfs = vec![0, 0, 500];
        let w = weighted_terms(1000, &dfs, groups);
        let c = coverage(&w, &["La mairie est ouverte le lundi."]);
        assert!(c < 0.2, "{c}");
        let c = coverage(&w, &["Lima est la capitale du Pérou, loin de la mairie."]);
        assert!((c - 1.0).abs() < 1e-9, "{c}");
    }

    #[test]
    fn an_expansion_term_covers_the_citizens_word() {
        let x = [Expansion {
            source: "cantine".into(),
            text: "restauration scolaire".into(),
        }];
        let groups = term_groups("prix cantine", &x);
        assert_eq!(groups.len(), 2);
        let w = weighted_terms(100, &[10, 10], groups);
        let c = coverage(&w, &["Tarifs de la restauration scolaire"]);
        assert!((c - 0.5).abs() < 1e-9, "{c}");
    }

    #[test]
    fn score_grows_with_both_signals() {
        let w = CALIBRATED;
        let lo = w.score(&Features {
            dense: 0.78,
            coverage: 0.2,
        });
        let mid = w.score(&Features {
            dense: 0.85,
            coverage: 0.2,
        });
        let hi = w.score(&Features {
            dense: 0.85,
            coverage: 0.9,
        });
        assert!(lo < mid && mid < hi, "{lo} {mid} {hi}");
        assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
    }

    #[test]
    fn the_cross_lingual_score_reads_the_cosine_alone_and_cuts_at_0_82() {
        let at = |dense, coverage| CROSS_LINGUAL.score(&Features { dense, coverage });
        assert_eq!(at(0.85, 0.0), at(0.85, 1.0));
        assert!(at(0.815, 0.0) < DEFAULT_THRESHOLD && at(0.825, 0.0) > DEFAULT_THRESHOLD);
    }

    #[test]
    fn another_communes_services_are_elsewhere() {
        let ours = |p: &str| p == "Montpellier";
        let canteen = ["Les tarifs de la cantine scolaire sont fixés par la commune."];
        assert_eq!(
            elsewhere("Combien coûte la cantine à Toulouse ?", &canteen, ours),
            ["Toulouse"]
        );
        assert_eq!(
            elsewhere(
                "Quel est le numéro de la mairie de Bordeaux ?",
                &canteen,
                ours
            ),
            ["Bordeaux"]
        );
        // The town's own, a place the passages speak of, or no local
        // service asked about: kept.
        assert!(elsewhere("Combien coûte la cantine à Montpellier ?", &canteen, ours).is_empty());
        let registry = ["Le service central d'état civil de la mairie de Nantes délivre l'acte."];
        assert!(elsewhere(
            "L'acte de la mairie de Nantes est-il payant ?",
            &registry,
            ours
        )
        .is_empty());
        assert!(elsewhere(
            "Je suis né à Lyon, comment avoir mon acte ?",
            &canteen,
            ours
        )
        .is_empty());
        assert!(elsewhere(
            "Je suis né à Lyon, je demande mon acte à la mairie ?",
            &canteen,
            ours
        )
        .is_empty());
        assert_eq!(
            elsewhere("Ma rue à Nantes n'est pas déneigée", &canteen, ours),
            ["Nantes"]
        );
    }

    #[test]
    fn places_are_the_capitalised_words_after_a_preposition() {
        assert_eq!(
            place_names("Combien coûte la cantine à Toulouse ?"),
            ["Toulouse"]
        );
        assert_eq!(place_names("Le musée de Lyon est-il gratuit ?"), ["Lyon"]);
        assert_eq!(
            place_names("Où voter à Montpellier, en Occitanie ?"),
            ["Montpellier", "Occitanie"]
        );
        // Acronyms and common words are not places.
        assert!(place_names("Les aides de la CAF et du CCAS").is_empty());
        assert!(place_names("Quels documents pour une carte d'identité ?").is_empty());
    }
}
