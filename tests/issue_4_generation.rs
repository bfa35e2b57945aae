//! Issue 4: `guichet models info` and `guichet generate` on the real GGUF
//! models, through the binary.

use crate::support::{guichet, run};

fn ensure_llms() {
    let (out, stdout, stderr) = run(guichet().args(["models", "fetch", "gemma3", "smollm2"]));
    assert!(
        out.status.success(),
        "models fetch failed: {stdout}{stderr}"
    );
}

#[test]
fn models_info_describes_both_default_gguf_files() {
    ensure_llms();
    let (out, stdout, stderr) = run(guichet().args(["models", "info", "gemma3"]));
    assert!(out.status.success(), "{stderr}");
    for want in [
        "architecture   gemma3",
        "Q5_0 x81",
        "context length 32768",
        "vocabulary     262144",
        "tokenizer      llama",
        "chat template  no",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
    let (out, stdout, stderr) = run(guichet().args(["models", "info", "smollm2"]));
    assert!(out.status.success(), "{stderr}");
    for want in [
        "architecture   llama",
        "Q4_1 x210",
        "tokenizer      gpt2",
        "chat template  yes",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
}

#[test]
fn generate_streams_an_answer_and_reports_speed() {
    ensure_llms();
    let (out, stdout, stderr) = run(guichet().args([
        "generate",
        "--model",
        "smollm2",
        "--system",
        "You are a concise assistant.",
        "--prompt",
        "What is the capital of France?",
        "--max-tokens",
        "40",
    ]));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("Paris"), "{stdout}");
    assert!(
        stderr.contains("tok/s") && stderr.contains("end of text"),
        "{stderr}"
    );
    // A missing file is a clear error, not a panic.
    let (out, _, stderr) = run(guichet().args([
        "generate",
        "--model",
        "/nonexistent/model.gguf",
        "--prompt",
        "x",
    ]));
    assert!(!out.status.success());
    assert!(
        stderr.contains("/nonexistent/model.gguf") && stderr.contains("models fetch"),
        "{stderr}"
    );
}
