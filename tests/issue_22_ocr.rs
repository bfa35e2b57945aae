//! Issue 22: the one scanned council PDF of the shared corpus
//! (`CR_CM_20_06_2011.pdf`, 12 pages of images) becomes searchable
//! through real Tesseract: questions only its recognised text answers find
//! it, on the right page, among a text PDF of the same kind and fiches;
//! the summary lists it with its mean confidence.

use std::path::Path;

use crate::support::{ensure_e5, guichet, run};

#[test]
fn issue_22_the_scanned_council_minutes_answer_questions_after_ocr() {
    ensure_e5();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let docs = tmp.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    for f in [
        "ingest/tests/fixtures/pdf/CR_CM_20_06_2011.pdf",
        "ingest/tests/fixtures/pdf/CR_CM_07_02_2011.pdf",
        "ingest/demo/documents/service-public/F10007.xml",
        "ingest/demo/documents/service-public/F10619.xml",
    ] {
        let from = root.join(f);
        std::fs::copy(&from, docs.join(from.file_name().unwrap())).unwrap();
    }
    let data = tmp.path().join("kb");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(&data)
        .arg("ingest")
        .arg(&docs));
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("added 4,"), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("ocr") && l.contains("CR_CM_20_06_2011.pdf"))
        .unwrap_or_else(|| panic!("the OCR'd document is not in the summary: {stdout}"));
    assert!(line.contains("12 page(s) recognised"), "{line}");
    let confidence: f64 = line
        .rsplit_once("confidence ")
        .and_then(|(_, c)| c.trim_end_matches(" %").parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(confidence >= 80.0, "{line}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ocr")).count(),
        1,
        "only the scanned PDF is read by OCR: {stdout}"
    );

    for (question, page, words) in [
        (
            "le vœu sur le déplacement de l'autoroute A9 a-t-il été adopté ?",
            1,
            "autoroute A9",
        ),
        (
            "sécurité de l'école du groupe scolaire les Aiguerelles avenue du Pont Trinquat",
            2,
            "Aiguerelles",
        ),
    ] {
        let (o, stdout, stderr) = run(guichet()
            .arg("--data-dir")
            .arg(&data)
            .args(["search", question, "--json", "-k", "1"]));
        assert!(o.status.success(), "{stderr}");
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        let hit = &v["hits"][0]["chunk"];
        assert!(
            hit["source"]
                .as_str()
                .is_some_and(|s| s.ends_with("CR_CM_20_06_2011.pdf")),
            "{question}: {hit}"
        );
        assert_eq!(hit["page_start"], page, "{question}: {hit}");
        assert!(
            hit["text"].as_str().is_some_and(|t| t.contains(words)),
            "{question}: {hit}"
        );
    }
}
