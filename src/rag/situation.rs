//! The citizen's situation, and the case a source holds for. Service-Public
//! fiches branch by case (« En France » / « À l'étranger », « d'un majeur »
//! / « d'un mineur »), and their branches share every word but the case:
//! a question about an adult's passport retrieves the consulate's price or
//! the child's as readily as the right one, and quoting it states a false
//! price. A source whose case contradicts the question's situation has its
//! retrieval score lowered (never removed: when it is all there is,
//! it is still shown, with its case).
//!
//! The situation is read from the question's words; where it says nothing
//! of the place, a town's assistant is asked by someone living in France.
//! Age is taken only from what the question says (« mon fils », « un
//! adulte », « 16 ans »).

use super::competence;
use super::lexicon::folded_words;

/// One side of a situation: known to hold, known not to, or unknown.
type Side = Option<bool>;

/// A situation: where, and whether the person is a minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Situation {
    /// Abroad (`Some(true)`), in France (`Some(false)`).
    pub abroad: Side,
    /// A minor (`Some(true)`), an adult (`Some(false)`).
    pub minor: Side,
}

const MINOR_WORDS: &[&str] = &[
    "mineur",
    "mineure",
    "mineurs",
    "enfant",
    "enfants",
    "fils",
    "fille",
    "bebe",
    "nourrisson",
    "ado",
    "adolescent",
    "adolescente",
    "collegien",
    "lyceen",
];
const ADULT_WORDS: &[&str] = &["majeur", "majeure", "majeurs", "adulte", "adultes"];

/// The situation `question` describes.
pub fn of_question(question: &str) -> Situation {
    let words = folded_words(question);
    let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
    let age = age_in(&words);
    let minor = match (has(MINOR_WORDS), has(ADULT_WORDS), age) {
        (_, _, Some(a)) => Some(a < 18),
        (true, false, None) => Some(true),
        (false, true, None) => Some(false),
        _ => None,
    };
    Situation {
        abroad: Some(competence::abroad(&words)),
        minor,
    }
}

/// The age a text states (« 16 ans », « j'ai 34 ans », « entre 0 et 14
/// ans » gives 14), if any.
pub fn age_of(text: &str) -> Option<u32> {
    age_in(&folded_words(text))
}

fn age_in(words: &[String]) -> Option<u32> {
    words
        .windows(2)
        .find(|w| w[1] == "ans" || w[1] == "an")
        .and_then(|w| w[0].parse::<u32>().ok())
}

/// The case a source holds for, from its title and section path
/// (« Passeport d'un mineur : première demande », « À l'étranger › Coût »).
pub fn of_source(title: &str, section: &str) -> Situation {
    let words = folded_words(&format!("{title} {section}"));
    let has = |w: &str| words.iter().any(|x| x == w);
    let pair = |a: &str, b: &str| words.windows(2).any(|w| w[0] == a && w[1] == b);
    let abroad = if has("etranger") {
        Some(true)
    } else if pair("en", "france") {
        Some(false)
    } else {
        None
    };
    let minor = match (
        words.iter().any(|w| w.starts_with("mineur")),
        words.iter().any(|w| w.starts_with("majeur")),
    ) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    };
    Situation { abroad, minor }
}

impl Situation {
    /// How many sides of `source` contradict this situation.
    pub fn conflicts(&self, source: &Situation) -> usize {
        let clash = |a: Side, b: Side| matches!((a, b), (Some(x), Some(y)) if x != y);
        usize::from(clash(self.abroad, source.abroad))
            + usize::from(clash(self.minor, source.minor))
    }
}

/// What a source's retrieval score is multiplied by per side of its case
/// that contradicts the citizen's situation. A fiche answers each case in
/// its own chunks, which all rank alike: the factor must move the chunks
/// of the other case behind those of the right one (a handful of places
/// on the demo corpus), and still keep them ahead of a chunk that merely
/// shares a word.
pub const CASE_FACTOR: f64 = 0.8;

/// `items` (best first) reordered by their retrieval `score` multiplied
/// by [`CASE_FACTOR`] per side of their case that contradicts
/// `situation`; ties keep their order.
pub fn rank_by_case<T>(
    items: Vec<T>,
    situation: &Situation,
    case: impl Fn(&T) -> Situation,
    score: impl Fn(&T) -> f64,
) -> Vec<T> {
    let mut keyed: Vec<(f64, usize, T)> = items
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let c = situation.conflicts(&case(&t));
            (score(&t) * CASE_FACTOR.powi(c as i32), i, t)
        })
        .collect();
    keyed.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    keyed.into_iter().map(|(_, _, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_says_where_and_how_old() {
        let s = of_question("Combien coûte un passeport pour un adulte ?");
        assert_eq!((s.abroad, s.minor), (Some(false), Some(false)));
        let s = of_question("Et pour mon fils de 16 ans ?");
        assert_eq!(s.minor, Some(true));
        let s = of_question("J'ai 34 ans et je vis au Canada, comment refaire mon passeport ?");
        assert_eq!((s.abroad, s.minor), (Some(true), Some(false)));
        let s = of_question("Quels documents pour une carte d'identité ?");
        assert_eq!((s.abroad, s.minor), (Some(false), None));
        assert_eq!(
            age_of("Entre 0 et 14 ans, le passeport coûte 17 €."),
            Some(14)
        );
        assert_eq!(age_of("Le passeport coûte 86 €."), None);
    }

    #[test]
    fn a_source_says_its_case() {
        let s = of_source(
            "Passeport d'un majeur : première demande",
            "À l'étranger › Coût",
        );
        assert_eq!((s.abroad, s.minor), (Some(true), Some(false)));
        let s = of_source(
            "Passeport d'un mineur : première demande",
            "Demande en France",
        );
        assert_eq!((s.abroad, s.minor), (Some(false), Some(true)));
        let s = of_source("Tarifs 2014", "Restauration scolaire");
        assert_eq!(s, Situation::default());
    }

    #[test]
    fn sources_of_another_case_move_down_and_stay() {
        let q = of_question("Combien coûte un passeport pour un adulte ?");
        // Retrieval scores as RRF gives them: close for a fiche's chunks.
        let sources = vec![
            ("Passeport d'un majeur", "À l'étranger › Coût", 0.032),
            ("Passeport d'un mineur", "À l'étranger", 0.031),
            ("Passeport d'un mineur", "En France › Coût", 0.030),
            ("Passeport d'un majeur", "Demande en France › Coût", 0.028),
            ("Passeport", "À savoir", 0.027),
            ("Tarifs 2014", "Voirie", 0.016),
        ];
        let ranked = rank_by_case(sources, &q, |(t, s, _)| of_source(t, s), |x| x.2);
        let order: Vec<&str> = ranked.iter().map(|x| x.1).collect();
        assert_eq!(
            order,
            [
                "Demande en France › Coût",
                "À savoir",
                "À l'étranger › Coût",
                "En France › Coût",
                "À l'étranger",
                "Voirie"
            ]
        );
    }
}
