//! The municipal topic of a question, for statistics ("what do citizens
//! ask about?") and review: the first topic whose keywords appear in the
//! question, else in the best source's title and section.

use crate::kb::lexical;

/// Topics and their keywords (normalised like the lexical index: stems of
/// folded words), most specific first.
const TOPICS: &[(&str, &[&str])] = &[
    (
        "papiers d'identité",
        &["ident", "cni", "passeport", "photo"],
    ),
    ("élections", &["elector", "vote", "scrutin", "procur"]),
    (
        "état civil",
        &[
            "naissanc", "mariag", "livret", "pac", "pacs", "civil", "legalis", "signatur", "act",
        ],
    ),
    (
        "funéraire",
        &["inhum", "cimetier", "concess", "obsequ", "funerair"],
    ),
    (
        "scolarité et enfance",
        &[
            "ecol",
            "scolair",
            "maternel",
            "elementair",
            "cantin",
            "restaur",
            "periscolair",
            "creche",
            "loisir",
            "sejour",
            "vacanc",
        ],
    ),
    (
        "urbanisme",
        &[
            "permis", "constru", "urban", "travaux", "plu", "cadastr", "declar",
        ],
    ),
    (
        "déchets et propreté",
        &["dechet", "ordur", "encombr", "dechetter", "poubel"],
    ),
    (
        "tranquillité et voisinage",
        &["bruit", "voisinag", "nuisanc", "chien", "anim"],
    ),
    (
        "social et logement",
        &[
            "logement", "hlm", "social", "ccas", "domicili", "aide", "rsa",
        ],
    ),
    ("citoyenneté", &["recens", "jdc", "citoyen", "defens"]),
    ("associations et subventions", &["associ", "subvent"]),
    (
        "tarifs et équipements",
        &[
            "tarif", "prix", "salle", "location", "maison", "piscin", "equip",
        ],
    ),
    (
        "vie municipale",
        &[
            "conseil",
            "deliber",
            "municipal",
            "mair",
            "elu",
            "impot",
            "tax",
        ],
    ),
];

/// The topic of a question, or `None` when no keyword matches.
pub fn topic(question: &str, best_source: Option<&str>) -> Option<&'static str> {
    let find = |text: &str| {
        let terms = lexical::terms(text);
        TOPICS
            .iter()
            .find(|(_, keys)| terms.iter().any(|t| keys.iter().any(|k| t.starts_with(k))))
            .map(|(name, _)| *name)
    };
    find(question).or_else(|| best_source.and_then(find))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_get_their_topic() {
        assert_eq!(
            topic("Quels documents pour refaire une carte d'identité ?", None),
            Some("papiers d'identité")
        );
        assert_eq!(
            topic("Prix de la cantine en maternelle ?", None),
            Some("scolarité et enfance")
        );
        assert_eq!(
            topic("Comment s'inscrire sur les listes électorales ?", None),
            Some("élections")
        );
        assert_eq!(topic("Quelle est la capitale du Pérou ?", None), None);
        assert_eq!(
            topic("Et ensuite ?", Some("Permis de construire › Délais")),
            Some("urbanisme")
        );
    }
}
