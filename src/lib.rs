//! Guichet: a self-hosted citizen assistant for French municipalities.
//!
//! This crate composes the leaf crates (`guichet-models` for everything
//! candle) into the service and its command line. Today it holds:
//! * [`config`]: command-line/environment settings validated into a typed
//!   [`config::Config`], and loading the configured embedder;
//! * [`cli`]: one module per subcommand group (`models`, `embed`, `bench`);
//! * [`error`]: the application error.
//!
//! The knowledge base, the answering engine and the HTTP API come next (see
//! `DESIGN.md` in the shared folder and the README).

pub mod cli;
pub mod config;
pub mod error;

pub use error::{Error, Result};
