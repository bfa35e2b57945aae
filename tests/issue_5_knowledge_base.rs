//! Issue 5: ingestion into the knowledge base and hybrid search, through the
//! binary, on the real demo corpus and the real default embedder.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{ensure_e5, guichet, run};

fn demo(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("ingest/demo/documents")
        .join(rel)
}

fn kb(data: &Path) -> Command {
    let mut c = guichet();
    c.arg("--data-dir").arg(data);
    c
}

fn ingest(data: &Path, paths: &[PathBuf]) -> String {
    let (out, stdout, stderr) = run(kb(data).arg("ingest").args(paths));
    assert!(out.status.success(), "ingest failed: {stdout}{stderr}");
    stdout
}

fn search_json(data: &Path, q: &str) -> serde_json::Value {
    let (out, stdout, stderr) = run(kb(data).args(["search", "--json", "-k", "5", q]));
    assert!(out.status.success(), "search failed: {stdout}{stderr}");
    serde_json::from_str(stdout.trim()).unwrap()
}

#[test]
fn ingest_is_incremental_and_search_finds_the_fiche_and_the_tariff_page() {
    ensure_e5();
    let data = tempfile::tempdir().unwrap();
    let files = vec![
        demo("service-public/F1965.xml"),
        demo("service-public/F1367.xml"),
        demo("service-public/F1341.xml"),
        demo("montpellier/VilleMTP_MTP_Tarifs_2014.pdf"),
    ];
    let first = ingest(data.path(), &files);
    assert!(
        first.contains("added 4") && first.contains("failed 0"),
        "{first}"
    );
    let second = ingest(data.path(), &files);
    assert!(
        second.contains("added 0") && second.contains("unchanged 4"),
        "{second}"
    );

    let hits = search_json(
        data.path(),
        "justificatif de domicile inscription liste électorale",
    );
    let top: Vec<&str> = hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["chunk"]["url"].as_str().unwrap_or(""))
        .collect();
    assert!(top.iter().any(|u| u.ends_with("/F1965")), "{top:?}");

    // The price is stated twice: in a sentence on page 3 and in the
    // summary table of page 4; a hit on either page must hold it.
    let hits = search_json(data.path(), "prix cantine maternelle Montpellier");
    let found = hits["hits"].as_array().unwrap().iter().any(|h| {
        let text = h["chunk"]["text"].as_str().unwrap_or("");
        h["chunk"]["source"]
            .as_str()
            .unwrap_or("")
            .ends_with("VilleMTP_MTP_Tarifs_2014.pdf")
            && h["chunk"]["page_start"].as_u64().unwrap_or(0) <= 4
            && h["chunk"]["page_end"].as_u64().unwrap_or(0) >= 3
            && (text.contains("3,38 €") || text.contains("3.38 €"))
    });
    assert!(found, "{hits:#}");
}

#[test]
fn documents_can_be_removed_and_the_index_rebuilt_from_the_database() {
    ensure_e5();
    let data = tempfile::tempdir().unwrap();
    ingest(
        data.path(),
        &[
            demo("service-public/F1965.xml"),
            demo("service-public/F14935.xml"),
        ],
    );
    let (_, list, _) = run(kb(data.path()).args(["docs", "list"]));
    assert_eq!(list.lines().count(), 2, "{list}");
    let id = list
        .lines()
        .find(|l| l.contains("Inhumation"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let (out, _, stderr) = run(kb(data.path()).args(["docs", "rm", &id]));
    assert!(out.status.success(), "{stderr}");
    let hits = search_json(data.path(), "inhumation cimetière");
    assert!(hits["hits"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| !h["chunk"]["title"]
            .as_str()
            .unwrap_or("")
            .contains("Inhumation")));
    // The vector index is derived: delete it, and the next search rebuilds it.
    std::fs::remove_dir_all(data.path().join("index")).unwrap();
    let hits = search_json(data.path(), "justificatif de domicile liste électorale");
    assert!(!hits["hits"].as_array().unwrap().is_empty());
    assert!(data.path().join("index/index.json").exists());
    let (out, stdout, _) = run(kb(data.path()).args(["index", "rebuild"]));
    assert!(
        out.status.success() && stdout.contains("rebuilt"),
        "{stdout}"
    );
}

#[test]
fn a_failing_file_is_reported_and_does_not_stop_the_others() {
    ensure_e5();
    let data = tempfile::tempdir().unwrap();
    let bad = data.path().join("junk.pdf");
    std::fs::write(&bad, b"\x00\x01binary junk, not a pdf").unwrap();
    let (out, stdout, stderr) = run(kb(data.path())
        .arg("ingest")
        .arg(&bad)
        .arg(demo("service-public/F1965.xml")));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("added 1") && stdout.contains("failed 1") && stdout.contains("junk.pdf"),
        "{stdout}"
    );
    // Only failures: non-zero exit.
    let (out, stdout, _) = run(kb(data.path()).arg("ingest").arg(&bad));
    assert!(!out.status.success(), "{stdout}");
}

#[test]
fn killing_ingestion_midway_leaves_a_usable_knowledge_base() {
    ensure_e5();
    let data = tempfile::tempdir().unwrap();
    let corpus = data.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    for id in [
        "F1965", "F1367", "F1372", "F1427", "F1432", "F1444", "F14935", "F16217",
    ] {
        std::fs::copy(
            demo(&format!("service-public/{id}.xml")),
            corpus.join(format!("{id}.xml")),
        )
        .unwrap();
    }
    let mut child = kb(data.path())
        .arg("ingest")
        .arg(&corpus)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Let it commit some documents, then kill -9 in the middle of the rest.
    let db = data.path().join("guichet.db");
    let start = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let done = rusqlite::Connection::open(&db)
            .and_then(|c| c.query_row("SELECT count(*) FROM documents", [], |r| r.get::<_, i64>(0)))
            .unwrap_or(0);
        if done >= 2 || start.elapsed().as_secs() > 120 {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Every stored document is whole: its chunk count matches its chunks.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let bad: i64 = conn
        .query_row(
            "SELECT count(*) FROM documents d WHERE d.chunk_count != (SELECT count(*) FROM chunks c WHERE c.document_id = d.id)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, 0);
    let stored: i64 = conn
        .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap();
    assert!(
        (2..8).contains(&stored),
        "{stored} documents stored before the kill"
    );
    drop(conn);
    // Searching works (the stale vector index is rebuilt), and a new run
    // finishes the job without redoing what was committed.
    let hits = search_json(data.path(), "carte d'identité");
    assert!(!hits["hits"].as_array().unwrap().is_empty());
    let rest = ingest(data.path(), &[corpus]);
    assert!(rest.contains(&format!("unchanged {stored}")), "{rest}");
}

#[test]
fn a_guichetignore_leaves_files_out_and_sync_removes_what_it_now_lists() {
    ensure_e5();
    let data = tempfile::tempdir().unwrap();
    let docs = tempfile::tempdir().unwrap();
    let d = docs.path();
    std::fs::copy(demo("service-public/F1965.xml"), d.join("F1965.xml")).unwrap();
    std::fs::write(
        d.join("index.csv"),
        "id,titre\nF1965,Listes électorales : justificatif de domicile\n",
    )
    .unwrap();
    std::fs::create_dir(d.join("brouillons")).unwrap();
    std::fs::write(
        d.join("brouillons/note.md"),
        "# Note interne\n\nÀ relire avant publication.\n",
    )
    .unwrap();
    std::fs::write(d.join(".guichetignore"), "*.csv\nbrouillons/\n").unwrap();
    let out = ingest(data.path(), &[d.to_path_buf()]);
    assert!(
        out.contains("added 1,") && out.contains("failed 0"),
        "{out}"
    );
    let (_, listed, _) = run(kb(data.path()).args(["docs", "list"]));
    assert!(listed.contains("F1965.xml"), "{listed}");
    assert!(
        !listed.contains("index.csv") && !listed.contains("note.md"),
        "{listed}"
    );

    // Once the listing is no longer ignored it is ingested; ignored again,
    // `--sync` removes it and keeps the fiche.
    std::fs::write(d.join(".guichetignore"), "brouillons/\n").unwrap();
    let out = ingest(data.path(), &[d.to_path_buf()]);
    assert!(
        out.contains("added 1,") && out.contains("unchanged 1"),
        "{out}"
    );
    std::fs::write(d.join(".guichetignore"), "*.csv\nbrouillons/\n").unwrap();
    let (o, out, err) = run(kb(data.path()).arg("ingest").arg("--sync").arg(d));
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains("removed 1") && out.contains("unchanged 1"),
        "{out}"
    );
    let (_, listed, _) = run(kb(data.path()).args(["docs", "list"]));
    assert!(
        listed.contains("F1965.xml") && !listed.contains("index.csv"),
        "{listed}"
    );
}
