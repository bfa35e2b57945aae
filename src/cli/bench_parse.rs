//! `guichet bench parse`: what parsing in confined worker processes costs
//! against parsing in this process, on the same files in the same run.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::config::Config;
use crate::kb::ingest::{list_files, read_regular};
use crate::parse::Parser;
use crate::Result;

#[derive(Debug, Args)]
pub(super) struct ParseBenchArgs {
    /// Files or folders to parse (default: the demo corpus).
    #[arg(default_values_t = ["ingest/demo/documents".to_owned()])]
    paths: Vec<String>,
}

/// Seconds to parse every file with `parser`, and how many were refused.
fn parse_all(parser: &Parser, files: &[(String, Vec<u8>)]) -> (f64, usize) {
    let start = Instant::now();
    let failed = files
        .iter()
        .filter(|(name, bytes)| parser.parse(name, bytes).is_err())
        .count();
    (start.elapsed().as_secs_f64(), failed)
}

pub(super) fn run(config: &Config, args: ParseBenchArgs) -> Result<()> {
    let paths: Vec<PathBuf> = args.paths.iter().map(PathBuf::from).collect();
    let listing = list_files(&paths)?;
    let limits = config.settings.ingest.parse_limits();
    let mut files = Vec::new();
    for path in &listing.files {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        if let Ok(bytes) = read_regular(path, limits.load.max_bytes) {
            files.push((name, bytes));
        }
    }
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    println!("{} files, {:.1} MiB", files.len(), bytes as f64 / 1048576.0);
    let in_process = Parser::in_process(limits.clone());
    let (base, base_failed) = parse_all(&in_process, &files);
    // One worker, as `guichet ingest` parses one file at a time; its
    // start-up is part of the figure.
    let one = config.parser_with_workers(1)?;
    let (workers, failed) = parse_all(&one, &files);
    let per_file = |s: f64| 1000.0 * s / files.len().max(1) as f64;
    println!(
        "in this process: {base:.2} s ({:.1} ms/file, {base_failed} refused)",
        per_file(base)
    );
    println!(
        "in a worker:     {workers:.2} s ({:.1} ms/file, {failed} refused), {:.2}x",
        per_file(workers),
        workers / base.max(1e-9)
    );
    println!(
        "worker overhead: {:.2} s, {:.2} ms/file",
        workers - base,
        per_file(workers - base)
    );
    Ok(())
}
