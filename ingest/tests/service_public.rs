//! Service-Public "vosdroits" fiches.

use guichet_ingest::{chunk, load_bytes, Block, ChunkOptions, Error, Format};

use crate::common::{fixture, load, words};

const FICHES: &[&str] = &[
    "F1341.xml",
    "F1367.xml",
    "F1427.xml",
    "F1965.xml",
    "F24570.xml",
    "F17578.xml",
    "F1119-associations.xml",
];

#[test]
fn identity_card_fiche() {
    let doc = load("service-public/F1341.xml");
    assert_eq!(doc.format, Format::ServicePublic);
    assert_eq!(doc.title, "Carte d'identité d'un majeur : première demande");
    assert_eq!(
        doc.url.as_deref(),
        Some("https://www.service-public.fr/particuliers/vosdroits/F1341")
    );
    assert_eq!(doc.date.as_deref(), Some("2019-08-28"));
    let meta = |k: &str| doc.metadata.get(k).map(String::as_str);
    assert_eq!(
        meta("breadcrumb"),
        Some("Accueil particuliers > Papiers - Citoyenneté > Carte d'identité > Carte d'identité d'un majeur : première demande")
    );
    assert_eq!(meta("sp_id"), Some("F1341"));
    assert_eq!(meta("audience"), Some("Particuliers"));
    assert_eq!(meta("dossier"), Some("Carte d'identité"));

    // A case (Cas) heading in a section path, under its chapter and tab.
    let case = doc
        .sections
        .iter()
        .find(|s| s.path.last().map(String::as_str) == Some("Date d'expiration : moins de 2 ans"))
        .expect("a nested case");
    assert_eq!(
        case.path,
        [
            "Demande en France",
            "Pièces à fournir",
            "Vous avez un passeport périmé",
            "Date d'expiration : moins de 2 ans"
        ]
    );
    assert!(case
        .blocks
        .contains(&Block::ListItem("Votre passeport".into())));

    // "À savoir".
    let a_savoir = doc
        .sections
        .iter()
        .find(|s| s.path.last().map(String::as_str) == Some("À savoir"))
        .expect("an À savoir section");
    assert!(a_savoir.blocks[0]
        .text()
        .starts_with("pour utiliser un nom d'usage"));

    // Tables give rows, inline links keep their text and spacing.
    let text = doc.plain_text();
    assert!(text.contains(
        "Le passeport est sécurisé (électronique ou biométrique) | Le passeport est d'un modèle plus ancien"
    ));
    assert!(text.contains("Il faut présenter les documents originaux."));
    assert!(text
        .contains("l'état civil du lieu de naissance est dématérialisé. Si ce n'est pas le cas"));
    // Where to go, and references.
    assert!(doc
        .sections
        .iter()
        .any(|s| s.path.last().map(String::as_str) == Some("Où s'adresser")));
    assert!(text.contains("Décret n°55-1397 du 22 octobre 1955"));
}

#[test]
fn cerfa_numbers_in_metadata_and_text() {
    let doc = load("service-public/F1367.xml");
    assert_eq!(
        doc.metadata.get("cerfa").map(String::as_str),
        Some("12669*02")
    );
    assert!(doc.plain_text().contains(
        "Formulaire : Demander son inscription sur les listes électorales (Cerfa n° 12669*02)"
    ));
    assert!(doc.sections.iter().any(|s| s.path
        == [
            "Liste électorale d'une mairie",
            "Où s'inscrire ?",
            "Vous vivez en France"
        ]));
    // Superscripts are glued: "2d tour", not "2 d tour".
    assert!(doc.plain_text().contains("il ne peut voter qu'au 2d tour."));

    let dp = load("service-public/F17578.xml");
    let cerfa = dp.metadata.get("cerfa").expect("cerfa");
    for n in ["13404*07", "13702*06", "13703*07"] {
        assert!(cerfa.contains(n), "{cerfa}");
    }
}

#[test]
fn associations_fiche() {
    let doc = load("service-public/F1119-associations.xml");
    assert_eq!(doc.title, "Déclaration initiale d'une association");
    assert_eq!(
        doc.metadata.get("audience").map(String::as_str),
        Some("Associations")
    );
    assert!(doc
        .url
        .as_deref()
        .is_some_and(|u| u.ends_with("/associations/vosdroits/F1119")));
}

#[test]
fn every_fiche_loads_and_chunks_within_limits() {
    let opts = ChunkOptions::default();
    for f in FICHES {
        let doc = load(&format!("service-public/{f}"));
        assert!(doc.date.is_some(), "{f}");
        assert!(doc.metadata.contains_key("breadcrumb"), "{f}");
        let chunks = chunk(&doc, &opts, &words);
        assert!(!chunks.is_empty(), "{f}");
        for c in &chunks {
            assert!(
                words(&c.text) <= opts.max_tokens,
                "{f}: {} words",
                words(&c.text)
            );
            assert!(c.text.starts_with(&doc.title), "{f}: {}", c.text);
        }
    }
}

#[test]
fn case_headings_reach_the_chunks() {
    let doc = load("service-public/F1341.xml");
    let chunks = chunk(&doc, &ChunkOptions::default(), &words);
    assert!(
        chunks.iter().any(|c| c
            .section_path
            .iter()
            .any(|p| p == "Vous avez un passeport périmé")
            || c.text.contains("Vous avez un passeport périmé")),
        "{chunks:#?}"
    );
    let first = &chunks[0];
    assert!(first
        .context
        .starts_with("Carte d'identité d'un majeur : première demande › Demande en France"));
}

#[test]
fn fiche_without_title_is_malformed() {
    let source = std::fs::read_to_string(fixture("service-public/F1965.xml")).expect("fixture");
    let start = source.find("<dc:title>").expect("title");
    let end = source.find("</dc:title>").expect("title end") + "</dc:title>".len();
    let broken = format!("{}{}", &source[..start], &source[end..]);
    let err = load_bytes("F1965.xml", broken.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("F1965.xml"));
    assert!(err.to_string().contains("title"));
}

#[test]
fn invalid_xml_is_malformed() {
    let source = std::fs::read_to_string(fixture("service-public/F1965.xml")).expect("fixture");
    let half = &source.as_bytes()[..source.len() / 2];
    let err = load_bytes("F1965.xml", half).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
}
