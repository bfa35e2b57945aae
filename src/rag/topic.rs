//! The municipal theme of a question, for statistics ("what do citizens
//! ask about?") and review. In order: the themes of the sources the answer
//! cites (their Service-Public breadcrumb, title and section), the
//! question's own words, and, failing both, the embedding similarity of the
//! question to a short description of each theme; `autre` when nothing is
//! close enough.

use guichet_models::{cosine, EmbedKind, Embedder};

use crate::kb::lexical;

/// The themes, their keywords (normalised like the lexical index: stems of
/// folded words; a term matches when it starts with a keyword) and a
/// description for the similarity fallback. Most specific first.
pub const THEMES: &[(&str, &[&str], &str)] = &[
    ("papiers d'identité", &["ident", "cni", "passeport", "photo"], "carte d'identité, passeport, titres d'identité, photo d'identité"),
    ("élections", &["elector", "vote", "scrutin", "procur"], "listes électorales, voter, procuration, élections"),
    ("cimetière", &["inhum", "cimetier", "concess", "obsequ", "funerair", "deces", "defunt"], "cimetière, concession funéraire, inhumation, décès, obsèques"),
    ("état civil", &["naissanc", "mariag", "livret", "pacs", "pacse", "civil", "legalis", "filiat"], "actes de naissance et de mariage, livret de famille, pacs, état civil"),
    ("école et périscolaire", &["ecol", "scolair", "maternel", "elementair", "cantin", "restaur", "periscolair", "creche", "loisir", "alsh", "enfanc"], "inscription à l'école, cantine, restauration scolaire, accueil périscolaire, crèche, centre de loisirs"),
    ("urbanisme", &["permis", "constru", "urban", "travaux", "plu", "cadastr", "amenag"], "permis de construire, déclaration préalable de travaux, plan local d'urbanisme"),
    ("déchets", &["dechet", "ordur", "encombr", "dechetter", "poubel"], "ordures ménagères, tri, encombrants, déchèterie"),
    ("voirie et stationnement", &["voiri", "stationn", "parking", "chaussé", "trottoir", "circul", "fourrier"], "voirie, stationnement, circulation, trottoirs, fourrière"),
    ("logement", &["logement", "hlm", "loyer", "hebergement"], "logement social, HLM, hébergement, loyer"),
    ("social et CCAS", &["social", "ccas", "domicili", "rsa", "aide", "handicap", "solidar", "sant"], "aides sociales, CCAS, domiciliation, RSA, handicap, solidarité"),
    ("associations", &["associ", "subvent"], "associations, subventions aux associations, vie associative"),
];

/// The fallback's minimum cosine (e5, question against description).
const SIMILARITY: f32 = 0.82;

fn by_keywords(text: &str) -> Option<&'static str> {
    // Stems and whole folded words: "logement" stems to "log".
    let mut terms = lexical::terms(text);
    terms.extend(super::lexicon::folded_words(text));
    THEMES
        .iter()
        .find(|(_, keys, _)| terms.iter().any(|t| keys.iter().any(|k| t.starts_with(k))))
        .map(|(name, _, _)| *name)
}

/// Theme descriptions embedded once, for the similarity fallback.
pub struct Themes {
    vectors: Vec<Vec<f32>>,
}

impl std::fmt::Debug for Themes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Themes")
            .field("themes", &self.vectors.len())
            .finish()
    }
}

impl Themes {
    /// Embeds the descriptions (no fallback when the embedder fails).
    pub fn new(embedder: &dyn Embedder) -> Self {
        let texts: Vec<&str> = THEMES.iter().map(|t| t.2).collect();
        Self {
            vectors: embedder
                .embed(&texts, EmbedKind::Passage)
                .unwrap_or_default(),
        }
    }

    /// The theme of a question: from `sources` (breadcrumbs, titles and
    /// sections of the cited sources), then the question's words, then
    /// the closest description to `question_vec`; `autre` otherwise.
    pub fn topic(
        &self,
        question: &str,
        question_vec: Option<&[f32]>,
        sources: &[String],
    ) -> &'static str {
        for s in sources {
            if let Some(t) = by_keywords(s) {
                return t;
            }
        }
        if let Some(t) = by_keywords(question) {
            return t;
        }
        if let Some(q) = question_vec {
            let best = self
                .vectors
                .iter()
                .enumerate()
                .map(|(i, v)| (i, cosine(q, v)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((i, c)) = best {
                if c >= SIMILARITY {
                    return THEMES[i].0;
                }
            }
        }
        "autre"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_words_do_not_pick_a_theme() {
        assert_eq!(
            by_keywords("Déclaration préalable de travaux en décembre"),
            Some("urbanisme")
        );
        assert_eq!(by_keywords("Le nombre de titres à titre indicatif"), None);
        assert_eq!(by_keywords("Location de la salle"), None);
    }

    #[test]
    fn keywords_and_breadcrumbs_give_the_theme() {
        assert_eq!(
            by_keywords("Quels documents pour refaire une carte d'identité ?"),
            Some("papiers d'identité")
        );
        assert_eq!(
            by_keywords("Prix de la cantine en maternelle ?"),
            Some("école et périscolaire")
        );
        assert_eq!(
            by_keywords("Comment s'inscrire sur les listes électorales ?"),
            Some("élections")
        );
        assert_eq!(by_keywords("Quelle est la capitale du Pérou ?"), None);
        assert_eq!(
            by_keywords("Accueil particuliers > Logement > Logement social > Faire une demande"),
            Some("logement")
        );
        let t = Themes {
            vectors: Vec::new(),
        };
        assert_eq!(
            t.topic(
                "Et ensuite ?",
                None,
                &["Permis de construire › Délais".into()]
            ),
            "urbanisme"
        );
        assert_eq!(
            t.topic("Quelle est la capitale du Pérou ?", None, &[]),
            "autre"
        );
    }
}
