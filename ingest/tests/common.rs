//! Helpers shared by the tests.

use std::collections::HashMap;
use std::path::PathBuf;

use guichet_ingest::{load_file, Document};

/// The path of a fixture file.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Loads a fixture, panicking with the error if it fails.
pub fn load(rel: &str) -> Document {
    match load_file(&fixture(rel)) {
        Ok(doc) => doc,
        Err(e) => panic!("{rel}: {e}"),
    }
}

/// The word-count token counter used by the chunking tests.
pub fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Lower-cased runs of letters and digits, counted.
pub fn word_bag(text: &str) -> HashMap<String, usize> {
    let mut bag = HashMap::new();
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *bag.entry(w.to_lowercase()).or_insert(0) += 1;
    }
    bag
}

/// Share of the reference's words (with multiplicity) found in `ours`.
pub fn word_recall(reference: &str, ours: &str) -> f64 {
    let reference = word_bag(reference);
    let ours = word_bag(ours);
    let total: usize = reference.values().sum();
    let found: usize = reference
        .iter()
        .map(|(w, n)| (*n).min(ours.get(w).copied().unwrap_or(0)))
        .sum();
    found as f64 / total.max(1) as f64
}
