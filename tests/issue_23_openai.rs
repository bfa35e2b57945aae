//! Issue 23, generation on an OpenAI-compatible server: `guichet serve`
//! with `[generation] backend = "openai"` against a real `llama-server`
//! on 127.0.0.1 running the shipped Qwen2.5 0.5B file. The same answering
//! stages run (the reader's choice, the attribution of generated
//! sentences); when the server is gone, citizens get the extractive answer.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{free_port, guichet, models_dir, run, service_kb, token_text, Server};

/// `llama-server`, built once into the peers' cache by
/// `.ci/install-llama-server` (about 7 minutes on 2 cores, the first time).
fn llama_server_binary() -> PathBuf {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".ci/install-llama-server");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .expect("run .ci/install-llama-server");
    assert!(
        out.status.success(),
        "building llama-server failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A running `llama-server`, killed when dropped.
struct LlamaServer {
    child: Child,
    base_url: String,
}

impl LlamaServer {
    fn start(model: &std::path::Path) -> Self {
        let port = free_port();
        let child = Command::new(llama_server_binary())
            .arg("-m")
            .arg(model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-c", "4096", "-t", "2", "--parallel", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start llama-server");
        let server = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}/v1"),
        };
        let agent = Server::agent();
        let started = Instant::now();
        loop {
            let up = agent
                .get(format!("http://127.0.0.1:{port}/health"))
                .call()
                .is_ok_and(|r| r.status() == 200);
            if up {
                break server;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "llama-server not up after 120 s"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn qwen_05b() -> PathBuf {
    let (out, stdout, stderr) = run(guichet().args(["models", "fetch", "qwen2.5-0.5b"]));
    assert!(out.status.success(), "{stdout}{stderr}");
    models_dir().join("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
}

#[test]
fn issue_23_answers_are_read_and_written_by_a_llama_server_and_fall_back_when_it_is_gone() {
    let mut llama = LlamaServer::start(&qwen_05b());
    let url = llama.base_url.clone();
    let remote = |mode| {
        [
            ("GUICHET_ANSWER_MODE", mode),
            ("GUICHET_GENERATION_BACKEND", "openai"),
            ("GUICHET_GENERATION_BASE_URL", url.as_str()),
            ("GUICHET_GENERATION_MODEL_NAME", "qwen2.5-0.5b"),
            ("GUICHET_ANSWER_READER_TOKENS", "200"),
            ("GUICHET_LIMITS_REQUEST_TIMEOUT_SECS", "300"),
        ]
    };

    // The reader: the server's model picks the units, the answer quotes
    // them verbatim with their citations.
    let reader = Server::start(&service_kb(), &remote("reader"));
    let question = "Combien coûte un passeport pour un adulte ?";
    let r = reader.ask(question, None);
    assert_eq!(r["status"], "answered", "{r:#}");
    assert_eq!(r["mode"], "reader", "{r:#}");
    assert!(
        r["model"]
            .as_str()
            .unwrap()
            .contains("qwen2.5-0.5b (http://127.0.0.1:"),
        "{r:#}"
    );
    let sources = r["sources"].as_array().unwrap();
    let answer = r["answer"].as_str().unwrap();
    for line in answer
        .lines()
        .filter(|l| !l.starts_with("Voici ce qu'indiquent"))
    {
        let (_, n) = line
            .rsplit_once(" [")
            .unwrap_or_else(|| panic!("uncited line {line:?} in {answer}"));
        let n: u64 = n.trim_end_matches(']').parse().unwrap();
        let s = sources.iter().find(|s| s["n"] == n).expect("cited source");
        assert_eq!(s["cited"], true, "{r:#}");
    }

    // Free generation through the server, streamed: the stream ends with
    // an answer, either generated (released a checked sentence at a time,
    // nothing withdrawn) or the extractive one, marked as a fallback.
    let writer = Server::start(&service_kb(), &remote("generative"));
    let mut reply = Server::agent()
        .post(format!("{}/api/chat", writer.url))
        .header("Content-Type", "application/json")
        .send(
            serde_json::json!({ "message": "Quels papiers pour refaire ma carte d'identité ?" })
                .to_string(),
        )
        .unwrap();
    let (events, done) = crate::support::read_done(reply.body_mut().as_reader());
    assert_eq!(done["status"], "answered", "{done:#}");
    assert!(
        done["model"].as_str().unwrap().contains("qwen2.5-0.5b"),
        "the server's model was not asked: {done:#}"
    );
    if done["mode"] == "generative" {
        assert!(events.iter().all(|(n, _)| n != "reset"), "{events:?}");
        let streamed = token_text(&events);
        assert_eq!(streamed, done["answer"].as_str().unwrap());
    } else {
        assert_eq!(done["fallback"], true, "{done:#}");
    }

    // The server goes away: the same question gets the extractive answer,
    // with its citations, at once (a refused connection), never an error.
    let _ = llama.child.kill();
    let _ = llama.child.wait();
    let started = Instant::now();
    let r = reader.ask(question, None);
    assert!(started.elapsed() < Duration::from_secs(30), "{r:#}");
    assert_eq!(r["status"], "answered", "{r:#}");
    assert_eq!(r["mode"], "extractive", "{r:#}");
    assert_eq!(r["fallback"], true, "{r:#}");
    let cited = r["sources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["cited"] == true);
    assert!(cited.count() >= 1, "{r:#}");
}

#[test]
fn issue_23_a_server_backend_needs_its_url() {
    let (out, stdout, stderr) = run(guichet()
        .args(["check"])
        .env("GUICHET_ANSWER_MODE", "generative")
        .env("GUICHET_GENERATION_BACKEND", "openai"));
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("generation.base_url"), "{stdout}{stderr}");
}
