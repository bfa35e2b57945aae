//! Hostile files meet the loaders' limits: each is a typed error, found
//! before the work it would blow up, and text handling is linear.

use std::cell::Cell;

use guichet_ingest::hostile;
use guichet_ingest::{chunk, load_bytes, load_bytes_with, ChunkOptions, Error, LoadOptions};

#[test]
fn nested_arrays_and_dictionaries_are_refused_before_parsing() {
    // Unchecked, both overflow the stack of the thread parsing them.
    for (name, bytes) in [
        ("tableaux.pdf", hostile::nested_arrays_pdf(100_000)),
        (
            "dictionnaires.pdf",
            hostile::nested_dictionaries_pdf(100_000),
        ),
    ] {
        let err = load_bytes(name, &bytes).unwrap_err();
        assert!(
            matches!(err, Error::TooDeep { limit: 256, .. }),
            "{name}: {err}"
        );
        assert!(err.to_string().contains("imbrication"), "{err}");
    }
    // Moderate nesting is a real document.
    let doc = load_bytes("modeste.pdf", &hostile::nested_arrays_pdf(50)).unwrap();
    assert!(
        doc.plain_text().contains("Horaires de la mairie"),
        "{doc:?}"
    );
}

#[test]
fn absurd_html_nesting_is_refused_before_the_quadratic_parse() {
    let deep = format!(
        "<html><body>{}x</body></html>",
        "<div><span>".repeat(150_000)
    );
    let err = load_bytes("profond.html", deep.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::TooDeep { .. }), "{err}");
    // Sloppy pages of unclosed paragraphs and list items are not deep.
    let sloppy = format!(
        "<html><body><ul>{}</ul>{}</body></html>",
        "<li>Un point de la liste".repeat(3_000),
        "<p>Un paragraphe sans fin de balise".repeat(3_000)
    );
    let doc = load_bytes("liste.html", sloppy.as_bytes()).unwrap();
    assert!(doc.plain_text().contains("Un point de la liste"));
}

#[test]
fn the_nesting_scan_lets_every_real_pdf_through() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for dir in ["demo/documents/montpellier", "tests/fixtures/pdf"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "pdf") {
                let bytes = std::fs::read(&path).unwrap();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                match load_bytes(&name, &bytes) {
                    Err(e @ (Error::TooDeep { .. } | Error::Inflated { .. })) => {
                        panic!("{name}: {e}")
                    }
                    _ => seen += 1,
                }
            }
        }
    }
    assert!(seen >= 10, "{seen} PDFs");
}

#[test]
fn an_inflation_bomb_is_counted_not_inflated() {
    // 300 MiB of content stream from about 0.5 MB of file.
    let bomb = hostile::inflation_bomb_pdf(300 << 20);
    assert!(bomb.len() < 2_000_000, "{} bytes", bomb.len());
    let err = load_bytes("bombe.pdf", &bomb).unwrap_err();
    assert!(matches!(err, Error::Inflated { .. }), "{err}");
    assert!(err.to_string().contains("décompressé"), "{err}");
    // The limit is the setting.
    let small = hostile::inflation_bomb_pdf(2 << 20);
    let opts = LoadOptions {
        max_uncompressed: 1 << 20,
        ..LoadOptions::default()
    };
    assert!(matches!(
        load_bytes_with("petite.pdf", &small, &opts),
        Err(Error::Inflated { .. })
    ));
}

#[test]
fn pages_and_text_limits() {
    let three = hostile::text_pdf(&[
        "Premiere page du compte rendu du conseil municipal.",
        "Deuxieme page du compte rendu du conseil municipal.",
        "Troisieme page du compte rendu du conseil municipal.",
    ]);
    let doc = load_bytes("cr.pdf", &three).unwrap();
    assert_eq!(doc.metadata["pages"], "3");
    let opts = LoadOptions {
        max_pages: 2,
        ..LoadOptions::default()
    };
    let err = load_bytes_with("cr.pdf", &three, &opts).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyPages {
                pages: 3,
                limit: 2,
                ..
            }
        ),
        "{err}"
    );

    let text = hostile::long_text(5_000);
    let opts = LoadOptions {
        max_text_chars: 1_000,
        ..LoadOptions::default()
    };
    // Decoded, then counted.
    let err = load_bytes_with("notes.txt", &text[..3_000], &opts).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TextTooLong {
                chars: Some(_),
                limit: 1_000,
                ..
            }
        ),
        "{err}"
    );
    // More than four bytes a character allowed: refused before decoding.
    let err = load_bytes_with("notes.txt", &text, &opts).unwrap_err();
    assert!(
        matches!(err, Error::TextTooLong { chars: None, .. }),
        "{err}"
    );
    // The default refuses a 60 MB text file.
    let err = load_bytes("enorme.txt", &hostile::long_text(60_000_000)).unwrap_err();
    assert!(matches!(err, Error::TextTooLong { .. }), "{err}");
}

#[test]
fn a_megabyte_word_is_not_a_document() {
    let err = load_bytes("mot.txt", &hostile::one_word_text(1_000_000)).unwrap_err();
    assert!(matches!(err, Error::NotWords { .. }), "{err}");
    // A long word among prose is kept, cut for embedding.
    let mut text = hostile::long_text(5_000);
    text.extend_from_slice(b"\n\nVoir ");
    text.extend(hostile::one_word_text(1_000));
    text.extend_from_slice(b" pour le reste.\n");
    let doc = load_bytes("notes.txt", &text).unwrap();
    let chunks = chunk(&doc, &ChunkOptions::default(), &|s| {
        s.split_whitespace().count()
    });
    let longest = chunks
        .iter()
        .flat_map(|c| c.text.split_whitespace())
        .map(str::len)
        .max()
        .unwrap();
    assert!(
        longest <= guichet_ingest::MAX_WORD_BYTES + '…'.len_utf8(),
        "{longest}"
    );
    assert!(chunks.iter().any(|c| c.text.contains("pour le reste")));
}

/// The characters the token counter is asked to read while chunking
/// `text`, a measure of the chunker's work that no machine load changes.
fn chunking_work(text: &[u8]) -> usize {
    let work = Cell::new(0usize);
    let opts = LoadOptions {
        max_text_chars: usize::MAX / 8,
        ..LoadOptions::default()
    };
    let doc = load_bytes_with("texte.txt", text, &opts).expect("a text to chunk");
    let counter = |s: &str| {
        work.set(work.get() + s.len());
        s.split_whitespace().count()
    };
    let chunks = chunk(&doc, &ChunkOptions::default(), &counter);
    assert!(!chunks.is_empty());
    work.get()
}

#[test]
fn chunking_is_linear_in_the_text() {
    // Each shape once at n and at 4n: linear work grows 4 times, the
    // quadratic paths this replaced grew 16 times.
    for (shape, make) in [
        ("one long line", hostile::long_line as fn(usize) -> Vec<u8>),
        ("periods without spaces", hostile::dotted_text),
        ("prose", hostile::long_text),
    ] {
        let small = chunking_work(&make(250_000));
        let large = chunking_work(&make(1_000_000));
        let ratio = large as f64 / small as f64;
        assert!(ratio < 5.0, "{shape}: work x{ratio:.1} for 4x the text");
        // And bounded per byte: a few passes of the counter, not hundreds.
        assert!(
            large < 40 * 1_000_000,
            "{shape}: {large} characters counted"
        );
    }
}
