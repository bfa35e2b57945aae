//! The composition root: builds the [`Engine`] (models, knowledge base,
//! stores, assistant, generation worker) from a [`Config`], for the server
//! ([`crate::api::serve`]) and the command line alike, so neither knows how
//! the parts are put together. Also here: the demo-corpus ingest of an empty
//! knowledge base and the backup scheduler, both start-up decisions.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use guichet_models::GeneratorOptions;

use crate::config::Config;
use crate::conversations::Conversations;
use crate::kb::ingest::{IngestEvent, IngestOptions};
use crate::kb::KnowledgeBase;
use crate::rag::remote::OpenAiGenerator;
use crate::rag::{Assistant, GenerationWorker, Lexicon};
use crate::settings::{AnswerMode, GenerationBackend};
use crate::{Error, Result};

/// What answers: loaded once at start-up.
pub struct Engine {
    /// The answering engine.
    pub assistant: Arc<Assistant>,
    /// Where exchanges are stored.
    pub conversations: Arc<Mutex<Conversations>>,
    /// Users, audit log, curated answers, exclusions, feedback, handoffs.
    pub referents: Arc<Mutex<crate::referents::Referents>>,
    /// The knowledge base (shared with the assistant): uploads commit here.
    pub kb: Arc<Mutex<KnowledgeBase>>,
    /// The data directory (uploaded files go under `documents/`).
    pub data_dir: PathBuf,
    /// Documents and chunks in the knowledge base at start (for /readyz).
    pub documents: usize,
    /// Chunks at start.
    pub chunks: i64,
    /// Parses uploaded documents in worker processes.
    pub parser: crate::parse::Parser,
    /// How uploads are filed (the configured chunk limit).
    pub ingest_options: IngestOptions,
}

fn locked<'a, T>(m: &'a Mutex<T>, what: &str) -> Result<std::sync::MutexGuard<'a, T>> {
    m.lock()
        .map_err(|_| Error::Unavailable(format!("the {what} lock is poisoned")))
}

impl Engine {
    /// The conversation store, locked.
    pub fn conversations(&self) -> Result<std::sync::MutexGuard<'_, Conversations>> {
        locked(&self.conversations, "conversation store")
    }

    /// The référents' store, locked.
    pub fn referents(&self) -> Result<std::sync::MutexGuard<'_, crate::referents::Referents>> {
        locked(&self.referents, "référents' store")
    }

    /// The knowledge base, locked (briefly: searches wait on it).
    pub fn kb(&self) -> Result<std::sync::MutexGuard<'_, KnowledgeBase>> {
        locked(&self.kb, "knowledge base")
    }
}

/// Takes a backup every `every_hours` and keeps the newest `keep`; a
/// failure is logged and retried at the next period.
pub async fn scheduled_backups(data_dir: PathBuf, s: crate::settings::BackupSettings) {
    let period = Duration::from_secs_f64((s.every_hours * 3600.0).max(1.0));
    let folder = if s.folder.is_empty() {
        data_dir.join("backups")
    } else {
        PathBuf::from(&s.folder)
    };
    loop {
        tokio::time::sleep(period).await;
        let (data, folder, keep) = (data_dir.clone(), folder.clone(), s.keep);
        let done = tokio::task::spawn_blocking(move || {
            let stamp = crate::time::file_stamp();
            let out = folder.join(format!("guichet-{stamp}.tar.gz"));
            let r = crate::durability::backup::backup(&data, &out)?;
            if keep > 0 {
                crate::durability::backup::prune(&folder, keep)?;
            }
            Ok::<_, Error>(r)
        })
        .await;
        match done {
            Ok(Ok(r)) => tracing::info!(
                "scheduled backup written to {} ({} bytes)",
                r.path.display(),
                r.bytes
            ),
            Ok(Err(e)) => tracing::error!("scheduled backup failed: {e}"),
            Err(e) => tracing::error!("scheduled backup task failed: {e}"),
        }
    }
}

/// Starts one thread per `[[sources]]` entry with `every_hours`: it crawls
/// the site when due (at once if never crawled, else that long after the
/// last crawl, whose time is kept in the database across restarts), then
/// every `every_hours`. A failed crawl is logged and tried again at the
/// next period; answers go on meanwhile (the knowledge base is locked one
/// page at a time).
pub fn scheduled_crawls(engine: &Engine, sources: &[crate::settings::SourceSettings]) {
    for source in sources.iter().filter(|s| s.every_hours > 0.0) {
        let (kb, parser) = (engine.kb.clone(), engine.parser.clone());
        let (options, source) = (engine.ingest_options.clone(), source.clone());
        let key = format!("crawl_last:{}", source.name);
        let period = (source.every_hours * 3600.0).max(60.0);
        let thread_name = format!("crawl-{}", source.name);
        let spawned = std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || loop {
                let last = kb
                    .lock()
                    .ok()
                    .and_then(|k| k.store().meta(&key).ok().flatten())
                    .and_then(|v| v.parse::<f64>().ok());
                if let Some(last) = last {
                    let wait = last + period - crate::time::now_secs() as f64;
                    if wait > 0.0 {
                        std::thread::sleep(Duration::from_secs_f64(wait));
                    }
                }
                match crate::crawl::crawl(&kb, &parser, &options, &source, &mut |_| {}) {
                    Ok(r) => tracing::info!(
                        "crawl of {}: fetched {}, added {}, updated {}, unchanged {}, removed {}, failed {}",
                        source.name,
                        r.fetched,
                        r.added,
                        r.updated,
                        r.unchanged,
                        r.removed,
                        r.failed.len()
                    ),
                    Err(e) => tracing::error!("crawl of {} failed: {e}", source.name),
                }
                let stamp = crate::time::now_secs().to_string();
                if let Ok(k) = kb.lock() {
                    if let Err(e) = k.store().set_meta(&key, &stamp) {
                        tracing::error!("crawl of {}: {e}", source.name);
                    }
                }
                // A crawl shorter than the period, or a failed one, waits
                // for the next turn from the stamp above.
            });
        if let Err(e) = spawned {
            tracing::error!("a scheduled crawl could not start: {e}");
        }
    }
}

/// Loads everything the engine needs: default models fetched if missing,
/// the demo corpus ingested into an empty knowledge base, the generator
/// started when the configuration uses it. Blocking; progress is logged.
pub fn load(config: &Config) -> Result<Engine> {
    let s = &config.settings;
    let needs_generator = s.answer.mode != AnswerMode::Extractive || s.answer.rewrite_with_model;
    let mut wanted = Vec::new();
    if let Some(m) = guichet_models::fetch::default_model(&config.embedding_spec) {
        wanted.push(m);
    }
    // A server's model is the server's business: nothing to fetch here.
    if needs_generator && s.generation.backend == GenerationBackend::Local {
        if let Some(m) = guichet_models::fetch::default_model(&config.generation_spec) {
            wanted.push(m);
        }
    }
    guichet_models::fetch::ensure(&config.models_dir, &wanted, |ev| {
        if let guichet_models::fetch::FetchEvent::Downloading { model, .. } = ev {
            tracing::info!(
                "fetching the {model} model into {}",
                config.models_dir.display()
            );
        }
    })?;
    let embedder = config.load_embedder()?;
    let parser = config.parser()?;
    let ingest_options = config.ingest_options();
    let mut kb = KnowledgeBase::open(&config.data_dir, embedder.clone(), &mut |n| {
        tracing::info!("rebuilding the vector index from {n} stored embeddings");
    })?;
    if kb.store().chunk_count()? == 0 && !s.server.demo_corpus.is_empty() {
        let demo = PathBuf::from(&s.server.demo_corpus);
        if demo.is_dir() {
            tracing::info!(
                "the knowledge base is empty: ingesting the demo corpus {} (a few minutes on 2 cores)",
                demo.display()
            );
            let mut total = 0;
            let mut done = 0;
            let report = kb.ingest(&parser, &[demo], &ingest_options, &mut |ev| match ev {
                IngestEvent::Files(n) => total = n,
                IngestEvent::FileDone(f) => {
                    done += 1;
                    tracing::info!("ingested {done}/{total}: {}", f.display());
                }
            })?;
            tracing::info!(
                "demo corpus: {} documents, {} chunks in {:.0} s, {} failed",
                report.added + report.updated,
                report.chunks,
                report.seconds,
                report.failed.len()
            );
        } else {
            tracing::warn!(
                "the knowledge base is empty and the demo corpus {} is not there",
                demo.display()
            );
        }
    }
    let documents = kb.store().documents()?.len();
    let chunks = kb.store().chunk_count()?;
    let generator = if needs_generator && s.generation.backend == GenerationBackend::Openai {
        let g = &s.generation;
        tracing::info!(
            "generation on {} (model {}, {} requests at once)",
            g.base_url,
            g.model_name,
            g.max_in_flight
        );
        let remote = OpenAiGenerator::new(g, config.context);
        let pool = (0..g.max_in_flight)
            .map(|_| Box::new(remote.clone()) as Box<dyn guichet_models::Generator>)
            .collect();
        Some(GenerationWorker::spawn_pool(pool, s.limits.queue)?)
    } else if needs_generator {
        let opts = GeneratorOptions {
            context: config.context,
            ..GeneratorOptions::default()
        };
        let g = crate::config::load_generator(&config.generation_model, &opts)?;
        Some(GenerationWorker::spawn(Box::new(g), s.limits.queue)?)
    } else {
        None
    };
    let lexicon = if s.answer.lexicon.is_empty() {
        Lexicon::builtin()
    } else {
        Lexicon::with_file(std::path::Path::new(&s.answer.lexicon))?
    };
    let conversations = Conversations::open(
        &config.data_dir.join("guichet.db"),
        s.privacy.keep_original_questions,
    )?;
    let referents = Arc::new(Mutex::new(crate::referents::Referents::open(
        &config.data_dir.join("guichet.db"),
    )?));
    let kb = Arc::new(Mutex::new(kb));
    let assistant = Assistant::new(
        kb.clone(),
        embedder,
        generator,
        s.answer.clone(),
        s.town.clone(),
        lexicon,
    )?
    .with_town_knowledge(referents.clone());
    Ok(Engine {
        assistant: Arc::new(assistant),
        conversations: Arc::new(Mutex::new(conversations)),
        referents,
        kb,
        data_dir: config.data_dir.clone(),
        documents,
        chunks,
        parser,
        ingest_options,
    })
}
