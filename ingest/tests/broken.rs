//! Broken and hostile inputs: each is a clear per-file error (or a correct
//! result), never a panic.

use std::io::Write;
use std::time::{Duration, Instant};

use guichet_ingest::{load_bytes, load_bytes_with, load_file, load_file_with, Error, LoadOptions};

use crate::common::fixture;
use crate::formats::zip;

/// Deterministic pseudo-random bytes (xorshift).
fn random_bytes(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

#[test]
fn truncated_pdf() {
    let bytes = std::fs::read(fixture("pdf/CR_CM_07_02_2011.pdf")).expect("fixture");
    let half = &bytes[..bytes.len() / 2];
    match load_bytes("CR_CM_07_02_2011.pdf", half) {
        // lopdf may rebuild what it can; then the text is a prefix.
        Ok(doc) => assert!(!doc.plain_text().is_empty()),
        Err(e) => {
            assert!(
                matches!(e, Error::Malformed { .. } | Error::ScannedPdf { .. }),
                "{e:?}"
            );
            assert!(e.to_string().contains("CR_CM_07_02_2011.pdf"), "{e}");
        }
    }
    // Every cut of a small PDF, coarsely: never a panic out of the crate.
    let small = std::fs::read(fixture("pdf/2014-04-24-0000071249.pdf")).expect("fixture");
    for cut in (0..small.len()).step_by(small.len() / 16) {
        let _ = load_bytes("cut.pdf", &small[..cut]);
    }
}

#[test]
fn pdf_with_garbage_objects() {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.extend(random_bytes(4096, 7));
    bytes.extend(
        b"\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    );
    let err = load_bytes("garbage.pdf", &bytes).unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("garbage.pdf: malformed document"),
        "{err}"
    );

    let err = load_bytes("header-only.pdf", b"%PDF-1.7\n").unwrap_err();
    assert!(matches!(err, Error::Malformed { .. }), "{err:?}");
}

#[test]
fn pdf_with_damaged_content_streams() {
    // Flip bytes in the middle of a real file (streams, xref): an error or
    // some text, never a panic.
    let mut bytes = std::fs::read(fixture("pdf/2014-04-24-0000071248.pdf")).expect("fixture");
    let noise = random_bytes(bytes.len() / 10, 11);
    let start = bytes.len() / 3;
    for (i, b) in noise.iter().enumerate() {
        bytes[start + i] ^= b;
    }
    let _ = load_bytes("damaged.pdf", &bytes);
}

#[test]
fn empty_files() {
    for bytes in [&b""[..], b"   \n\t\n"] {
        let err = load_bytes("vide.txt", bytes).unwrap_err();
        assert!(matches!(err, Error::Empty { .. }), "{err:?}");
        assert_eq!(err.to_string(), "vide.txt: empty file");
    }
    let err = load_bytes("menu.html", b"<html><body><nav>Menu</nav></body></html>").unwrap_err();
    assert!(matches!(err, Error::NoText { .. }), "{err:?}");
}

#[test]
fn binary_junk_named_pdf_and_random_txt() {
    let junk = random_bytes(10_000, 3);
    let err = load_bytes("rapport.pdf", &junk).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(err.to_string().contains("rapport.pdf"), "{err}");
    assert!(err.to_string().contains("binary data"), "{err}");
    // Random bytes named .txt: binary, refused (not decoded into mojibake).
    let err = load_bytes("notes.txt", &junk).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    // An image is binary data too.
    let png = [&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], &random_bytes(200, 5)].concat();
    assert!(matches!(
        load_bytes("photo.png", &png),
        Err(Error::Unsupported { .. })
    ));
}

#[test]
fn unsupported_markup_and_archives() {
    let err = load_bytes("flux.xml", b"<?xml version=\"1.0\"?><rss><channel/></rss>").unwrap_err();
    assert!(err.to_string().contains("XML with root <rss>"), "{err}");
    let ods = zip(&[(
        "mimetype",
        b"application/vnd.oasis.opendocument.spreadsheet",
    )]);
    assert!(matches!(
        load_bytes("budget.ods", &ods),
        Err(Error::Unsupported { .. })
    ));
    let plain = zip(&[("a.txt", b"bonjour")]);
    let err = load_bytes("archive.zip", &plain).unwrap_err();
    assert!(err.to_string().contains("zip archive"), "{err}");
    let mut corrupt = zip(&[("word/document.xml", b"<w:document/>")]);
    corrupt.truncate(corrupt.len() - 30);
    assert!(matches!(
        load_bytes("coupe.docx", &corrupt),
        Err(Error::Malformed { .. })
    ));
}

#[test]
fn large_text_file_limit() {
    let dir = std::env::temp_dir().join(format!("guichet-ingest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("gros.txt");
    {
        let mut f = std::fs::File::create(&path).expect("create");
        let line = "La mairie est ouverte du lundi au vendredi de 8h30 à 17h. ".repeat(16) + "\n";
        let mut written = 0;
        while written < 50 * 1024 * 1024 {
            f.write_all(line.as_bytes()).expect("write");
            written += line.len();
        }
    }
    let started = Instant::now();
    let opts = LoadOptions {
        max_bytes: 16 * 1024 * 1024,
        ..LoadOptions::default()
    };
    let err = load_file_with(&path, &opts).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { size, limit, .. } if size > 50_000_000 && limit == 16 * 1024 * 1024),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("gros.txt: too large"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused without reading"
    );
    // In memory too.
    let small = LoadOptions {
        max_bytes: 10,
        ..LoadOptions::default()
    };
    assert!(matches!(
        load_bytes_with("a.txt", b"plus de dix octets", &small),
        Err(Error::TooLarge {
            size: 18,
            limit: 10,
            ..
        })
    ));
    // Missing file: an I/O error naming the path.
    let err = load_file(&dir.join("absent.txt")).unwrap_err();
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("absent.txt"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn zip_bomb_in_docx() {
    // 80 MiB of one repeated byte compress to about 80 KiB.
    let mut document = b"<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>".to_vec();
    document.resize(80 * 1024 * 1024, b'a');
    let bytes = zip(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", &document),
    ]);
    drop(document);
    assert!(bytes.len() < 1024 * 1024, "{} bytes", bytes.len());
    let opts = LoadOptions {
        max_uncompressed: 64 * 1024 * 1024,
        ..LoadOptions::default()
    };
    let err = load_bytes_with("bombe.docx", &bytes, &opts).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit, .. } if limit == 64 * 1024 * 1024),
        "{err:?}"
    );
    // A tighter limit stops it earlier.
    let opts = LoadOptions {
        max_uncompressed: 1024 * 1024,
        ..LoadOptions::default()
    };
    assert!(matches!(
        load_bytes_with("bombe.docx", &bytes, &opts),
        Err(Error::TooLarge { .. })
    ));
    // Too many entries.
    let many: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("f{i}"), vec![b'x'])).collect();
    let mut entries: Vec<(&str, &[u8])> = vec![("word/document.xml", b"<w:document/>")];
    entries.extend(many.iter().map(|(n, c)| (n.as_str(), c.as_slice())));
    let opts = LoadOptions {
        max_zip_entries: 20,
        ..LoadOptions::default()
    };
    let err = load_bytes_with("beaucoup.docx", &zip(&entries), &opts).unwrap_err();
    assert!(err.to_string().contains("entries"), "{err}");
}

#[test]
fn absurdly_deep_nesting_is_refused_not_a_stack_overflow() {
    let html = format!(
        "<html><body>{}x{}</body></html>",
        "<div>".repeat(3_000),
        "</div>".repeat(3_000)
    );
    let err = load_bytes("profond.html", html.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::TooDeep { limit: 256, .. }), "{err}");
    assert!(err.to_string().contains("imbrication"), "{err}");
    let xml = format!(
        "<?xml version=\"1.0\"?><Publication spUrl=\"https://example.invalid/F1\"><dc:title xmlns:dc=\"http://purl.org/dc/elements/1.1/\">T</dc:title><Texte>{}x{}</Texte></Publication>",
        "<Chapitre>".repeat(50_000),
        "</Chapitre>".repeat(50_000)
    );
    let err = load_bytes("profond.xml", xml.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::TooDeep { .. }), "{err}");
}
