//! `guichet ingest`, `search`, `docs` and `index`: the knowledge base from
//! the command line.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::kb::ingest::{IngestEvent, IngestOptions};
use crate::kb::{Filters, KnowledgeBase};
use crate::settings::SourceSettings;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub(super) struct IngestArgs {
    /// Files or folders (read recursively; a `.guichetignore` in gitignore
    /// syntax leaves files out) to ingest.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Also remove stored documents whose files are gone from these folders,
    /// or are now listed in a `.guichetignore`.
    #[arg(long)]
    sync: bool,
    /// Collection to file the documents under (for search filters).
    #[arg(long, default_value = "")]
    collection: String,
    /// Leave document titles out of the index (to measure retrieval on
    /// questions that quote titles; not for real use).
    #[arg(long, hide = true)]
    no_titles: bool,
}

#[derive(Debug, Args)]
pub(super) struct CrawlArgs {
    /// Start URLs of a site to crawl now (without them: the configured
    /// `[[sources]]`).
    urls: Vec<String>,
    /// With URLs: the source's name (default: the first URL's host); its
    /// pages carry it, and a later crawl under it removes what is gone.
    /// Without: crawl only the configured source of that name.
    #[arg(long)]
    source: Option<String>,
    /// Links followed from the start pages and sitemap entries.
    #[arg(long)]
    depth: Option<u32>,
    /// Most pages fetched.
    #[arg(long)]
    max_pages: Option<usize>,
    /// Milliseconds between two requests to one host.
    #[arg(long)]
    delay_ms: Option<u64>,
    /// Seconds one request may take.
    #[arg(long)]
    timeout_secs: Option<u64>,
    /// Do not read sitemaps; follow links only.
    #[arg(long)]
    no_sitemaps: bool,
}

#[derive(Debug, Args)]
pub(super) struct SearchArgs {
    /// The question (omit with --queries).
    question: Option<String>,
    /// Number of hits.
    #[arg(short, default_value_t = 5)]
    k: usize,
    /// One JSON object per query on stdout (for scripts).
    #[arg(long)]
    json: bool,
    /// A file of questions, one per line (models loaded once).
    #[arg(long)]
    queries: Option<PathBuf>,
    /// At most this many hits per document (0: no limit).
    #[arg(long, default_value_t = 2)]
    per_document: usize,
}

#[derive(Debug, Subcommand)]
pub(super) enum DocsCommand {
    /// List the stored documents.
    List,
    /// Show a document's metadata and chunks.
    Show {
        /// Document id.
        id: i64,
    },
    /// Remove a document and its chunks.
    Rm {
        /// Document id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum IndexCommand {
    /// Rebuild the vector index from the embeddings stored in the database.
    Rebuild,
    /// Re-embed every chunk with another embedding model (`e5`, `minilm`
    /// or a path), then switch in one transaction; set `embedding_model`
    /// in the configuration to the same model afterwards.
    Reembed {
        /// The new embedding model.
        #[arg(long)]
        model: String,
    },
}

pub(super) fn bar(len: u64, msg: &'static str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed_precise} ~{eta}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(msg);
    pb
}

fn open(config: &Config) -> Result<KnowledgeBase> {
    config.ensure_default_embedder()?;
    let embedder = config.load_embedder()?;
    let mut pb: Option<ProgressBar> = None;
    let kb = KnowledgeBase::open(&config.data_dir, embedder, &mut |n| {
        pb = Some(bar(n as u64, "rebuilding the vector index"));
    })?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    Ok(kb)
}

pub(super) fn ingest(config: &Config, args: IngestArgs) -> Result<()> {
    let mut kb = open(config)?;
    let mut pb = None;
    let options = IngestOptions {
        sync: args.sync,
        collection: args.collection.clone(),
        index_titles: !args.no_titles,
        ..config.ingest_options()
    };
    let parser = config.parser()?;
    let report = kb.ingest(&parser, &args.paths, &options, &mut |ev| match ev {
        IngestEvent::Files(n) => pb = Some(bar(n as u64, "ingesting")),
        IngestEvent::FileDone(_) => {
            if let Some(pb) = &pb {
                pb.inc(1);
            }
        }
    })?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    println!(
        "added {}, updated {}, unchanged {}, removed {}, failed {}; {} chunks in {:.1} s (parsing {:.1} s, embedding {:.1} s)",
        report.added,
        report.updated,
        report.unchanged,
        report.removed,
        report.failed.len(),
        report.chunks,
        report.seconds,
        report.parse_seconds,
        report.embed_seconds
    );
    for (file, reason) in &report.failed {
        println!("failed    {}: {reason}", file.display());
    }
    for (file, note) in &report.skipped {
        println!("skipped   {}: {note}", file.display());
    }
    print_ocr(&report.ocr);
    let ok = report.added + report.updated + report.unchanged + report.removed;
    if ok == 0 && !report.failed.is_empty() {
        return Err(Error::Usage("nothing could be ingested".into()));
    }
    Ok(())
}

/// The documents read by OCR, with their confidence: answers resting on
/// recognised text deserve a référent's look when it is low.
pub(super) fn print_ocr(read: &[crate::kb::ingest::OcrRead]) {
    for r in read {
        println!(
            "ocr       {}: {} page(s) recognised, mean confidence {:.0} %",
            r.name, r.pages, r.confidence
        );
    }
}

/// The sources `args` names: an ad-hoc one from its URLs, or the
/// configured ones (all, or the one `--source` names); options given on
/// the command line override the configured ones.
fn crawl_sources(config: &Config, args: &CrawlArgs) -> Result<Vec<SourceSettings>> {
    let mut sources = if args.urls.is_empty() {
        let all = config.settings.sources.clone();
        if all.is_empty() {
            return Err(Error::Usage(
                "give the site's start URL (guichet crawl https://www.ville.fr/) or add a [[sources]] entry to guichet.toml".into(),
            ));
        }
        match &args.source {
            Some(name) => {
                let one: Vec<_> = all.into_iter().filter(|s| &s.name == name).collect();
                if one.is_empty() {
                    return Err(Error::Usage(format!(
                        "no [[sources]] entry is named {name}"
                    )));
                }
                one
            }
            None => all,
        }
    } else {
        let host = url::Url::parse(&args.urls[0])
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{} is not an http:// or https:// URL",
                    args.urls[0]
                ))
            })?;
        let configured = config
            .settings
            .sources
            .iter()
            .find(|s| Some(&s.name) == args.source.as_ref())
            .cloned()
            .unwrap_or_default();
        vec![SourceSettings {
            name: args.source.clone().unwrap_or(host),
            start: args.urls.clone(),
            ..configured
        }]
    };
    for s in &mut sources {
        s.depth = args.depth.unwrap_or(s.depth);
        s.max_pages = args.max_pages.unwrap_or(s.max_pages);
        s.delay_ms = args.delay_ms.unwrap_or(s.delay_ms);
        s.timeout_secs = args.timeout_secs.unwrap_or(s.timeout_secs);
        s.sitemaps &= !args.no_sitemaps;
    }
    Ok(sources)
}

pub(super) fn crawl(config: &Config, args: CrawlArgs) -> Result<()> {
    let sources = crawl_sources(config, &args)?;
    let kb = std::sync::Mutex::new(open(config)?);
    let parser = config.parser()?;
    let options = config.ingest_options();
    let mut failed_all = true;
    for source in &sources {
        let pb = ProgressBar::new_spinner();
        pb.set_message(format!("crawling {}", source.name));
        let report = crate::crawl::crawl(&kb, &parser, &options, source, &mut |url| {
            pb.set_message(url.to_string());
            pb.inc(1);
        });
        pb.finish_and_clear();
        let report = report?;
        println!(
            "{}: fetched {}, added {}, updated {}, unchanged {}, removed {}, failed {}, skipped {}, forbidden by robots.txt {}; {} chunks in {:.1} s{}",
            source.name,
            report.fetched,
            report.added,
            report.updated,
            report.unchanged,
            report.removed,
            report.failed.len(),
            report.skipped,
            report.disallowed,
            report.chunks,
            report.seconds,
            if report.capped {
                format!(" (stopped at max_pages = {}: nothing unreached removed)", source.max_pages)
            } else {
                String::new()
            }
        );
        for (url, reason) in &report.failed {
            println!("failed    {url}: {reason}");
        }
        print_ocr(&report.ocr);
        failed_all &= report.fetched == 0 && !report.failed.is_empty();
    }
    if failed_all {
        return Err(Error::Usage("nothing could be fetched".into()));
    }
    Ok(())
}

pub(super) fn search(config: &Config, args: SearchArgs) -> Result<()> {
    let questions: Vec<String> = match (&args.question, &args.queries) {
        (Some(q), None) => vec![q.clone()],
        (None, Some(f)) => std::fs::read_to_string(f)
            .map_err(|source| Error::Io {
                path: f.clone(),
                source,
            })?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => {
            return Err(Error::Usage(
                "give a question or --queries FILE (not both)".into(),
            ))
        }
    };
    let kb = open(config)?;
    let filters = Filters {
        max_per_document: args.per_document,
        ..Filters::default()
    };
    for q in &questions {
        let hits = kb.search(q, args.k, &filters)?;
        if args.json {
            println!("{}", serde_json::json!({"query": q, "hits": hits}));
            continue;
        }
        println!("? {q}");
        for (i, h) in hits.iter().enumerate() {
            let c = &h.chunk;
            let page = match (c.page_start, c.page_end) {
                (Some(a), Some(b)) if a != b => format!(", pages {a}-{b}"),
                (Some(a), _) => format!(", page {a}"),
                _ => String::new(),
            };
            let snippet: String = c
                .text
                .chars()
                .take(160)
                .collect::<String>()
                .replace('\n', " ");
            println!(
                "{:>2}. [doc {}] {}{}{}\n    {}\n    fused {:.4}  dense {}  lexical {}\n    {}…",
                i + 1,
                c.document_id,
                c.title,
                if c.section.is_empty() {
                    String::new()
                } else {
                    format!(" › {}", c.section)
                },
                page,
                c.url.as_deref().unwrap_or(&c.source),
                h.fused,
                h.dense.map_or("-".into(), |d| format!(
                    "{d:.3} (#{})",
                    h.dense_rank.unwrap_or(0)
                )),
                h.lexical.map_or("-".into(), |l| format!(
                    "{l:.2} (#{})",
                    h.lexical_rank.unwrap_or(0)
                )),
                snippet
            );
        }
    }
    Ok(())
}

pub(super) fn docs(config: &Config, cmd: DocsCommand) -> Result<()> {
    match cmd {
        DocsCommand::List => {
            let store = crate::kb::Store::open(&config.data_dir.join("guichet.db"))?;
            for d in store.documents()? {
                println!(
                    "{:>5}  {:<14} {:>4} chunks  {}  ({})",
                    d.id, d.format, d.chunk_count, d.title, d.source
                );
            }
            Ok(())
        }
        DocsCommand::Show { id } => {
            let store = crate::kb::Store::open(&config.data_dir.join("guichet.db"))?;
            let Some(d) = store.document(id)? else {
                return Err(Error::Usage(format!("no document {id}")));
            };
            println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
            for c in store.document_chunks(id)? {
                println!(
                    "--- chunk {} ({}; pages {:?}-{:?})\n{}",
                    c.ordinal, c.section, c.page_start, c.page_end, c.text
                );
            }
            Ok(())
        }
        DocsCommand::Rm { id } => {
            let mut kb = open(config)?;
            if kb.remove_document(id)? {
                println!("removed document {id}");
                Ok(())
            } else {
                Err(Error::Usage(format!("no document {id}")))
            }
        }
    }
}

pub(super) fn index(config: &Config, cmd: IndexCommand) -> Result<()> {
    if let IndexCommand::Reembed { model } = cmd {
        return reembed(config, &model);
    }
    let mut kb = open(config)?;
    let n = kb.store().chunk_count()?;
    let pb = bar(n as u64, "rebuilding the vector index");
    kb.rebuild_index(&mut |_| {})?;
    pb.finish_and_clear();
    println!("vector index rebuilt: {n} chunks");
    Ok(())
}

fn reembed(config: &Config, model: &str) -> Result<()> {
    let mut next = config.clone();
    next.embedding_spec = model.to_string();
    next.embedding_model = crate::config::resolve_embedding_model(&config.models_dir, model)?;
    next.ensure_default_embedder()?;
    let embedder = next.load_embedder()?;
    let id = format!("{}:{}", embedder.id(), embedder.dim());
    let mut kb = KnowledgeBase::open_to_reembed(&config.data_dir)?;
    let n = kb.store().chunk_count()?;
    let pb = bar(n as u64, "re-embedding");
    let t = std::time::Instant::now();
    kb.reembed(embedder, &mut |done, _| pb.set_position(done as u64))?;
    pb.finish_and_clear();
    println!(
        "{n} chunks re-embedded with {id} in {:.0} s; set embedding_model = \"{model}\" in the configuration (or --embedding-model {model})",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
