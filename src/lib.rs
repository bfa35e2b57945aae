//! Guichet: a self-hosted citizen assistant for French municipalities.
//!
//! This crate composes the leaf crates (`guichet-models` for everything
//! candle, `guichet-ingest` for documents) into the service and its command
//! line:
//! * [`config`], [`settings`]: `guichet.toml`, environment and flags,
//!   validated into a typed [`config::Config`];
//! * [`schema`]: the one database file's versioned schema and migrations;
//! * [`parse`]: documents parsed in confined worker processes;
//! * [`kb`]: the knowledge base (SQLite store with FTS5, HNSW vector index,
//!   hybrid search, the ingestion pipeline);
//! * [`rag`]: the answering engine; [`conversations`] (with its
//!   statistics) and [`referents`]: what citizens asked and what référents
//!   built;
//! * [`engine`]: the composition root, building the engine from the
//!   configuration for both the server and the command line;
//! * [`api`]: the HTTP service and web pages; [`evaluation`]: answers for
//!   `guichet-eval`;
//! * [`durability`]: backups, restore, export/import and integrity checks;
//! * [`cli`]: one module per subcommand group;
//! * [`error`]: the application error.

pub mod api;
#[cfg(test)]
mod architecture;
pub mod cli;
pub mod config;
pub mod conversations;
pub mod crawl;
pub mod durability;
pub mod engine;
pub mod error;
pub mod evaluation;
pub mod kb;
pub mod notify;
pub mod parse;
pub mod rag;
pub mod referents;
pub mod schema;
pub mod settings;
pub mod time;

pub use error::{Error, Result};

/// Embeds texts as questions: how curated-answer imports and statistics
/// get vectors without depending on where the embedder lives.
pub type EmbedTexts<'a> = &'a dyn Fn(&[String]) -> Result<Vec<Vec<f32>>>;
