//! PDF loading on real Montpellier council PDFs, against poppler.

use guichet_ingest::{
    chunk, load_bytes, load_file, load_file_with, ChunkOptions, Error, Format, LoadOptions,
};

use crate::common::{fixture, load, word_recall, words};

/// PDFs with a committed `pdftotext` output (see fixtures/README.md).
const WITH_POPPLER: &[&str] = &[
    "VilleMTP_MTP_Tarifs_2014",
    "CR_CM_07_02_2011",
    "2014-04-24-0000071249",
    "2014-04-24-0000071248",
];

#[test]
fn recovers_at_least_97_percent_of_popplers_words() {
    for name in WITH_POPPLER {
        let doc = load(&format!("pdf/{name}.pdf"));
        let reference = std::fs::read_to_string(fixture(&format!("pdf/{name}.poppler.txt")))
            .expect("poppler fixture");
        // Headings moved into section paths (and the title) are still
        // the document's words.
        let mut text = doc.title.clone();
        let mut path: &[String] = &[];
        for section in &doc.sections {
            for h in section.path.iter().filter(|h| !path.contains(h)) {
                text.push('\n');
                text.push_str(h);
            }
            path = &section.path;
        }
        text.push('\n');
        text.push_str(&doc.plain_text());
        let recall = word_recall(&reference, &text);
        println!("{name}: word recall vs poppler {:.2} %", recall * 100.0);
        assert!(recall >= 0.97, "{name}: recall {recall:.4} < 0.97");
    }
}

#[test]
fn pages_are_numbered_and_text_is_clean() {
    let doc = load("pdf/CR_CM_07_02_2011.pdf");
    assert_eq!(doc.format, Format::Pdf);
    assert_eq!(doc.title, "Compte-rendu du Conseil municipal");
    assert_eq!(doc.metadata.get("pages").map(String::as_str), Some("12"));
    let mut pages: Vec<u32> = doc.sections.iter().filter_map(|s| s.page).collect();
    pages.dedup();
    assert_eq!(pages, (1..=12).collect::<Vec<_>>());
    for doc in [doc, load("pdf/VilleMTP_MTP_Tarifs_2014.pdf")] {
        let text = doc.plain_text();
        for bad in [
            '\u{FB01}', '\u{FB02}', '\u{FFFD}', '\u{E000}', '\u{F0D8}', '\u{AD}',
        ] {
            assert!(!text.contains(bad), "{:?} in {}", bad, doc.title);
        }
        assert!(!text.contains("  "), "double spaces in {}", doc.title);
    }
}

#[test]
fn accents_and_words_of_itext_deliberations() {
    let doc = load("pdf/2014-04-24-0000071249.pdf");
    let text = doc.plain_text();
    // The subject, set large, is the title; the session date above it,
    // set larger still, heads the deliberation's sections.
    assert!(doc
        .title
        .contains("Création d'une mairie annexe à Grammont et célébration des mariages"));
    assert!(doc
        .sections
        .iter()
        .any(|s| s.path.first().map(String::as_str)
            == Some("Séance publique du jeudi 24 avril 2014")));
    assert!(!text.contains("avr il"));
    assert_eq!(doc.date.as_deref(), Some("2014-04-28"));
}

#[test]
fn tariff_tables_are_rows_and_headings_are_sections() {
    let doc = load("pdf/VilleMTP_MTP_Tarifs_2014.pdf");
    let rows: Vec<&str> = doc
        .sections
        .iter()
        .filter(|s| s.page == Some(8))
        .flat_map(|s| &s.blocks)
        .filter_map(|b| match b {
            guichet_ingest::Block::TableRow(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        rows.contains(&"Entrée Adulte | 6,50 € | 5,50 €"),
        "{rows:?}"
    );
    assert!(
        rows.contains(&"Carnets de 10 entrées | 40,00 € | 40,00 €"),
        "{rows:?}"
    );
    // Running text is never cut into cells.
    let page3 = doc.page_text(3).expect("page 3");
    assert!(page3.contains("Le tarif général pour la restauration scolaire est de 3.38 €"));
    let minutes = load("pdf/CR_CM_07_02_2011.pdf");
    let with_path = minutes
        .sections
        .iter()
        .filter(|s| !s.path.is_empty())
        .count();
    assert!(
        with_path * 10 >= minutes.sections.len() * 8,
        "council minutes' themes are headings: {with_path} of {}",
        minutes.sections.len()
    );
}

#[test]
fn tariffs_maternelle_canteen_price() {
    // Page 3 says the general price in a sentence ("3.38 €"), page 4 has
    // the summary table with "3,38 €" in the "Ecole Maternelle" column.
    let doc = load("pdf/VilleMTP_MTP_Tarifs_2014.pdf");
    assert_eq!(doc.metadata.get("pages").map(String::as_str), Some("27"));
    let page3 = doc.page_text(3).expect("page 3");
    assert!(
        page3.contains(
            "Le tarif général pour la restauration scolaire est de 3.38 € pour un enfant en \
             maternelle et 3.69 € pour un enfant en élémentaire."
        ),
        "{page3}"
    );
    let page4 = doc.page_text(4).expect("page 4");
    assert!(
        page4.contains("Tarif Général 2014 Ecole Maternelle Ecole Elémentaire"),
        "{page4}"
    );
    assert!(
        page4.contains("Hors montpelliérains & hors tarification sociale | 3,38 € | 3.69 €"),
        "{page4}"
    );
    assert!(
        page4.contains("Q 7: 459 € et plus | 3,38 € | 3,69 €"),
        "{page4}"
    );

    let chunks = chunk(&doc, &ChunkOptions::default(), &words);
    let hit = chunks
        .iter()
        .find(|c| c.text.contains("hors tarification sociale | 3,38 €"))
        .expect("a chunk with the maternelle price");
    assert!(
        hit.page_start <= Some(4) && hit.page_end >= Some(4),
        "{hit:?}"
    );
    assert!(hit.text.contains("Ecole Maternelle"));
}

#[test]
fn a_scanned_pdf_is_refused_with_the_reason_when_ocr_is_off() {
    let err = load_file(&fixture("pdf/CR_CM_20_06_2011_p1-2_scanned.pdf")).unwrap_err();
    assert!(matches!(err, Error::ScannedPdf { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("CR_CM_20_06_2011_p1-2_scanned.pdf"), "{msg}");
    assert!(
        msg.contains("PDF numérisé") && msg.contains("ocr = \"off\""),
        "{msg}"
    );
}

#[test]
fn a_scanned_pdf_is_read_by_tesseract_page_by_page() {
    if let Some(why) = guichet_ingest::ocr_unavailable("fra") {
        panic!("this test runs Tesseract ({why}; .ci/run installs it)");
    }
    let opts = LoadOptions {
        ocr: guichet_ingest::OcrOptions {
            enabled: true,
            ..Default::default()
        },
        ..LoadOptions::default()
    };
    let doc = load_file_with(&fixture("pdf/CR_CM_20_06_2011_p1-2_scanned.pdf"), &opts).unwrap();
    assert_eq!(
        doc.metadata.get("ocr_pages").map(String::as_str),
        Some("1, 2")
    );
    let confidence: f64 = doc.metadata["ocr_confidence"].parse().unwrap();
    assert!(confidence > 60.0, "mean confidence {confidence}");
    let pages: Vec<Option<u32>> = doc.sections.iter().map(|s| s.page).collect();
    assert_eq!(pages, [Some(1), Some(2)]);
    let text: String = doc
        .sections
        .iter()
        .flat_map(|s| &s.blocks)
        .map(|b| b.text())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("Compte-rendu du Conseil municipal"), "{text}");
    assert!(text.contains("lundi 20 juin 2011"), "{text}");
}

#[test]
fn repeated_content_is_not_taken_for_a_footer() {
    // "Adopté à l'unanimité" ends 8 of the 12 pages of this report: it is
    // content (the vote), not a running footer, and must stay every time.
    let doc = load("pdf/CR_CM_07_02_2011.pdf");
    let reference =
        std::fs::read_to_string(fixture("pdf/CR_CM_07_02_2011.poppler.txt")).expect("ref");
    let vote = "Adopté à l’unanimité";
    let expected = reference.matches(vote).count();
    assert!(expected >= 8);
    assert_eq!(doc.plain_text().matches(vote).count(), expected);
}

#[test]
fn pdf_detected_from_content_not_name() {
    let bytes = std::fs::read(fixture("pdf/2014-04-24-0000071249.pdf")).expect("fixture");
    let doc = load_bytes("deliberation.txt", &bytes).expect("loads");
    assert_eq!(doc.format, Format::Pdf);
}
