//! Issue 7 (first part): référents in the loop, on 127.0.0.1 with the real
//! models — tokens from `guichet users`, 401 without them; curated answers
//! served verbatim until they expire; excluded topics answered with the
//! référents' message; citizens' feedback and handoff tickets, resolved
//! into a curated answer.

use serde_json::{json, Value};

use crate::support::{call, guichet, run, send, service_kb, token, wait_job, Server};

#[test]
fn staff_endpoints_need_a_valid_token_and_curated_answers_are_served_until_expiry() {
    let server = Server::start(&service_kb(), &[]);
    let (s, v) = call(&server, "GET", "/api/curated", None, None);
    assert_eq!(s, 401, "{v}");
    assert_eq!(v["error"]["code"], "unauthorized");
    let (s, _) = call(&server, "GET", "/api/curated", Some("gui_faux"), None);
    assert_eq!(s, 401);
    let t = token(&server, "alice", "referent");
    let (s, v) = call(&server, "GET", "/api/curated", Some(&t), None);
    assert_eq!((s, v.clone()), (200, json!([])));

    let answer =
        "La mairie est ouverte du lundi au vendredi, de 8 h 30 à 17 h, et le samedi matin.";
    let (s, c) = call(
        &server,
        "POST",
        "/api/curated",
        Some(&t),
        Some(json!({
            "question": "Quels sont les horaires d'ouverture de la mairie ?",
            "variants": ["À quelles heures la mairie est-elle ouverte ?"],
            "answer": answer,
            "sources": ["https://www.mairie-demo.fr/horaires"],
        })),
    );
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["validated_by"], "alice");
    let a = server.ask("Quels sont les horaires de la mairie ?", None);
    assert_eq!(a["status"], "curated", "{a:#}");
    assert_eq!(a["curated"], true);
    assert_eq!(a["answer"], answer);
    // Another place is not the same question.
    let other = server.ask("Quels sont les horaires de la piscine ?", None);
    assert_ne!(other["status"], "curated", "{other:#}");

    // Expired: no longer served.
    let id = c["id"].as_i64().unwrap();
    let mut expired = c.clone();
    expired["expires_at"] = json!("2020-01-01");
    let (s, v) = call(
        &server,
        "PUT",
        &format!("/api/curated/{id}"),
        Some(&t),
        Some(expired),
    );
    assert_eq!(s, 200, "{v}");
    let a = server.ask("Quels sont les horaires de la mairie ?", None);
    assert_ne!(a["status"], "curated", "{a:#}");
    let (s, _) = call(
        &server,
        "DELETE",
        &format!("/api/curated/{id}"),
        Some(&t),
        None,
    );
    assert_eq!(s, 204);
    let (s, _) = call(
        &server,
        "DELETE",
        &format!("/api/curated/{id}"),
        Some(&t),
        None,
    );
    assert_eq!(s, 404);

    // The audit log is for admins: 403 for a référent, the actions for an admin.
    let (s, v) = call(&server, "GET", "/api/audit", Some(&t), None);
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["error"]["code"], "forbidden");
    let admin = token(&server, "root", "admin");
    let (s, log) = call(&server, "GET", "/api/audit", Some(&admin), None);
    assert_eq!(s, 200);
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["curated.create", "curated.update", "curated.delete"] {
        assert!(actions.contains(&a), "{actions:?}");
    }
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["user"] == "alice" || e["user"] == "root"));

    // A revoked token stops working at once.
    let (o, _, _) = run(guichet()
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["users", "revoke", "alice"]));
    assert!(o.status.success());
    let (s, _) = call(&server, "GET", "/api/curated", Some(&t), None);
    assert_eq!(s, 401);
}

#[test]
fn exclusions_feedback_and_handoffs() {
    let server = Server::start(
        &service_kb(),
        &[(
            "GUICHET_TOWN_HANDOFF_DELAY",
            "sous 48 heures, du lundi au vendredi",
        )],
    );
    let t = token(&server, "bob", "admin");
    let (s, e) = call(
        &server,
        "POST",
        "/api/exclusions",
        Some(&t),
        Some(json!({
            "topic": "urgence médicale",
            "keywords": ["malaise", "urgence médicale"],
            "message": "Pour une urgence médicale, appelez le 15 : l'assistant ne peut pas vous aider.",
            "contact": "SAMU : 15",
        })),
    );
    assert_eq!(s, 201, "{e}");
    let a = server.ask("Mon voisin fait un malaise, que faire ?", None);
    assert_eq!(a["status"], "out_of_scope", "{a:#}");
    assert!(a["answer"].as_str().unwrap().contains("appelez le 15"));
    assert!(a["sources"].as_array().unwrap().is_empty());

    // Feedback on a real answer; unknown answers and bad ratings refused.
    let q = server.ask(
        "Quel justificatif de domicile pour une carte d'identité ?",
        None,
    );
    let (s, _) = call(
        &server,
        "POST",
        "/api/feedback",
        None,
        Some(json!({"answer_id": q["answer_id"], "rating": "down", "comment": "pas clair"})),
    );
    assert_eq!(s, 204);
    let (s, _) = call(
        &server,
        "POST",
        "/api/feedback",
        None,
        Some(json!({"answer_id": "inconnu", "rating": "up"})),
    );
    assert_eq!(s, 404);
    let (s, _) = call(
        &server,
        "POST",
        "/api/feedback",
        None,
        Some(json!({"answer_id": q["answer_id"], "rating": "bof"})),
    );
    assert_eq!(s, 422);

    // Handoff: a reference for the citizen, the ticket with the
    // conversation for the référents, resolved into a curated answer.
    let (s, h) = call(
        &server,
        "POST",
        "/api/handoff",
        None,
        Some(json!({
            "conversation_id": q["conversation_id"],
            "contact": {"name": "Jeanne", "email": "jeanne@exemple.fr"},
            "message": "Je suis hébergée chez ma fille.",
        })),
    );
    assert_eq!(s, 201, "{h}");
    let reference = h["reference"].as_str().unwrap();
    assert!(h["message"].as_str().unwrap().contains(reference));
    assert!(
        h["message"]
            .as_str()
            .unwrap()
            .contains("dès que possible, sous 48 heures, du lundi au vendredi."),
        "{h}"
    );
    let (s, list) = call(&server, "GET", "/api/handoffs", Some(&t), None);
    assert_eq!(s, 200);
    let ticket = &list.as_array().unwrap()[0];
    assert_eq!(ticket["reference"], reference);
    assert_eq!(ticket["conversation"].as_array().unwrap().len(), 1);
    let human = "Si vous êtes hébergée, fournissez une attestation d'hébergement signée, la pièce d'identité de l'hébergeant et un justificatif de son domicile.";
    let (s, r) = call(
        &server,
        "POST",
        &format!("/api/handoffs/{}/resolve", ticket["id"]),
        Some(&t),
        Some(json!({"answer": human, "curate": true})),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["handoff"]["status"], "resolved");
    assert_eq!(r["curated"]["answer"], human);
    let again = server.ask(
        "Quel justificatif de domicile pour une carte d'identité ?",
        None,
    );
    assert_eq!(again["status"], "curated", "{again:#}");
    assert_eq!(again["answer"], human);
}

#[test]
fn the_review_queue_takes_verdicts_into_curated_answers_and_evaluation_cases() {
    let server = Server::start(&service_kb(), &[]);
    let t = token(&server, "claire", "referent");
    let q = server.ask("Quel justificatif de domicile pour un passeport ?", None);
    let (s, _) = call(
        &server,
        "POST",
        "/api/feedback",
        None,
        Some(json!({"answer_id": q["answer_id"], "rating": "down"})),
    );
    assert_eq!(s, 204);
    let peru = server.ask("Quelle est la capitale du Pérou ?", None);
    let (s, queue) = call(&server, "GET", "/api/review", Some(&t), None);
    assert_eq!(s, 200, "{queue}");
    let item = |id: &Value| {
        queue
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["answer_id"] == *id)
            .cloned()
    };
    assert_eq!(item(&q["answer_id"]).unwrap()["why"], "thumbs_down");
    assert_eq!(item(&peru["answer_id"]).unwrap()["why"], "abstention");

    let id = q["answer_id"].as_str().unwrap();
    let (s, v) = call(
        &server,
        "POST",
        &format!("/api/review/{id}"),
        Some(&t),
        Some(json!({"verdict": "incorrect", "reason": "bof"})),
    );
    assert_eq!(s, 422, "{v}");
    let corrected = "Pour un passeport, un justificatif de domicile de moins d'un an : facture, avis d'imposition ou attestation d'assurance du logement.";
    let (s, v) = call(
        &server,
        "POST",
        &format!("/api/review/{id}"),
        Some(&t),
        Some(json!({
            "verdict": "corrected", "reason": "incomplete", "corrected_answer": corrected,
            "expected_sources": ["F14807.xml"], "curate": true,
        })),
    );
    assert_eq!(s, 201, "{v}");
    assert!(v["curated_id"].as_i64().is_some());
    let (s, v) = call(
        &server,
        "POST",
        &format!("/api/review/{}", peru["answer_id"].as_str().unwrap()),
        Some(&t),
        Some(json!({"verdict": "correct"})),
    );
    assert_eq!(s, 201, "{v}");
    let (_, queue) = call(&server, "GET", "/api/review", Some(&t), None);
    assert!(queue.as_array().unwrap().is_empty(), "{queue}");
    let again = server.ask("Quel justificatif de domicile pour un passeport ?", None);
    assert_eq!(again["status"], "curated", "{again:#}");

    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("reviews.jsonl");
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["eval", "import-reviews", "--out"])
        .arg(&set));
    assert!(o.status.success(), "{stdout}{stderr}");
    let cases = guichet_eval::set::load(&set).unwrap();
    assert_eq!(cases.len(), 2, "{cases:?}");
    let fixed = cases
        .iter()
        .find(|c| c.reference_answer.as_deref() == Some(corrected))
        .unwrap();
    assert_eq!(fixed.status, guichet_eval::set::Status::Approved);
    assert_eq!(fixed.expected_sources[0].document, "F14807.xml");
    assert_eq!(fixed.reviewed_by, "claire");
    let refused = cases.iter().find(|c| c.question.contains("Pérou")).unwrap();
    assert_eq!(refused.kind, guichet_eval::Kind::OutOfScope);
}

#[test]
fn stats_count_the_questions_asked_with_their_topics_and_metrics_parse() {
    let server = Server::start(&service_kb(), &[("GUICHET_PRIVACY_MIN_GROUP_SIZE", "2")]);
    let t = token(&server, "dora", "referent");
    let a = server.ask("Quels documents pour refaire une carte d'identité ?", None);
    assert_eq!(a["status"], "answered");
    server.ask("Quelle est la capitale du Pérou ?", None);
    server.ask("Quelle est la capitale du Pérou ?", None);
    server.ask("Qui a gagné la coupe du monde de rugby en 1987 ?", None);
    // The same unanswered question in three wordings counts as one group
    // of three; another question on the same place stays apart.
    for q in [
        "Comment adopter un chat au refuge ?",
        "Adopter un chat au refuge ?",
        "Que faut-il faire pour adopter un chat au refuge ?",
        "Quels sont les horaires du refuge pour animaux ?",
    ] {
        let a = server.ask(q, None);
        assert_eq!(a["status"], "not_found", "{a}");
    }
    let (s, _) = call(
        &server,
        "POST",
        "/api/feedback",
        None,
        Some(json!({"answer_id": a["answer_id"], "rating": "up"})),
    );
    assert_eq!(s, 204);
    let (s, st) = call(
        &server,
        "GET",
        "/api/stats?granularity=week",
        Some(&t),
        None,
    );
    assert_eq!(s, 200, "{st}");
    let total = &st["total"];
    assert_eq!(total["questions"], 8, "{st:#}");
    assert_eq!(total["answered"], 1);
    assert_eq!(total["abstained"], 7);
    assert_eq!(total["thumbs_up"], 1);
    assert!(total["median_ms"].as_f64().is_some());
    let topics = st["topics"].as_array().unwrap();
    assert!(
        topics
            .iter()
            .any(|t| t[0] == "papiers d'identité" && t[1] == 1),
        "{topics:?}"
    );
    // The questions asked two or three times (in other words) are listed,
    // named by a wording citizens used; those asked once are not.
    let top = st["top_unanswered"].as_array().unwrap();
    assert_eq!(top.len(), 2, "{top:?}");
    assert!(
        top[0][0]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("adopter un chat"),
        "{top:?}"
    );
    assert_eq!(top[0][1], 3);
    assert!(top[1][0].as_str().unwrap().contains("Pérou"), "{top:?}");
    assert_eq!(top[1][1], 2);
    let (s, _) = call(&server, "GET", "/api/stats?from=hier", Some(&t), None);
    assert_eq!(s, 422);

    // /metrics is OpenMetrics text: `# HELP`/`# TYPE`/`# UNIT` lines,
    // samples, and `# EOF` last.
    let (status, body) = server.get("/metrics");
    assert_eq!(status, 200);
    let re = regex::Regex::new(r#"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? -?[0-9.eE+-]+$"#).unwrap();
    for line in body.lines().filter(|l| !l.is_empty()) {
        assert!(
            ["# HELP ", "# TYPE ", "# UNIT "]
                .iter()
                .any(|p| line.starts_with(p))
                || line == "# EOF"
                || re.is_match(line),
            "{line}"
        );
    }
    assert_eq!(body.lines().last(), Some("# EOF"));
    assert!(
        body.contains("guichet_answers_total{status=\"answered\",mode=\"extractive\"} 1"),
        "{body}"
    );
    // Latency histograms in seconds: cumulative buckets up to +Inf = every
    // answer.
    let value = |prefix: &str| -> Vec<f64> {
        body.lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
            .collect()
    };
    let answers: f64 = value("guichet_answers_total{").iter().sum();
    assert!(answers >= 3.0, "{body}");
    for h in [
        "guichet_answer_duration_seconds",
        "guichet_answer_first_text_seconds",
        "guichet_retrieval_duration_seconds",
    ] {
        let buckets = value(&format!("{h}_bucket"));
        assert_eq!(buckets.len(), 11, "{body}");
        assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
        assert_eq!(*buckets.last().unwrap(), answers);
        assert_eq!(value(&format!("{h}_count")), vec![answers]);
    }
}

/// A small DOCX: the rules of a room, with a deposit amount.
fn docx() -> Vec<u8> {
    use std::io::Write;
    let w = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document {w}><w:body>
<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>Règlement de la salle des fêtes du Moulin</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Caution</w:t></w:r></w:p>
<w:p><w:r><w:t>Pour louer la salle des fêtes du Moulin, une caution de 750 euros est demandée par chèque à la remise des clés.</w:t></w:r></w:p>
</w:body></w:document>"#
    );
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    let opts = zip::write::SimpleFileOptions::default();
    for (name, body) in [
        ("[Content_Types].xml", r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#.to_string()),
        ("word/document.xml", document),
    ] {
        z.start_file(name, opts).unwrap();
        z.write_all(body.as_bytes()).unwrap();
    }
    z.finish().unwrap();
    buf.into_inner()
}

#[test]
fn documents_uploaded_over_http_are_answered_from_replaced_and_deleted() {
    let server = Server::start(
        &service_kb(),
        &[("GUICHET_LIMITS_MAX_UPLOAD_BYTES", "400000")],
    );
    let t = token(&server, "eve", "referent");
    let pdf = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("ingest/demo/documents/montpellier/2014-04-24-0000071249.pdf"),
    )
    .unwrap();
    let room = docx();
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (s, _) = send(
        &server,
        "POST",
        "/api/documents",
        None,
        &[("salle.docx", &room)],
    );
    assert_eq!(s, 401);
    let (s, v) = send(
        &server,
        "POST",
        "/api/documents",
        Some(&t),
        &[("grand.pdf", &vec![b'a'; 500_000])],
    );
    assert_eq!(s, 413, "{v}");
    // A traversal name is reduced to a plain file name inside the uploads
    // folder; a junk file fails alone.
    let (s, job) = send(
        &server,
        "POST",
        "/api/documents",
        Some(&t),
        &[
            ("../../salle.docx", &room),
            ("deliberation.pdf", &pdf),
            ("junk.pdf", &junk),
        ],
    );
    assert_eq!(s, 202, "{job}");
    let job = wait_job(&server, &t, job["id"].as_str().unwrap());
    let files = job["files"].as_array().unwrap();
    assert_eq!(files[0]["status"], "added", "{job:#}");
    assert_eq!(files[1]["status"], "added", "{job:#}");
    assert_eq!(files[2]["status"], "failed", "{job:#}");
    assert!(
        files[2]["error"].as_str().unwrap().contains("junk.pdf"),
        "{job:#}"
    );
    let docx_id = files[0]["document_id"].as_i64().unwrap();
    assert!(!server
        .data_dir()
        .parent()
        .unwrap()
        .join("salle.docx")
        .exists());

    // Answerable at once, citing the uploaded document.
    let a = server.ask(
        "Quel est le montant de la caution pour louer la salle des fêtes du Moulin ?",
        None,
    );
    assert_eq!(a["status"], "answered", "{a:#}");
    assert!(a["answer"].as_str().unwrap().contains("750"), "{a:#}");
    let cites_docx = |a: &Value| {
        a["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["cited"] == true && s["document_id"] == docx_id)
    };
    assert!(cites_docx(&a), "{a:#}");
    let (s, d) = call(
        &server,
        "GET",
        &format!("/api/documents/{docx_id}"),
        Some(&t),
        None,
    );
    assert_eq!(s, 200);
    assert!(d["document"]["title"]
        .as_str()
        .unwrap()
        .contains("salle des fêtes"));
    let (_, list) = call(&server, "GET", "/api/documents?q=moulin", Some(&t), None);
    assert_eq!(list["total"], 1, "{list}");

    // Replace: the new amount, the same document.
    let (s, j) = send(
        &server,
        "PUT",
        &format!("/api/documents/{docx_id}"),
        Some(&t),
        &[("salle-v2.docx", &docx_v2())],
    );
    assert_eq!(s, 202, "{j}");
    let j = wait_job(&server, &t, j["id"].as_str().unwrap());
    assert_eq!(j["files"][0]["status"], "updated", "{j:#}");
    assert_eq!(j["files"][0]["document_id"], docx_id);
    let a = server.ask(
        "Quel est le montant de la caution pour louer la salle des fêtes du Moulin ?",
        None,
    );
    assert!(a["answer"].as_str().unwrap().contains("900"), "{a:#}");

    // Delete: never cited again.
    let (s, _) = call(
        &server,
        "DELETE",
        &format!("/api/documents/{docx_id}"),
        Some(&t),
        None,
    );
    assert_eq!(s, 204);
    let a = server.ask(
        "Quel est le montant de la caution pour louer la salle des fêtes du Moulin ?",
        None,
    );
    assert!(!cites_docx(&a), "{a:#}");
    assert!(!a["answer"].as_str().unwrap().contains("900"), "{a:#}");
}

/// The same room rules, with the deposit raised to 900 euros.
fn docx_v2() -> Vec<u8> {
    use std::io::{Read, Write};
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(docx())).unwrap();
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut buf);
    for i in 0..src.len() {
        let mut f = src.by_index(i).unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        z.start_file(
            f.name().unwrap().to_string(),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        z.write_all(text.replace("750", "900").as_bytes()).unwrap();
    }
    z.finish().unwrap();
    buf.into_inner()
}

#[test]
fn a_source_priority_moves_its_documents_up() {
    let question = "Quel justificatif de domicile faut-il fournir ?";
    let plain = Server::start(&service_kb(), &[]);
    let a = plain.ask(question, None);
    drop(plain);
    let file = |s: &Value| {
        std::path::Path::new(s["source"].as_str().unwrap())
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let sources = a["sources"].as_array().unwrap();
    let top = file(&sources[0]);
    // The lowest-ranked source from another document gets a priority.
    let low = sources
        .iter()
        .rev()
        .map(file)
        .find(|f| *f != top)
        .expect("two documents");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("guichet.toml");
    std::fs::write(&config, format!("[answer.priorities]\n\"{low}\" = 5.0\n")).unwrap();
    let with = Server::start(
        &service_kb(),
        &[("GUICHET_CONFIG", config.to_str().unwrap())],
    );
    let b = with.ask(question, None);
    assert_eq!(file(&b["sources"][0]), low, "{a:#}\n{b:#}");
}
