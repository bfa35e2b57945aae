//! `guichet ingest`, `search`, `docs` and `index`: the knowledge base from
//! the command line.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::kb::ingest::{IngestEvent, IngestOptions};
use crate::kb::{Filters, KnowledgeBase};
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
    let ok = report.added + report.updated + report.unchanged + report.removed;
    if ok == 0 && !report.failed.is_empty() {
        return Err(Error::Usage("nothing could be ingested".into()));
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
