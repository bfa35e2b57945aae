//! `guichet embed TEXT...`: the dimension and cosine similarity matrix.

use clap::{Args, ValueEnum};
use guichet_models::{cosine, EmbedKind};

use crate::config::Config;
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    /// Citizen questions (`query: ` prefix for e5).
    Query,
    /// Document passages (`passage: ` prefix for e5).
    Passage,
}

#[derive(Debug, Args)]
pub(super) struct EmbedArgs {
    /// Texts to embed (at least one).
    #[arg(required = true)]
    texts: Vec<String>,
    /// Embed the texts as queries or as passages.
    #[arg(long, value_enum, default_value = "query")]
    kind: Kind,
}

pub(super) fn run(config: &Config, args: EmbedArgs) -> Result<()> {
    let embedder = config.load_embedder()?;
    let kind = match args.kind {
        Kind::Query => EmbedKind::Query,
        Kind::Passage => EmbedKind::Passage,
    };
    let texts: Vec<&str> = args.texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed(&texts, kind)?;
    if vectors.len() != texts.len() {
        return Err(Error::Usage(
            "the embedder returned a wrong number of vectors".into(),
        ));
    }
    println!("model {} · dimension {}", embedder.id(), embedder.dim());
    for (i, t) in texts.iter().enumerate() {
        let short: String = t.chars().take(60).collect();
        println!("[{i}] {short}");
    }
    print!("{:>6}", "");
    for j in 0..texts.len() {
        print!("{:>8}", format!("[{j}]"));
    }
    println!();
    for (i, a) in vectors.iter().enumerate() {
        print!("{:>6}", format!("[{i}]"));
        for b in &vectors {
            print!("{:>8.4}", cosine(a, b));
        }
        println!();
    }
    Ok(())
}
