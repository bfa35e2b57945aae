//! `guichet bench vectors`: the dense index at scale on synthetic vectors —
//! build time, search latency, recall@10 against exact search, and the exact
//! scan's own latency (to see below which size a scan is as good).
//!
//! Vectors are drawn to look like sentence embeddings, not uniform noise:
//! unit vectors around a few hundred topic centres, with per-vector noise, so
//! that neighbourhoods exist (uniform random 384-d vectors are a misleading
//! worst case for any graph index).

use std::time::Instant;

use clap::Args;
use rand::{Rng, SeedableRng};

use crate::kb::VectorIndex;
use crate::Result;

#[derive(Debug, Args)]
pub(super) struct VectorBenchArgs {
    /// Sizes to measure (number of vectors).
    #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 100_000])]
    sizes: Vec<usize>,
    /// Dimension (e5-small: 384).
    #[arg(long, default_value_t = 384)]
    dim: usize,
    /// Queries per size.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// A Python with `hnswlib` (e.g. the `chroma-hnswlib` wheel) and numpy:
    /// hnswlib builds and searches the same vectors with the same
    /// parameters, in the same run, for ratios.
    #[arg(long)]
    hnswlib_python: Option<std::path::PathBuf>,
}

/// The hnswlib side (`bench_hnswlib.py`).
const HNSWLIB_SCRIPT: &str = include_str!("bench_hnswlib.py");

fn f32_file(path: &std::path::Path, rows: &[Vec<f32>]) -> Result<()> {
    let mut bytes = Vec::with_capacity(rows.len() * rows.first().map_or(0, Vec::len) * 4);
    for r in rows {
        for x in r {
            bytes.extend_from_slice(&x.to_le_bytes());
        }
    }
    std::fs::write(path, bytes).map_err(|source| crate::Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// hnswlib's build seconds, p50 and p99 ms and recall@10 on the same data.
fn hnswlib(
    python: &std::path::Path,
    data: &[Vec<f32>],
    queries: &[Vec<f32>],
    exact: &[Vec<usize>],
    dim: usize,
) -> Result<serde_json::Value> {
    let dir = tempfile::tempdir().map_err(|source| crate::Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let script = dir.path().join("bench_hnswlib.py");
    std::fs::write(&script, HNSWLIB_SCRIPT).map_err(|source| crate::Error::Io {
        path: script.clone(),
        source,
    })?;
    f32_file(&dir.path().join("data.f32"), data)?;
    f32_file(&dir.path().join("queries.f32"), queries)?;
    let ids: Vec<u8> = exact
        .iter()
        .flat_map(|e| e.iter().flat_map(|&i| (i as u32).to_le_bytes()))
        .collect();
    std::fs::write(dir.path().join("exact.u32"), ids).map_err(|source| crate::Error::Io {
        path: dir.path().join("exact.u32"),
        source,
    })?;
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(dir.path().join("data.f32"))
        .arg(dir.path().join("queries.f32"))
        .arg(dir.path().join("exact.u32"))
        .args([
            data.len().to_string(),
            dim.to_string(),
            crate::kb::vector::MAX_CONNECTIONS.to_string(),
            crate::kb::vector::EF_CONSTRUCTION.to_string(),
            crate::kb::vector::EF_SEARCH.to_string(),
        ])
        .output()
        .map_err(|source| crate::Error::Io {
            path: python.to_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(crate::Error::Usage(format!(
            "hnswlib run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| crate::Error::Usage(format!("hnswlib output: {e}")))
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn gaussian(rng: &mut rand::rngs::StdRng) -> f32 {
    // Box-Muller.
    let u1: f32 = rng.random::<f32>().max(1e-12);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// `n` embedding-like unit vectors around `n / 50` centres (at least 16).
fn synthetic(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..(n / 50).max(16))
        .map(|_| unit((0..dim).map(|_| gaussian(&mut rng)).collect()))
        .collect();
    (0..n)
        .map(|_| {
            let c = &centres[rng.random_range(0..centres.len())];
            unit(c.iter().map(|x| x + 0.03 * gaussian(&mut rng)).collect())
        })
        .collect()
}

fn exact(data: &[Vec<f32>], q: &[f32], k: usize) -> Vec<usize> {
    let mut scored: Vec<(usize, f32)> = data
        .iter()
        .enumerate()
        .map(|(i, v)| (i, v.iter().zip(q).map(|(a, b)| a * b).sum()))
        .collect();
    let nth = k.min(scored.len() - 1);
    scored.select_nth_unstable_by(nth, |a, b| b.1.total_cmp(&a.1));
    scored.truncate(k);
    scored.into_iter().map(|(i, _)| i).collect()
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub(super) fn run(args: VectorBenchArgs) -> Result<()> {
    println!(
        "{:>9} {:>10} {:>12} {:>12} {:>10} {:>13}",
        "vectors", "build s", "HNSW p50 ms", "HNSW p99 ms", "recall@10", "exact p50 ms"
    );
    for &n in &args.sizes {
        let data = synthetic(n, args.dim, 7);
        let queries = synthetic(args.queries, args.dim, 8);
        let pairs: Vec<(i64, Vec<f32>)> = data
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, v)| (i as i64, v))
            .collect();
        let t = Instant::now();
        let index = VectorIndex::build(args.dim, &pairs)?.graph_only();
        let build = t.elapsed().as_secs_f64();
        let (mut hnsw_ms, mut exact_ms, mut recall) = (Vec::new(), Vec::new(), 0.0);
        let mut exact_ids = Vec::new();
        for q in &queries {
            let t = Instant::now();
            let got = index.search(q, 10);
            hnsw_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let want = exact(&data, q, 10);
            exact_ms.push(t.elapsed().as_secs_f64() * 1e3);
            let hit = got
                .iter()
                .filter(|(id, _)| want.contains(&(*id as usize)))
                .count();
            recall += hit as f64 / 10.0;
            exact_ids.push(want);
        }
        hnsw_ms.sort_by(f64::total_cmp);
        exact_ms.sort_by(f64::total_cmp);
        println!(
            "{n:>9} {build:>10.1} {:>12.2} {:>12.2} {:>10.3} {:>13.2}",
            pct(&hnsw_ms, 0.5),
            pct(&hnsw_ms, 0.99),
            recall / queries.len() as f64,
            pct(&exact_ms, 0.5)
        );
        if let Some(py) = &args.hnswlib_python {
            let h = hnswlib(py, &data, &queries, &exact_ids, args.dim)?;
            let f = |k: &str| h[k].as_f64().unwrap_or(f64::NAN);
            println!(
                "{:>9} {:>10.1} {:>12.2} {:>12.2} {:>10.3} {:>13}   hnswlib (same vectors and parameters): build {:.2}x, p50 {:.2}x its time",
                "hnswlib",
                f("build_s"),
                f("p50_ms"),
                f("p99_ms"),
                f("recall"),
                "",
                build / f("build_s"),
                pct(&hnsw_ms, 0.5) / f("p50_ms"),
            );
        }
    }
    Ok(())
}
