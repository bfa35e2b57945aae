//! The command line: `guichet <subcommand>`, one module per subcommand group.

mod bench;
mod bench_calibrate;
mod bench_generate;
mod bench_ingest;
mod bench_kernels;
mod bench_parse;
mod bench_search;
mod bench_serve;
mod bench_vectors;
mod durability;
mod embed;
mod eval;
mod generate;
mod kb;
mod models;
mod serve;
mod users;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, GlobalArgs};
use crate::Result;

/// Guichet: a self-hosted citizen assistant for French municipalities.
///
/// It answers citizens' questions in French from the town's own documents,
/// with sources, and hands over to a human when it cannot. Everything runs on
/// this machine: models, index and service.
#[derive(Debug, Parser)]
#[command(name = "guichet", version, propagate_version = true)]
pub struct Args {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fetch, verify and list the model files (embeddings and generation).
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Embed texts and print the cosine similarity matrix: a quick check
    /// that the embedding model is installed and sensible.
    Embed(embed::EmbedArgs),
    /// Generate text with the generation model (streamed to stdout, speed
    /// on stderr): to try a model or a prompt by hand.
    Generate(generate::GenerateArgs),
    /// Ingest documents (files or folders) into the knowledge base: parse,
    /// chunk, embed, index. Unchanged files are skipped.
    Ingest(kb::IngestArgs),
    /// Crawl the town's website into the knowledge base: robots.txt
    /// honoured, sitemaps first, only changed pages fetched again, pages
    /// gone from the site removed. URLs given here, or the `[[sources]]`
    /// of the configuration.
    Crawl(kb::CrawlArgs),
    /// Search the knowledge base (hybrid: dense + lexical).
    Search(kb::SearchArgs),
    /// List, show or remove stored documents.
    #[command(subcommand)]
    Docs(kb::DocsCommand),
    /// Maintain the vector index.
    #[command(subcommand)]
    Index(kb::IndexCommand),
    /// Run the citizen assistant's HTTP service: fetches the default models
    /// if missing, ingests the demo corpus into an empty knowledge base,
    /// then answers on `server.bind` (127.0.0.1:8080 by default).
    Serve(serve::ServeArgs),
    /// Manage the référents' and admins' access tokens.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// The answer-quality benchmark: run reviewed evaluation sets through
    /// the assistant (or a server), score, report, gate; draw stored
    /// questions into a draft set.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Benchmarks that print figures (speed, latency, memory).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Write a backup archive of the data directory (database, original
    /// documents, manifest with checksums), safe while the server runs.
    Backup(durability::BackupArgs),
    /// Restore a backup archive into an empty data directory (checksums
    /// verified first; the vector index is rebuilt).
    Restore(durability::RestoreArgs),
    /// Export the town's knowledge (curated answers, exclusions, reviewed
    /// evaluation cases, documents, users without secrets) as JSONL.
    Export(durability::ExportArgs),
    /// Import a `guichet export` folder (idempotent; --dry-run, --on-conflict).
    Import(durability::ImportArgs),
    /// Check the data directory's integrity and say what to do.
    Check(durability::CheckArgs),
}

/// Sets up logging to stderr as `[log] format` says (the configuration of
/// `args`; text when it cannot be read, the command then says why);
/// `RUST_LOG` overrides the default `info` level. Colours only on a
/// terminal, so that the journal and `docker logs` get plain lines.
pub fn init_tracing(args: &Args) {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,hnsw_rs=warn,anndists=warn,pdf_extract=error"));
    let format = crate::config::settings(&args.global)
        .map(|s| s.log.format)
        .unwrap_or(crate::settings::LogFormat::Text);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        crate::settings::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        crate::settings::LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .try_init(),
    };
}

/// Runs the parsed command line.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Models(cmd) => models::run(&crate::config::settings(&args.global)?.models, cmd),
        Command::Embed(a) => {
            let config = Config::from_args(&args.global)?;
            config.apply_threads();
            embed::run(&config, a)
        }
        Command::Generate(a) => {
            let config = Config::from_args(&args.global)?;
            config.apply_threads();
            generate::run(&config, a)
        }
        Command::Ingest(a) => with_config(&args.global, |c| kb::ingest(c, a)),
        Command::Crawl(a) => with_config(&args.global, |c| kb::crawl(c, a)),
        Command::Search(a) => with_config(&args.global, |c| kb::search(c, a)),
        Command::Docs(cmd) => with_config(&args.global, |c| kb::docs(c, cmd)),
        Command::Index(cmd) => with_config(&args.global, |c| kb::index(c, cmd)),
        Command::Serve(a) => with_config(&args.global, |c| serve::run(c, a)),
        Command::Eval(cmd) => with_config(&args.global, |c| eval::run(c, cmd)),
        Command::Users(cmd) => with_config(&args.global, |c| users::run(c, cmd)),
        Command::Backup(a) => with_config(&args.global, |c| durability::backup(c, a)),
        Command::Restore(a) => with_config(&args.global, |c| durability::restore(c, a)),
        Command::Export(a) => with_config(&args.global, |c| durability::export(c, a)),
        Command::Import(a) => with_config(&args.global, |c| durability::import(c, a)),
        Command::Check(a) => with_config(&args.global, |c| durability::check(c, a)),
        Command::Bench(cmd) => {
            let config = Config::from_args(&args.global)?;
            config.apply_threads();
            bench::run(&config, cmd)
        }
    }
}

fn with_config(global: &GlobalArgs, f: impl FnOnce(&Config) -> Result<()>) -> Result<()> {
    let config = Config::from_args(global)?;
    config.apply_threads();
    f(&config)
}
