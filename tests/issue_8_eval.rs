//! Issue 8: `guichet eval` end to end with the real models — a run writes
//! its three outputs, gates pass on a sound configuration and fail on a
//! deliberately broken one, a running server can be evaluated over HTTP,
//! and stored questions are drawn into a draft set.

use std::path::Path;

use serde_json::Value;

use crate::support::{copy_dir, guichet, run, service_kb, Server};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The smoke cases answerable from the shared test knowledge base (the
/// identity card renewal fiche, the electoral list fiche, the tariffs),
/// plus the out-of-scope and injection ones.
fn subset(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join("eval/sets/smoke.jsonl")).unwrap();
    let keep: Vec<&str> = text
        .lines()
        .filter(|l| {
            let c: Value = serde_json::from_str(l).unwrap();
            let docs: Vec<&str> = c["expected_sources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["document"].as_str().unwrap())
                .collect();
            docs.is_empty()
                || docs.iter().any(|d| {
                    ["F21089.xml", "F1965.xml", "VilleMTP_MTP_Tarifs_2014.pdf"].contains(d)
                })
        })
        .collect();
    assert!(keep.len() >= 6, "{}", keep.len());
    let p = dir.join("subset.jsonl");
    std::fs::write(&p, keep.join("\n")).unwrap();
    p
}

#[test]
fn a_run_writes_its_outputs_and_the_gate_catches_a_broken_configuration() {
    let kb = service_kb();
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    copy_dir(&kb, &data);
    let set = subset(work.path());
    let gates = work.path().join("gates.toml");
    std::fs::write(
        &gates,
        "[overall]\nhit_at_5 = 0.5\nwrongly_refused = 0.4\nviolations = 0\n[kind.injection]\nabstention_accuracy = 1.0\n",
    )
    .unwrap();
    let out = work.path().join("run1");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(&data)
        .args(["eval", "run"])
        .arg(&set)
        .arg("--out")
        .arg(&out)
        .arg("--thresholds")
        .arg(&gates));
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("gates: all passed"), "{stdout}");
    let results = std::fs::read_to_string(out.join("results.jsonl")).unwrap();
    let n = std::fs::read_to_string(&set).unwrap().lines().count();
    assert_eq!(results.lines().count(), n);
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["overall"]["cases"], n);
    assert_eq!(summary["by_kind"]["injection"]["abstention_accuracy"], 1.0);
    assert!(
        summary["overall"]["hit_at_5"].as_f64().unwrap() >= 0.5,
        "{summary:#}"
    );
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("<svg") && report.contains("Les cas les moins bons"));

    // Broken: every question abstains. The same gates fail and say why,
    // and the comparison with the first run lists the cases that got worse.
    let out2 = work.path().join("run2");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(&data)
        .env("GUICHET_ANSWER_ABSTAIN_BELOW", "1")
        .args(["eval", "run"])
        .arg(&set)
        .arg("--out")
        .arg(&out2)
        .arg("--compare")
        .arg(&out)
        .arg("--thresholds")
        .arg(&gates));
    assert!(!o.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("overall.wrongly_refused"), "{stderr}");
    assert!(stderr.contains("overall.hit_at_5"), "{stderr}");
    let s2: Value =
        serde_json::from_str(&std::fs::read_to_string(out2.join("summary.json")).unwrap()).unwrap();
    assert!(!s2["worsened"].as_array().unwrap().is_empty(), "{s2:#}");
}

#[test]
fn a_running_server_is_evaluated_over_http_and_its_questions_sampled() {
    let server = Server::start(&service_kb(), &[]);
    let work = tempfile::tempdir().unwrap();
    let set = subset(work.path());
    let out = work.path().join("run");
    let (o, stdout, stderr) = run(guichet()
        .args(["eval", "run"])
        .arg(&set)
        .args(["--server", &server.url])
        .arg("--out")
        .arg(&out));
    assert!(o.status.success(), "{stdout}{stderr}");
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["overall"]["errors"], 0, "{summary:#}");
    assert!(summary["answerer"].as_str().unwrap().contains(&server.url));
    assert_eq!(summary["by_kind"]["injection"]["abstention_accuracy"], 1.0);

    // The questions the run asked are stored: draw two into a draft set.
    let draft = work.path().join("draft.jsonl");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(server.data_dir())
        .args([
            "eval",
            "sample",
            "--from",
            "2000-01-01",
            "--to",
            "2999-12-31",
            "-n",
            "2",
            "--out",
        ])
        .arg(&draft));
    assert!(o.status.success(), "{stdout}{stderr}");
    let lines: Vec<Value> = std::fs::read_to_string(&draft)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines
        .iter()
        .all(|c| c["status"] == "draft" && c["question"].as_str().is_some_and(|q| !q.is_empty())));
}
