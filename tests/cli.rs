//! The command line explains itself and reports errors clearly.

use crate::support::{ensure_e5, guichet, run};

#[test]
fn help_explains_every_level() {
    for args in [
        vec!["--help"],
        vec!["models", "--help"],
        vec!["models", "fetch", "--help"],
        vec!["models", "list", "--help"],
        vec!["embed", "--help"],
        vec!["bench", "--help"],
        vec!["bench", "embed", "--help"],
    ] {
        let (out, stdout, _) = run(guichet().args(&args));
        assert!(out.status.success(), "{args:?}");
        assert!(stdout.contains("Usage:"), "{args:?}: {stdout}");
        assert!(
            stdout.lines().count() > 5,
            "{args:?} says too little: {stdout}"
        );
    }
    let (_, stdout, _) = run(guichet().arg("--help"));
    for word in [
        "models",
        "embed",
        "bench",
        "--models-dir",
        "GUICHET_MODELS",
        "--threads",
    ] {
        assert!(
            stdout.contains(word),
            "top-level help lacks {word}: {stdout}"
        );
    }
}

#[test]
fn embed_prints_dimension_and_a_sensible_cosine_matrix() {
    ensure_e5();
    let (out, stdout, stderr) = run(guichet().args([
        "embed",
        "Comment renouveler ma carte d'identité ?",
        "Je dois refaire ma CNI.",
        "Horaires de la piscine municipale",
    ]));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("dimension 384"), "{stdout}");
    let row: Vec<f32> = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("[0]") && l.contains("1.0000"))
        .expect("matrix row [0]")
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(row.len(), 3);
    assert!((row[0] - 1.0).abs() < 1e-3);
    assert!(
        row[1] > row[2],
        "paraphrase should be closer than the unrelated text: {row:?}"
    );
}

#[test]
fn missing_embedding_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _, stderr) = run(guichet()
        .args(["embed", "bonjour"])
        .env("GUICHET_MODELS", dir.path()));
    assert!(!out.status.success());
    assert!(
        stderr.contains("e5-small-q4.bin") && stderr.contains("guichet models fetch"),
        "{stderr}"
    );
    let (out, _, stderr) =
        run(guichet().args(["embed", "--embedding-model", "/nonexistent/model.bin", "x"]));
    assert!(!out.status.success());
    assert!(stderr.contains("/nonexistent/model.bin"), "{stderr}");
}

#[test]
fn corrupt_embedding_model_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("broken-e5.bin");
    std::fs::write(&bad, b"E5S1\x01\x00\x00\x00truncated").unwrap();
    let (out, _, stderr) = run(guichet()
        .args(["embed", "bonjour"])
        .arg("--embedding-model")
        .arg(&bad));
    assert!(!out.status.success());
    assert!(
        stderr.contains("broken-e5.bin") && stderr.contains("invalid model file"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}
