//! Guichet: a self-hosted citizen assistant for French municipalities.
//!
//! This crate composes the leaf crates (`guichet-models` for everything
//! candle, `guichet-ingest` for documents) into the service and its command
//! line. Today it holds:
//! * [`config`]: command-line/environment settings validated into a typed
//!   [`config::Config`], and loading the configured embedder;
//! * [`kb`]: the knowledge base (SQLite store with FTS5, HNSW vector index,
//!   hybrid search, the ingestion pipeline);
//! * [`cli`]: one module per subcommand group (`models`, `embed`, `generate`,
//!   `ingest`/`search`/`docs`/`index`, `bench`);
//! * [`error`]: the application error.
//!
//! The answering engine and the HTTP API come next (see
//! `DESIGN.md` in the shared folder and the README).

pub mod api;
pub mod cli;
pub mod config;
pub mod conversations;
pub mod error;
pub mod evaluation;
pub mod kb;
pub mod rag;
pub mod referents;
pub mod settings;
pub mod stats;
pub mod time;

pub use error::{Error, Result};
