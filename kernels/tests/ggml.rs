//! The GGML block products at every level this CPU supports, against the
//! reference meaning of the bytes: each weight row dequantized, dotted in
//! `f64` with the dequantized activations. Mathematically the kernels compute
//! exactly that sum; only `f32` rounding may differ.

use guichet_kernels::ggml::{f16_to_f32, matmul_with, Format, QuantActs, QuantMatrix};
use guichet_kernels::Isa;
use proptest::prelude::*;

/// A deterministic pseudo-random stream (xorshift).
struct Rng(u64);

impl Rng {
    fn u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in [-1, 1).
    fn f32(&mut self) -> f32 {
        ((self.u64() >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }

    /// A finite half of magnitude about 2⁻⁸ to 2⁰, either sign.
    fn half(&mut self) -> [u8; 2] {
        let r = self.u64();
        let bits = ((r & 1) << 15) | ((7 + (r >> 1) % 9) << 10) | ((r >> 8) & 0x3ff);
        (bits as u16).to_le_bytes()
    }
}

/// `rows` random weight rows of `blocks` blocks: random bytes with finite
/// scales (any byte pattern is a valid value in every format).
fn random_matrix(rng: &mut Rng, f: Format, rows: usize, blocks: usize) -> QuantMatrix {
    let mut data: Vec<u8> = (0..rows * blocks * f.block_bytes())
        .map(|_| rng.u64() as u8)
        .collect();
    for blk in data.chunks_exact_mut(f.block_bytes()) {
        for &at in f.half_offsets() {
            blk[at..at + 2].copy_from_slice(&rng.half());
        }
        if f == Format::Q8_0 {
            // GGML's quantizer never writes -128 (see the kernel's docs).
            for q in &mut blk[2..] {
                if *q == 0x80 {
                    *q = 0x81;
                }
            }
        }
    }
    QuantMatrix::new(f, rows, blocks * f.block_len(), data).expect("valid shape")
}

/// Checks every level's product against the `f64` reference.
fn check(f: Format, w: &QuantMatrix, x: &[f32], rows: usize) -> Result<(), String> {
    let cols = w.cols();
    let a = QuantActs::quantize(f, x, rows, cols);
    let mut wrow = vec![0.0f32; cols];
    let mut reference = vec![(0.0f64, 0.0f64); rows * w.rows()];
    for j in 0..w.rows() {
        w.dequantize_row(j, &mut wrow);
        for i in 0..rows {
            let arow = a.dequantize_row(i);
            let (mut s, mut mag) = (0.0f64, 0.0f64);
            for (p, q) in wrow.iter().zip(&arow) {
                s += *p as f64 * *q as f64;
                mag += (*p as f64 * *q as f64).abs();
            }
            reference[i * w.rows() + j] = (s, mag);
        }
    }
    for isa in Isa::all_supported() {
        let mut out = vec![f32::NAN; rows * w.rows()];
        matmul_with(isa, w, &a, 0..rows, 0..w.rows(), &mut out);
        for (k, (got, (want, mag))) in out.iter().zip(&reference).enumerate() {
            let tol = 1e-30 + mag * 2e-6;
            let err = (*got as f64 - want).abs();
            if err.is_nan() || err > tol {
                return Err(format!(
                    "{f} {isa} rows={rows} cols={cols} out {k}: {got} vs {want} (tol {tol})"
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn every_format_matches_the_reference_at_awkward_shapes() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for f in Format::ALL {
        for blocks in [1, 2, 3, 7, 17] {
            // 1 to 9 activation rows: whole tiles of four and every remainder.
            for rows in [1, 2, 3, 4, 5, 8, 9] {
                let w = random_matrix(&mut rng, f, 5, blocks);
                let x: Vec<f32> = (0..rows * w.cols()).map(|_| rng.f32() * 4.0).collect();
                check(f, &w, &x, rows).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}

#[test]
fn sub_ranges_write_their_own_block_of_the_output() {
    let mut rng = Rng(7);
    let f = Format::Q4K;
    let w = random_matrix(&mut rng, f, 9, 2);
    let x: Vec<f32> = (0..6 * w.cols()).map(|_| rng.f32()).collect();
    let a = QuantActs::quantize(f, &x, 6, w.cols());
    let mut all = vec![0.0f32; 6 * 9];
    matmul_with(Isa::detected(), &w, &a, 0..6, 0..9, &mut all);
    let mut part = vec![0.0f32; 3 * 4];
    matmul_with(Isa::detected(), &w, &a, 2..5, 3..7, &mut part);
    for i in 0..3 {
        for j in 0..4 {
            assert_eq!(part[i * 4 + j], all[(i + 2) * 9 + j + 3]);
        }
    }
}

#[test]
fn zero_activations_give_exact_zeros() {
    let mut rng = Rng(11);
    for f in Format::ALL {
        let w = random_matrix(&mut rng, f, 3, 2);
        let zeros = vec![0.0f32; w.cols()];
        let a = QuantActs::quantize(f, &zeros, 1, w.cols());
        for isa in Isa::all_supported() {
            let mut out = vec![f32::NAN; 3];
            matmul_with(isa, &w, &a, 0..1, 0..3, &mut out);
            assert_eq!(out, [0.0; 3], "{f} {isa}");
        }
    }
}

#[test]
fn halves_decode_exactly() {
    assert_eq!(f16_to_f32(0x3c00), 1.0);
    assert_eq!(f16_to_f32(0xc000), -2.0);
    assert_eq!(f16_to_f32(0x7bff), 65504.0);
    assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    assert_eq!(f16_to_f32(0x83ff), -(1023.0 * 2f32.powi(-24)));
    assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14));
    assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
    assert!(f16_to_f32(0x7e00).is_nan());
    assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
}

#[test]
fn shapes_that_are_not_whole_blocks_are_refused() {
    assert!(QuantMatrix::new(Format::Q4K, 2, 128, vec![0; 144]).is_err());
    assert!(QuantMatrix::new(Format::Q8_0, 2, 64, vec![0; 4 * 34 - 1]).is_err());
    assert!(QuantMatrix::new(Format::Q8_0, 2, 64, vec![0; 4 * 34]).is_ok());
}

/// A known Q8_0 block: scale 0.5, values 1..=32.
#[test]
fn a_hand_written_block_dequantizes_to_its_definition() {
    let mut blk = vec![0x00, 0x38]; // 0.5
    blk.extend((1..=32).map(|q: i32| q as u8));
    let w = QuantMatrix::new(Format::Q8_0, 1, 32, blk).expect("valid");
    let mut y = vec![0.0; 32];
    w.dequantize_row(0, &mut y);
    assert_eq!(y, (1..=32).map(|q| q as f32 * 0.5).collect::<Vec<_>>());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn levels_agree_with_the_reference(
        fmt in 0usize..6,
        blocks in 1usize..6,
        rows in 1usize..7,
        seed in any::<u64>(),
        scale in 0.01f32..100.0,
    ) {
        let f = Format::ALL[fmt];
        let mut rng = Rng(seed | 1);
        let w = random_matrix(&mut rng, f, 3, blocks);
        let x: Vec<f32> = (0..rows * w.cols()).map(|_| rng.f32() * scale).collect();
        prop_assert!(check(f, &w, &x, rows).is_ok(), "{:?}", check(f, &w, &x, rows));
    }
}
