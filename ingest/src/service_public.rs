//! Service-Public.fr "vosdroits" XML fiches (DILA schema 3.3), with
//! `roxmltree` (a read-only DOM: small, fast, no unsafe, and it keeps the
//! text between inline elements that the fiches rely on).
//!
//! What is kept, and where:
//! - `dc:title` → [`Document::title`] (required: a fiche without one is
//!   [`Error::Malformed`]); `spUrl` → `url`; `dc:date` (`modified
//!   2019-08-28`), else `dateDerniereModificationImportante` → `date`.
//! - Metadata: `sp_id`, `sp_type`, `audience`, `subject`, `description`,
//!   `breadcrumb` (the `FilDAriane` levels joined with " > "), `dossier`,
//!   `sous_theme`, `cerfa` (every `numerocerfa`, ", "-joined).
//! - Sections, in document order: the `Introduction` and `Texte`; each
//!   `Situation` (tab) of a `ListeSituations`, each `Chapitre` and
//!   `SousChapitre`, each `Cas` of a `BlocCas` adds its `Titre` to the
//!   section path; `ASavoir`, `Attention`, `ANoter`, `Rappel` become a
//!   sub-section named by their title ("À savoir"); `OuSAdresser` a
//!   sub-section "Où s'adresser" with the office's name and details;
//!   `ServiceEnLigne` / `NoticeLiee` (forms, online services) a paragraph
//!   with their kind, title and Cerfa number, so that "cerfa 12669" finds
//!   them lexically. At the end: "Services en ligne et formulaires",
//!   "Références" (legal texts), "Pour en savoir plus", "Définitions".
//! - Lists give list items, tables give rows (cells joined with " | ").
//! - A dossier's (`N…`) lists of fiches (`SousDossier`, `Fiche`) become list
//!   items: they are its table of contents.
//! - A resource with no text of its own (a form, a link) gets its
//!   description, else its title, as its one paragraph.
//! - Dropped: `Condition` trees (the logic of guided forms), and links to
//!   other fiches (`VoirAussi`, `QuestionReponse`, `FicheLiee`, `Dossier`…),
//!   which are titles of other documents, not content of this one.

use std::collections::BTreeMap;

use roxmltree::{Document as XmlDocument, Node, ParsingOptions};

use crate::{clean, find_iso_date, text, Block, Document, Error, Format, Result, SectionBuilder};

/// Loads a fiche.
pub(crate) fn load(name: &str, bytes: &[u8], opts: &crate::LoadOptions) -> Result<Document> {
    let source = std::str::from_utf8(bytes)
        .map_err(|e| Error::malformed(name, format!("the XML is not valid UTF-8: {e}")))?;
    let source = source.trim_start_matches('\u{FEFF}');
    let xml = XmlDocument::parse_with_options(
        source,
        ParsingOptions {
            allow_dtd: true,
            ..ParsingOptions::default()
        },
    )
    .map_err(|e| Error::malformed(name, format!("invalid XML: {e}")))?;
    crate::check_xml_depth(name, &xml, opts.max_depth)?;
    let root = xml.root_element();

    let title = child(root, "title")
        .map(|n| clean::markup_inline(&inline_text(n)))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::malformed(name, "the fiche has no title (dc:title)"))?;

    let mut metadata = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        if !v.is_empty() {
            metadata.insert(k.to_string(), v);
        }
    };
    put(
        "sp_id",
        root.attribute("ID").unwrap_or_default().to_string(),
    );
    put(
        "sp_type",
        root.attribute("type").unwrap_or_default().to_string(),
    );
    for (key, tag) in [
        ("audience", "Audience"),
        ("subject", "subject"),
        ("description", "description"),
        ("sous_theme", "SousThemePere"),
    ] {
        put(
            key,
            child(root, tag)
                .map(|n| clean::markup_inline(&inline_text(n)))
                .unwrap_or_default(),
        );
    }
    if let Some(dossier) = child(root, "DossierPere").and_then(|d| child(d, "Titre")) {
        put("dossier", clean::markup_inline(&inline_text(dossier)));
    }
    if let Some(fil) = child(root, "FilDAriane") {
        let levels: Vec<String> = fil
            .children()
            .filter(|n| n.has_tag_name("Niveau"))
            .map(|n| clean::markup_inline(&inline_text(n)))
            .filter(|t| !t.is_empty())
            .collect();
        put("breadcrumb", levels.join(" > "));
    }
    let mut cerfa: Vec<String> = Vec::new();
    for n in root.descendants() {
        if let Some(c) = n.attribute("numerocerfa") {
            let c = c.trim().to_string();
            if !c.is_empty() && !cerfa.contains(&c) {
                cerfa.push(c);
            }
        }
    }
    put("cerfa", cerfa.join(", "));

    let date = child(root, "date")
        .and_then(|n| find_iso_date(&inline_text(n)))
        .or_else(|| {
            root.attribute("dateDerniereModificationImportante")
                .and_then(find_iso_date)
        });

    let mut walker = Walker::default();
    let mut forms = Vec::new();
    let mut references = Vec::new();
    let mut more = Vec::new();
    let mut definitions = Vec::new();
    for node in root.children().filter(Node::is_element) {
        match node.tag_name().name() {
            "Introduction" | "Texte" => walker.content(node, &[]),
            "ListeSituations" => {
                for situation in node.children().filter(|n| n.has_tag_name("Situation")) {
                    let path = with_title(&[], situation);
                    walker.content(situation, &path);
                }
            }
            "SousDossier" => {
                let path = with_title(&[], node);
                for fiche in node.children().filter(|n| n.has_tag_name("Fiche")) {
                    walker.push(
                        &path,
                        Block::ListItem(clean::markup_inline(&inline_text(fiche))),
                    );
                }
            }
            // A dossier's own list of fiches: its table of contents.
            "Fiche" => {
                walker.push(
                    &[],
                    Block::ListItem(clean::markup_inline(&inline_text(node))),
                );
            }
            "OuSAdresser" => walker.where_to_go(node, &[]),
            "ServiceEnLigne" | "NoticeLiee" => forms.push(service_line(node)),
            "Reference" => references.push(titled_line(node)),
            "PourEnSavoirPlus" => more.push(titled_line(node)),
            "Definition" => {
                let term = title_of(node).unwrap_or_default();
                let body = child(node, "Texte")
                    .map(|t| clean::markup_inline(&block_text(t)))
                    .unwrap_or_default();
                definitions.push(format!("{term} : {body}"));
            }
            _ => {}
        }
    }
    for (heading, items) in [
        ("Services en ligne et formulaires", forms),
        ("Références", references),
        ("Pour en savoir plus", more),
        ("Définitions", definitions),
    ] {
        let path = vec![heading.to_string()];
        for item in items {
            walker.push(&path, Block::ListItem(item));
        }
    }

    let mut sections = walker.sections.finish();
    if sections.is_empty() {
        // Resources (R…) that are only a form or a link: their description,
        // else their title, is what a search must find.
        let text = metadata
            .get("description")
            .cloned()
            .unwrap_or_else(|| title.clone());
        let mut b = SectionBuilder::default();
        b.push(&[], None, Block::Paragraph(text));
        sections = b.finish();
    }
    Ok(Document {
        title,
        format: Format::ServicePublic,
        url: root.attribute("spUrl").map(|u| u.trim().to_string()),
        date,
        metadata,
        sections,
    })
}

/// The first child element with this local name.
fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

/// All the text under a node except `Condition` subtrees, as is (the
/// caller normalises).
fn inline_text(node: Node) -> String {
    let mut out = String::new();
    collect_text(node, &mut out);
    out
}

fn collect_text(node: Node, out: &mut String) {
    for n in node.children() {
        if n.is_text() {
            out.push_str(n.text().unwrap_or_default());
        } else if n.is_element() && !n.has_tag_name("Condition") {
            collect_text(n, out);
        }
    }
}

/// The text of a container of paragraphs and lists, blocks separated by
/// spaces (for table cells and definitions).
fn block_text(node: Node) -> String {
    let mut parts = Vec::new();
    for n in node.descendants().filter(|n| n.has_tag_name("Paragraphe")) {
        parts.push(clean::markup_inline(&inline_text(n)));
    }
    if parts.is_empty() {
        parts.push(clean::markup_inline(&inline_text(node)));
    }
    parts.retain(|p| !p.is_empty());
    parts.join(" ; ")
}

/// A node's `Titre` child as clean text.
fn title_of(node: Node) -> Option<String> {
    child(node, "Titre")
        .map(|t| clean::markup_inline(&inline_text(t)))
        .filter(|t| !t.is_empty())
}

/// `path` extended with the node's title, if it has one.
fn with_title(path: &[String], node: Node) -> Vec<String> {
    let mut p = path.to_vec();
    if let Some(t) = title_of(node) {
        p.push(t);
    }
    p
}

/// "Title (complement)" for references and links.
fn titled_line(node: Node) -> String {
    let mut line = title_of(node).unwrap_or_default();
    if let Some(c) = child(node, "Complement") {
        let c = clean::markup_inline(&inline_text(c));
        if !c.is_empty() {
            line = format!("{line} ({c})");
        }
    }
    line
}

/// "Formulaire : Demander son inscription… (Cerfa n° 12669*02)".
fn service_line(node: Node) -> String {
    let kind = node.attribute("type").unwrap_or("Service en ligne");
    let mut line = format!("{kind} : {}", title_of(node).unwrap_or_default());
    if let Some(c) = node.attribute("numerocerfa") {
        line.push_str(&format!(" (Cerfa n° {})", c.trim()));
    }
    if let Some(source) = child(node, "Source") {
        let s = clean::markup_inline(&inline_text(source));
        if !s.is_empty() {
            line.push_str(&format!(" — {s}"));
        }
    }
    line
}

/// Walks content elements, collecting sections.
#[derive(Default)]
struct Walker {
    sections: SectionBuilder,
}

impl Walker {
    fn push(&mut self, path: &[String], block: Block) {
        self.sections.push(path, None, block);
    }

    /// Walks the children of a content container under `path`.
    fn content(&mut self, node: Node, path: &[String]) {
        for n in node.children() {
            if n.is_text() {
                let t = clean::markup_inline(n.text().unwrap_or_default());
                self.push(path, Block::Paragraph(t));
                continue;
            }
            if !n.is_element() {
                continue;
            }
            match n.tag_name().name() {
                "Paragraphe" => {
                    self.push(
                        path,
                        Block::Paragraph(clean::markup_inline(&inline_text(n))),
                    );
                }
                "Chapitre" | "SousChapitre" | "Cas" | "Situation" => {
                    let p = with_title(path, n);
                    self.content(n, &p);
                }
                "ASavoir" | "Attention" | "ANoter" | "Rappel" | "Avertissement" => {
                    let mut p = path.to_vec();
                    p.push(title_of(n).unwrap_or_else(|| match n.tag_name().name() {
                        "ASavoir" => "À savoir".to_string(),
                        "ANoter" => "À noter".to_string(),
                        other => other.to_string(),
                    }));
                    self.content(n, &p);
                }
                "Liste" => self.list(n, path),
                "Tableau" => self.table(n, path),
                "OuSAdresser" => self.where_to_go(n, path),
                "ServiceEnLigne" | "NoticeLiee" => {
                    self.push(path, Block::Paragraph(service_line(n)));
                    if let Some(intro) = child(n, "Introduction") {
                        self.content(intro, path);
                    }
                }
                "LienWeb" | "PourEnSavoirPlus" => {
                    self.push(path, Block::Paragraph(titled_line(n)));
                }
                // Headings are read by their parent; conditions are the
                // logic of guided forms, not content.
                "Titre" | "Condition" | "Source" | "Colonne" | "RessourceWeb" => {}
                _ => self.content(n, path),
            }
        }
    }

    /// One list item per `Item` (nested lists give their own items).
    fn list(&mut self, node: Node, path: &[String]) {
        for item in node.children().filter(|n| n.has_tag_name("Item")) {
            let mut parts = Vec::new();
            let mut nested = Vec::new();
            for n in item.children().filter(Node::is_element) {
                if n.has_tag_name("Liste") {
                    nested.push(n);
                } else {
                    parts.push(clean::markup_inline(&inline_text(n)));
                }
            }
            parts.retain(|p| !p.is_empty());
            let mut line = String::new();
            for p in parts {
                text::join_lines(&mut line, &p);
            }
            self.push(path, Block::ListItem(line));
            for n in nested {
                self.list(n, path);
            }
        }
    }

    /// A caption paragraph and one row per `Rangée`.
    fn table(&mut self, node: Node, path: &[String]) {
        if let Some(t) = title_of(node) {
            self.push(path, Block::Paragraph(t));
        }
        for row in node.children().filter(|n| n.has_tag_name("Rangée")) {
            let cells: Vec<String> = row
                .children()
                .filter(|n| n.has_tag_name("Cellule"))
                .map(block_text)
                .collect();
            self.push(path, Block::TableRow(cells.join(" | ")));
        }
    }

    /// "Où s'adresser": the office's name, then its details.
    fn where_to_go(&mut self, node: Node, path: &[String]) {
        let mut p = path.to_vec();
        p.push("Où s'adresser".to_string());
        if let Some(t) = title_of(node) {
            self.push(&p, Block::Paragraph(t));
        }
        if let Some(texte) = child(node, "Texte") {
            self.content(texte, &p);
        }
        for n in node.children().filter(|n| n.has_tag_name("RessourceWeb")) {
            if let Some(url) = n.attribute("URL") {
                self.push(&p, Block::Paragraph(format!("Site : {url}")));
            }
        }
    }
}
