//! `guichet-ingest`: turning municipal documents into clean, structured text
//! and chunks. Bytes in, chunks out: no database, no model, no HTTP.
