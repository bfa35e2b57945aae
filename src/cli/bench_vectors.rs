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
    }
    Ok(())
}
