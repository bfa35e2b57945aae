//! `guichet bench kernels`: each kernel of `guichet-kernels` at every
//! instruction-set level this CPU supports, on the shapes Guichet uses,
//! with the ratio to the portable scalar version measured in the same run.

use std::time::Instant;

use clap::Args;
use guichet_kernels::ggml::{self, Format, QuantActs, QuantMatrix};
use guichet_kernels::int8::{self, Int8Matrix, QuantRows};
use guichet_kernels::{dot_f32_with, Isa};

use crate::Result;

#[derive(Debug, Args)]
pub(super) struct KernelBenchArgs {
    /// Minimum seconds spent per measurement.
    #[arg(long, default_value_t = 0.5)]
    seconds: f64,
}

/// Deterministic values in [-1, 1) (xorshift), so runs compare.
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 23) as f32) - 1.0
        })
        .collect()
}

/// Seconds per call of `f`, repeated for at least `seconds`.
fn time(seconds: f64, mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed().as_secs_f64() < seconds {
        f();
        calls += 1;
    }
    start.elapsed().as_secs_f64() / calls.max(1) as f64
}

pub(super) fn run(args: KernelBenchArgs) -> Result<()> {
    let levels = Isa::all_supported();
    println!(
        "bench kernels: one thread, levels {} (detected: {})",
        levels
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(", "),
        Isa::detected()
    );
    println!(
        "{:<44} {:>8} {:>12} {:>12} {:>8}",
        "kernel", "level", "µs/call", "throughput", "ratio"
    );
    let report = |name: &str, unit: &str, work: f64, each: &dyn Fn(Isa) -> f64| {
        let mut scalar = None;
        for &isa in &levels {
            let secs = each(isa);
            let base = *scalar.get_or_insert(secs);
            println!(
                "{name:<44} {:>8} {:>12.2} {:>8.1} {unit:<3} {:>7.2}x",
                isa.name(),
                secs * 1e6,
                work / secs / 1e9,
                base / secs
            );
        }
    };

    let (a, b) = (values(384, 1), values(384, 2));
    report(
        "dot_f32, 384 (the index's distance)",
        "GF/s",
        2.0 * 384.0,
        &|isa| {
            time(args.seconds, || {
                std::hint::black_box(dot_f32_with(isa, std::hint::black_box(&a), &b));
            })
        },
    );

    let (rows, k) = (2048, 384);
    let x = values(rows * k, 3);
    report(
        "quantize rows, 2048 × 384",
        "GB/s",
        (rows * k * 4) as f64,
        &|isa| {
            time(args.seconds, || {
                std::hint::black_box(QuantRows::quantize_with(isa, &x, rows, k));
            })
        },
    );

    for (rows, n, k, what) in [
        (512, 1536, 384, "int8 matmul 512 × 384 → 1536 (a batch)"),
        (12, 1536, 384, "int8 matmul 12 × 384 → 1536 (a query)"),
        (512, 384, 1536, "int8 matmul 512 × 1536 → 384"),
    ] {
        let w = Int8Matrix::quantize(&values(n * k, 4), n, k);
        let x = values(rows * k, 5);
        let bias = values(n, 6);
        let quantized = QuantRows::quantize(&x, rows, k);
        let ops = 2.0 * (rows * n * k) as f64;
        report(what, "GOP/s", ops, &|isa| {
            let mut out = vec![0.0f32; rows * n];
            time(args.seconds, || {
                int8::matmul_with(isa, &quantized, &w, 0..n, Some(&bias), &mut out);
            })
        });
    }

    // The generators' layers: a Qwen2.5-1.5B projection (1536 → 1536) in
    // each GGML format, one row (a generated token: weight bytes streamed
    // once, GB/s of weights) and 64 rows (a prompt chunk: GOP/s).
    let (n, k) = (1536, 1536);
    for f in Format::ALL {
        let w = ggml_matrix(f, n, k);
        for rows in [1, 64] {
            let x = values(rows * k, 8);
            let a = QuantActs::quantize(f, &x, rows, k);
            let what = format!("{f} matmul {rows} × {k} → {n}");
            let (unit, work) = if rows == 1 {
                ("GB/s", (n * k / f.block_len() * f.block_bytes()) as f64)
            } else {
                ("GOP/s", 2.0 * (rows * n * k) as f64)
            };
            report(&what, unit, work, &|isa| {
                let mut out = vec![0.0f32; rows * n];
                time(args.seconds, || {
                    ggml::matmul_with(isa, &w, &a, 0..rows, 0..n, &mut out);
                })
            });
        }
    }
    Ok(())
}

/// A `(n, k)` matrix of format `f` with random values and unit-sized
/// scales (the kernels' speed does not depend on the values).
fn ggml_matrix(f: Format, n: usize, k: usize) -> QuantMatrix {
    let mut s = 0x9e37_79b9_u64;
    let mut data: Vec<u8> = (0..n * k / f.block_len() * f.block_bytes())
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s as u8
        })
        .collect();
    for blk in data.chunks_exact_mut(f.block_bytes()) {
        for &at in f.half_offsets() {
            blk[at..at + 2].copy_from_slice(&0x2c00u16.to_le_bytes()); // 1/16
        }
    }
    QuantMatrix::new(f, n, k, data).expect("whole blocks")
}
