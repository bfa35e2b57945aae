//! Helpers: run the binary, find the shared models folder.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository's models folder (or `GUICHET_MODELS`), shared by every
/// test so that the weights are fetched once.
pub fn models_dir() -> PathBuf {
    std::env::var_os("GUICHET_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/weights"))
}

/// A `guichet` command with a clean environment for our variables.
pub fn guichet() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_guichet"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("GUICHET_") {
            c.env_remove(k);
        }
    }
    c.env("GUICHET_MODELS", models_dir())
        .env("RUST_LOG", "warn");
    c
}

/// Runs and returns the output, with stdout and stderr as text.
pub fn run(cmd: &mut Command) -> (Output, String, String) {
    let out = cmd.output().expect("run guichet");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// Makes sure the default embedding model is in the shared folder.
pub fn ensure_e5() {
    let (out, stdout, stderr) = run(guichet().args(["models", "fetch", "e5"]));
    assert!(
        out.status.success(),
        "models fetch e5 failed: {stdout}{stderr}"
    );
}
