//! Every kernel against its scalar reference, at every level this CPU
//! supports, on awkward sizes and on random inputs (property tests).

use guichet_kernels::int8::{self, Int8Matrix, QuantRows};
use guichet_kernels::{dot_f32_with, Isa};
use proptest::prelude::*;

/// Sizes around the vector widths (8, 16, 32, 64) and a long odd one.
const SIZES: [usize; 12] = [0, 1, 7, 8, 15, 31, 33, 63, 64, 65, 384, 4095];

/// A deterministic pseudo-random stream (xorshift), values in [-1, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }

    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

fn exact_dot(a: &[f32], b: &[f32]) -> (f64, f64) {
    let dot = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let mag = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 * *y as f64).abs())
        .sum();
    (dot, mag)
}

fn check_dot(a: &[f32], b: &[f32]) -> Result<(), String> {
    let (exact, mag) = exact_dot(a, b);
    for isa in Isa::all_supported() {
        let got = dot_f32_with(isa, a, b) as f64;
        // f32 summation error: a few units of 2⁻²⁴ per term in the worst case.
        let tol = 1e-6 + mag * 1e-7 * (a.len() as f64).max(1.0).sqrt() * 8.0;
        if (got - exact).abs() > tol {
            return Err(format!("{isa} n={}: {got} vs {exact} (tol {tol})", a.len()));
        }
    }
    Ok(())
}

#[test]
fn dot_matches_the_exact_sum_at_every_size_and_level() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for n in SIZES.into_iter().chain([4097, 10_000]) {
        let (a, b) = (rng.vec(n, 3.0), rng.vec(n, 0.5));
        check_dot(&a, &b).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn levels_are_ordered_and_detected_one_is_supported() {
    assert!(Isa::Scalar.supported());
    assert!(Isa::detected().supported());
    for isa in Isa::ALL {
        assert_eq!(Isa::parse(isa.name()), Some(isa));
    }
    assert_eq!(Isa::parse("sse9"), None);
}

/// The reference product: integer sums from the quantized values, then the
/// same scaling as the kernels, so results must be bit-identical.
fn reference(
    a: &QuantRows,
    w: &Int8Matrix,
    cols: std::ops::Range<usize>,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let mut out = Vec::new();
    for r in 0..a.rows() {
        let (qa, sa) = a.row_values(r);
        for c in cols.clone() {
            let (qw, sw) = w.row_values(c);
            let sum: i32 = qa.iter().zip(&qw).map(|(x, y)| x * y).sum();
            out.push(sum as f32 * (sa * sw) + bias.map_or(0.0, |b| b[c]));
        }
    }
    out
}

fn check_matmul(
    x: &[f32],
    wf: &[f32],
    rows: usize,
    n: usize,
    k: usize,
    cols: std::ops::Range<usize>,
) -> Result<(), String> {
    let w = Int8Matrix::quantize(wf, n, k);
    let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 - 1.0).collect();
    let base = QuantRows::quantize_with(Isa::Scalar, x, rows, k);
    let want = reference(&base, &w, cols.clone(), Some(&bias));
    for isa in Isa::all_supported() {
        let a = QuantRows::quantize_with(isa, x, rows, k);
        for r in 0..rows {
            if a.row_values(r) != base.row_values(r) {
                return Err(format!("{isa}: row {r} quantized differently (k={k})"));
            }
        }
        let mut got = vec![f32::NAN; rows * cols.len()];
        int8::matmul_with(isa, &a, &w, cols.clone(), Some(&bias), &mut got);
        if got != want {
            return Err(format!(
                "{isa}: rows={rows} n={n} k={k} cols={cols:?} differs from the reference"
            ));
        }
    }
    Ok(())
}

#[test]
fn int8_matmul_equals_the_reference_at_awkward_shapes() {
    let mut rng = Rng(7);
    for k in SIZES {
        for (rows, n) in [
            (0, 3),
            (1, 1),
            (3, 2),
            (4, 4),
            (5, 3),
            (13, 17),
            (6, 70),
            (2, 129),
        ] {
            let x = rng.vec(rows * k, 4.0);
            let w = rng.vec(n * k, 0.1);
            check_matmul(&x, &w, rows, n, k, 0..n).unwrap_or_else(|e| panic!("{e}"));
            if n > 2 {
                check_matmul(&x, &w, rows, n, k, 1..n - 1).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}

#[test]
fn quantization_rounds_to_the_nearest_step() {
    let mut rng = Rng(11);
    let k = 97;
    let x = rng.vec(5 * k, 6.0);
    let a = QuantRows::quantize(&x, 5, k);
    for r in 0..5 {
        let (q, s) = a.row_values(r);
        let row = &x[r * k..(r + 1) * k];
        let amax = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!((s * 127.0 - amax).abs() <= amax * 1e-6);
        for (v, q) in row.iter().zip(&q) {
            assert!((v - s * *q as f32).abs() <= s * 0.5001, "{v} vs {q}·{s}");
        }
    }
    let w = Int8Matrix::quantize(&x, 5, k);
    let back = w.dequantize();
    for r in 0..5 {
        let (q, s) = w.row_values(r);
        assert!(q.iter().all(|q| q.abs() <= int8::WEIGHT_MAX));
        for i in 0..k {
            assert!((x[r * k + i] - back[r * k + i]).abs() <= s * 0.5001);
        }
    }
    // A zero row stays zero and has scale 0.
    let z = QuantRows::quantize(&[0.0; 70], 1, 70);
    assert_eq!(z.row_values(0), (vec![0; 70], 0.0));
}

#[test]
fn int8_matmul_stays_close_to_the_f32_product() {
    let mut rng = Rng(3);
    let (rows, n, k) = (9, 33, 384);
    let x = rng.vec(rows * k, 2.0);
    let wf = rng.vec(n * k, 0.05);
    let w = Int8Matrix::quantize(&wf, n, k);
    let a = QuantRows::quantize(&x, rows, k);
    let mut got = vec![0.0; rows * n];
    int8::matmul(&a, &w, 0..n, None, &mut got);
    let (mut err, mut norm) = (0.0f64, 0.0f64);
    for r in 0..rows {
        for c in 0..n {
            let exact: f64 = (0..k)
                .map(|i| x[r * k + i] as f64 * wf[c * k + i] as f64)
                .sum();
            err += (got[r * n + c] as f64 - exact).powi(2);
            norm += exact.powi(2);
        }
    }
    let rel = (err / norm).sqrt();
    assert!(rel < 0.02, "relative error {rel}");
}

proptest! {
    #[test]
    fn dot_levels_agree(v in prop::collection::vec((-100.0f32..100.0, -1.0f32..1.0), 0..600)) {
        let (a, b): (Vec<f32>, Vec<f32>) = v.into_iter().unzip();
        prop_assert!(check_dot(&a, &b).is_ok(), "{:?}", check_dot(&a, &b));
    }

    #[test]
    fn int8_levels_equal_the_reference(
        rows in 0usize..10,
        n in 1usize..80,
        k in 0usize..200,
        seed in any::<u64>(),
        scale in prop_oneof![Just(1e-6f32), 0.01f32..1.0, Just(1e4f32)],
    ) {
        let mut rng = Rng(seed | 1);
        let x = rng.vec(rows * k, scale);
        let w = rng.vec(n * k, 1.0 / scale.max(1e-3));
        let lo = (seed as usize) % n;
        let r = check_matmul(&x, &w, rows, n, k, lo..n);
        prop_assert!(r.is_ok(), "{:?}", r);
    }
}
