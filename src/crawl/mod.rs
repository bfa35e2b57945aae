//! The town's website as a source (`guichet crawl`, `[[sources]]`).
//!
//! One crawl of one source, in order:
//! 1. robots.txt of each host, read once (`fetch.rs`, `texting_robots`);
//!    nothing it forbids is fetched, its `Crawl-delay` is obeyed.
//! 2. The sitemaps (robots.txt's, else `/sitemap.xml`), then the start
//!    URLs, are the pages of depth 0; the links of a page of depth `d` are
//!    fetched at `d + 1` up to `depth`, breadth first, within the scope
//!    (`scope.rs`: hosts, path prefixes, exclusions), at most `max_pages`.
//! 3. A page fetched before is asked for with `If-None-Match` /
//!    `If-Modified-Since`; a 304 or the same bytes leave it as stored (its
//!    stored links are still followed).
//! 4. HTML pages, PDFs, office files and text are parsed in the parse
//!    workers like any upload (the HTML loader keeps the main content and
//!    reads the links), then chunked, embedded and committed with the
//!    page's URL as source and citation link. `<meta name="robots">`
//!    `noindex` keeps a page out, `nofollow` its links unfollowed.
//! 5. Redirects are followed by hand (each hop checked against the scope
//!    and robots.txt, a loop reported); the target is stored, not the old
//!    address.
//! 6. A page that answers 404 or 410 is removed. At the end, a stored page
//!    of this source the crawl did not reach is asked for once more and
//!    removed if gone, excluded or forbidden; a crawl stopped by
//!    `max_pages` or by an unreadable robots.txt removes nothing else.
//!
//! The knowledge base is locked only to read the stored pages, to commit
//! one page and to remove one: the server keeps answering during a crawl.

mod fetch;
mod scope;
mod sitemap;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use url::Url;

use crate::kb::ingest::{prepare_document, IngestOptions, IngestReport, OcrRead};
use crate::kb::store::CrawledPage;
use crate::kb::KnowledgeBase;
use crate::parse::Parser;
use crate::settings::SourceSettings;
use crate::{Error, Result};

pub use fetch::USER_AGENT;
use fetch::{Fetcher, Reply};
use scope::Scope;

/// Redirects followed from one link.
const MAX_HOPS: usize = 5;

/// Sitemaps read in one crawl (an index may name many).
const MAX_SITEMAPS: usize = 50;

/// Media types read as documents; anything else is left alone.
const DOCUMENT_TYPES: &[&str] = &[
    "text/html",
    "application/xhtml+xml",
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
    "text/plain",
    "text/markdown",
    "application/octet-stream",
    "",
];

/// What one crawl did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CrawlReport {
    /// Requests that returned a page (2xx or 304), sitemaps apart.
    pub fetched: usize,
    /// New documents.
    pub added: usize,
    /// Documents whose page changed.
    pub updated: usize,
    /// Pages unchanged (304, or the same bytes).
    pub unchanged: usize,
    /// Documents removed: gone from the site, excluded, or `noindex`.
    pub removed: usize,
    /// Pages that could not be read, with the reason (the stored version,
    /// if any, is kept).
    pub failed: Vec<(String, String)>,
    /// URLs robots.txt forbids.
    pub disallowed: usize,
    /// Pages left out: not a document type, no text, `noindex`.
    pub skipped: usize,
    /// Whether `max_pages` stopped the crawl (then nothing unreached is
    /// removed).
    pub capped: bool,
    /// Chunks written.
    pub chunks: usize,
    /// Documents read by OCR.
    pub ocr: Vec<OcrRead>,
    /// Seconds in total.
    pub seconds: f64,
}

/// What to do with one page after its fetch.
enum Outcome {
    /// Its links, to follow (resolved against the page's URL and base).
    Links(Vec<Url>),
    /// Nothing to follow.
    Done,
}

struct Crawl<'a> {
    kb: &'a Mutex<KnowledgeBase>,
    /// The knowledge base's embedder, taken once (a commit after a model
    /// switch is refused by `commit` itself).
    embedder: std::sync::Arc<dyn guichet_models::Embedder>,
    parser: &'a Parser,
    options: IngestOptions,
    source: &'a SourceSettings,
    scope: Scope,
    fetcher: Fetcher,
    stored: HashMap<String, CrawledPage>,
    /// URLs queued or fetched (each page once).
    seen: HashSet<String>,
    /// Stored pages this crawl reached (kept unless gone).
    reached: HashSet<String>,
    /// Set when a host's robots.txt could not be read.
    robots_failed: bool,
    requests: usize,
    report: CrawlReport,
}

fn lock(kb: &Mutex<KnowledgeBase>) -> Result<std::sync::MutexGuard<'_, KnowledgeBase>> {
    kb.lock()
        .map_err(|_| Error::Unavailable("the knowledge base lock is poisoned".into()))
}

/// Crawls `source` into the knowledge base; `on_page` gets each URL as
/// it is fetched (for progress). `options` gives the chunk limit; the
/// collection is the source's.
pub fn crawl(
    kb: &Mutex<KnowledgeBase>,
    parser: &Parser,
    options: &IngestOptions,
    source: &SourceSettings,
    on_page: &mut dyn FnMut(&str),
) -> Result<CrawlReport> {
    let started = Instant::now();
    let (stored, embedder) = {
        let kb = lock(kb)?;
        (
            kb.store().crawled_pages(&source.name)?,
            kb.embedder().clone(),
        )
    };
    let mut c = Crawl {
        kb,
        embedder,
        parser,
        options: IngestOptions {
            collection: source.collection.clone(),
            ..options.clone()
        },
        source,
        scope: Scope::of(source)?,
        fetcher: Fetcher::new(
            Duration::from_secs(source.timeout_secs.max(1)),
            parser.limits().load.max_bytes,
            Duration::from_millis(source.delay_ms),
        ),
        stored,
        seen: HashSet::new(),
        reached: HashSet::new(),
        robots_failed: false,
        requests: 0,
        report: CrawlReport::default(),
    };
    let starts: Vec<Url> = source
        .start
        .iter()
        .map(|s| {
            Url::parse(s).map_err(|e| Error::Usage(format!("sources {}: {s}: {e}", source.name)))
        })
        .collect::<Result<_>>()?;
    let mut queue: VecDeque<(Url, u32)> = VecDeque::new();
    if source.sitemaps {
        for page in c.sitemap_pages(&starts) {
            c.enqueue(&mut queue, page, 0);
        }
    }
    for s in starts {
        c.enqueue(&mut queue, s, 0);
    }
    while let Some((url, depth)) = queue.pop_front() {
        if c.requests >= source.max_pages {
            c.report.capped = true;
            break;
        }
        on_page(url.as_str());
        if let Outcome::Links(links) = c.visit(url)? {
            if depth < source.depth {
                for link in links {
                    c.enqueue(&mut queue, link, depth + 1);
                }
            }
        }
    }
    if !c.report.capped && !c.robots_failed {
        c.recheck_unreached(on_page)?;
    }
    lock(kb)?.save_index()?;
    c.report.seconds = started.elapsed().as_secs_f64();
    Ok(c.report)
}

impl Crawl<'_> {
    /// Queues `u` once, if in scope and not an asset.
    fn enqueue(&mut self, queue: &mut VecDeque<(Url, u32)>, u: Url, depth: u32) {
        if self.scope.admits(&u) && !scope::is_asset(&u) && self.seen.insert(u.to_string()) {
            queue.push_back((u, depth));
        }
    }

    /// The pages the sitemaps list: those robots.txt names for each start
    /// host, else `/sitemap.xml`, indexes followed.
    fn sitemap_pages(&mut self, starts: &[Url]) -> Vec<Url> {
        let mut maps: VecDeque<Url> = VecDeque::new();
        let mut hosts = HashSet::new();
        for s in starts {
            if !hosts.insert(s.origin().ascii_serialization()) {
                continue;
            }
            if let Err(why) = self.fetcher.allowed(s) {
                self.robots_failed = true;
                self.report.failed.push((s.to_string(), why));
                continue;
            }
            let named: Vec<Url> = self
                .fetcher
                .robots_sitemaps(s)
                .iter()
                .filter_map(|m| Url::parse(m).ok())
                .collect();
            if named.is_empty() {
                maps.extend(s.join("/sitemap.xml").ok());
            } else {
                maps.extend(named);
            }
        }
        let mut pages = Vec::new();
        let mut read = HashSet::new();
        while let Some(map) = maps.pop_front() {
            if read.len() >= MAX_SITEMAPS || !read.insert(map.to_string()) {
                continue;
            }
            if !matches!(self.fetcher.allowed(&map), Ok(true)) {
                continue;
            }
            match self.fetcher.get(&map, None, None) {
                Reply::Body { bytes, .. } => match sitemap::parse(&bytes) {
                    Ok(s) => {
                        maps.extend(s.sitemaps.iter().filter_map(|m| Url::parse(m).ok()));
                        pages.extend(s.pages.iter().filter_map(|p| scope::resolve(&map, p)));
                    }
                    Err(why) => self
                        .report
                        .failed
                        .push((map.to_string(), format!("plan du site illisible ({why})"))),
                },
                // No sitemap is common: the links are followed instead.
                Reply::Gone => {}
                Reply::Failed(why) => self.report.failed.push((map.to_string(), why)),
                Reply::NotModified | Reply::Redirect(_) => {}
            }
        }
        pages
    }

    /// Fetches one queued URL (following redirects) and stores what it
    /// holds.
    fn visit(&mut self, first: Url) -> Result<Outcome> {
        let mut url = first.clone();
        let mut chain = vec![first.to_string()];
        for _ in 0..=MAX_HOPS {
            match self.fetcher.allowed(&url) {
                Ok(true) => {}
                Ok(false) => {
                    self.report.disallowed += 1;
                    self.remove_if_stored(&url)?;
                    return Ok(Outcome::Done);
                }
                Err(why) => {
                    self.robots_failed = true;
                    self.report.failed.push((url.to_string(), why));
                    return Ok(Outcome::Done);
                }
            }
            self.requests += 1;
            let known = self.stored.get(url.as_str()).cloned();
            let reply = self.fetcher.get(
                &url,
                known.as_ref().and_then(|k| k.etag.as_deref()),
                known.as_ref().and_then(|k| k.last_modified.as_deref()),
            );
            match reply {
                Reply::Redirect(location) => {
                    let Some(next) = scope::resolve(&url, &location) else {
                        return Ok(Outcome::Done);
                    };
                    if chain.contains(&next.to_string()) {
                        self.report
                            .failed
                            .push((first.to_string(), "boucle de redirections".into()));
                        return Ok(Outcome::Done);
                    }
                    // The page lives at its new address now.
                    self.remove_if_stored(&url)?;
                    if !self.scope.admits(&next) || scope::is_asset(&next) {
                        return Ok(Outcome::Done);
                    }
                    if !self.seen.insert(next.to_string()) {
                        // Queued or fetched through another link.
                        return Ok(Outcome::Done);
                    }
                    chain.push(next.to_string());
                    url = next;
                }
                Reply::NotModified => {
                    self.report.fetched += 1;
                    self.report.unchanged += 1;
                    self.reached.insert(url.to_string());
                    let links = known.map(|k| links_of(&url, k.base.as_deref(), &k.links));
                    return Ok(links.map_or(Outcome::Done, Outcome::Links));
                }
                Reply::Gone => {
                    self.remove_if_stored(&url)?;
                    return Ok(Outcome::Done);
                }
                Reply::Failed(why) => {
                    self.reached.insert(url.to_string());
                    self.report.failed.push((url.to_string(), why));
                    return Ok(Outcome::Done);
                }
                Reply::Body {
                    bytes,
                    media_type,
                    etag,
                    last_modified,
                } => {
                    self.report.fetched += 1;
                    self.reached.insert(url.to_string());
                    return self.store_page(&url, known, bytes, &media_type, etag, last_modified);
                }
            }
        }
        self.report.failed.push((
            first.to_string(),
            format!("plus de {MAX_HOPS} redirections"),
        ));
        Ok(Outcome::Done)
    }

    /// Parses a fetched page and stores it when it changed.
    fn store_page(
        &mut self,
        url: &Url,
        known: Option<CrawledPage>,
        bytes: Vec<u8>,
        media_type: &str,
        etag: Option<String>,
        last_modified: Option<String>,
    ) -> Result<Outcome> {
        if !DOCUMENT_TYPES.contains(&media_type) {
            self.report.skipped += 1;
            self.remove_if_stored(url)?;
            return Ok(Outcome::Done);
        }
        let hash = format!("{:x}", Sha256::digest(&bytes));
        if let Some(k) = known.as_ref().filter(|k| k.hash == hash) {
            self.report.unchanged += 1;
            return Ok(Outcome::Links(links_of(url, k.base.as_deref(), &k.links)));
        }
        let name = file_name(url, media_type);
        let doc = match self.parser.parse(&name, &bytes) {
            Ok(d) => d,
            Err(e) => {
                self.report.failed.push((url.to_string(), e.to_string()));
                return Ok(Outcome::Done);
            }
        };
        let robots = doc.metadata.get("robots").cloned().unwrap_or_default();
        let links = if robots.contains("nofollow") || robots.contains("none") {
            Vec::new()
        } else {
            let hrefs: Vec<String> = doc
                .metadata
                .get("links")
                .map(|l| l.lines().map(str::to_string).collect())
                .unwrap_or_default();
            links_of(
                url,
                doc.metadata.get("base_href").map(String::as_str),
                &hrefs,
            )
        };
        if robots.contains("noindex")
            || robots.contains("none")
            || doc.plain_text().trim().is_empty()
        {
            self.report.skipped += 1;
            self.remove_if_stored(url)?;
            return Ok(Outcome::Links(links));
        }
        let mut scratch = IngestReport::default();
        let prepared = prepare_document(
            &self.embedder,
            doc,
            &name,
            url.as_str(),
            hash,
            &self.options,
            &guichet_ingest::ChunkOptions::default(),
            &mut scratch,
        );
        self.report.ocr.append(&mut scratch.ocr);
        let mut prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                self.report.failed.push((url.to_string(), e.to_string()));
                return Ok(Outcome::Links(links));
            }
        };
        prepared.document.url = Some(url.to_string());
        if let Some(m) = prepared.document.metadata.as_object_mut() {
            let mut put = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    m.insert(k.to_string(), serde_json::Value::String(v));
                }
            };
            put("crawl_source", Some(self.source.name.clone()));
            put("http_etag", etag);
            put("http_last_modified", last_modified);
        }
        match lock(self.kb)?.commit(prepared)? {
            crate::kb::ingest::Committed::Added(_, n) => {
                self.report.added += 1;
                self.report.chunks += n;
            }
            crate::kb::ingest::Committed::Updated(_, n) => {
                self.report.updated += 1;
                self.report.chunks += n;
            }
        }
        Ok(Outcome::Links(links))
    }

    /// Removes the stored page at `url`, if this source has one.
    fn remove_if_stored(&mut self, url: &Url) -> Result<()> {
        if let Some(page) = self.stored.remove(url.as_str()) {
            if lock(self.kb)?.remove_document_unsaved(page.id)? {
                self.report.removed += 1;
            }
        }
        Ok(())
    }

    /// Asks once more for the stored pages this crawl did not reach (no
    /// longer linked, or listed by no sitemap): removed when gone,
    /// excluded, forbidden or `noindex`, kept (and updated) otherwise.
    fn recheck_unreached(&mut self, on_page: &mut dyn FnMut(&str)) -> Result<()> {
        let mut unreached: Vec<String> = self
            .stored
            .keys()
            .filter(|u| !self.reached.contains(*u))
            .cloned()
            .collect();
        unreached.sort();
        for u in unreached {
            let Ok(url) = Url::parse(&u) else { continue };
            if !self.scope.admits(&url) {
                self.remove_if_stored(&url)?;
                continue;
            }
            if !self.stored.contains_key(&u) {
                continue;
            }
            self.seen.insert(u.clone());
            on_page(&u);
            self.visit(url)?;
        }
        Ok(())
    }
}

/// A page's links resolved (against its `<base href>` when it has one).
fn links_of(url: &Url, base: Option<&str>, hrefs: &[String]) -> Vec<Url> {
    let base = base
        .and_then(|b| scope::resolve(url, b))
        .unwrap_or_else(|| url.clone());
    hrefs
        .iter()
        .filter_map(|h| scope::resolve(&base, h))
        .collect()
}

/// The name a page is parsed under: its last path segment (the title of
/// last resort and a format hint), `.html` added for a page.
fn file_name(url: &Url, media_type: &str) -> String {
    let last = url
        .path_segments()
        .and_then(|mut s| s.next_back().map(str::to_string))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "index".into());
    let html = matches!(media_type, "text/html" | "application/xhtml+xml");
    let lower = last.to_ascii_lowercase();
    if html && !(lower.ends_with(".html") || lower.ends_with(".htm")) {
        format!("{last}.html")
    } else {
        last
    }
}
