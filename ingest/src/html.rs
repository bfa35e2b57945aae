//! HTML, main content only.
//!
//! Parser: `scraper`, i.e. html5ever, the HTML5 parsing algorithm of
//! browsers (Servo's). Town-hall sites are often old CMS output with
//! unclosed `<p>` and `<li>`, stray tags and tables for layout; html5ever
//! builds the same tree a browser would, where `tl` (faster, but not
//! spec-compliant) would nest such pages wrongly. We only walk the tree, so
//! `scraper`'s CSS selectors are not used; its default features (a CLI and
//! error strings) are off.
//!
//! What is kept: the content of the first `<main>` (or `role="main"`),
//! else of the first `<article>`, else of `<body>`. Dropped everywhere:
//! `script`, `style`, `noscript`, `template`, `nav`, `aside`, form
//! controls, `svg`/`canvas`/`iframe`, elements with `hidden` or
//! `aria-hidden="true"`, roles `navigation`/`banner`/`contentinfo`/
//! `complementary`/`search`, and elements whose id or class is a menu word
//! (`menu`, `nav`, `breadcrumb`, `footer`, `sidebar`, `cookie`…). `<header>`
//! and `<footer>` are dropped too, except a `<header>` inside the chosen
//! `<main>`/`<article>` (it holds the article's own title).
//!
//! Structure: `h1`–`h6` set the section path (an `h1` equal to the title
//! is not repeated in it); `p`, `div` and other blocks give paragraphs;
//! `li` list items; `tr` table rows (cells joined with " | ").
//! Title: the first `h1` of the content, else `<title>`. URL: `<link
//! rel="canonical">` or `og:url`. Date: the first ISO date of a
//! `dcterms.modified`/`article:modified_time`/`date`… meta, or of a
//! `<time datetime>` in the content.
//!
//! For a crawler, the whole page (menus included: that is how a site is
//! navigated) is also read for its links: metadata `links` holds the
//! `href` of every `<a>` and `<area>`, as written, newline-separated, at
//! most [`MAX_LINKS`]; `base_href` the `<base href>`; `robots` the
//! `<meta name="robots">` directives (`noindex`, `nofollow`), lowercased.

use std::collections::BTreeMap;

use scraper::{ElementRef, Html, Node};

use crate::{clean, default_title, find_iso_date, Block, Document, Format, Result, SectionBuilder};

/// Most links kept from one page (a town's page has tens to a few hundred).
pub(crate) const MAX_LINKS: usize = 2_000;

/// Elements whose whole subtree is never content.
const SKIP: &[&str] = &[
    "script", "style", "noscript", "template", "nav", "aside", "button", "select", "option",
    "input", "textarea", "svg", "canvas", "iframe", "object", "embed", "head", "dialog",
];

/// Roles of navigation landmarks.
const SKIP_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "menu",
    "menubar",
];

/// Id or class tokens of menus and page furniture.
const SKIP_TOKENS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "main-menu",
    "mainmenu",
    "breadcrumb",
    "breadcrumbs",
    "fil-ariane",
    "footer",
    "site-footer",
    "header",
    "site-header",
    "sidebar",
    "cookie",
    "cookies",
    "cookie-banner",
    "skip-link",
    "skiplinks",
    "share",
    "social",
    "pagination",
];

/// Elements that end a paragraph.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "dl",
    "figure",
    "figcaption",
    "address",
    "ul",
    "ol",
    "hr",
    "table",
    "caption",
    "details",
    "summary",
    "form",
    "fieldset",
    "legend",
    "body",
    "html",
    "center",
];

/// Elements that need no end tag (void, or closed by the next sibling in
/// old HTML): they do not nest, so the pre-scan does not count them.
const UNNESTED: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup", "thead", "tbody",
    "tfoot", "colgroup", "rb", "rt", "rp", "param", "keygen", "basefont", "frame",
];

/// A linear estimate of the element nesting of `source`: start tags minus
/// end tags, the elements of [`UNNESTED`] left aside. html5ever's tree
/// builder is quadratic on absurd nesting (150,000 nested `<div><span>`
/// take over a minute), so a page this estimate puts far past the limit
/// is refused before it is parsed; the exact depth is checked after.
fn nesting_estimate(source: &str) -> usize {
    let bytes = source.as_bytes();
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut i = 0;
    while let Some(p) = bytes[i..].iter().position(|&b| b == b'<') {
        i += p + 1;
        let closing = bytes.get(i) == Some(&b'/');
        let start = i + usize::from(closing);
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(bytes.len(), |e| start + e);
        if end == start {
            continue;
        }
        let tag = source[start..end].to_ascii_lowercase();
        if UNNESTED.contains(&tag.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

/// Loads an HTML page.
pub(crate) fn load(name: &str, bytes: &[u8], opts: &crate::LoadOptions) -> Result<Document> {
    let (source, _) = clean::decode_text(bytes);
    // Four times the limit: unclosed elements of sloppy pages inflate the
    // estimate, never the real tree.
    if nesting_estimate(&source) > opts.max_depth.saturating_mul(4) {
        return Err(crate::Error::TooDeep {
            name: name.to_string(),
            limit: opts.max_depth,
        });
    }
    let html = Html::parse_document(&source);
    let root = html.root_element();
    // The walk below is recursive: refuse absurd nesting.
    let mut depths = std::collections::HashMap::new();
    for node in html.tree.root().descendants() {
        let d = node
            .parent()
            .and_then(|p| depths.get(&p.id()).copied())
            .unwrap_or(0)
            + 1;
        if d > opts.max_depth {
            return Err(crate::Error::TooDeep {
                name: name.to_string(),
                limit: opts.max_depth,
            });
        }
        depths.insert(node.id(), d);
    }
    let elements: Vec<ElementRef> = root.descendent_elements().collect();
    let find = |pred: &dyn Fn(&ElementRef) -> bool| elements.iter().find(|e| pred(e)).copied();
    let content = find(&|e| e.value().name() == "main" || e.value().attr("role") == Some("main"))
        .or_else(|| find(&|e| e.value().name() == "article"))
        .or_else(|| find(&|e| e.value().name() == "body"))
        .unwrap_or(root);
    let in_main = matches!(content.value().name(), "main" | "article")
        || content.value().attr("role") == Some("main");

    let head_title = find(&|e| e.value().name() == "title")
        .map(|t| clean::inline(&t.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let h1 = content
        .descendent_elements()
        .find(|e| e.value().name() == "h1" && !skipped(e, in_main))
        .map(|e| clean::markup_inline(&e.text().collect::<String>()))
        .filter(|t| !t.is_empty());
    let title = h1
        .clone()
        .or(head_title)
        .unwrap_or_else(|| default_title(name));

    let mut metadata = BTreeMap::new();
    let mut url = None;
    let mut date = None;
    let mut links: Vec<&str> = Vec::new();
    let mut seen_links = std::collections::HashSet::new();
    for e in &elements {
        let v = e.value();
        match v.name() {
            "a" | "area" => {
                if let Some(href) = v.attr("href").map(str::trim) {
                    if !href.is_empty() && links.len() < MAX_LINKS && seen_links.insert(href) {
                        links.push(href);
                    }
                }
            }
            "base" => {
                if let Some(href) = v.attr("href") {
                    metadata
                        .entry("base_href".to_string())
                        .or_insert_with(|| href.trim().to_string());
                }
            }
            "html" => {
                if let Some(lang) = v.attr("lang") {
                    metadata.insert("lang".to_string(), lang.to_string());
                }
            }
            "link"
                if v.attr("rel")
                    .is_some_and(|r| r.eq_ignore_ascii_case("canonical")) =>
            {
                url = url.or_else(|| v.attr("href").map(str::to_string));
            }
            "meta" => {
                let key = v
                    .attr("name")
                    .or_else(|| v.attr("property"))
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let value = v.attr("content").unwrap_or_default();
                match key.as_str() {
                    "og:url" => url = url.or_else(|| Some(value.to_string())),
                    "robots" => {
                        metadata.insert("robots".to_string(), value.to_ascii_lowercase());
                    }
                    "description" => {
                        metadata.insert("description".to_string(), clean::inline(value));
                    }
                    "dcterms.modified"
                    | "article:modified_time"
                    | "date"
                    | "dc.date"
                    | "dcterms.date"
                    | "article:published_time"
                    | "last-modified" => {
                        date = date.or_else(|| find_iso_date(value));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if !links.is_empty() {
        metadata.insert("links".to_string(), links.join("\n"));
    }
    if date.is_none() {
        date = content
            .descendent_elements()
            .filter(|e| e.value().name() == "time")
            .find_map(|e| e.value().attr("datetime").and_then(find_iso_date));
    }

    let mut walker = Walker {
        in_main,
        title_h1: h1,
        headings: Vec::new(),
        buffer: String::new(),
        sections: SectionBuilder::default(),
    };
    walker.walk(content);
    walker.flush();
    Ok(Document {
        title,
        format: Format::Html,
        url,
        date,
        metadata,
        sections: walker.sections.finish(),
    })
}

/// Whether an element (and its subtree) is page furniture.
fn skipped(e: &ElementRef, in_main: bool) -> bool {
    let v = e.value();
    let name = v.name();
    if SKIP.contains(&name) || (name == "footer") || (name == "header" && !in_main) {
        return true;
    }
    if v.attr("hidden").is_some() || v.attr("aria-hidden") == Some("true") {
        return true;
    }
    if v.attr("role")
        .is_some_and(|r| SKIP_ROLES.contains(&r.to_ascii_lowercase().as_str()))
    {
        return true;
    }
    let token_hit = |s: &str| {
        s.split_whitespace()
            .any(|t| SKIP_TOKENS.contains(&t.to_ascii_lowercase().as_str()))
    };
    v.attr("id").is_some_and(token_hit) || v.attr("class").is_some_and(token_hit)
}

struct Walker {
    in_main: bool,
    /// The h1 used as the title, not repeated in section paths.
    title_h1: Option<String>,
    /// Open headings: (level, text).
    headings: Vec<(u8, String)>,
    /// Inline text of the paragraph being read.
    buffer: String,
    sections: SectionBuilder,
}

impl Walker {
    fn path(&self) -> Vec<String> {
        self.headings.iter().map(|(_, t)| t.clone()).collect()
    }

    fn push(&mut self, block: Block) {
        let path = self.path();
        self.sections.push(&path, None, block);
    }

    /// Ends the paragraph being read.
    fn flush(&mut self) {
        let text = clean::markup_inline(&std::mem::take(&mut self.buffer));
        if !text.is_empty() {
            self.push(Block::Paragraph(text));
        }
    }

    fn walk(&mut self, node: ElementRef) {
        for child in node.children() {
            match child.value() {
                Node::Text(t) => self.buffer.push_str(t),
                Node::Element(_) => {
                    if let Some(e) = ElementRef::wrap(child) {
                        self.element(e);
                    }
                }
                _ => {}
            }
        }
    }

    fn element(&mut self, e: ElementRef) {
        if skipped(&e, self.in_main) {
            return;
        }
        let name = e.value().name();
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.flush();
                let level = name.as_bytes()[1] - b'0';
                let text = clean::markup_inline(&e.text().collect::<String>());
                while self.headings.last().is_some_and(|(l, _)| *l >= level) {
                    self.headings.pop();
                }
                let is_title = level == 1 && self.title_h1.as_deref() == Some(text.as_str());
                if !text.is_empty() && !is_title {
                    self.headings.push((level, text));
                }
            }
            "br" => self.buffer.push(' '),
            "li" => {
                self.flush();
                // The item's own text, nested lists apart.
                let mut own = String::new();
                let mut nested = Vec::new();
                collect_inline(e, &mut own, &mut nested, self.in_main);
                let text = clean::markup_inline(&own);
                if !text.is_empty() {
                    self.push(Block::ListItem(text));
                }
                for list in nested {
                    self.element(list);
                }
            }
            "tr" => {
                self.flush();
                let cells: Vec<String> = e
                    .child_elements()
                    .filter(|c| matches!(c.value().name(), "td" | "th"))
                    .map(|c| clean::markup_inline(&c.text().collect::<String>()))
                    .collect();
                if cells.iter().any(|c| !c.is_empty()) {
                    self.push(Block::TableRow(cells.join(" | ")));
                }
            }
            _ if BLOCKS.contains(&name) => {
                self.flush();
                self.walk(e);
                self.flush();
            }
            _ => self.walk(e),
        }
    }
}

/// The inline text of a list item, setting nested lists aside.
fn collect_inline<'a>(
    node: ElementRef<'a>,
    out: &mut String,
    nested: &mut Vec<ElementRef<'a>>,
    in_main: bool,
) {
    for child in node.children() {
        match child.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(_) => {
                let Some(e) = ElementRef::wrap(child) else {
                    continue;
                };
                if skipped(&e, in_main) {
                    continue;
                }
                match e.value().name() {
                    "ul" | "ol" => nested.push(e),
                    "br" => out.push(' '),
                    n if BLOCKS.contains(&n) => {
                        out.push(' ');
                        collect_inline(e, out, nested, in_main);
                        out.push(' ');
                    }
                    _ => collect_inline(e, out, nested, in_main),
                }
            }
            _ => {}
        }
    }
}
