//! `guichet backup | restore | export | import | check`.

use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::kb::bar;
use crate::config::Config;
use crate::durability::{backup, check, export};
use crate::kb::ingest::IngestOptions;
use crate::kb::KnowledgeBase;
use crate::{Error, Result};

/// `guichet backup`.
#[derive(Debug, ClapArgs)]
pub(super) struct BackupArgs {
    /// The archive to write (`.tar.gz`); default
    /// `DATA/backups/guichet-<time>.tar.gz`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep only the newest N archives of the backups folder (0: keep all).
    #[arg(long, default_value_t = 0)]
    keep: usize,
}

/// `guichet restore`.
#[derive(Debug, ClapArgs)]
pub(super) struct RestoreArgs {
    /// The archive written by `guichet backup`.
    archive: PathBuf,
}

/// `guichet export`.
#[derive(Debug, ClapArgs)]
pub(super) struct ExportArgs {
    /// The folder to write (JSONL files and the documents).
    #[arg(long)]
    out: PathBuf,
}

/// `guichet import`.
#[derive(Debug, ClapArgs)]
pub(super) struct ImportArgs {
    /// A folder written by `guichet export`.
    dir: PathBuf,
    /// Say what would change, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// When an item exists with different content.
    #[arg(long, value_enum, default_value_t = export::OnConflict::Skip)]
    on_conflict: export::OnConflict,
}

/// `guichet check`.
#[derive(Debug, ClapArgs)]
pub(super) struct CheckArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Writes a backup archive, then prunes old ones when asked.
pub(super) fn backup(config: &Config, args: BackupArgs) -> Result<()> {
    let dir = config.data_dir.join("backups");
    let out = args.out.unwrap_or_else(|| {
        let stamp = crate::time::file_stamp();
        dir.join(format!("guichet-{stamp}.tar.gz"))
    });
    let r = backup::backup(&config.data_dir, &out)?;
    let counts: Vec<String> = r
        .manifest
        .counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    println!(
        "backup written to {} ({:.1} MiB): {}",
        r.path.display(),
        r.bytes as f64 / 1048576.0,
        counts.join(", ")
    );
    for m in &r.manifest.missing_documents {
        println!("warning: original file not archived (missing or changed): document {m}");
    }
    if args.keep > 0 {
        let removed = backup::prune(&dir, args.keep)?;
        if removed > 0 {
            println!("removed {removed} older backup(s), keeping {}", args.keep);
        }
    }
    Ok(())
}

/// Restores an archive into an empty data directory and rebuilds the
/// vector index (re-embedding when the configured model differs).
pub(super) fn restore(config: &Config, args: RestoreArgs) -> Result<()> {
    let r = backup::restore(&args.archive, &config.data_dir)?;
    println!(
        "restored {} (Guichet {}, schema {}, {}) into {}; {} document file(s) now point at their restored copy",
        args.archive.display(),
        r.manifest.guichet_version,
        r.manifest.schema_version,
        r.manifest.created_at,
        config.data_dir.display(),
        r.relocated
    );
    config.ensure_default_embedder()?;
    let embedder = config.load_embedder()?;
    let model = format!("{}:{}", embedder.id(), embedder.dim());
    let chunks = r.manifest.counts.get("chunks").copied().unwrap_or(0);
    if chunks > 0 && r.manifest.embedding_model != model {
        println!(
            "the backup's vectors come from {}, the configuration uses {model}: re-embedding {chunks} chunks",
            r.manifest.embedding_model
        );
        let mut kb = KnowledgeBase::open_to_reembed(&config.data_dir)?;
        let pb = bar(chunks as u64, "re-embedding");
        kb.reembed(embedder, &mut |done, _| pb.set_position(done as u64))?;
        pb.finish_and_clear();
    } else {
        let mut pb = None;
        KnowledgeBase::open(&config.data_dir, embedder, &mut |n| {
            pb = Some(bar(n as u64, "rebuilding the vector index"));
        })?;
        if let Some(pb) = pb {
            pb.finish_and_clear();
        }
    }
    println!(
        "ready: `guichet --data-dir {} serve`",
        config.data_dir.display()
    );
    Ok(())
}

/// Writes the town's knowledge as JSONL.
pub(super) fn export(config: &Config, args: ExportArgs) -> Result<()> {
    let k = export::export(
        &config.data_dir,
        &args.out,
        &config.settings.answer.priorities,
    )?;
    println!(
        "exported to {}: {} curated answers, {} exclusions, {} evaluation cases, {} documents, {} users",
        args.out.display(),
        k.curated.len(),
        k.exclusions.len(),
        k.eval_cases.len(),
        k.documents.len(),
        k.users.len()
    );
    Ok(())
}

/// Imports an export folder.
pub(super) fn import(config: &Config, args: ImportArgs) -> Result<()> {
    let k = export::read(&args.dir)?;
    config.ensure_default_embedder()?;
    let embedder = config.load_embedder()?;
    let parser = config.parser()?;
    let mut kb = if args.dry_run {
        None
    } else {
        Some(KnowledgeBase::open(
            &config.data_dir,
            embedder.clone(),
            &mut |_| {},
        )?)
    };
    let db = config.data_dir.join(backup::DATABASE);
    let e = embedder.clone();
    let embed = move |texts: &[String]| {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(e.embed(&refs, guichet_models::EmbedKind::Query)?)
    };
    let mut ingest = |path: &std::path::Path, collection: &str| -> Result<()> {
        let Some(kb) = kb.as_mut() else {
            return Ok(());
        };
        let options = IngestOptions {
            collection: collection.to_string(),
            ..config.ingest_options()
        };
        let report = kb.ingest(&parser, &[path.to_owned()], &options, &mut |_| {})?;
        for (file, why) in report.failed {
            println!("failed    {}: {why}", file.display());
        }
        Ok(())
    };
    let r = export::import(
        &k,
        &db,
        export::ImportOptions {
            data_dir: &config.data_dir,
            files_dir: Some(&args.dir),
            policy: args.on_conflict,
            dry_run: args.dry_run,
        },
        &embed,
        &mut ingest,
    )?;
    let fmt = |m: &std::collections::BTreeMap<String, usize>| {
        if m.is_empty() {
            "nothing".to_string()
        } else {
            m.iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let verb = if r.dry_run { "would add" } else { "added" };
    println!("{verb}: {}", fmt(&r.added));
    println!(
        "{}: {}",
        if r.dry_run {
            "would replace"
        } else {
            "replaced"
        },
        fmt(&r.replaced)
    );
    println!("unchanged: {}", fmt(&r.unchanged));
    for c in &r.conflicts {
        println!("kept (differs, --on-conflict replace to overwrite): {c}");
    }
    for m in &r.missing_files {
        println!("skipped (its file is not in the export): {m}");
    }
    let priorities = export::read_priorities(&args.dir);
    if !priorities.is_empty() && priorities != config.settings.answer.priorities {
        println!(
            "the exporting server gave source priorities that this configuration lacks; add to guichet.toml:\n[answer.priorities]"
        );
        for (k, v) in &priorities {
            println!("{k:?} = {v}");
        }
    }
    for (name, token) in &r.new_tokens {
        println!("user {name}: new token {token} (shown once; exports hold no secret)");
    }
    Ok(())
}

/// Prints what is wrong; exits non-zero when anything is.
pub(super) fn check(config: &Config, args: CheckArgs) -> Result<()> {
    let r = check::check(&config.data_dir)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).map_err(|e| Error::Usage(e.to_string()))?
        );
    } else {
        println!(
            "{}: {} documents, {} chunks, {} vectors in the index",
            config.data_dir.display(),
            r.documents,
            r.chunks,
            r.indexed
        );
        for p in &r.problems {
            let level = match p.severity {
                check::Severity::Critical => "CRITICAL",
                check::Severity::Warning => "warning",
            };
            println!("{level}: {}\n  what to do: {}", p.what, p.advice);
        }
        if r.problems.is_empty() {
            println!("no problem found");
        }
    }
    if r.problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "{} problem(s) found in {}",
            r.problems.len(),
            config.data_dir.display()
        )))
    }
}
