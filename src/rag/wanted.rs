//! What kind of fact a question asks for, and whether a sentence carries
//! one. "Combien coûte un passeport ?" wants an amount: of two sentences
//! about passports equally close to the question, the one with "86 €" is
//! the answer and the one defining the passport is not. The extractive
//! answer uses this to prefer the sentence, list item or table row that
//! holds the asked-for fact, which neither BM25 nor the embedding cosine
//! sees (both score topic, not answer type).
//!
//! The rules are the interrogative words of French administrative
//! questions; they are deliberately few and coarse: a wrong guess only
//! adds a small bonus to some units, and `None` changes nothing.

use super::lexicon::folded_words;

/// The kind of fact a question wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// A price, fee, amount or rate ("combien coûte", "quel tarif",
    /// "c'est payant ?"); "gratuit" answers it too.
    Amount,
    /// A delay, duration, date, day or time ("quand", "quel délai",
    /// "combien de temps", "quels jours", "horaires").
    When,
    /// A count or another number ("combien d'enfants", "à partir de quel
    /// âge").
    Number,
    /// A place or office ("où", "à quelle adresse", "quel lieu").
    Place,
    /// The documents to provide ("quels papiers", "pièces à fournir",
    /// "quels justificatifs").
    Documents,
}

const TIME_UNITS: &[&str] = &[
    "jour", "jours", "mois", "an", "ans", "annee", "annees", "semaine", "semaines", "heure",
    "heures", "h", "minute", "minutes", "min",
];
const DAYS_MONTHS: &[&str] = &[
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "dimanches",
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
    "quotidien",
    "hebdomadaire",
    "mensuel",
];
const AMOUNT_WORDS: &[&str] = &[
    "prix",
    "tarif",
    "tarifs",
    "cout",
    "couts",
    "coute",
    "coutent",
    "couter",
    "payer",
    "paie",
    "paye",
    "payant",
    "payante",
    "gratuit",
    "gratuite",
    "cher",
    "chere",
    "montant",
    "frais",
    "euros",
    "euro",
    "redevance",
    "caution",
];
const FREE_WORDS: &[&str] = &[
    "gratuit",
    "gratuite",
    "gratuits",
    "gratuites",
    "gratuitement",
    "gratuité",
];
const WHEN_WORDS: &[&str] = &[
    "quand",
    "delai",
    "delais",
    "horaire",
    "horaires",
    "duree",
    "date",
    "dates",
    "combien de temps",
    "a quelle heure",
    "quel jour",
    "quels jours",
    "quelle date",
    "jusqu a quand",
    "ouvert",
    "ouverte",
    "ouverture",
    "validite",
    "valable",
];
const DOCUMENT_QUESTION: &[&str] = &[
    "quels documents",
    "quelles pieces",
    "quels papiers",
    "quels justificatifs",
    "quel justificatif",
    "pieces a fournir",
    "pieces justificatives",
    "documents a fournir",
    "faut il fournir",
    "dois je fournir",
    "documents necessaires",
    "quel dossier",
];
const DOCUMENT_WORDS: &[&str] = &[
    "fournir",
    "justificatif",
    "justificatifs",
    "photo",
    "photos",
    "formulaire",
    "cerfa",
    "piece",
    "pieces",
    "copie",
    "original",
    "timbre",
    "attestation",
];
const PLACE_WORDS: &[&str] = &[
    "mairie",
    "salle",
    "hotel",
    "guichet",
    "bureau",
    "rue",
    "avenue",
    "boulevard",
    "place",
    "site",
    "domaine",
    "maison",
    "centre",
    "prefecture",
    "annexe",
    "agence",
    "adresse",
    "espace",
    "ligne",
    "service",
    "accueil",
    "siege",
];

/// The same questions in the other languages citizens write in
/// ([`super::language`]), folded, read only when the question is not
/// French: the sources are French, the question's interrogative words are
/// not.
const OTHER_LANGUAGES: &[(&str, Wanted)] = &[
    ("how much", Wanted::Amount),
    ("cost", Wanted::Amount),
    ("costs", Wanted::Amount),
    ("price", Wanted::Amount),
    ("fee", Wanted::Amount),
    ("cuanto cuesta", Wanted::Amount),
    ("cuesta", Wanted::Amount),
    ("precio", Wanted::Amount),
    ("custa", Wanted::Amount),
    ("preco", Wanted::Amount),
    ("costa", Wanted::Amount),
    ("prezzo", Wanted::Amount),
    ("tariffa", Wanted::Amount),
    ("kostet", Wanted::Amount),
    ("preis", Wanted::Amount),
    ("wie viel", Wanted::Amount),
    ("kost", Wanted::Amount),
    ("prijs", Wanted::Amount),
    ("ne kadar", Wanted::Amount),
    ("ucret", Wanted::Amount),
    ("fiyat", Wanted::Amount),
    ("كم", Wanted::Amount),
    ("سعر", Wanted::Amount),
    ("تكلفة", Wanted::Amount),
    ("يكلف", Wanted::Amount),
    ("коштує", Wanted::Amount),
    ("ціна", Wanted::Amount),
    ("стоит", Wanted::Amount),
    ("цена", Wanted::Amount),
    ("when", Wanted::When),
    ("how long", Wanted::When),
    ("cuando", Wanted::When),
    ("quando", Wanted::When),
    ("wann", Wanted::When),
    ("ne zaman", Wanted::When),
    ("متى", Wanted::When),
    ("коли", Wanted::When),
    ("когда", Wanted::When),
    ("where", Wanted::Place),
    ("donde", Wanted::Place),
    ("onde", Wanted::Place),
    ("dove", Wanted::Place),
    ("wo", Wanted::Place),
    ("waar", Wanted::Place),
    ("nerede", Wanted::Place),
    ("أين", Wanted::Place),
    ("де", Wanted::Place),
    ("где", Wanted::Place),
    ("documents", Wanted::Documents),
    ("documentos", Wanted::Documents),
    ("documenti", Wanted::Documents),
    ("unterlagen", Wanted::Documents),
    ("dokumente", Wanted::Documents),
    ("belgeler", Wanted::Documents),
    ("الوثائق", Wanted::Documents),
    ("документи", Wanted::Documents),
    ("документы", Wanted::Documents),
];

/// Whether the folded words `words` hold `phrase` at a word boundary.
fn has_phrase(words: &[String], phrase: &str) -> bool {
    super::lexicon::phrase_at(words, phrase).is_some()
}

/// What `question` asks for, by its interrogative words: none, one, or
/// several ("Où se trouve le théâtre et combien coûte une place ?" wants a
/// place and an amount).
pub fn wanted(question: &str) -> Vec<Wanted> {
    let words = folded_words(question);
    let lower = question.to_lowercase();
    let mut out = Vec::new();
    // "Où" folds to "ou" ("or"): read it before folding.
    if lower
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w == "où")
        || [
            "quelle adresse",
            "quel lieu",
            "s adresser",
            "aupres de qui",
            "qui contacter",
        ]
        .iter()
        .any(|p| has_phrase(&words, p))
        || unaccented_where(&lower)
    {
        out.push(Wanted::Place);
    }
    if WHEN_WORDS.iter().any(|p| has_phrase(&words, p)) {
        out.push(Wanted::When);
    }
    if AMOUNT_WORDS.iter().any(|w| words.iter().any(|x| x == w)) {
        out.push(Wanted::Amount);
    }
    if let Some(i) = words.iter().position(|w| w == "combien") {
        // "combien de jours" asks for a duration, "combien d'enfants" for
        // a count; "c'est combien ?" for a price.
        let asked = match words.get(i + 1).map(String::as_str) {
            Some("de" | "d") => match words.get(i + 2).map(String::as_str) {
                Some(w) if TIME_UNITS.contains(&w) || w == "temps" => Wanted::When,
                _ => Wanted::Number,
            },
            _ => Wanted::Amount,
        };
        out.push(asked);
    }
    if DOCUMENT_QUESTION.iter().any(|p| has_phrase(&words, p)) || asks_what_to_bring(&words) {
        out.push(Wanted::Documents);
    }
    if has_phrase(&words, "quel age") || has_phrase(&words, "quel nombre") {
        out.push(Wanted::Number);
    }
    if super::language::Language::of_message(question) != super::language::Language::Fr {
        out.extend(
            OTHER_LANGUAGES
                .iter()
                .filter(|(p, _)| has_phrase(&words, p))
                .map(|(_, w)| *w),
        );
    }
    let mut seen = Vec::new();
    out.retain(|w| {
        let new = !seen.contains(w);
        seen.push(*w);
        new
    });
    out
}

/// Nouns of what a citizen brings to an office, as they say it.
const BROUGHT: &[&str] = &[
    "papiers",
    "papier",
    "documents",
    "document",
    "pieces",
    "piece",
    "justificatifs",
    "justificatif",
    "dossier",
];
/// Verbs of bringing; « quoi » after one asks for the documents.
const BRING_VERBS: &[&str] = &[
    "amener",
    "amene",
    "ramener",
    "apporter",
    "apporte",
    "fournir",
    "fournit",
    "prendre",
    "presenter",
];

/// Whether a question in a citizen's words asks what to bring: « il faut
/// quoi ? », « on amène quoi », « quoi comme papiers », « faut quels
/// documents » (the forms of [`DOCUMENT_QUESTION`] are the written ones).
fn asks_what_to_bring(words: &[String]) -> bool {
    let at = |i: usize| words.get(i).map(String::as_str);
    words.iter().enumerate().any(|(i, w)| match w.as_str() {
        // « il faut quoi », « faut amener quoi », « besoin de quoi »
        "quoi" => {
            matches!(at(i.wrapping_sub(1)), Some(v) if BRING_VERBS.contains(&v) || v == "faut")
                || (at(i.wrapping_sub(1)) == Some("de") && at(i.wrapping_sub(2)) == Some("besoin"))
                || (at(i + 1) == Some("comme") && at(i + 2).is_some_and(|n| BROUGHT.contains(&n)))
        }
        // « quels papiers », « faut quelles pièces »
        "quels" | "quelles" | "quel" | "quelle" => at(i + 1).is_some_and(|n| BROUGHT.contains(&n)),
        _ => false,
    })
}

/// Whether an unaccented « ou » asks where (« c'est ou ? », « on va ou et
/// on amène quoi ») rather than joining two words (« carte ou
/// passeport »): it ends the question or a clause, or follows a verb of
/// going.
fn unaccented_where(lower: &str) -> bool {
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '?' && c != ',' && c != '!')
        .flat_map(|w| {
            // « ou? » → « ou », « ? »
            let cut = w.find(['?', ',', '!']).unwrap_or(w.len());
            let (a, b) = w.split_at(cut);
            [a, b]
        })
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        if *w != "ou" {
            return false;
        }
        let next = words.get(i + 1).copied();
        let prev = i.checked_sub(1).map(|j| words[j]);
        matches!(
            next,
            None | Some("?" | "!" | "," | "et" | "exactement" | "ca")
        ) || matches!(
            prev,
            Some("va" | "vais" | "aller" | "adresser" | "rendre" | "passer" | "situe" | "trouve")
        )
    })
}

/// The text as tokens: runs of letters and digits (folded), and single
/// symbols (`€`, `%`, `,`, `/`).
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            if !word.is_empty() {
                out.extend(folded_words(&word));
                word.clear();
            }
            if !c.is_whitespace() && c != '\u{a0}' && c != '\u{202f}' {
                out.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        out.extend(folded_words(&word));
    }
    out
}

fn is_number(t: &str) -> bool {
    !t.is_empty() && t.chars().all(|c| c.is_ascii_digit())
}

/// The token after the number starting at `i` (its thousands groups and
/// decimals skipped: `1 031,00 €` → `€`).
fn after_number(tokens: &[String], i: usize) -> Option<&str> {
    let mut j = i + 1;
    while j < tokens.len() && j <= i + 4 {
        let t = tokens[j].as_str();
        if is_number(t) || t == "," || t == "." {
            j += 1;
        } else {
            break;
        }
    }
    tokens.get(j).map(String::as_str)
}

/// Whether `text` holds a fact of the kind `w` (for documents, give the
/// unit with its heading: "Pièces à fournir" tells what its items are).
pub fn carries(w: Wanted, text: &str) -> bool {
    let toks = tokens(text);
    let numbers = || (0..toks.len()).filter(|&i| is_number(&toks[i]));
    match w {
        Wanted::Amount => {
            toks.iter().any(|t| FREE_WORDS.contains(&t.as_str()))
                || numbers().any(|i| {
                    matches!(
                        after_number(&toks, i),
                        Some("€" | "euro" | "euros" | "%" | "eur")
                    )
                })
        }
        Wanted::When => {
            toks.iter().any(|t| DAYS_MONTHS.contains(&t.as_str()))
                || toks.iter().any(|t| {
                    // 8h30, 14h
                    let (d, rest) =
                        t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
                    !d.is_empty()
                        && rest.starts_with('h')
                        && rest[1..].chars().all(|c| c.is_ascii_digit())
                })
                || numbers().any(|i| {
                    after_number(&toks, i).is_some_and(|t| TIME_UNITS.contains(&t) || t == "/")
                })
        }
        Wanted::Number => numbers().next().is_some(),
        Wanted::Documents => toks.iter().any(|t| DOCUMENT_WORDS.contains(&t.as_str())),
        Wanted::Place => {
            toks.iter().any(|t| PLACE_WORDS.contains(&t.as_str()))
                || text
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .windows(2)
                    .any(|p| {
                        matches!(p[0], "à" | "au" | "aux" | "en" | "dans")
                            && p[1].chars().next().is_some_and(char::is_uppercase)
                    })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrogative_words_tell_what_is_wanted() {
        use Wanted::*;
        assert_eq!(
            wanted("Combien coûte un passeport pour un adulte ?"),
            [Amount]
        );
        assert_eq!(wanted("C'est combien une place au cinéma ?"), [Amount]);
        assert_eq!(wanted("La copie d'acte est-elle payante ?"), [Amount]);
        assert_eq!(
            wanted("Quel est le délai pour obtenir un passeport ?"),
            [When]
        );
        assert_eq!(wanted("Combien de temps est valable la carte ?"), [When]);
        assert_eq!(wanted("Combien de jours faut-il ?"), [When]);
        assert_eq!(wanted("Combien d'enfants par classe ?"), [Number]);
        assert_eq!(wanted("Où se marie-t-on à Montpellier ?"), [Place]);
        assert_eq!(
            wanted("Où se trouve le théâtre et combien coûte une place ?"),
            [Place, Amount]
        );
        assert_eq!(wanted("Carte d'identité ou passeport pour voyager ?"), []);
        assert_eq!(
            wanted("Quels documents pour refaire une carte d'identité ?"),
            [Documents]
        );
    }

    #[test]
    fn questions_in_other_languages_say_what_they_want_too() {
        use Wanted::*;
        assert_eq!(wanted("How much is a passport for an adult?"), [Amount]);
        assert_eq!(wanted("¿Cuánto cuesta un pasaporte?"), [Amount]);
        assert_eq!(wanted("Wo heiratet man in Montpellier?"), [Place]);
        assert_eq!(wanted("Скільки коштує паспорт для дорослого?"), [Amount]);
        assert_eq!(
            wanted("What documents do I need to renew my ID card?"),
            [Documents]
        );
        // French questions keep the French rules alone.
        assert_eq!(wanted("Les documents de la mairie sont-ils en ligne ?"), []);
    }

    #[test]
    fn questions_in_a_citizens_words_say_what_they_want() {
        use Wanted::*;
        assert_eq!(
            wanted("pour se pacser on va ou et on amène quoi ?"),
            [Place, Documents]
        );
        assert_eq!(
            wanted("recensement a 16 ans c'est ou et faut amener quoi"),
            [Place, Documents]
        );
        assert_eq!(
            wanted("carte grise c'est payant et il faut quoi ?"),
            [Amount, Documents]
        );
        assert_eq!(
            wanted("il faut quoi comme papiers pour inscrire mon fils"),
            [Documents]
        );
        assert_eq!(wanted("je dois m'adresser auprès de qui ?"), [Place]);
        // « ou » joining two words asks nothing.
        assert_eq!(wanted("carte ou passeport pour aller en Italie"), []);
        assert_eq!(wanted("je fais quoi si je perds ma carte"), []);
    }

    #[test]
    fn amounts_dates_and_places_are_recognised() {
        assert!(carries(Wanted::Amount, "Tarif individuel 6,00 €"));
        assert!(carries(Wanted::Amount, "Concession trentenaire 1 031,00 €"));
        assert!(carries(
            Wanted::Amount,
            "une majoration de 10 % est appliquée"
        ));
        assert!(carries(Wanted::Amount, "Le renouvellement est gratuit."));
        assert!(!carries(
            Wanted::Amount,
            "Entrée cinéma Nestor Burma Tarifs 2014"
        ));
        assert!(!carries(
            Wanted::Amount,
            "Entre 0 et 14 ans, il faut venir en personne."
        ));
        assert!(carries(Wanted::When, "Le délai est de 15 jours."));
        assert!(carries(Wanted::When, "Ouvert de 8h30 à 17h"));
        assert!(carries(
            Wanted::When,
            "Gratuit le 1er dimanche de chaque mois"
        ));
        assert!(!carries(Wanted::When, "Le passeport coûte 86 €."));
        assert!(carries(
            Wanted::Place,
            "Les mariages sont célébrés à Grammont."
        ));
        assert!(carries(Wanted::Place, "La demande se fait en mairie."));
        assert!(!carries(Wanted::Place, "Il faut fournir une photo."));
        assert!(carries(Wanted::Number, "30 élèves au plus"));
        assert!(carries(
            Wanted::Documents,
            "Pièces à fournir › un justificatif de domicile"
        ));
        assert!(!carries(Wanted::Documents, "La carte est valable 15 ans."));
    }
}
