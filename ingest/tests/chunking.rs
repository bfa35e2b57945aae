//! Chunking rules, with a word count as the token counter.

use std::collections::BTreeMap;

use guichet_ingest::{chunk, split_sentences, Block, ChunkOptions, Document, Format, Section};

use crate::common::{load, words};

fn doc(sections: Vec<Section>) -> Document {
    Document {
        title: "Guide".into(),
        format: Format::Text,
        url: None,
        date: None,
        metadata: BTreeMap::new(),
        sections,
    }
}

fn section(path: &[&str], page: Option<u32>, blocks: Vec<Block>) -> Section {
    Section {
        path: path.iter().map(|s| s.to_string()).collect(),
        page,
        blocks,
    }
}

/// A paragraph of `n` numbered sentences of 10 words each.
fn paragraph(prefix: &str, n: usize) -> Block {
    let sentences: Vec<String> = (0..n)
        .map(|i| format!("Phrase {prefix}{i} de la section avec quelques mots en plus."))
        .collect();
    Block::Paragraph(sentences.join(" "))
}

/// Whether a chunk body ends at a sentence end (or a block end).
fn ends_cleanly(body: &str) -> bool {
    let last = body.trim_end().chars().last();
    matches!(last, Some('.' | '!' | '?' | '…' | ':' | '»' | ')')) || body.ends_with('\n')
}

#[test]
fn sizes_sentences_paths_and_overlap() {
    let d = doc(vec![
        section(&["Inscription"], None, vec![paragraph("a", 80)]),
        section(&["Tarifs"], None, vec![paragraph("b", 50)]),
    ]);
    let opts = ChunkOptions::default();
    let chunks = chunk(&d, &opts, &words);
    assert!(chunks.len() >= 4, "{}", chunks.len());
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c.ordinal, i);
        assert!(
            words(&c.text) <= opts.max_tokens,
            "chunk {i}: {} words",
            words(&c.text)
        );
        assert!(
            ends_cleanly(c.body()),
            "chunk {i} ends mid-sentence: {:?}",
            c.body()
        );
        assert_eq!(c.text, format!("{}\n{}", c.context, c.body()));
        assert_eq!(c.context, format!("Guide › {}", c.section_path.join(" › ")));
    }
    // Sections are not mixed: each chunk has one of the two paths.
    assert!(chunks
        .iter()
        .all(|c| c.section_path == ["Inscription"] || c.section_path == ["Tarifs"]));
    // Overlap: consecutive chunks of one section share whole sentences,
    // about 15 % of the target.
    let same: Vec<_> = chunks
        .iter()
        .filter(|c| c.section_path == ["Inscription"])
        .collect();
    for pair in same.windows(2) {
        let first_sentences = split_sentences(pair[0].body());
        let last_of_first = first_sentences.last().expect("sentence");
        let first_of_second = split_sentences(pair[1].body()).remove(0);
        assert!(
            pair[1].body().contains(last_of_first.as_str()),
            "no overlap in {pair:#?}"
        );
        assert!(
            first_sentences.contains(&first_of_second),
            "no overlap in {pair:#?}"
        );
        let shared = first_sentences
            .iter()
            .filter(|s| pair[1].body().contains(s.as_str()))
            .map(|s| words(s))
            .sum::<usize>();
        assert!((20..=60).contains(&shared), "overlap of {shared} words");
    }
    // Across sections, no overlap.
    let first_tarifs = chunks
        .iter()
        .find(|c| c.section_path == ["Tarifs"])
        .expect("tarifs");
    assert!(first_tarifs.body().starts_with("Phrase b0 "));
}

#[test]
fn short_sections_merge_under_the_same_parent() {
    let d = doc(vec![
        section(
            &["Mairie", "Horaires"],
            None,
            vec![Block::Paragraph("Ouverte de 8h30 à 17h.".into())],
        ),
        section(
            &["Mairie", "Adresse"],
            None,
            vec![Block::Paragraph("1 place de la Mairie.".into())],
        ),
        section(
            &["Écoles", "Cantine"],
            None,
            vec![Block::Paragraph("Repas à 3,38 €.".into())],
        ),
    ]);
    let chunks = chunk(&d, &ChunkOptions::default(), &words);
    assert_eq!(chunks.len(), 2, "{chunks:#?}");
    assert_eq!(chunks[0].section_path, ["Mairie"]);
    assert_eq!(
        chunks[0].text,
        "Guide › Mairie\nHoraires\nOuverte de 8h30 à 17h.\nAdresse\n1 place de la Mairie."
    );
    assert_eq!(chunks[1].section_path, ["Écoles", "Cantine"]);
    assert_eq!(chunks[1].text, "Guide › Écoles › Cantine\nRepas à 3,38 €.");
}

#[test]
fn table_rows_stay_whole_and_pages_are_carried() {
    let rows: Vec<Block> = (0..120)
        .map(|i| {
            Block::TableRow(format!(
                "Q {i}: de {i}0 € à {i}9 € | 1,{i} € | 2,{i} € | tarif social"
            ))
        })
        .collect();
    let d = doc(vec![
        section(&[], Some(3), rows[..60].to_vec()),
        section(&[], Some(4), rows[60..].to_vec()),
    ]);
    let opts = ChunkOptions::default();
    let chunks = chunk(&d, &opts, &words);
    let mut seen = 0;
    for c in &chunks {
        assert!(words(&c.text) <= opts.max_tokens);
        for line in c.body().lines() {
            assert!(rows.iter().any(|r| r.text() == line), "cut row {line:?}");
        }
        assert!(c.page_start.is_some() && c.page_start <= c.page_end);
        seen += 1;
    }
    assert!(seen >= 4);
    assert_eq!(chunks[0].page_start, Some(3));
    assert_eq!(chunks.last().and_then(|c| c.page_end), Some(4));
}

#[test]
fn a_table_cut_by_a_chunk_boundary_keeps_its_caption() {
    let rows = |name: &str, n: usize| -> Vec<Block> {
        (0..n)
            .map(|i| Block::TableRow(format!("Tarif {name} numéro {i} pour une salle | {i},00 €")))
            .collect()
    };
    let mut blocks = vec![Block::Paragraph("Les salles sont louées.".into())];
    blocks.push(Block::Paragraph(
        "Théâtre Gérard Philippe Tarifs 2014".into(),
    ));
    blocks.extend(rows("théâtre", 90));
    blocks.push(Block::Paragraph("Locaux scolaires Tarifs 2014".into()));
    blocks.extend(rows("école", 90));
    let d = doc(vec![section(&["Salles"], Some(3), blocks)]);
    let opts = ChunkOptions::default();
    let chunks = chunk(&d, &opts, &words);
    assert!(chunks.len() >= 4, "{}", chunks.len());
    for c in &chunks {
        assert!(words(&c.text) <= opts.max_tokens);
        let first_row = c.body().lines().find(|l| l.contains(" | ")).unwrap();
        let caption = if first_row.contains("théâtre") {
            "Théâtre Gérard Philippe Tarifs 2014"
        } else {
            "Locaux scolaires Tarifs 2014"
        };
        // Every chunk that holds rows of a table holds its caption before
        // them.
        let at = c.body().find(caption);
        assert!(
            at.is_some_and(|a| a < c.body().find(first_row).unwrap()),
            "no caption before {first_row:?} in {:?}",
            c.body()
        );
    }
    // A sentence is never carried as a caption.
    assert_eq!(
        chunks
            .iter()
            .filter(|c| c.body().contains("Les salles sont louées."))
            .count(),
        1
    );
}

#[test]
fn an_over_long_sentence_is_cut_at_words() {
    let long = vec!["mot"; 1000].join(" ") + ".";
    let d = doc(vec![section(&["Long"], None, vec![Block::Paragraph(long)])]);
    let opts = ChunkOptions::default();
    let chunks = chunk(&d, &opts, &words);
    assert!(chunks.len() >= 3);
    for c in &chunks {
        assert!(words(&c.text) <= opts.max_tokens, "{}", words(&c.text));
    }
    let total: usize = chunks.iter().map(|c| words(c.body())).sum();
    assert!(total >= 1000, "every word kept (with overlap): {total}");
}

#[test]
fn real_pdf_chunks_carry_page_ranges() {
    let d = load("pdf/VilleMTP_MTP_Tarifs_2014.pdf");
    assert_eq!(
        d.title, "Tarifs 2014 pour la Ville de Montpellier Approbation",
        "the subject set large on the first page, not the session date above it"
    );
    let opts = ChunkOptions::default();
    let chunks = chunk(&d, &opts, &words);
    assert!(chunks.len() > 27);
    let mut last_start = 0;
    for c in &chunks {
        assert!(words(&c.text) <= opts.max_tokens);
        let (s, e) = (c.page_start.expect("page"), c.page_end.expect("page"));
        assert!(s <= e && s >= last_start && e <= 27);
        last_start = s;
        assert!(c.text.starts_with(&d.title), "{}", c.text);
    }
}

#[test]
fn a_block_the_overlap_cannot_sit_beside_makes_no_chunk_of_overlap_alone() {
    // Short lines (a minutes' header), then one long block without a
    // sentence end (the list of members present), then more.
    let names: Vec<String> = (0..74)
        .map(|i| format!("Prénom{i} NOM{i}, Autre{i} PERSONNE{i},"))
        .collect();
    let mut blocks: Vec<Block> = [
        "Ville de Montpellier",
        "Compte-rendu du Conseil",
        "Séance publique",
        "Présents :",
    ]
    .iter()
    .map(|t| Block::Paragraph((*t).to_string()))
    .collect();
    blocks.push(Block::Paragraph(names.join(" ")));
    blocks.push(paragraph("c", 30));
    let chunks = chunk(
        &doc(vec![section(&[], Some(1), blocks)]),
        &ChunkOptions::default(),
        &words,
    );
    for pair in chunks.windows(2) {
        assert!(
            !pair[0].body().contains(pair[1].body().trim()),
            "a chunk repeats the previous one's tail only: {:?} then {:?}",
            pair[0].body(),
            pair[1].body()
        );
    }
    assert!(chunks.iter().any(|c| c.body().contains("Présents :")));
}

#[test]
fn empty_document_gives_no_chunk() {
    assert!(chunk(&doc(vec![]), &ChunkOptions::default(), &words).is_empty());
}
