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

/// A port free on 127.0.0.1 at the time of the call.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// The documents of the small knowledge base the service tests share: the
/// identity card fiches (first request, renewal, minor, proof of address),
/// the electoral list fiche and the 2014 Montpellier tariffs.
const SERVICE_KB_FILES: &[&str] = &[
    "service-public/F21089.xml",
    "service-public/F1341.xml",
    "service-public/F1342.xml",
    "service-public/F14807.xml",
    "service-public/F1965.xml",
    "montpellier/VilleMTP_MTP_Tarifs_2014.pdf",
];

/// What a built test knowledge base depends on, hashed: the code that
/// parses, chunks, embeds and stores (`ingest/src`, `src/kb`, `src/parse`,
/// the schema and the settings' defaults), the input files and the
/// embedding model's file (name and size; fetching checks its digest). A
/// change to any of them gives another key, so a stale knowledge base is
/// never reused; one from an unrelated change is.
fn kb_key(inputs: &[PathBuf]) -> String {
    use sha2::{Digest, Sha256};
    fn walk(p: &std::path::Path, out: &mut Vec<PathBuf>) {
        if p.is_dir() {
            for e in std::fs::read_dir(p).unwrap() {
                walk(&e.unwrap().path(), out);
            }
        } else {
            out.push(p.to_path_buf());
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for code in [
        "ingest/src",
        "src/kb",
        "src/parse",
        "src/schema.rs",
        "src/settings.rs",
    ] {
        walk(&root.join(code), &mut files);
    }
    files.sort();
    files.extend(inputs.iter().cloned());
    let mut h = Sha256::new();
    for f in &files {
        h.update(
            f.strip_prefix(&root)
                .unwrap_or(f)
                .to_string_lossy()
                .as_bytes(),
        );
        h.update(std::fs::read(f).unwrap());
    }
    let model = models_dir().join("e5-small-q4.bin");
    let size = std::fs::metadata(&model).map(|m| m.len()).unwrap_or(0);
    h.update(format!("e5-small-q4.bin {size}").as_bytes());
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A knowledge base of [`SERVICE_KB_FILES`], ingested once for what built
/// it (see [`kb_key`]) under `target/test-kb/` and shared; tests copy it
/// before writing.
pub fn service_kb() -> PathBuf {
    ensure_e5();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let files: Vec<PathBuf> = SERVICE_KB_FILES
        .iter()
        .map(|f| root.join("ingest/demo/documents").join(f))
        .collect();
    let key = kb_key(&files);
    let done = root.join(format!("target/test-kb/service-{key}"));
    let marker = done.join("READY");
    if marker.exists() {
        return done;
    }
    let lock = root.join(format!("target/test-kb/service-{key}.lock"));
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let start = std::time::Instant::now();
    loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(_) => break,
            Err(_) if marker.exists() => return done,
            Err(_) => {
                // Another test is building it; a lock older than 10 min is stale.
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .map(|t| t.elapsed().unwrap_or_default().as_secs() > 600)
                    .unwrap_or(true);
                if stale || start.elapsed().as_secs() > 900 {
                    let _ = std::fs::remove_file(&lock);
                }
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        }
    }
    if marker.exists() {
        let _ = std::fs::remove_file(&lock);
        return done;
    }
    let _ = std::fs::remove_dir_all(&done);
    let (out, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(&done)
        .arg("ingest")
        .args(&files));
    assert!(out.status.success(), "ingest failed: {stdout}{stderr}");
    // Written last: a knowledge base without it is unfinished.
    std::fs::write(&marker, &key).unwrap();
    let _ = std::fs::remove_file(&lock);
    done
}

/// Copies a knowledge base folder (database files and index).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else if e.file_name() != "READY" {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A `guichet serve` process on 127.0.0.1 with its own copy of a
/// knowledge base; killed when dropped.
pub struct Server {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its data directory (a copy), removed when the server is dropped.
    _data: tempfile::TempDir,
}

impl Server {
    /// Starts the service over a copy of `kb` with extra environment
    /// variables, and waits until `/readyz` says ready.
    pub fn start(kb: &std::path::Path, env: &[(&str, &str)]) -> Self {
        Self::start_logging(kb, env, std::process::Stdio::inherit())
    }

    /// [`Server::start`] with the server's stderr (its logs) sent to
    /// `stderr`.
    pub fn start_logging(
        kb: &std::path::Path,
        env: &[(&str, &str)],
        stderr: std::process::Stdio,
    ) -> Self {
        use std::io::BufRead;
        let data = tempfile::tempdir().unwrap();
        copy_dir(kb, data.path());
        let mut cmd = guichet();
        cmd.arg("--data-dir")
            .arg(data.path())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("GUICHET_SERVER_DEMO_CORPUS", "")
            .env("GUICHET_TOWN_PHONE", "04 11 22 33 44")
            .env("GUICHET_TOWN_EMAIL", "accueil@ville-test.fr")
            .stdout(std::process::Stdio::piped())
            .stderr(stderr);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start guichet serve");
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    if let Some(u) = l.strip_prefix("listening on ") {
                        break u.trim().to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("guichet serve exited before listening");
                }
            }
        };
        let server = Self {
            child,
            url,
            _data: data,
        };
        let start = std::time::Instant::now();
        loop {
            let (status, _) = server.get("/readyz");
            if status == 200 {
                break;
            }
            assert!(
                start.elapsed().as_secs() < 300,
                "not ready after 300 s (status {status})"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        server
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self._data.path()
    }

    /// An HTTP agent that returns error statuses instead of failing.
    pub fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(300)))
            .build()
            .into()
    }

    /// GET `path`: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        match Self::agent().get(format!("{}{path}", self.url)).call() {
            Ok(mut r) => (
                r.status().as_u16(),
                r.body_mut().read_to_string().unwrap_or_default(),
            ),
            Err(_) => (0, String::new()),
        }
    }

    /// POST JSON to `path`: status, `Retry-After` and body.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> (u16, Option<String>, String) {
        let mut r = Self::agent()
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .expect("POST");
        let retry = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (r.status().as_u16(), retry, text)
    }

    /// Asks `/api/chat` without streaming; the JSON answer.
    pub fn ask(&self, message: &str, conversation: Option<&str>) -> serde_json::Value {
        let mut body = serde_json::json!({ "message": message, "stream": false });
        if let Some(c) = conversation {
            body["conversation_id"] = c.into();
        }
        let (status, _, text) = self.post("/api/chat", &body);
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a streamed `/api/chat` reply to its `done` event: every event,
/// and the answer object `done` carries (the stream must end with it).
pub fn read_done(reader: impl std::io::Read) -> (Vec<(String, String)>, serde_json::Value) {
    let events = read_sse(reader, |name, _| name == "done" || name == "error");
    let (last, data) = events.last().expect("an event");
    assert_eq!(last, "done", "{events:?}");
    let done = serde_json::from_str(data).unwrap();
    (events, done)
}

/// The text of the `token` events among `events`, joined.
pub fn token_text<'a>(events: impl IntoIterator<Item = &'a (String, String)>) -> String {
    events
        .into_iter()
        .filter(|(n, _)| n == "token")
        .map(|(_, d)| {
            serde_json::from_str::<serde_json::Value>(d).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// Reads Server-Sent Events (`event:` / `data:` lines) until `stop`
/// returns true for an event or the stream ends.
pub fn read_sse(
    reader: impl std::io::Read,
    mut stop: impl FnMut(&str, &str) -> bool,
) -> Vec<(String, String)> {
    use std::io::BufRead;
    let mut events = Vec::new();
    let mut name = String::from("message");
    let mut data = String::new();
    for line in std::io::BufReader::new(reader).lines() {
        let Ok(line) = line else { break };
        if line.is_empty() {
            if !data.is_empty() {
                let done = stop(&name, &data);
                events.push((
                    std::mem::replace(&mut name, "message".into()),
                    std::mem::take(&mut data),
                ));
                if done {
                    break;
                }
            }
            continue;
        }
        if let Some(v) = line.strip_prefix("event:") {
            name = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    events
}

/// A new user's token (`guichet users add`).
pub fn token(server: &Server, name: &str, role: &str) -> String {
    let (o, stdout, stderr) = run(guichet()
        .arg("--data-dir")
        .arg(server.data_dir())
        .args(["users", "add", name, "--role", role]));
    assert!(o.status.success(), "{stdout}{stderr}");
    stdout.trim().to_string()
}

/// A JSON request with an optional token: status and JSON body.
pub fn call(
    server: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let agent = Server::agent();
    let url = format!("{}{path}", server.url);
    let mut r = match (method, &body) {
        ("GET", _) => {
            let mut req = agent.get(&url);
            if let Some(t) = token {
                req = req.header("Authorization", &format!("Bearer {t}"));
            }
            req.call().unwrap()
        }
        ("DELETE", _) => {
            let mut req = agent.delete(&url);
            if let Some(t) = token {
                req = req.header("Authorization", &format!("Bearer {t}"));
            }
            req.call().unwrap()
        }
        (m, b) => {
            let mut req = match m {
                "PUT" => agent.put(&url),
                "PATCH" => agent.patch(&url),
                _ => agent.post(&url),
            };
            req = req.header("Content-Type", "application/json");
            if let Some(t) = token {
                req = req.header("Authorization", &format!("Bearer {t}"));
            }
            req.send(b.clone().unwrap_or(serde_json::json!({})).to_string())
                .unwrap()
        }
    };
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// A multipart body with one `file` part per (name, bytes).
pub fn multipart(files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "guichet-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A multipart upload (`file` parts): status and JSON body.
pub fn send(
    server: &Server,
    method: &str,
    path: &str,
    token: Option<&str>,
    files: &[(&str, &[u8])],
) -> (u16, serde_json::Value) {
    let (ct, body) = multipart(files);
    let agent = Server::agent();
    let url = format!("{}{path}", server.url);
    let mut req = if method == "PUT" {
        agent.put(&url)
    } else {
        agent.post(&url)
    };
    req = req.header("Content-Type", &ct);
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut r = req.send(&body[..]).unwrap();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

/// Polls an upload job until done.
pub fn wait_job(server: &Server, t: &str, id: &str) -> serde_json::Value {
    let start = std::time::Instant::now();
    loop {
        let (s, j) = call(server, "GET", &format!("/api/jobs/{id}"), Some(t), None);
        assert_eq!(s, 200, "{j}");
        if j["status"] == "done" {
            return j;
        }
        assert!(start.elapsed().as_secs() < 300, "job not done: {j}");
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// A process's peak resident memory so far (`VmHWM`), in bytes.
pub fn peak_memory(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Runs a command to its end while watching its peak resident memory
/// (its own, not its children's): output and the last peak seen.
pub fn run_watching_memory(cmd: &mut Command) -> (Output, String, String, u64) {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run guichet");
    let pid = child.id();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut s).ok();
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut s).ok();
        s
    });
    let mut peak = 0;
    let status = loop {
        if let Some(p) = peak_memory(pid) {
            peak = peak.max(p);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let stdout = out_reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (o, e) = (text(&stdout), text(&stderr));
    (
        Output {
            status,
            stdout,
            stderr,
        },
        o,
        e,
        peak,
    )
}
