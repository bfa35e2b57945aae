//! HTML, Markdown, plain text, DOCX and ODT, on small documents written
//! here.

use std::io::{Cursor, Write};

use guichet_ingest::{load_bytes, Block, Format};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// A zip archive from (name, content) pairs, the first one stored (as the
/// ODF `mimetype` must be).
pub fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (i, (name, content)) in entries.iter().enumerate() {
        let method = if i == 0 {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        w.start_file(
            *name,
            SimpleFileOptions::default().compression_method(method),
        )
        .expect("start");
        w.write_all(content).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

const HTML: &str = r#"<!DOCTYPE html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <title>Cantine scolaire | Ville de Saint-Exemple</title>
  <meta name="description" content="Inscription et tarifs de la cantine">
  <meta property="article:modified_time" content="2024-03-05T10:00:00+01:00">
  <link rel="canonical" href="https://www.saint-exemple.fr/cantine">
  <style>body { font-family: sans-serif }</style>
  <script>var tracker = "ne pas indexer";</script>
</head>
<body>
  <header class="site-header"><a href="/">Accueil</a> <span>Mairie de Saint-Exemple</span></header>
  <nav id="menu"><ul><li><a href="/etat-civil">État civil</a></li><li><a href="/urbanisme">Urbanisme</a></li></ul></nav>
  <div class="breadcrumb">Accueil › Enfance › Cantine</div>
  <main>
    <h1>Cantine scolaire</h1>
    <p>La cantine accueille les enfants des écoles <strong>maternelles</strong> et
       élémentaires de la commune.</p>
    <h2>Inscription</h2>
    <p>L'inscription se fait en mairie ou en ligne sur le portail famille.
    <p>Pièces à fournir :
    <ul>
      <li>un justificatif de domicile</li>
      <li>le carnet de vaccination
        <ul><li>pages des vaccins obligatoires</li></ul>
      </li>
    </ul>
    <h2>Tarifs</h2>
    <h3>Tarifs 2024</h3>
    <table>
      <tr><th>Quotient familial</th><th>Prix du repas</th></tr>
      <tr><td>Moins de 500 €</td><td>1,00 €</td></tr>
      <tr><td>500 € et plus</td><td>3,38 €</td></tr>
    </table>
    <aside>À lire aussi : les centres de loisirs</aside>
    <button>Imprimer</button>
  </main>
  <footer>© Mairie de Saint-Exemple — Mentions légales — Plan du site</footer>
  <div id="cookie-banner" class="cookie">Ce site utilise des cookies.</div>
</body>
</html>"#;

#[test]
fn html_main_content_only() {
    let doc = load_bytes("cantine.html", HTML.as_bytes()).expect("loads");
    assert_eq!(doc.format, Format::Html);
    assert_eq!(doc.title, "Cantine scolaire");
    assert_eq!(
        doc.url.as_deref(),
        Some("https://www.saint-exemple.fr/cantine")
    );
    assert_eq!(doc.date.as_deref(), Some("2024-03-05"));
    assert_eq!(doc.metadata.get("lang").map(String::as_str), Some("fr"));
    let text = doc.plain_text();
    for dropped in [
        "tracker",
        "font-family",
        "Accueil",
        "État civil",
        "Urbanisme",
        "Mentions légales",
        "cookies",
        "Imprimer",
        "À lire aussi",
        "Mairie de Saint-Exemple",
    ] {
        assert!(!text.contains(dropped), "{dropped:?} kept in:\n{text}");
    }
    assert!(text.contains(
        "La cantine accueille les enfants des écoles maternelles et élémentaires de la commune."
    ));
    let section = |path: &[&str]| {
        doc.sections
            .iter()
            .find(|s| s.path == path)
            .unwrap_or_else(|| panic!("no section {path:?} in {:#?}", doc.sections))
    };
    let inscription = section(&["Inscription"]);
    assert_eq!(
        inscription.blocks,
        vec![
            Block::Paragraph(
                "L'inscription se fait en mairie ou en ligne sur le portail famille.".into()
            ),
            Block::Paragraph("Pièces à fournir :".into()),
            Block::ListItem("un justificatif de domicile".into()),
            Block::ListItem("le carnet de vaccination".into()),
            Block::ListItem("pages des vaccins obligatoires".into()),
        ]
    );
    let tarifs = section(&["Tarifs", "Tarifs 2024"]);
    assert!(tarifs
        .blocks
        .contains(&Block::TableRow("500 € et plus | 3,38 €".into())));
}

#[test]
fn html_links_are_read_from_the_whole_page_for_a_crawler() {
    let page = br#"<html><head><base href="/fr/"><meta name="robots" content="NOINDEX, follow"></head>
<body><nav class="menu"><a href="demarches.html">Demarches</a> <a href=" /contact ">Contact</a></nav>
<main><h1>Accueil</h1><p>Voir <a href="demarches.html">les demarches</a> et
<map><area href="plan.html"></map> <a>sans lien</a> <a href="">vide</a>.</p></main></body></html>"#;
    let doc = load_bytes("index.html", page).unwrap();
    assert_eq!(
        doc.metadata.get("links").map(String::as_str),
        Some("demarches.html\n/contact\nplan.html"),
        "menus included, each link once, trimmed, empty ones left out"
    );
    assert_eq!(
        doc.metadata.get("base_href").map(String::as_str),
        Some("/fr/")
    );
    assert_eq!(
        doc.metadata.get("robots").map(String::as_str),
        Some("noindex, follow")
    );
    assert!(
        !doc.plain_text().contains("Contact"),
        "the menu is still not content"
    );
}

#[test]
fn html_without_main_uses_body() {
    let html = "<html><body><nav>Menu</nav><h2>Horaires</h2><p>Ouvert du lundi au vendredi.</p><footer>Pied</footer></body></html>";
    let doc = load_bytes("page", html.as_bytes()).expect("loads");
    assert_eq!(doc.format, Format::Html);
    assert_eq!(doc.title, "page");
    assert_eq!(doc.sections.len(), 1);
    assert_eq!(doc.sections[0].path, ["Horaires"]);
    assert_eq!(doc.plain_text(), "Ouvert du lundi au vendredi.\n");
}

#[test]
fn markdown_headings_lists_tables() {
    let md = "---\ntitle: Guide des démarches\ndate: 2024-01-15\n---\n\n\
              Introduction du guide.\n\n\
              ## État civil\n\nLes actes sont délivrés **gratuitement**.\n\n\
              ### Mariage\n\n- Dossier à retirer en mairie\n- Publication des bans\n  - dix jours avant\n\n\
              ## Tarifs\n\n| Service | Prix |\n| --- | --- |\n| Photocopie | 0,18 € |\n\n\
              <div>html ignoré</div>\n";
    let doc = load_bytes("guide.md", md.as_bytes()).expect("loads");
    assert_eq!(doc.format, Format::Markdown);
    assert_eq!(doc.title, "Guide des démarches");
    assert_eq!(doc.date.as_deref(), Some("2024-01-15"));
    assert_eq!(doc.sections[0].path, Vec::<String>::new());
    assert_eq!(
        doc.sections[0].blocks,
        vec![Block::Paragraph("Introduction du guide.".into())]
    );
    let mariage = doc
        .sections
        .iter()
        .find(|s| s.path == ["État civil", "Mariage"])
        .expect("mariage");
    assert_eq!(
        mariage.blocks,
        vec![
            Block::ListItem("Dossier à retirer en mairie".into()),
            Block::ListItem("Publication des bans".into()),
            Block::ListItem("dix jours avant".into()),
        ]
    );
    let tarifs = doc
        .sections
        .iter()
        .find(|s| s.path == ["Tarifs"])
        .expect("tarifs");
    assert_eq!(
        tarifs.blocks,
        vec![
            Block::TableRow("Service | Prix".into()),
            Block::TableRow("Photocopie | 0,18 €".into())
        ]
    );
    assert!(!doc.plain_text().contains("html ignoré"));
}

#[test]
fn markdown_detected_without_extension() {
    let doc = load_bytes(
        "notes",
        b"# Horaires\n\nLa mairie ouvre a 8h30.\n\n## Samedi\n\nFerme.\n",
    )
    .expect("loads");
    assert_eq!(doc.format, Format::Markdown);
    assert_eq!(doc.title, "Horaires");
    // A .txt name keeps it text.
    let doc = load_bytes("notes.txt", b"# Horaires\n\nLa mairie ouvre a 8h30.\n").expect("loads");
    assert_eq!(doc.format, Format::Text);
}

#[test]
fn plain_text_paragraphs_lists_and_legacy_encoding() {
    let text = "Horaires de la mairie\n\nLa mairie est ouverte du lundi\nau vendredi.\n\n- matin : 8h30-12h\n- après-midi : 14h-17h\n";
    let doc = load_bytes("horaires.txt", text.as_bytes()).expect("loads");
    assert_eq!(doc.format, Format::Text);
    assert_eq!(doc.title, "horaires");
    assert_eq!(
        doc.sections[0].blocks,
        vec![
            Block::Paragraph("Horaires de la mairie".into()),
            Block::Paragraph("La mairie est ouverte du lundi au vendredi.".into()),
            Block::ListItem("matin : 8h30-12h".into()),
            Block::ListItem("après-midi : 14h-17h".into()),
        ]
    );
    // Windows-1252: "État civil : délivrance gratuite"
    let latin = b"\xc9tat civil : d\xe9livrance gratuite";
    let doc = load_bytes("ancien.txt", latin).expect("loads");
    assert_eq!(doc.plain_text(), "État civil : délivrance gratuite\n");
    assert_eq!(
        doc.metadata.get("encoding").map(String::as_str),
        Some("windows-1252")
    );
    // Form feeds number pages (pdftotext output).
    let doc = load_bytes("pages.txt", "page un\u{c}page deux".as_bytes()).expect("loads");
    assert_eq!(
        doc.sections.iter().map(|s| s.page).collect::<Vec<_>>(),
        [Some(1), Some(2)]
    );
}

/// A minimal DOCX: a title, headings in English and French style ids, a
/// list item, a table and core properties.
pub fn docx() -> Vec<u8> {
    let w = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {w}><w:body>
<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>Règlement de la salle polyvalente</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Réservation</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">La salle se réserve </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>trois mois</w:t></w:r><w:r><w:t xml:space="preserve"> à l'avance.</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Titre2"/></w:pPr><w:r><w:t>Caution</w:t></w:r></w:p>
<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>Chèque de 500 €</w:t></w:r></w:p>
<w:p><w:r><w:delText>texte supprimé</w:delText></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Habitants</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>150 €</w:t></w:r></w:p></w:tc></w:tr></w:tbl>
</w:body></w:document>"#
    );
    let core = r#"<?xml version="1.0" encoding="UTF-8"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"><dcterms:modified>2023-06-01T08:00:00Z</dcterms:modified></cp:coreProperties>"#;
    let types = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#;
    zip(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("word/document.xml", document.as_bytes()),
        ("docProps/core.xml", core.as_bytes()),
    ])
}

#[test]
fn docx_headings_lists_tables() {
    let doc = load_bytes("reglement.docx", &docx()).expect("loads");
    assert_eq!(doc.format, Format::Docx);
    assert_eq!(doc.title, "Règlement de la salle polyvalente");
    assert_eq!(doc.date.as_deref(), Some("2023-06-01"));
    assert_eq!(doc.sections[0].path, ["Réservation"]);
    assert_eq!(
        doc.sections[0].blocks,
        vec![Block::Paragraph(
            "La salle se réserve trois mois à l'avance.".into()
        )]
    );
    assert_eq!(doc.sections[1].path, ["Réservation", "Caution"]);
    assert_eq!(
        doc.sections[1].blocks,
        vec![
            Block::ListItem("Chèque de 500 €".into()),
            Block::TableRow("Habitants | 150 €".into())
        ]
    );
    assert!(!doc.plain_text().contains("supprimé"));
    // Detected from content, whatever the name.
    assert_eq!(
        load_bytes("upload.bin", &docx()).expect("loads").format,
        Format::Docx
    );
}

#[test]
fn odt_headings_lists_tables() {
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0">
<office:body><office:text>
<text:sequence-decls/>
<text:h text:outline-level="1">Déchets</text:h>
<text:p>La collecte a lieu le<text:s/>mardi.<text:note><text:note-body><text:p>note</text:p></text:note-body></text:note></text:p>
<text:h text:outline-level="2">Encombrants</text:h>
<text:list><text:list-item><text:p>sur rendez-vous</text:p></text:list-item><text:list-item><text:p>gratuit</text:p></text:list-item></text:list>
<table:table><table:table-row><table:table-cell><text:p>Verre</text:p></table:table-cell><table:table-cell><text:p>Borne</text:p></table:table-cell></table:table-row></table:table>
</office:text></office:body></office:document-content>"#;
    let meta = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta><dc:title>Guide du tri</dc:title><dc:date>2022-09-30T12:00:00</dc:date></office:meta></office:document-meta>"#;
    let bytes = zip(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", content.as_bytes()),
        ("meta.xml", meta.as_bytes()),
    ]);
    let doc = load_bytes("tri.odt", &bytes).expect("loads");
    assert_eq!(doc.format, Format::Odt);
    assert_eq!(doc.title, "Guide du tri");
    assert_eq!(doc.date.as_deref(), Some("2022-09-30"));
    assert_eq!(doc.sections[0].path, ["Déchets"]);
    assert_eq!(
        doc.sections[0].blocks,
        vec![Block::Paragraph("La collecte a lieu le mardi.".into())]
    );
    assert_eq!(doc.sections[1].path, ["Déchets", "Encombrants"]);
    assert_eq!(
        doc.sections[1].blocks,
        vec![
            Block::ListItem("sur rendez-vous".into()),
            Block::ListItem("gratuit".into()),
            Block::TableRow("Verre | Borne".into()),
        ]
    );
}

#[test]
fn format_names() {
    for f in Format::ALL {
        assert_eq!(f.to_string(), f.as_str());
        let json = serde_json::to_string(&f).expect("serialises");
        assert_eq!(json, format!("\"{}\"", f.as_str()));
        assert_eq!(serde_json::from_str::<Format>(&json).expect("parses"), f);
    }
    assert_eq!(Format::ServicePublic.to_string(), "servicepublic");
}
