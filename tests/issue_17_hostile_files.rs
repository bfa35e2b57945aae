//! Issue 17: one hostile file never takes Guichet down. Each test builds
//! its hostile files itself (`guichet_ingest::hostile`) beside real
//! Service-Public fiches, and runs the real binary: `guichet ingest` and
//! `guichet serve`, whose documents are parsed in worker processes.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use guichet_ingest::hostile;

use crate::support::{
    ensure_e5, guichet, peak_memory, run, run_watching_memory, send, service_kb, token, wait_job,
    Server,
};

/// The main process must stay under this, whatever the files.
const MAIN_MEMORY_LIMIT: u64 = 1 << 30;

/// Five real fiches: what must get in whatever sits beside them.
const GOOD: &[&str] = &[
    "F1341.xml",
    "F1342.xml",
    "F14807.xml",
    "F1965.xml",
    "F21089.xml",
];

fn fiche(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("ingest/demo/documents/service-public")
        .join(name)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// A folder of the good fiches and one file of each hostile class, with
/// the words its failure must say; the special entries are returned apart.
fn hostile_folder(dir: &Path) -> (Vec<(&'static str, &'static str)>, Vec<&'static str>) {
    for g in GOOD {
        std::fs::copy(fiche(g), dir.join(g)).unwrap();
    }
    write(dir, "tableaux.pdf", &hostile::nested_arrays_pdf(100_000));
    write(
        dir,
        "dictionnaires.pdf",
        &hostile::nested_dictionaries_pdf(100_000),
    );
    write(dir, "bombe.pdf", &hostile::inflation_bomb_pdf(1 << 30));
    write(dir, "mot.txt", &hostile::one_word_text(1_000_000));
    write(dir, "enorme.txt", &hostile::long_text(60_000_000));
    nix::unistd::mkfifo(&dir.join("tube"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    symlink("boucle2", dir.join("boucle1")).unwrap();
    symlink("boucle1", dir.join("boucle2")).unwrap();
    symlink("absent.txt", dir.join("casse.txt")).unwrap();
    (
        vec![
            ("tableaux.pdf", "imbrication"),
            ("dictionnaires.pdf", "imbrication"),
            ("bombe.pdf", "décompressé"),
            ("mot.txt", "mots"),
            ("enorme.txt", "trop long"),
        ],
        vec!["tube", "boucle1", "boucle2", "casse.txt"],
    )
}

/// The `failed …` line of `file` in an ingest summary.
fn failure_of<'a>(stdout: &'a str, file: &str) -> Option<&'a str> {
    stdout
        .lines()
        .find(|l| l.starts_with("failed") && l.contains(&format!("/{file}:")))
}

fn documents(data: &Path) -> usize {
    let (o, stdout, stderr) = run(guichet().arg("--data-dir").arg(data).args(["docs", "list"]));
    assert!(o.status.success(), "{stdout}{stderr}");
    stdout.lines().filter(|l| l.contains(".xml")).count()
}

#[test]
fn issue_17_each_hostile_file_fails_alone_and_the_good_ones_get_in() {
    ensure_e5();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("depot");
    std::fs::create_dir(&dir).unwrap();
    let (hostile_files, special) = hostile_folder(&dir);
    let data = tmp.path().join("kb");
    let (o, stdout, stderr, peak) = run_watching_memory(
        guichet()
            .arg("--data-dir")
            .arg(&data)
            .arg("ingest")
            .arg(&dir),
    );
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("added 5,"), "{stdout}");
    for (file, words) in &hostile_files {
        let line = failure_of(&stdout, file).unwrap_or_else(|| panic!("{file}: {stdout}"));
        assert!(line.contains(words), "{file}: {line}");
    }
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("failed")).count(),
        hostile_files.len(),
        "{stdout}"
    );
    for entry in &special {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("skipped") && l.contains(&format!("/{entry}:"))),
            "{entry}: {stdout}"
        );
    }
    assert!(
        peak < MAIN_MEMORY_LIMIT,
        "main process peaked at {peak} bytes"
    );
    assert_eq!(documents(&data), GOOD.len());

    // A second run changes nothing and still says why.
    let (o, stdout, _) = run(guichet()
        .arg("--data-dir")
        .arg(&data)
        .arg("ingest")
        .arg(&dir));
    assert!(o.status.success());
    assert!(stdout.contains("unchanged 5"), "{stdout}");
    // Only hostile files: nothing ingested, a failed run.
    let only = tmp.path().join("seuls");
    std::fs::create_dir(&only).unwrap();
    write(&only, "tableaux.pdf", &hostile::nested_arrays_pdf(100_000));
    let (o, stdout, _) = run(guichet()
        .arg("--data-dir")
        .arg(tmp.path().join("kb2"))
        .arg("ingest")
        .arg(&only));
    assert!(!o.status.success(), "{stdout}");
}

/// Limits lifted so that the loaders' own checks let the files through:
/// what stops them then is the worker, which dies instead of the run.
const CHECKS_LIFTED: &[(&str, &str)] = &[
    ("GUICHET_INGEST_MAX_DEPTH", "1000000000"),
    ("GUICHET_INGEST_MAX_UNCOMPRESSED_BYTES", "1000000000000"),
    ("GUICHET_INGEST_WORKER_MEMORY_MIB", "512"),
];

#[test]
fn issue_17_a_worker_that_overflows_or_runs_out_of_memory_fails_that_file_only() {
    ensure_e5();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("depot");
    std::fs::create_dir(&dir).unwrap();
    write(&dir, "a-tableaux.pdf", &hostile::nested_arrays_pdf(100_000));
    write(&dir, "b-bombe.pdf", &hostile::inflation_bomb_pdf(1 << 30));
    write(
        &dir,
        "c-dictionnaires.pdf",
        &hostile::nested_dictionaries_pdf(100_000),
    );
    std::fs::copy(fiche("F1341.xml"), dir.join("d-F1341.xml")).unwrap();
    let mut cmd = guichet();
    for (k, v) in CHECKS_LIFTED {
        cmd.env(k, v);
    }
    let (o, stdout, stderr, peak) = run_watching_memory(
        cmd.arg("--data-dir")
            .arg(tmp.path().join("kb"))
            .arg("ingest")
            .arg(&dir),
    );
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("added 1,"), "{stdout}");
    let line = failure_of(&stdout, "a-tableaux.pdf").expect(&stdout);
    assert!(line.contains("imbrication trop profonde"), "{line}");
    let line = failure_of(&stdout, "c-dictionnaires.pdf").expect(&stdout);
    assert!(line.contains("imbrication trop profonde"), "{line}");
    let line = failure_of(&stdout, "b-bombe.pdf").expect(&stdout);
    assert!(line.contains("mémoire dépassée (limite 512 Mo)"), "{line}");
    assert!(
        peak < MAIN_MEMORY_LIMIT,
        "main process peaked at {peak} bytes"
    );
}

#[test]
fn issue_17_a_file_past_the_time_limit_fails_alone_when_its_time_is_up() {
    ensure_e5();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("depot");
    std::fs::create_dir(&dir).unwrap();
    // html5ever is quadratic on absurd nesting: over a minute for this
    // page. With the nesting checks lifted, only the time limit stops it.
    let deep = format!(
        "<html><body>{}x</body></html>",
        "<div><span>".repeat(150_000)
    );
    write(&dir, "a-profond.html", deep.as_bytes());
    std::fs::copy(fiche("F1341.xml"), dir.join("b-F1341.xml")).unwrap();
    let start = std::time::Instant::now();
    let (o, stdout, stderr) = run(guichet()
        .env("GUICHET_INGEST_TIMEOUT_SECS", "2")
        .env("GUICHET_INGEST_MAX_DEPTH", "1000000000")
        .arg("--data-dir")
        .arg(tmp.path().join("kb"))
        .arg("ingest")
        .arg(&dir));
    assert!(o.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("added 1,"), "{stdout}");
    let line = failure_of(&stdout, "a-profond.html").expect(&stdout);
    assert!(line.contains("délai dépassé (plus de 2 s"), "{line}");
    // Its time limit, the kill's grace and the fiche: far from the parse's
    // own duration.
    assert!(start.elapsed().as_secs() < 60, "{:?}", start.elapsed());
    // With the default limits the same page is refused at once.
    let (o, stdout, _) = run(guichet()
        .arg("--data-dir")
        .arg(tmp.path().join("kb"))
        .arg("ingest")
        .arg(&dir));
    assert!(o.status.success());
    let line = failure_of(&stdout, "a-profond.html").expect(&stdout);
    assert!(line.contains("imbrication"), "{line}");
}

/// The parse worker children of `pid`.
/// The child processes of `pid`, whichever of its threads started them
/// (ingestion prepares files on several threads).
fn children(pid: u32) -> Vec<i32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten();
    tasks
        .flatten()
        .flat_map(|t| {
            std::fs::read_to_string(t.path().join("children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// CPU time (user and system, in clock ticks) process `pid` has used.
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (in parentheses): utime is the 12th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

#[test]
fn issue_17_a_worker_killed_mid_parse_fails_its_file_and_the_run_goes_on() {
    ensure_e5();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("depot");
    std::fs::create_dir(&dir).unwrap();
    // Long enough to parse that the kill lands while it is read; its
    // chunks are refused afterwards so that it is never embedded.
    write(&dir, "a-long.txt", &hostile::long_text(40_000_000));
    std::fs::copy(fiche("F1341.xml"), dir.join("b-F1341.xml")).unwrap();
    let child = guichet()
        .env("GUICHET_INGEST_MAX_TEXT_CHARS", "100000000")
        .env("GUICHET_INGEST_MAX_CHUNKS", "100")
        .arg("--data-dir")
        .arg(tmp.path().join("kb"))
        .arg("ingest")
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    // Two workers parse side by side: the one busy for 0.1 s of CPU is the
    // one reading the long file (the fiche takes a few milliseconds).
    let worker = loop {
        if let Some(w) = children(child.id())
            .into_iter()
            .find(|&w| cpu_ticks(w) >= 10)
        {
            break w;
        }
        assert!(start.elapsed().as_secs() < 120, "no worker started");
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(worker),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("added 1,"), "{stdout}");
    let line = failure_of(&stdout, "a-long.txt").expect(&stdout);
    assert!(
        line.contains("interrompue") || line.contains("signal 9"),
        "{line}"
    );
}

#[test]
fn issue_17_serve_keeps_answering_while_hostile_uploads_crash_their_workers() {
    let mut env: Vec<(&str, &str)> = CHECKS_LIFTED.to_vec();
    env.push(("GUICHET_LIMITS_RATE_PER_MINUTE", "0"));
    let server = Server::start(&service_kb(), &env);
    let t = token(&server, "rene", "referent");
    let arrays = hostile::nested_arrays_pdf(100_000);
    let bomb = hostile::inflation_bomb_pdf(1 << 30);
    let good = std::fs::read(fiche("F1965.xml")).unwrap();

    // A citizen asks question after question during the uploads.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let url = server.url.clone();
    let asking = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let agent = Server::agent();
            let mut statuses = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || statuses.len() < 3 {
                let body = serde_json::json!({
                    "message": "Quels documents pour une carte d'identité ?",
                    "stream": false,
                });
                let answered = agent
                    .post(&format!("{url}/api/chat"))
                    .header("Content-Type", "application/json")
                    .send(body.to_string())
                    .ok()
                    .and_then(|mut r| {
                        let status = r.status().as_u16();
                        let v: serde_json::Value =
                            serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()?;
                        Some((status, v["answer"].as_str().is_some_and(|a| !a.is_empty())))
                    });
                statuses.push(match answered {
                    Some((200, true)) => 200,
                    Some((s, _)) => s,
                    None => 0,
                });
            }
            statuses
        })
    };
    let (s, job) = send(
        &server,
        "POST",
        "/api/documents",
        Some(&t),
        &[
            ("tableaux.pdf", &arrays),
            ("bombe.pdf", &bomb),
            ("inscription.xml", &good),
        ],
    );
    assert_eq!(s, 202, "{job}");
    let job = wait_job(&server, &t, job["id"].as_str().unwrap());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let statuses = asking.join().unwrap();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");

    let files = job["files"].as_array().unwrap();
    assert_eq!(files[0]["status"], "failed", "{job:#}");
    assert!(
        files[0]["error"].as_str().unwrap().contains("imbrication"),
        "{job:#}"
    );
    assert_eq!(files[1]["status"], "failed", "{job:#}");
    assert!(
        files[1]["error"].as_str().unwrap().contains("mémoire"),
        "{job:#}"
    );
    assert_eq!(files[2]["status"], "added", "{job:#}");
    // Still answering afterwards, from the new document too.
    let a = server.ask("Comment s'inscrire sur les listes électorales ?", None);
    assert!(a["answer"].as_str().is_some_and(|s| !s.is_empty()), "{a}");
    let peak = peak_memory(server.pid()).unwrap();
    assert!(peak < MAIN_MEMORY_LIMIT, "server peaked at {peak} bytes");
}
