//! `guichet bench serve`: the real service on 127.0.0.1, measured from the
//! outside as a citizen's browser sees it.
//!
//! It starts `guichet serve` (this binary) on a free port over --data-dir
//! (the demo corpus is ingested first if the knowledge base is empty), then
//! reports: time to first token and total time of single streamed
//! questions (median, p95), with the server's own first-token time beside
//! them so that the HTTP and streaming overhead shows; answers per minute,
//! p95 latency and the share of 503s with 1, 4 and 16 concurrent clients;
//! and the server's peak memory.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;

use crate::config::Config;
use crate::{Error, Result};

#[derive(Debug, Args)]
pub(super) struct ServeBenchArgs {
    /// Questions, one per line (default: a built-in list of municipal
    /// questions, two of them out of scope).
    #[arg(long)]
    questions: Option<std::path::PathBuf>,
    /// Concurrent clients to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    clients: Vec<usize>,
    /// Requests per client in the concurrency runs.
    #[arg(long, default_value_t = 6)]
    per_client: usize,
    /// Answer mode of the server (`extractive` or `generative`).
    #[arg(long, default_value = "extractive")]
    mode: String,
}

const QUESTIONS: &[&str] = &[
    "Quels documents pour refaire une carte d'identité ?",
    "Quel est le prix de la cantine en maternelle à Montpellier ?",
    "Comment s'inscrire sur les listes électorales ?",
    "Quel justificatif de domicile pour un passeport ?",
    "Comment obtenir un acte de naissance ?",
    "Quand sortir les encombrants ?",
    "Faut-il un permis de construire pour une véranda ?",
    "Quelle est la capitale du Pérou ?",
    "Comment se pacser ?",
    "Qui a gagné la coupe du monde 2018 ?",
];

struct Running {
    child: Child,
    url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &Config, mode: &str) -> Result<Running> {
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        path: "current executable".into(),
        source,
    })?;
    let mut child = Command::new(exe)
        .arg("--data-dir")
        .arg(&config.data_dir)
        .arg("--models-dir")
        .arg(&config.models_dir)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("GUICHET_ANSWER_MODE", mode)
        .env("GUICHET_LIMITS_RATE_PER_MINUTE", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Unavailable(format!("cannot start guichet serve: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Error::Unavailable("no stdout from guichet serve".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(l)) => {
                if let Some(u) = l.strip_prefix("listening on ") {
                    break u.trim().to_string();
                }
            }
            _ => return Err(Error::Unavailable("guichet serve exited at start".into())),
        }
    };
    let running = Running { child, url };
    let agent = agent();
    let t = Instant::now();
    loop {
        if let Ok(r) = agent.get(format!("{}/readyz", running.url)).call() {
            if r.status() == 200 {
                break;
            }
        }
        if t.elapsed() > Duration::from_secs(1800) {
            return Err(Error::Unavailable(
                "the server was not ready in 30 min".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("server ready in {:.1} s", t.elapsed().as_secs_f64());
    Ok(running)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into()
}

/// One streamed question: (HTTP status, client first token, client total,
/// server first token) in ms.
fn ask(agent: &ureq::Agent, url: &str, q: &str) -> (u16, f64, f64, f64) {
    let t = Instant::now();
    let body = serde_json::json!({ "message": q }).to_string();
    let Ok(mut r) = agent
        .post(format!("{url}/api/chat"))
        .header("Content-Type", "application/json")
        .send(body)
    else {
        return (0, 0.0, 0.0, 0.0);
    };
    let status = r.status().as_u16();
    if status != 200 {
        return (status, 0.0, t.elapsed().as_secs_f64() * 1e3, 0.0);
    }
    let (mut first, mut server_first) = (None, 0.0);
    let mut event = String::new();
    for line in BufReader::new(r.body_mut().as_reader()).lines() {
        let Ok(line) = line else { break };
        if let Some(e) = line.strip_prefix("event:") {
            event = e.trim().to_string();
        } else if let Some(d) = line.strip_prefix("data:") {
            if event == "token" && first.is_none() {
                first = Some(t.elapsed().as_secs_f64() * 1e3);
            }
            if event == "done" {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(d.trim()) {
                    server_first = v["timings"]["first_token_ms"].as_f64().unwrap_or(0.0);
                }
                break;
            }
        }
    }
    let total = t.elapsed().as_secs_f64() * 1e3;
    (status, first.unwrap_or(total), total, server_first)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

pub(super) fn run(config: &Config, args: ServeBenchArgs) -> Result<()> {
    let questions: Vec<String> = match &args.questions {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|source| Error::Io {
                path: p.clone(),
                source,
            })?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect(),
        None => QUESTIONS.iter().map(|q| q.to_string()).collect(),
    };
    let server = start(config, &args.mode)?;
    let agent = agent();
    // Warm-up (first-touch of the index and weights).
    let _ = ask(&agent, &server.url, &questions[0]);
    let (mut ttft, mut total, mut server_ttft) = (Vec::new(), Vec::new(), Vec::new());
    for q in &questions {
        let (s, f, t, sf) = ask(&agent, &server.url, q);
        if s == 200 {
            ttft.push(f);
            total.push(t);
            server_ttft.push(sf);
        }
    }
    println!(
        "mode {}; {} single questions, one at a time:",
        args.mode,
        ttft.len()
    );
    println!(
        "  time to first token   median {:>7.0} ms   p95 {:>7.0} ms",
        pct(&mut ttft.clone(), 0.5),
        pct(&mut ttft, 0.95)
    );
    println!(
        "  server's own          median {:>7.0} ms   (the rest is HTTP and streaming)",
        pct(&mut server_ttft, 0.5)
    );
    println!(
        "  total answer time     median {:>7.0} ms   p95 {:>7.0} ms",
        pct(&mut total.clone(), 0.5),
        pct(&mut total, 0.95)
    );
    println!(
        "\n{:>8} {:>10} {:>14} {:>12} {:>8}",
        "clients", "requests", "answers/min", "p95 ms", "503 %"
    );
    for &c in &args.clients {
        let t = Instant::now();
        let results: Vec<(u16, f64)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..c)
                .map(|i| {
                    let (agent, url, qs) = (agent.clone(), server.url.clone(), &questions);
                    s.spawn(move || {
                        (0..args.per_client)
                            .map(|k| {
                                let q = &qs[(i + k) % qs.len()];
                                let (st, _, tot, _) = ask(&agent, &url, q);
                                (st, tot)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let secs = t.elapsed().as_secs_f64();
        let ok: Vec<f64> = results.iter().filter(|r| r.0 == 200).map(|r| r.1).collect();
        let busy = results.iter().filter(|r| r.0 == 503).count();
        println!(
            "{c:>8} {:>10} {:>14.1} {:>12.0} {:>8.1}",
            results.len(),
            ok.len() as f64 / secs * 60.0,
            pct(&mut ok.clone(), 0.95),
            100.0 * busy as f64 / results.len().max(1) as f64
        );
    }
    if let Some(m) = peak_rss_mib(server.child.id()) {
        println!("\nserver peak memory (VmHWM): {m:.0} MiB");
    }
    Ok(())
}
