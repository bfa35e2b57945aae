//! Integration tests of `guichet-ingest`, compiled as one binary (see
//! STYLE.md, point 16). Fixtures and their sources: `fixtures/README.md`.

mod broken;
mod chunking;
mod common;
mod formats;
mod hostile;
mod pdf;
mod service_public;
