//! Citations by attribution, not by trust: a generated answer is cut into
//! sentences, and each is attached to the source unit (a sentence, a list
//! item, a table row of a numbered source) that supports it, or dropped.
//!
//! A small model cannot be trusted to type `[n]`, nor to keep a source's
//! meaning: the second trial of issue 18 found « oui, vous pouvez » where
//! the source forbids, and invented amounts. So a sentence is kept only
//! when
//! 1. a unit holds most of its content words ([`MIN_SUPPORT`] of them,
//!    stemmed and accent-folded as the lexical index does), and every one
//!    of them that the sources use anywhere (with the unit's heading
//!    counted as the unit's): a sentence about « le passeport » is not
//!    backed by a cinema's « Enfant (moins de 16 ans) 5,00 € »;
//! 2. every number in it (amounts, dates, durations, form numbers, phone
//!    digits) appears in that unit or the unit beside it, or in the
//!    town's own configuration;
//! 3. its polarity agrees with the unit's: negation (« ne … pas »,
//!    « interdit », « sans », « aucun », « non »…) present in both or in
//!    neither, and no opposite pair across them (gratuit / payant,
//!    obligatoire / facultatif, autorisé / interdit).
//!
//! 4. it says what the unit says: unless it holds most of the unit's own
//!    words and every condition of it (« en cas de perte », « moins de
//!    16 ans », « sauf », « si »…), the citizen reads **the unit itself**
//!    in place of the paraphrase, so that a condition the model dropped
//!    (« la carte coûte 25 € » for « en cas de perte, un timbre de 25 € »)
//!    never becomes a false general rule. The model selects; the sources
//!    speak.
//!
//! 5. it keeps its case: a unit under « À l'étranger › Coût », or under a
//!    line « Si vous fournissez la photo », holds only there, so the kept
//!    sentence is introduced by that case when it does not say it itself
//!    (« À l'étranger › Coût › Si vous fournissez la photo : le passeport
//!    coûte 96 € »), never shown as the general rule.
//!
//! The model's own markers are ignored and the unit's source number is
//! written instead. What is dropped is reported with the reason, for the
//! logs and the review queue.

use std::collections::{BTreeSet, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use crate::kb::lexical;

use super::lexicon::folded_words;

/// Share of a sentence's content terms its unit must hold.
pub const MIN_SUPPORT: f64 = 0.5;

/// One numbered source, as the model was given it.
#[derive(Debug, Clone, Copy)]
pub struct SourceText<'a> {
    /// Its number (1-based), the one cited.
    pub n: usize,
    /// Its document title and section (words a unit of it stands under).
    pub heading: &'a str,
    /// Its text.
    pub body: &'a str,
}

/// Why a sentence was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// No unit holds enough of its words.
    Unsupported,
    /// A number of the sentence is in none of its supporting units.
    Fact(String),
    /// Its polarity disagrees with its unit's.
    Polarity,
    /// It repeats a sentence already kept.
    Repeated,
    /// It carries no content word.
    Empty,
}

/// A sentence kept, with the source it is attributed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The sentence, without any marker of the model's.
    pub text: String,
    /// The source number it cites.
    pub n: usize,
    /// Whether it is a list item (rendered on its own line).
    pub item: bool,
}

#[derive(Debug, Clone)]
struct Unit {
    /// The source it belongs to (units of one source are consecutive).
    n: usize,
    /// Its text as the source writes it.
    text: String,
    /// The case it holds for: its section path below the document title,
    /// and the sub-heading line above it in the source.
    case: Vec<String>,
    item: bool,
    terms: HashSet<String>,
    /// Its terms and its source's heading's.
    context: HashSet<String>,
    numbers: HashSet<String>,
    negated: bool,
    words: HashSet<String>,
}

/// The units of the sources, ready to support sentences.
#[derive(Debug, Clone)]
pub struct Attributor {
    units: Vec<Unit>,
    /// Numbers of the town's configuration (its phone, address…).
    town_numbers: HashSet<String>,
    /// Every term of the sources and their headings.
    vocabulary: HashSet<String>,
    kept: HashSet<String>,
    /// Units already shown verbatim.
    shown: HashSet<usize>,
}

static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s*\[[\d\s,;\-–]*\]").expect("marker regex: this is a bug"));

static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\d{1,3}(?:[ \u{a0}\u{202f}]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?")
        .expect("number regex: this is a bug")
});

/// The numbers of `text`, normalised: thousands separators dropped, a
/// decimal comma made a point, trailing zeros of decimals kept apart
/// (`3,80` and `3.8` are the same amount).
fn numbers(text: &str) -> HashSet<String> {
    NUMBER
        .find_iter(text)
        .map(|m| {
            let n: String = m
                .as_str()
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| if c == ',' { '.' } else { c })
                .collect();
            match n.split_once('.') {
                Some((i, d)) => {
                    let d = d.trim_end_matches('0');
                    if d.is_empty() {
                        i.to_string()
                    } else {
                        format!("{i}.{d}")
                    }
                }
                None => n,
            }
        })
        .map(|n| {
            // "05" and "5" (days, months) are the same number.
            let t = n.trim_start_matches('0');
            if t.is_empty() || t.starts_with('.') {
                n
            } else {
                t.to_string()
            }
        })
        .collect()
}

/// Words that make a statement negative.
const NEGATIONS: &[&str] = &[
    "ne",
    "n",
    "pas",
    "jamais",
    "aucun",
    "aucune",
    "rien",
    "nul",
    "nulle",
    "non",
    "sans",
    "interdit",
    "interdite",
    "interdits",
    "interdites",
    "interdiction",
    "impossible",
    "exclu",
    "exclue",
    "exclus",
    "refuse",
    "refusee",
];

/// Opposites that must not stand on two sides of an attribution.
const OPPOSITES: &[(&[&str], &[&str])] = &[
    (
        &[
            "gratuit",
            "gratuite",
            "gratuits",
            "gratuites",
            "gratuitement",
        ],
        &[
            "payant", "payante", "payants", "payantes", "payer", "payez", "tarif",
        ],
    ),
    (
        &["obligatoire", "obligatoires", "obligatoirement"],
        &[
            "facultatif",
            "facultative",
            "facultatifs",
            "facultatives",
            "optionnel",
            "optionnelle",
        ],
    ),
    (
        &[
            "autorise",
            "autorisee",
            "autorises",
            "autorisees",
            "permis",
            "permise",
        ],
        &["interdit", "interdite", "interdits", "interdites"],
    ),
];

fn negated(words: &HashSet<String>) -> bool {
    NEGATIONS.iter().any(|w| words.contains(*w))
}

fn has_any(words: &HashSet<String>, list: &[&str]) -> bool {
    list.iter().any(|w| words.contains(*w))
}

/// Whether the polarities of a sentence and of its unit agree.
fn polarity_agrees(sentence: &HashSet<String>, unit: &Unit) -> bool {
    if negated(sentence) != unit.negated {
        return false;
    }
    OPPOSITES.iter().all(|(a, b)| {
        let crossed = (has_any(sentence, a) && has_any(&unit.words, b) && !has_any(&unit.words, a))
            || (has_any(sentence, b) && has_any(&unit.words, a) && !has_any(&unit.words, b));
        !crossed
    })
}

/// A sentence or list item of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Its text, without the bullet.
    pub text: String,
    /// Whether it is (the start of) a list item.
    pub item: bool,
}

/// Words that make a statement hold only in a case: a sentence that drops
/// one its unit has generalises it.
const CONDITIONS: &[&str] = &[
    "si",
    "sauf",
    "lorsque",
    "lorsqu",
    "quand",
    "cas",
    "selon",
    "uniquement",
    "seulement",
    "moins",
    "plus",
    "partir",
    "avant",
    "apres",
    "entre",
    "jusqu",
    "hors",
    "excepte",
    "condition",
    "conditions",
    "mineur",
    "majeur",
    "etranger",
];

/// Whether a sentence (its terms and words) says what its unit says:
/// most of the unit's terms and every condition word of it.
fn faithful(terms: &HashSet<String>, words: &HashSet<String>, unit: &Unit) -> bool {
    let kept = unit.terms.iter().filter(|t| terms.contains(*t)).count();
    let enough = kept as f64 >= FAITHFUL * unit.terms.len() as f64;
    enough
        && CONDITIONS
            .iter()
            .all(|c| !unit.words.contains(*c) || words.contains(*c))
}

/// Whether a piece of a source is a sub-heading (« Si vous fournissez la
/// photo », « Cas général »): short, no final punctuation, no digits, a
/// capital first, not a list item.
fn is_heading(p: &Piece) -> bool {
    let t = p.text.trim();
    !p.item
        && t.chars().count() < 70
        && !t.ends_with(['.', ';', '!', '?', ',', ':'])
        && !t.chars().any(|c| c.is_ascii_digit())
        && t.chars().next().is_some_and(char::is_uppercase)
}

/// Section headings that name a topic, not a case: « Pièces à fournir »
/// does not restrict who a rule holds for, « À l'étranger » does.
const TOPICS: &[&str] = &[
    "pieces a fournir",
    "cout",
    "demarche",
    "ou s adresser",
    "delai",
    "duree",
    "comment",
    "qui peut",
    "quand",
    "a savoir",
    "textes de reference",
    "services en ligne",
    "de quoi s agit il",
    "formulaire",
];

/// Whether a heading names a topic (« Coût », « Pièces à fournir »), not a
/// case.
pub(super) fn is_topic(heading: &str) -> bool {
    let folded = folded_words(heading).join(" ");
    TOPICS.iter().any(|t| folded.starts_with(t))
}

/// `text` introduced by the parts of its unit's case it does not state
/// itself.
fn with_case(case: &[String], terms: &HashSet<String>, text: String) -> String {
    let missing: Vec<&str> = case
        .iter()
        .filter(|c| !is_topic(c))
        .filter(|c| {
            let t = content_terms(c);
            !t.is_empty() && !t.iter().all(|x| terms.contains(x))
        })
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return text;
    }
    let mut chars = text.chars();
    let lowered = match chars.next() {
        // « Le passeport » after a colon reads « le passeport », but an
        // acronym or a proper name keeps its capital.
        Some(c) if chars.clone().next().is_some_and(char::is_lowercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => text.clone(),
    };
    format!("{} : {lowered}", missing.join(" › "))
}

/// Share of its unit's terms a sentence must hold to be shown in its own
/// words.
const FAITHFUL: f64 = 0.8;

/// The units of a text: its lines, bullets stripped, cut into sentences.
pub fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let bare = line.trim_start_matches(['-', '•', '*', '–']).trim_start();
        let item = bare.len() < line.len();
        for (i, text) in guichet_ingest::split_sentences(bare)
            .into_iter()
            .enumerate()
        {
            out.push(Piece {
                text,
                item: item && i == 0,
            });
        }
    }
    out
}

/// The content terms of a sentence (index terms, numbers aside).
fn content_terms(text: &str) -> HashSet<String> {
    lexical::terms(text)
        .into_iter()
        .filter(|t| !t.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .collect()
}

fn word_set(text: &str) -> HashSet<String> {
    folded_words(text).into_iter().collect()
}

impl Attributor {
    /// Units of `sources`; numbers in `town` (the configured contact
    /// details) are allowed in any sentence.
    pub fn new(sources: &[SourceText<'_>], town: &[&str]) -> Self {
        let mut units = Vec::new();
        let mut vocabulary = HashSet::new();
        for s in sources {
            let heading = content_terms(s.heading);
            vocabulary.extend(heading.iter().cloned());
            let path: Vec<String> = s
                .heading
                .split(" › ")
                .skip(1)
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect();
            let mut sub: Option<String> = None;
            for p in pieces(s.body) {
                if is_heading(&p) {
                    vocabulary.extend(content_terms(&p.text));
                    sub = Some(p.text.trim().to_string());
                    continue;
                }
                let case: Vec<String> = path.iter().cloned().chain(sub.clone()).collect();
                let words = word_set(&p.text);
                let terms = content_terms(&p.text);
                vocabulary.extend(terms.iter().cloned());
                units.push(Unit {
                    n: s.n,
                    case,
                    text: p.text.clone(),
                    item: p.item,
                    context: terms
                        .union(&heading)
                        .cloned()
                        .chain(sub.iter().flat_map(|h| content_terms(h)))
                        .collect(),
                    terms,
                    numbers: numbers(&p.text),
                    negated: negated(&words),
                    words,
                });
            }
        }
        Self {
            units,
            town_numbers: town.iter().flat_map(|t| numbers(t)).collect(),
            vocabulary,
            kept: HashSet::new(),
            shown: HashSet::new(),
        }
    }

    /// Attributes one sentence (markers of the model's ignored), or says
    /// why it must go. A kept sentence is remembered, so that a repeat of
    /// it is dropped.
    pub fn attribute(&mut self, piece: &Piece) -> Result<Kept, Dropped> {
        let text = MARKER.replace_all(&piece.text, "").trim().to_string();
        let terms = content_terms(&text);
        if terms.is_empty() {
            return Err(Dropped::Empty);
        }
        let key: String = folded_words(&text).join(" ");
        if self.kept.contains(&key) {
            return Err(Dropped::Repeated);
        }
        let words = word_set(&text);
        let nums = numbers(&text);
        // Candidates by support, best first.
        let mut ranked: Vec<(f64, usize)> = self
            .units
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                // A word the sources use must be the unit's (or its
                // heading's): otherwise the sentence speaks of something
                // else than this unit does.
                terms
                    .iter()
                    .all(|t| u.context.contains(t) || !self.vocabulary.contains(t))
            })
            .map(|(i, u)| {
                let shared = terms.iter().filter(|t| u.context.contains(*t)).count();
                (shared as f64 / terms.len() as f64, i)
            })
            .filter(|(s, _)| *s >= MIN_SUPPORT)
            .collect();
        // Units that hold the sentence's numbers themselves first, then by
        // support: « 25 € » belongs to the unit that says it, not to its
        // neighbour.
        let own = |i: usize| {
            nums.iter()
                .all(|x| self.town_numbers.contains(x) || self.units[i].numbers.contains(x))
        };
        ranked.sort_by(|a, b| {
            own(b.1)
                .cmp(&own(a.1))
                .then(b.0.total_cmp(&a.0))
                .then(a.1.cmp(&b.1))
        });
        if ranked.is_empty() {
            return Err(Dropped::Unsupported);
        }
        let mut why = Dropped::Unsupported;
        for &(_, i) in &ranked {
            let unit = &self.units[i];
            // Numbers may come from the unit or its neighbours in the same
            // source (a list's introduction, the row above).
            let around: Vec<&Unit> = [i.checked_sub(1), Some(i), i.checked_add(1)]
                .into_iter()
                .flatten()
                .filter_map(|j| self.units.get(j))
                .filter(|v| v.n == unit.n)
                .collect();
            let missing = nums.iter().find(|x| {
                !self.town_numbers.contains(*x) && !around.iter().any(|v| v.numbers.contains(*x))
            });
            if let Some(x) = missing {
                why = Dropped::Fact(x.clone());
                continue;
            }
            if !polarity_agrees(&words, unit) {
                why = Dropped::Polarity;
                continue;
            }
            let (shown, item) = if faithful(&terms, &words, unit) {
                (text, piece.item)
            } else {
                // The unit's own words, once.
                if !self.shown.insert(i) {
                    return Err(Dropped::Repeated);
                }
                (unit.text.clone(), unit.item || piece.item)
            };
            self.kept.insert(key);
            return Ok(Kept {
                text: with_case(&unit.case, &terms, shown),
                n: unit.n,
                item,
            });
        }
        Err(why)
    }

    /// Attributes every sentence of `text`: the kept ones rendered with
    /// their ` [n]`, the sources they cite, and what was dropped.
    pub fn attribute_all(&mut self, text: &str) -> Attributed {
        let mut out = Attributed::default();
        for p in pieces(text) {
            match self.attribute(&p) {
                Ok(k) => {
                    out.push(k);
                }
                Err(why) => out.dropped.push((p.text, why)),
            }
        }
        out
    }
}

/// The outcome of attributing an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributed {
    /// The kept sentences, each followed by its ` [n]`.
    pub text: String,
    /// The sources cited.
    pub cited: BTreeSet<usize>,
    /// Dropped sentences and why.
    pub dropped: Vec<(String, Dropped)>,
    /// Whether the last kept piece is a list item.
    last_item: bool,
}

impl Attributed {
    /// Appends a kept sentence; returns what was appended (for a stream).
    /// List items go on their own lines, as do sentences after them.
    pub fn push(&mut self, k: Kept) -> String {
        let lead = match (self.text.is_empty(), k.item, self.last_item) {
            (true, true, _) => "- ",
            (true, false, _) => "",
            (false, true, _) => "\n- ",
            (false, false, true) => "\n",
            (false, false, false) => " ",
        };
        let piece = format!("{lead}{} [{}]", k.text, k.n);
        self.text.push_str(&piece);
        self.cited.insert(k.n);
        self.last_item = k.item;
        piece
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCES: &[&str] = &[
        "Le renouvellement de la carte d'identité est gratuit.\n\
         En cas de perte ou de vol, vous devez payer un timbre fiscal de 25 €.\n\
         Il est interdit de déposer la demande par courrier.",
        "Pièces à fournir :\n- une photo d'identité de moins de 6 mois\n\
         - un justificatif de domicile de moins d'un an",
    ];

    fn check(a: &mut Attributor, text: &str) -> Result<Kept, Dropped> {
        a.attribute(&Piece {
            text: text.into(),
            item: false,
        })
    }

    fn attributor() -> Attributor {
        let sources: Vec<SourceText<'_>> = SOURCES
            .iter()
            .enumerate()
            .map(|(i, b)| SourceText {
                n: i + 1,
                heading: "Carte d'identité",
                body: b,
            })
            .collect();
        Attributor::new(&sources, &["04 67 34 70 00"])
    }

    #[test]
    fn sentences_are_attributed_to_the_unit_that_supports_them() {
        let mut a = attributor();
        let out = a.attribute_all(
            "Le renouvellement de votre carte d'identité est gratuit. \
             Il vous faut une photo d'identité de moins de 6 mois [3].",
        );
        assert_eq!(
            out.text,
            "Le renouvellement de votre carte d'identité est gratuit. [1] \
             Il vous faut une photo d'identité de moins de 6 mois. [2]",
            "{out:?}"
        );
        assert_eq!(out.cited, BTreeSet::from([1, 2]));
        assert!(out.dropped.is_empty(), "{out:?}");
    }

    #[test]
    fn an_amount_absent_from_the_unit_drops_the_sentence() {
        let mut a = attributor();
        assert_eq!(
            check(
                &mut a,
                "En cas de perte, vous devez payer un timbre fiscal de 86 €."
            ),
            Err(Dropped::Fact("86".into()))
        );
        assert!(check(
            &mut a,
            "En cas de perte, vous devez payer un timbre fiscal de 25,00 €."
        )
        .is_ok());
        // The town's own numbers are allowed.
        assert!(check(
            &mut a,
            "En cas de perte ou de vol, appelez le 04 67 34 70 00 pour le timbre fiscal."
        )
        .is_ok());
    }

    #[test]
    fn polarity_must_agree_with_the_unit() {
        let mut a = attributor();
        // The source forbids; a « oui » shares its words but not its sense.
        assert_eq!(
            check(&mut a, "Oui, vous pouvez déposer la demande par courrier."),
            Err(Dropped::Polarity)
        );
        assert!(check(
            &mut a,
            "Vous ne pouvez pas déposer la demande par courrier."
        )
        .is_ok());
        // « payant » against « gratuit »: the opposite pair, or a word the
        // sources use elsewhere (« payer ») that this unit lacks.
        assert!(matches!(
            check(
                &mut a,
                "Le renouvellement de la carte d'identité est payant."
            ),
            Err(Dropped::Polarity | Dropped::Unsupported)
        ));
    }

    #[test]
    fn unsupported_repeated_and_empty_sentences_go() {
        let mut a = attributor();
        assert_eq!(
            check(&mut a, "La mairie délivre aussi les passeports le samedi."),
            Err(Dropped::Unsupported)
        );
        assert_eq!(check(&mut a, "[2]."), Err(Dropped::Empty));
        let s = "Il faut un justificatif de domicile de moins d'un an.";
        assert!(check(&mut a, s).is_ok());
        assert_eq!(check(&mut a, s), Err(Dropped::Repeated));
    }

    #[test]
    fn a_paraphrase_that_drops_a_condition_is_replaced_by_the_unit() {
        let mut a = attributor();
        let k = check(&mut a, "La carte d'identité coûte 25 €.").unwrap();
        assert_eq!(
            k.text,
            "En cas de perte ou de vol, vous devez payer un timbre fiscal de 25 €."
        );
        assert_eq!(k.n, 1);
        // Pointing at the same unit again adds nothing.
        assert_eq!(
            check(&mut a, "Une carte d'identité revient à 25 euros."),
            Err(Dropped::Repeated)
        );
    }

    #[test]
    fn a_sentence_about_something_else_than_its_unit_goes() {
        let sources = [
            SourceText {
                n: 1,
                heading: "Passeport d'un mineur",
                body: "Le passeport d'un mineur de 15 à 17 ans coûte 42 €.",
            },
            SourceText {
                n: 2,
                heading: "Tarifs 2014",
                body: "Enfant (moins de 16 ans – hors Montpellier) 5,00 €",
            },
        ];
        let mut a = Attributor::new(&sources, &[]);
        // The cinema's price shares « enfant », « 16 ans », « 5,00 € » but
        // not « passeport », a word the sources use.
        assert_eq!(
            check(
                &mut a,
                "Le passeport pour un enfant de 16 ans coûte 5,00 €."
            ),
            Err(Dropped::Unsupported)
        );
    }

    #[test]
    fn a_sentence_keeps_the_case_its_unit_holds_for() {
        let sources = [SourceText {
            n: 1,
            heading: "Passeport d'un majeur : première demande › À l'étranger › Coût",
            body: "Si vous fournissez la photo\nLe passeport coûte 96 €\n\
                   Si la photo est prise au guichet\nLe passeport coûte 99 €",
        }];
        let mut a = Attributor::new(&sources, &[]);
        let k = check(&mut a, "Le passeport coûte 96 € pour un adulte.").unwrap();
        assert_eq!(
            k.text,
            "À l'étranger › Si vous fournissez la photo : le passeport coûte 96 € pour un adulte."
        );
        // A sentence that says its case is not told it twice.
        let k = check(
            &mut a,
            "À l'étranger, si la photo est prise au guichet, le coût du passeport est de 99 €.",
        )
        .unwrap();
        assert!(k.text.starts_with("À l'étranger"), "{}", k.text);
        assert!(!k.text.contains(" : "), "{}", k.text);
    }

    #[test]
    fn list_items_keep_their_lines() {
        let mut a = attributor();
        let out = a.attribute_all(
            "Les pièces à fournir sont les suivantes :\n\
             - une photo d'identité de moins de 6 mois ;\n\
             - un justificatif de domicile de moins d'un an.\n\
             Le renouvellement de la carte d'identité est gratuit.",
        );
        assert_eq!(
            out.text,
            "Les pièces à fournir sont les suivantes : [2]\n\
             - une photo d'identité de moins de 6 mois ; [2]\n\
             - un justificatif de domicile de moins d'un an. [2]\n\
             Le renouvellement de la carte d'identité est gratuit. [1]",
            "{out:?}"
        );
    }

    #[test]
    fn numbers_are_compared_as_numbers() {
        assert_eq!(
            numbers("3,80 € et 1 500 habitants, le 05/03"),
            numbers("3.8 1500 5 3")
        );
        assert!(!numbers("25 €").contains("2"));
    }
}
