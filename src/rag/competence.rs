//! Questions a town's documents cannot answer whatever they hold: the
//! assistant's own opinion or advice (« que penses-tu du maire ? », « pour
//! qui voter ? »), and another country's rules (« combien coûte une carte
//! d'identité en Belgique ? »). Retrieval always finds loosely related
//! passages for them (a fiche mentions Belgium, a deliberation the mayor),
//! and quoting those is the confident wrong answer a town must not give:
//! they get a short reason and the town's contact instead, before any
//! retrieval.
//!
//! The rules are deliberately narrow: an opinion is asked of the
//! assistant itself (« ton avis », « qu'en pensez-vous »), not « à votre
//! avis, combien de temps… »; a country counts only when the question
//! has no tie to France (« je suis français », « je vis en Espagne », a
//! consulate, a trip), since Service-Public answers French procedures
//! from abroad. Every answerable question of the evaluation sets passes
//! (a test).

use super::lexicon::{folded_words, phrase_at};

/// Why a question is outside what the town answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outside {
    /// The assistant's opinion, preference or advice.
    Opinion,
    /// The rules of another country (its folded name).
    Foreign(String),
}

impl Outside {
    /// What the citizen reads (the town's contact follows).
    pub fn message(&self) -> String {
        match self {
            Outside::Opinion => "Je ne donne pas d'avis ni d'opinion personnelle : je vous \
renseigne sur les démarches et les services publics, à partir des documents officiels."
                .into(),
            Outside::Foreign(_) => "Les règles d'un autre pays ne relèvent pas de la mairie : \
renseignez-vous auprès des autorités de ce pays ou de son ambassade. Si votre question porte \
sur une démarche française depuis l'étranger, précisez-le (par exemple « je suis français et \
je vis en Espagne »)."
                .into(),
        }
    }
}

/// Phrases (folded words) asking for the assistant's own judgment.
const OPINION: &[&str] = &[
    "que penses tu",
    "qu en penses tu",
    "que pensez vous de",
    "que pensez vous du",
    "que pensez vous des",
    "qu en pensez vous",
    "ton avis",
    "ton opinion",
    "votre opinion",
    "ta preference",
    "tu preferes",
    "vous preferez",
    "tu aimes",
    "aimes tu",
    "tu me conseilles",
    "me conseilles tu",
    "que me conseilles",
    "tu recommandes",
    "me recommandes tu",
    "pour qui voter",
    "pour qui dois je voter",
    "pour qui je dois voter",
    "pour qui faut il voter",
    "quel parti",
    "quel candidat",
    "quelle liste voter",
    "est il un bon maire",
    "est elle une bonne maire",
    "what do you think",
    "your opinion",
];

/// The assistant addressed as « tu » with a verb of opinion, within a
/// few words (« qu'est-ce que tu penses du maire », « tu trouves que… »,
/// « selon toi »): citizens asking a rule say « vous » or nothing.
const OPINION_VERBS: &[&str] = &[
    "penses",
    "pense",
    "trouves",
    "crois",
    "preferes",
    "aimes",
    "conseilles",
    "recommandes",
    "voterais",
    "choisirais",
    "ferais",
];

/// Words that make a document another country's (« le passeport
/// espagnol », « un permis belge »).
const DEMONYMS: &[&str] = &[
    "allemand",
    "allemande",
    "anglais",
    "anglaise",
    "britannique",
    "belge",
    "suisse",
    "espagnol",
    "espagnole",
    "italien",
    "italienne",
    "portugais",
    "portugaise",
    "americain",
    "americaine",
    "canadien",
    "canadienne",
    "marocain",
    "marocaine",
    "algerien",
    "algerienne",
    "tunisien",
    "tunisienne",
    "turc",
    "turque",
    "chinois",
    "chinoise",
    "japonais",
    "japonaise",
    "russe",
    "ukrainien",
    "ukrainienne",
    "polonais",
    "polonaise",
    "roumain",
    "roumaine",
];
/// Documents a town issues or handles, whose foreign counterpart it does
/// not.
const DOCUMENTS: &[&str] = &["passeport", "permis", "carte", "visa", "diplome", "acte"];

/// Countries (folded, one or more words), with the words that introduce
/// them as the place of a rule.
const COUNTRIES: &[&str] = &[
    "allemagne",
    "angleterre",
    "royaume uni",
    "belgique",
    "suisse",
    "espagne",
    "italie",
    "portugal",
    "luxembourg",
    "pays bas",
    "hollande",
    "irlande",
    "autriche",
    "pologne",
    "grece",
    "suede",
    "norvege",
    "danemark",
    "finlande",
    "roumanie",
    "bulgarie",
    "hongrie",
    "croatie",
    "tchequie",
    "republique tcheque",
    "ukraine",
    "russie",
    "turquie",
    "maroc",
    "algerie",
    "tunisie",
    "senegal",
    "mali",
    "cote d ivoire",
    "cameroun",
    "egypte",
    "etats unis",
    "usa",
    "canada",
    "quebec",
    "mexique",
    "bresil",
    "argentine",
    "chili",
    "colombie",
    "perou",
    "chine",
    "japon",
    "coree",
    "inde",
    "pakistan",
    "vietnam",
    "thailande",
    "australie",
    "israel",
    "liban",
    "dubai",
    "emirats",
    "arabie saoudite",
    "monaco",
    "andorre",
];

/// Words that tie a question about a country to France: a French citizen
/// abroad, a consulate, a trip, someone coming from there.
const FRENCH_TIE: &[&str] = &[
    "france",
    "francais",
    "francaise",
    "francaises",
    "consulat",
    "consulaire",
    "ambassade",
    "etranger",
    "etrangere",
    "expatrie",
    "expatriee",
    "vis",
    "vit",
    "vivons",
    "habite",
    "habitons",
    "reside",
    "residence",
    "resident",
    "residant",
    "installe",
    "installee",
    "demenage",
    "venant",
    "viens",
    "vient",
    "arrive",
    "arrivee",
    "ne",
    "nee",
    "nes",
    "voyage",
    "voyager",
    "partir",
    "pars",
    "aller",
    "vacances",
    "sejour",
    "visa",
    "ici",
    "nationalite",
    "titre",
    "transcription",
    "transcrire",
    "reconnaissance",
    "echanger",
    "echange",
    "etudiant",
    "etudier",
    "erasmus",
    "travailler",
    "frontalier",
    "frontaliere",
];

/// What `question` asks that no town document can answer, if anything.
pub fn outside(question: &str) -> Option<Outside> {
    let words = folded_words(question);
    if OPINION.iter().any(|p| phrase_at(&words, p).is_some())
        || phrase_at(&words, "votre avis").is_some_and(|i| i == 0 || words[i - 1] != "a")
        || ["selon toi", "d apres toi", "pour toi"]
            .iter()
            .any(|p| phrase_at(&words, p).is_some())
        || addressed_opinion(&words)
        || voting_advice(&words)
    {
        return Some(Outside::Opinion);
    }
    let country = country(&words).or_else(|| foreign_document(&words))?;
    if words.iter().any(|w| FRENCH_TIE.contains(&w.as_str())) {
        return None;
    }
    Some(Outside::Foreign(country.to_string()))
}

/// « tu » (or « t' ») and a verb of opinion within three words.
fn addressed_opinion(words: &[String]) -> bool {
    words.iter().enumerate().any(|(i, w)| {
        (w == "tu" || w == "t")
            && words
                .iter()
                .skip(i + 1)
                .take(3)
                .any(|v| OPINION_VERBS.contains(&v.as_str()))
    })
}

/// « pour qui … voter » within four words, either order.
fn voting_advice(words: &[String]) -> bool {
    phrase_at(words, "pour qui").is_some_and(|i| {
        let from = i.saturating_sub(4);
        words[from..words.len().min(i + 6)]
            .iter()
            .any(|w| w.starts_with("vot"))
    })
}

/// A document named with another country's adjective: « le passeport
/// espagnol ».
fn foreign_document(words: &[String]) -> Option<&'static str> {
    words.windows(2).find_map(|w| {
        DOCUMENTS
            .contains(&w[0].as_str())
            .then(|| DEMONYMS.iter().copied().find(|d| *d == w[1]))
            .flatten()
    })
}

/// The first country `words` (folded) name as a place: « en Belgique »,
/// « au Canada », « aux États-Unis », « pour le Maroc ».
fn country(words: &[String]) -> Option<&'static str> {
    COUNTRIES.iter().copied().find(|c| {
        phrase_at(words, c).is_some_and(|i| {
            i > 0
                && matches!(
                    words[i - 1].as_str(),
                    "en" | "au" | "aux" | "a" | "le" | "la" | "l" | "les" | "in"
                )
        })
    })
}

/// Whether `name` (a capitalised word of a question: « Belgique »,
/// « États-Unis ») is a country.
pub fn is_country(name: &str) -> bool {
    let folded = folded_words(name).join(" ");
    COUNTRIES.iter().any(|c| *c == folded)
}

/// Whether a question (folded words) is about someone abroad: it says
/// « à l'étranger », a consulate, an embassy, an expatriate, or names a
/// country as a place ([`super::situation`]).
pub fn abroad(words: &[String]) -> bool {
    words.iter().any(|w| {
        matches!(
            w.as_str(),
            "etranger" | "consulat" | "consulaire" | "ambassade" | "expatrie" | "expatriee"
        )
    }) || phrase_at(words, "hors de france").is_some()
        || country(words).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opinions_and_foreign_rules_are_outside() {
        for q in [
            "Que penses-tu du nouveau maire ?",
            "Donnez-moi votre avis sur la réforme des retraites.",
            "Pour qui voter aux municipales ?",
            "Tu préfères Montpellier ou Nîmes ?",
            "Qu'est-ce que tu penses de la piscine ?",
            "je devrais voter pour qui dimanche ?",
            "C'est quoi le meilleur quartier selon toi ?",
            "Quel parti défend le mieux les familles ?",
        ] {
            assert_eq!(outside(q), Some(Outside::Opinion), "{q}");
        }
        for q in [
            "Combien coûte une carte d'identité en Belgique ?",
            "À quel âge peut-on passer le permis aux États-Unis ?",
            "Comment se marier au Québec ?",
            "quel est le salaire minimum en allemagne",
            "Le permis belge coûte combien ?",
        ] {
            assert!(matches!(outside(q), Some(Outside::Foreign(_))), "{q}");
        }
    }

    #[test]
    fn french_procedures_from_abroad_and_plain_questions_are_inside() {
        for q in [
            "À votre avis, combien de temps faut-il pour un passeport ?",
            "Je vis en Belgique, comment renouveler mon passeport ?",
            "Je suis française et je me marie en Espagne, que faire ?",
            "Faut-il un visa pour aller au Canada ?",
            "Mon fils part étudier en Allemagne, quelles démarches ?",
            "Peut-on échanger un permis marocain ? J'habite au Maroc depuis 5 ans.",
            "Quels documents pour une carte d'identité ?",
            "La carte d'identité suffit-elle pour voyager en Italie ?",
            "Comment faire transcrire un mariage célébré en Algérie ?",
            "Comment échanger mon permis marocain contre un permis français ?",
            "Pensez-vous que j'ai droit à l'allocation de rentrée scolaire ?",
            "Je suis espagnol, puis-je voter aux municipales ?",
            "Pour qui est la carte de vote ?",
        ] {
            assert_eq!(outside(q), None, "{q}");
        }
    }

    #[test]
    fn countries_are_told_from_towns() {
        assert!(is_country("Belgique") && is_country("États-Unis"));
        assert!(!is_country("Toulouse"));
    }

    #[test]
    fn no_answerable_question_of_the_evaluation_sets_is_outside() {
        for q in crate::rag::test_sets::answerable_questions() {
            assert_eq!(outside(&q), None, "{q}");
        }
    }
}
