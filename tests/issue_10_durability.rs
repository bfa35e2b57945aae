//! Issue 10: a town's knowledge survives disk failures, upgrades and moves —
//! online backups restored elsewhere, export/import, schema migrations
//! from every released version, re-embedding, and the integrity check.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::support::{call, copy_dir, guichet, run, send, service_kb, token, wait_job, Server};

fn fixture(v: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/schema/schema-v{v}.db"))
}

/// Between the columns of a row as text.
const SEP: &str = "\u{1f}";

/// Every row of every table (FTS content by rowid), as text, per table.
fn rows(db: &Path) -> Vec<(String, Vec<String>)> {
    let c = Connection::open(db).unwrap();
    let tables: Vec<String> = c
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'chunks_fts%' AND name != 'sqlite_sequence' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut out = Vec::new();
    for t in tables.into_iter().chain(["chunks_fts".to_string()]) {
        let sql = if t == "chunks_fts" {
            "SELECT rowid, terms FROM chunks_fts ORDER BY rowid".to_string()
        } else {
            format!("SELECT * FROM {t} ORDER BY rowid")
        };
        let mut st = c.prepare(&sql).unwrap();
        let n = st.column_count();
        let values: Vec<String> = st
            .query_map([], |r| {
                let mut cols = Vec::new();
                for i in 0..n {
                    let v: rusqlite::types::Value = r.get(i)?;
                    cols.push(format!("{v:?}"));
                }
                Ok(cols.join(SEP))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        out.push((t, values));
    }
    out
}

fn meta(db: &Path, key: &str) -> Option<String> {
    Connection::open(db)
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .ok()
}

#[test]
fn every_released_schema_migrates_with_every_row_kept() {
    for v in [1, 2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("guichet.db");
        std::fs::copy(fixture(v), &db).unwrap();
        let before = rows(&db);
        assert!(before.iter().any(|(t, r)| t == "chunks" && r.len() == 12));
        let (o, stdout, stderr) = run(guichet()
            .arg("--data-dir")
            .arg(dir.path())
            .args(["docs", "list"]));
        assert!(o.status.success(), "v{v}: {stdout}{stderr}");
        assert!(stdout.contains("liste électorale"), "{stdout}");
        assert!(
            stderr.contains(&format!("from schema version {v} to 4")),
            "{stderr}"
        );
        assert_eq!(meta(&db, "schema_version").as_deref(), Some("4"));
        let after = rows(&db);
        for (table, old) in &before {
            let new = &after.iter().find(|(t, _)| t == table).unwrap().1;
            let old: Vec<&String> = old
                .iter()
                .filter(|r| !r.contains("schema_version"))
                .collect();
            // Columns a later version adds come last: the old ones keep
            // their values.
            let new: Vec<String> = new
                .iter()
                .filter(|r| !r.contains("schema_version"))
                .zip(&old)
                .map(|(n, o)| {
                    let width = o.split(SEP).count();
                    n.split(SEP).take(width).collect::<Vec<_>>().join(SEP)
                })
                .collect();
            let old: Vec<String> = old.into_iter().cloned().collect();
            assert_eq!(old.len(), new.len(), "v{v}: rows of {table} lost");
            assert_eq!(&old, &new, "v{v}: rows of {table} changed");
        }
        // The tables a version lacked now exist; the upgrade is logged and
        // the old database kept.
        for t in ["users", "curated", "eval_cases", "migrations"] {
            assert!(after.iter().any(|(n, _)| n == t), "v{v}: no {t}");
        }
        let log = &after.iter().find(|(t, _)| t == "migrations").unwrap().1;
        assert_eq!(log.len(), 1, "{log:?}");
        let backups: Vec<_> = std::fs::read_dir(dir.path().join("backups"))
            .unwrap()
            .collect();
        assert_eq!(backups.len(), 1);
        // The migrated base answers a search (the vector index is rebuilt).
        let (o, stdout, stderr) = run(guichet()
            .arg("--data-dir")
            .arg(dir.path())
            .args(["search", "justificatif de domicile liste électorale"]));
        assert!(o.status.success(), "{stdout}{stderr}");
        assert!(
            stdout.contains("F1965") || stdout.contains("listes électorales"),
            "{stdout}"
        );
    }
    // Version 2's référent rows are served: the user's curated answer and
    // the review's evaluation case.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture(2), dir.path().join("guichet.db")).unwrap();
    let out = dir.path().join("export");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(dir.path())
        .arg("export")
        .arg("--out")
        .arg(&out));
    assert!(o.status.success(), "{stdout}{stderr}");
    let curated = std::fs::read_to_string(out.join("curated.jsonl")).unwrap();
    assert!(curated.contains("moins de 3 mois"), "{curated}");
    let cases = std::fs::read_to_string(out.join("eval-cases.jsonl")).unwrap();
    assert!(cases.contains("inscrit d'office"), "{cases}");
}

#[test]
fn a_database_from_a_newer_version_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("guichet.db");
    std::fs::copy(fixture(2), &db).unwrap();
    {
        let c = Connection::open(&db).unwrap();
        c.execute(
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
    }
    let bytes = std::fs::read(&db).unwrap();
    for args in [
        vec!["docs", "list"],
        vec!["users", "list"],
        vec!["serve", "--bind", "127.0.0.1:0"],
    ] {
        let (o, stdout, stderr) = run(guichet()
            .arg("--data-dir")
            .arg(dir.path())
            .env("GUICHET_SERVER_DEMO_CORPUS", "")
            .args(&args));
        assert!(!o.status.success(), "{args:?} accepted a newer database");
        let all = format!("{stdout}{stderr}");
        assert!(
            all.contains("schema version 99, newer than this binary's 4"),
            "{args:?}: {all}"
        );
        assert_eq!(std::fs::read(&db).unwrap(), bytes, "{args:?} modified it");
        assert!(!dir.path().join("guichet.db-wal").exists());
    }
}

fn questions() -> [&'static str; 3] {
    [
        "Quels documents pour refaire une carte d'identité ?",
        "justificatif de domicile pour l'inscription sur les listes électorales",
        "prix de la cantine en maternelle à Montpellier",
    ]
}

fn sources(server: &Server, q: &str) -> Vec<String> {
    let a = server.ask(q, None);
    a["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| format!("{} p{}", s["title"], s["page"]))
        .collect()
}

#[test]
fn a_backup_taken_under_load_restores_elsewhere_with_the_same_answers() {
    let server = Server::start(&service_kb(), &[("GUICHET_LIMITS_RATE_PER_MINUTE", "0")]);
    let t = token(&server, "alice", "referent");
    let (s, v) = call(
        &server,
        "POST",
        "/api/curated",
        Some(&t),
        Some(
            json!({"question": "Où se marier à Démo ?", "answer": "À la salle des mariages de l'hôtel de ville."}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    let before: Vec<Vec<String>> = questions().iter().map(|q| sources(&server, q)).collect();

    // Questions keep coming and a document is uploaded while the backup runs.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let url = server.url.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let q = questions()[n % 3];
                let r = Server::agent()
                    .post(format!("{url}/api/chat"))
                    .header("Content-Type", "application/json")
                    .send(json!({"message": q, "stream": false}).to_string())
                    .unwrap();
                assert_eq!(r.status().as_u16(), 200);
                n += 1;
            }
            n
        })
    };
    let note = "# Horaires de la piscine\n\nLa piscine municipale Aqualune ouvre du mardi au dimanche de 9 h à 19 h.\n";
    let (s, job) = send(
        &server,
        "POST",
        "/api/documents",
        Some(&t),
        &[("piscine.md", note.as_bytes())],
    );
    assert_eq!(s, 202, "{job}");
    let archive = tempfile::tempdir().unwrap();
    let file = archive.path().join("b.tar.gz");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(server.data_dir())
        .arg("backup")
        .arg("--out")
        .arg(&file));
    assert!(o.status.success(), "{stdout}{stderr}");
    wait_job(&server, &t, job["id"].as_str().unwrap());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(load.join().unwrap() > 0);

    // Restored into a new directory, it answers with the same sources.
    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("data");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(&target)
        .arg("restore")
        .arg(&file));
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("restored"), "{stdout}");
    // Restoring over existing data is refused.
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(&target)
        .arg("restore")
        .arg(&file));
    assert!(!o.status.success());
    assert!(format!("{stdout}{stderr}").contains("not empty"));
    let (o, stdout, stderr) = run(guichet().arg("--data-dir").arg(&target).arg("check"));
    assert!(o.status.success(), "{stdout}{stderr}");

    let again = Server::start(&target, &[]);
    for (q, expected) in questions().iter().zip(&before) {
        assert_eq!(&sources(&again, q), expected, "{q}");
    }
    let a = again.ask("Où se marier à Démo ?", None);
    assert_eq!(a["status"], "curated", "{a}");
    // The référent's token still works on the restored server.
    let (s, _) = call(&again, "GET", "/api/curated", Some(&t), None);
    assert_eq!(s, 200);

    // A damaged archive is refused before anything is written.
    let bad = archive.path().join("bad.tar.gz");
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&bad, bytes).unwrap();
    let elsewhere = restored.path().join("other");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(&elsewhere)
        .arg("restore")
        .arg(&bad));
    assert!(!o.status.success(), "{stdout}{stderr}");
    assert!(!elsewhere.join("guichet.db").exists());
}

fn export(dir: &Path, out: &Path) {
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(dir)
        .arg("export")
        .arg("--out")
        .arg(out));
    assert!(o.status.success(), "{stdout}{stderr}");
}

fn import(dir: &Path, from: &Path, extra: &[&str]) -> String {
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(dir)
        .arg("import")
        .arg(from)
        .args(extra));
    assert!(o.status.success(), "{stdout}{stderr}");
    stdout
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn documents(path: &Path) -> Vec<Value> {
    jsonl(path)
        .into_iter()
        .map(|d| {
            json!({"hash": d["hash"], "title": d["title"], "collection": d["collection"],
                   "format": d["format"], "url": d["url"], "date": d["date"]})
        })
        .collect()
}

#[test]
fn export_then_import_into_an_empty_directory_gives_the_same_knowledge_twice_over() {
    let server = Server::start(&service_kb(), &[]);
    let t = token(&server, "alice", "referent");
    let (s, v) = call(
        &server,
        "POST",
        "/api/curated",
        Some(&t),
        Some(
            json!({"question": "Où se marier à Démo ?", "variants": ["salle des mariages"],
                    "answer": "À la salle des mariages de l'hôtel de ville.", "expires_at": "2030-01-01"}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = call(
        &server,
        "POST",
        "/api/exclusions",
        Some(&t),
        Some(
            json!({"topic": "urbanisme", "keywords": ["permis de construire"],
                    "message": "Le service urbanisme répond sur rendez-vous."}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    let a = server.ask("Quels documents pour refaire une carte d'identité ?", None);
    let (s, v) = call(
        &server,
        "POST",
        &format!("/api/review/{}", a["answer_id"].as_str().unwrap()),
        Some(&t),
        Some(
            json!({"verdict": "corrected", "reason": "incomplete", "corrected_answer": "Formulaire cerfa, photo, justificatif de domicile.",
                    "expected_sources": ["F21089.xml"]}),
        ),
    );
    assert_eq!(s, 201, "{v}");
    let work = tempfile::tempdir().unwrap();
    let first = work.path().join("first");
    export(server.data_dir(), &first);
    drop(server);
    assert_eq!(jsonl(&first.join("curated.jsonl")).len(), 1);
    assert_eq!(jsonl(&first.join("eval-cases.jsonl")).len(), 1);
    let users = std::fs::read_to_string(first.join("users.jsonl")).unwrap();
    assert!(users.contains("alice") && !users.contains("gui_") && !users.contains("sha256"));

    let fresh = work.path().join("fresh");
    let out = import(&fresh, &first, &["--dry-run"]);
    assert!(out.contains("would add"), "{out}");
    assert!(!fresh.exists(), "a dry run writes nothing");
    let out = import(&fresh, &first, &[]);
    assert!(out.contains("1 curated"), "{out}");
    assert!(out.contains("user alice: new token gui_"), "{out}");
    let second = work.path().join("second");
    export(&fresh, &second);
    for f in ["curated.jsonl", "exclusions.jsonl", "eval-cases.jsonl"] {
        assert_eq!(jsonl(&first.join(f)), jsonl(&second.join(f)), "{f}");
    }
    assert_eq!(
        documents(&first.join("documents.jsonl")),
        documents(&second.join("documents.jsonl"))
    );
    // Twice: nothing changes.
    let out = import(&fresh, &first, &[]);
    assert!(
        out.contains("added: nothing") && out.contains("replaced: nothing"),
        "{out}"
    );
    let third = work.path().join("third");
    export(&fresh, &third);
    for f in [
        "curated.jsonl",
        "exclusions.jsonl",
        "eval-cases.jsonl",
        "documents.jsonl",
    ] {
        assert_eq!(jsonl(&second.join(f)), jsonl(&third.join(f)), "{f}");
    }
    // Source priorities are configuration: exported in the manifest, shown
    // on import for the new server's guichet.toml.
    let with_priorities = work.path().join("priorities");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(&fresh)
        .env("GUICHET_ANSWER_PRIORITIES", "{ mairie = 1.3 }")
        .arg("export")
        .arg("--out")
        .arg(&with_priorities));
    assert!(o.status.success(), "{stdout}{stderr}");
    let out = import(&fresh, &with_priorities, &["--dry-run"]);
    assert!(
        out.contains("[answer.priorities]") && out.contains("\"mairie\" = 1.3"),
        "{out}"
    );
    // The imported curated answer is served.
    let again = Server::start(&fresh, &[]);
    let a = again.ask("Où se marier à Démo ?", None);
    assert_eq!(a["status"], "curated", "{a}");
}

fn search(dir: &Path, model: &str) -> Value {
    let queries = dir.join("queries.txt");
    std::fs::write(
        &queries,
        questions().join("\n") + "\nrecensement citoyen à 16 ans\n",
    )
    .unwrap();
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(dir)
        .args(["--embedding-model", model, "search", "--json", "--queries"])
        .arg(&queries));
    assert!(o.status.success(), "{stdout}{stderr}");
    // Chunk ids and order, per query (one JSON line each).
    json!(stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["chunk"]["id"].clone())
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>())
}

#[test]
fn reembedding_with_minilm_and_back_with_e5_gives_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&service_kb(), dir.path());
    let before = search(dir.path(), "e5");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["index", "reembed", "--model", "minilm"]));
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(meta(&dir.path().join("guichet.db"), "embedding_model")
        .unwrap()
        .ends_with(":384"));
    // The old model is refused now, the new one searches.
    let (o, _, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["search", "carte d'identité"]));
    assert!(!o.status.success());
    assert!(stderr.contains("was embedded with"), "{stderr}");
    let with_minilm = search(dir.path(), "minilm");
    assert_ne!(with_minilm, json!([]));
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["index", "reembed", "--model", "e5"]));
    assert!(o.status.success(), "{stdout}{stderr}");
    assert_eq!(search(dir.path(), "e5"), before);
}

#[test]
fn check_reports_each_kind_of_damage_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&service_kb(), dir.path());
    let check = |d: &Path| {
        let (o, stdout, stderr) = run(guichet().arg("--data-dir").arg(d).arg("check"));
        (o.status.success(), format!("{stdout}{stderr}"))
    };
    // A document whose original file then disappears.
    let doc = dir.path().join("salle.md");
    std::fs::write(
        &doc,
        "# Salle des fêtes\n\nLa salle des fêtes se loue 150 euros la journée.\n",
    )
    .unwrap();
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(dir.path())
        .arg("ingest")
        .arg(&doc));
    assert!(o.status.success(), "{stdout}{stderr}");
    let (ok, out) = check(dir.path());
    assert!(ok, "{out}");
    assert!(out.contains("no problem found"), "{out}");

    std::fs::remove_file(&doc).unwrap();
    let (ok, out) = check(dir.path());
    assert!(!ok);
    assert!(
        out.contains("salle.md is missing") && out.contains("upload it again"),
        "{out}"
    );

    // The vector index deleted: reported, and the server still starts.
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let (ok, out) = check(dir.path());
    assert!(!ok);
    assert!(
        out.contains("vector index") && out.contains("rebuilds it"),
        "{out}"
    );
    {
        let server = Server::start(dir.path(), &[]);
        let a = server.ask("Quels documents pour refaire une carte d'identité ?", None);
        assert_eq!(a["status"], "answered", "{a}");
    }

    // A damaged database page.
    let damaged = tempfile::tempdir().unwrap();
    copy_dir(&service_kb(), damaged.path());
    let db = damaged.path().join("guichet.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let page = 4096;
    let at = bytes.len() / page / 2 * page;
    for b in &mut bytes[at..at + page] {
        *b = 0x5a;
    }
    std::fs::write(&db, bytes).unwrap();
    let (ok, out) = check(damaged.path());
    assert!(!ok);
    assert!(
        out.contains("CRITICAL") && out.contains("guichet restore"),
        "{out}"
    );
}

#[test]
fn the_server_takes_scheduled_backups_and_admins_export_over_http() {
    let server = Server::start(
        &service_kb(),
        &[
            ("GUICHET_BACKUP_EVERY_HOURS", "0.0005"),
            ("GUICHET_BACKUP_KEEP", "2"),
        ],
    );
    let admin = token(&server, "root", "admin");
    let referent = token(&server, "alice", "referent");
    let (s, v) = call(
        &server,
        "POST",
        "/api/curated",
        Some(&referent),
        Some(json!({"question": "Où se marier à Démo ?", "answer": "À l'hôtel de ville."})),
    );
    assert_eq!(s, 201, "{v}");
    let (s, _) = call(&server, "GET", "/api/export", Some(&referent), None);
    assert_eq!(s, 403);
    let (s, k) = call(&server, "GET", "/api/export", Some(&admin), None);
    assert_eq!(s, 200, "{k}");
    assert_eq!(k["curated"][0]["question"], "Où se marier à Démo ?");
    assert!(k["users"].to_string().contains("alice"));
    assert!(!k.to_string().contains("token"), "{k}");
    // Importing what was exported changes nothing.
    let (s, r) = call(
        &server,
        "POST",
        "/api/import",
        Some(&admin),
        Some(k.clone()),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["added"], json!({}), "{r}");
    assert_eq!(r["unchanged"]["curated"], 1, "{r}");
    // A dry run of a changed answer says so and writes nothing.
    let mut changed = k.clone();
    changed["curated"][0]["answer"] = json!("À la salle des mariages.");
    let (s, r) = call(
        &server,
        "POST",
        "/api/import?dry_run=true&on_conflict=replace",
        Some(&admin),
        Some(changed),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["replaced"]["curated"], 1, "{r}");
    let (_, after) = call(&server, "GET", "/api/export", Some(&admin), None);
    assert_eq!(after["curated"], k["curated"]);
    // An import with a bad row changes nothing, and says which row: a
    // user with an unknown role after a new curated answer, or an
    // expiry date that is no day of the calendar.
    let mut bad_role = k.clone();
    bad_role["curated"]
        .as_array_mut()
        .unwrap()
        .push(json!({"question": "Horaires de la déchèterie ?", "answer": "9 h - 18 h."}));
    bad_role["users"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "bob", "role": "chef"}));
    let users = bad_role["users"].as_array().unwrap().len();
    let mut bad_date = k.clone();
    bad_date["curated"][0]["expires_at"] = json!("2026-02-30");
    for (bad, row) in [
        (bad_role, format!("users.jsonl:{users}")),
        (bad_date, "curated.jsonl:1".to_string()),
    ] {
        let (s, r) = call(&server, "POST", "/api/import", Some(&admin), Some(bad));
        assert_eq!(s, 422, "{r}");
        let message = r["error"]["message"].as_str().unwrap();
        assert!(message.contains(&row), "{message} should name {row}");
        let (_, after) = call(&server, "GET", "/api/export", Some(&admin), None);
        assert_eq!(after["curated"], k["curated"]);
        assert_eq!(after["users"], k["users"]);
    }

    // Archives every ~2 s, two kept.
    let dir = server.data_dir().join("backups");
    let archives = || {
        std::fs::read_dir(&dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".tar.gz"))
                    .count()
            })
            .unwrap_or(0)
    };
    let start = std::time::Instant::now();
    while archives() < 2 {
        assert!(start.elapsed().as_secs() < 60, "no scheduled backups");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert_eq!(archives(), 2, "retention keeps two");
}

fn reembed(server: &Server, admin: &str, model: &str) -> Value {
    let (s, j) = call(
        server,
        "POST",
        "/api/index/reembed",
        Some(admin),
        Some(json!({ "model": model })),
    );
    assert_eq!(s, 202, "{j}");
    let start = std::time::Instant::now();
    loop {
        let (s, j) = call(server, "GET", "/api/index/reembed", Some(admin), None);
        assert_eq!(s, 200, "{j}");
        if j["status"] != "running" {
            return j;
        }
        assert!(
            start.elapsed().as_secs() < 300,
            "re-embedding not done: {j}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn a_running_server_is_reembedded_with_minilm_and_back_without_stopping() {
    let server = Server::start(&service_kb(), &[("GUICHET_LIMITS_RATE_PER_MINUTE", "0")]);
    let admin = token(&server, "root", "admin");
    let before: Vec<Vec<String>> = questions().iter().map(|q| sources(&server, q)).collect();

    // Citizens keep asking throughout; every answer must come.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let url = server.url.clone();
        std::thread::spawn(move || {
            let mut statuses = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = Server::agent()
                    .post(format!("{url}/api/chat"))
                    .header("Content-Type", "application/json")
                    .send(json!({"message": questions()[0], "stream": false}).to_string())
                    .unwrap();
                statuses.push(r.status().as_u16());
            }
            statuses
        })
    };
    let j = reembed(&server, &admin, "minilm");
    assert_eq!(j["status"], "done", "{j}");
    assert!(j["total"].as_u64().unwrap() > 100, "{j}");
    // Switched: the stored vectors are MiniLM's now (its answers are not
    // judged here: the confidence is calibrated on e5's similarities).
    let model = meta(&server.data_dir().join("guichet.db"), "embedding_model").unwrap();
    assert!(model.to_lowercase().contains("minilm"), "{model}");
    let j = reembed(&server, &admin, "e5");
    assert_eq!(j["status"], "done", "{j}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let statuses = load.join().unwrap();
    assert!(statuses.len() >= 3, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let after: Vec<Vec<String>> = questions().iter().map(|q| sources(&server, q)).collect();
    assert_eq!(after, before);
    // A référent may not do it.
    let referent = token(&server, "alice", "referent");
    let (s, _) = call(
        &server,
        "POST",
        "/api/index/reembed",
        Some(&referent),
        Some(json!({"model": "minilm"})),
    );
    assert_eq!(s, 403);
}
