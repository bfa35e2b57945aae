//! `guichet bench ingest`: ingestion throughput into a fresh knowledge base
//! (in a temporary folder), where the time goes, and the size on disk.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::config::Config;
use crate::kb::KnowledgeBase;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub(super) struct IngestBenchArgs {
    /// Files or folders to ingest (default: the demo corpus).
    #[arg(default_values_t = ["ingest/demo/documents".to_owned()])]
    paths: Vec<String>,
}

fn dir_size(dir: &Path) -> u64 {
    // Every file counts, hidden or ignored ones included (SQLite's
    // journal, the index dump).
    ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .build()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

pub(super) fn run(config: &Config, args: IngestBenchArgs) -> Result<()> {
    config.ensure_default_embedder()?;
    let tmp = tempfile::tempdir().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let mut kb = KnowledgeBase::open(tmp.path(), config.load_embedder()?, &mut |_| {})?;
    let paths: Vec<PathBuf> = args.paths.iter().map(PathBuf::from).collect();
    let r = kb.ingest(
        &config.parser()?,
        &paths,
        &config.ingest_options(),
        &mut |_| {},
    )?;
    let docs = r.added + r.updated;
    let index_s = (r.seconds - r.parse_seconds - r.embed_seconds).max(0.0);
    println!(
        "ingested {docs} documents, {} chunks, {} failed, in {:.1} s",
        r.chunks,
        r.failed.len(),
        r.seconds
    );
    println!(
        "throughput: {:.2} documents/s, {:.1} chunks/s",
        docs as f64 / r.seconds.max(1e-9),
        r.chunks as f64 / r.seconds.max(1e-9)
    );
    let pct = |x: f64| 100.0 * x / r.seconds.max(1e-9);
    println!(
        "time: parsing and chunking {:.1} s ({:.0}%), embedding {:.1} s ({:.0}%), storing and indexing {:.1} s ({:.0}%)",
        r.parse_seconds,
        pct(r.parse_seconds),
        r.embed_seconds,
        pct(r.embed_seconds),
        index_s,
        pct(index_s)
    );
    println!(
        "on disk: {:.1} MiB (database {:.1} MiB, vector index {:.1} MiB)",
        dir_size(tmp.path()) as f64 / 1048576.0,
        ["guichet.db", "guichet.db-wal"]
            .iter()
            .map(|f| std::fs::metadata(tmp.path().join(f)).map_or(0, |m| m.len()))
            .sum::<u64>() as f64
            / 1048576.0,
        dir_size(&tmp.path().join("index")) as f64 / 1048576.0
    );
    Ok(())
}
