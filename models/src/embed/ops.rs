//! Fused CPU kernels for the encoder's element-wise hot spots, written as
//! branch-free loops the compiler vectorises (AVX2 here).
//!
//! Measured on a batch of 28 × 291 tokens: candle's `gelu_erf` calls libm's
//! scalar `erf` (56 ms a layer) and its softmax libm's `expf` after a
//! separate broadcast add of the padding bias (62 ms a layer); these kernels
//! use polynomial approximations accurate to about 1e-7 and skip the padded
//! columns entirely.

use candle_core::{bail, CpuStorage, CustomOp1, Layout, Shape, Tensor};
use guichet_kernels::int8::{self, Int8Matrix, QuantRows};
use rayon::prelude::*;

/// `exp(x)` for f32 by range reduction (x = n·ln2 + r) and a degree-6
/// polynomial on r; relative error below 2e-7 on the range that matters
/// (inputs below −87 give about 0, as the true value underflows). Rounding
/// and the 2ⁿ scale use float/bit tricks rather than `round` and `as i32`,
/// which kept the loops scalar (1.4 → 0.6 ns an element).
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    const SHIFTER: f32 = 12_582_912.0; // 1.5 · 2²³: adding it rounds to an integer
    let x = x.clamp(-87.3, 88.7);
    let n = (x * std::f32::consts::LOG2_E + SHIFTER) - SHIFTER;
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67
                    + r * (0.041_666_668 + r * (0.008_333_334 + r * 0.001_388_889)))));
    // n + 127 (in 0..=255) lands in the low mantissa bits of 2²³ + n + 127.
    let biased = (n + (127.0 + 8_388_608.0)).to_bits() & 0xff;
    p * f32::from_bits(biased << 23)
}

/// `erf(x)` by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
#[inline(always)]
fn fast_erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let y = 1.0
        - (((((1.061_405_4 * t - 1.453_152_1) * t) + 1.421_413_7) * t - 0.284_496_74) * t
            + 0.254_829_6)
            * t
            * fast_exp(-a * a);
    f32::from_bits(y.to_bits() | (x.to_bits() & 0x8000_0000))
}

fn contiguous_f32<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    op: &str,
) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        bail!("{op}: only f32 is supported")
    };
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => bail!("{op}: input must be contiguous"),
    }
}

const CHUNK: usize = 16 * 1024;

/// GELU, erf form.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + fast_erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// GELU in place.
fn gelu_in_place(xs: &mut [f32]) {
    for x in xs {
        *x = gelu(*x);
    }
}

/// `x·Wᵀ + b` on the integer kernels, read straight from the input's
/// storage, optionally followed by GELU while the output is still in cache.
struct Int8Linear<'a> {
    w: &'a Int8Matrix,
    b: &'a [f32],
    gelu: bool,
}

impl CustomOp1 for Int8Linear<'_> {
    fn name(&self) -> &'static str {
        "int8-linear"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let xs = contiguous_f32(storage, layout, self.name())?;
        let (rows, k) = layout.shape().dims2()?;
        let n = self.w.rows();
        if k != self.w.k() {
            bail!(
                "int8-linear: input has {k} columns, the weights {}",
                self.w.k()
            );
        }
        let mut out = vec![0.0f32; rows * n];
        let threads = rayon::current_num_threads().max(1);
        if rows >= 8 * threads {
            // Batches: parts of whole 4-row tiles, a few per thread for
            // balance; each part quantizes its own rows.
            let part = rows.div_ceil(4 * threads).div_ceil(4).max(1) * 4;
            out.par_chunks_mut(part * n)
                .zip(xs.par_chunks(part * k))
                .for_each(|(o, xc)| {
                    let a = QuantRows::quantize(xc, xc.len() / k.max(1), k);
                    int8::matmul(&a, self.w, 0..n, Some(self.b), o);
                    if self.gelu {
                        gelu_in_place(o);
                    }
                });
        } else {
            // A few rows (a query): split the outputs instead, in whole
            // tiles of 64 (four groups of 16 for AVX-512).
            let a = QuantRows::quantize(xs, rows, k);
            let step = n.div_ceil(threads).div_ceil(64).max(1) * 64;
            let starts: Vec<usize> = (0..n).step_by(step).collect();
            let parts: Vec<(usize, Vec<f32>)> = starts
                .into_par_iter()
                .map(|c0| {
                    let cols = c0..(c0 + step).min(n);
                    let mut o = vec![0.0f32; rows * cols.len()];
                    int8::matmul(&a, self.w, cols, Some(self.b), &mut o);
                    if self.gelu {
                        gelu_in_place(&mut o);
                    }
                    (c0, o)
                })
                .collect();
            for (c0, o) in parts {
                let width = o.len() / rows.max(1);
                for (dst, src) in out.chunks_exact_mut(n).zip(o.chunks_exact(width.max(1))) {
                    dst[c0..c0 + width].copy_from_slice(src);
                }
            }
        }
        Ok((CpuStorage::F32(out), Shape::from((rows, n))))
    }
}

/// `x·Wᵀ + b` for a `(rows, k)` input on the int8 kernels (both cores
/// busy: a batch is split by rows, a query by outputs), with GELU fused
/// when `gelu` is set.
pub fn int8_linear(
    x: &Tensor,
    w: &Int8Matrix,
    b: &[f32],
    gelu: bool,
) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&Int8Linear { w, b, gelu })
}

struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "gelu-erf-fast"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let src = contiguous_f32(storage, layout, self.name())?;
        let mut out = vec![0f32; src.len()];
        out.par_chunks_mut(CHUNK)
            .zip(src.par_chunks(CHUNK))
            .for_each(|(o, s)| {
                for (o, &x) in o.iter_mut().zip(s) {
                    *o = gelu(x);
                }
            });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// GELU with the exact (erf) form, as BERT and XLM-R use it.
pub fn gelu_erf(x: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&GeluErf)
}

/// Reduces `xs` with `f` over 8 independent lanes, so that the compiler
/// can keep them in one vector register (a plain fold is sequential).
#[inline(always)]
fn lane_reduce(xs: &[f32], init: f32, f: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [init; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l = f(*l, x);
        }
    }
    let mut acc = lanes.into_iter().fold(init, &f);
    for &x in rest {
        acc = f(acc, x);
    }
    acc
}

struct MaskedSoftmax {
    /// Valid key count of each batch element.
    lens: Vec<usize>,
    /// Score rows per batch element (heads × queries).
    rows_per_item: usize,
}

impl CustomOp1 for MaskedSoftmax {
    fn name(&self) -> &'static str {
        "masked-softmax"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let src = contiguous_f32(storage, layout, self.name())?;
        let width = layout.dims().last().copied().unwrap_or(1).max(1);
        if src.len() != self.lens.len() * self.rows_per_item * width {
            bail!(
                "masked-softmax: shape {:?} does not match {} items",
                layout.dims(),
                self.lens.len()
            )
        }
        let mut out = vec![0f32; src.len()];
        out.par_chunks_mut(width)
            .zip(src.par_chunks(width))
            .enumerate()
            .for_each(|(row, (o, s))| {
                let valid = self.lens[row / self.rows_per_item].min(width);
                let (o, s) = (&mut o[..valid], &s[..valid]);
                let max = lane_reduce(s, f32::NEG_INFINITY, f32::max);
                for (o, &x) in o.iter_mut().zip(s) {
                    *o = fast_exp(x - max);
                }
                let inv = 1.0 / lane_reduce(o, 0.0, |a, b| a + b);
                o.iter_mut().for_each(|v| *v *= inv);
            });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// Softmax over the last dimension of attention scores `(batch, heads,
/// queries, keys)`, where only the first `lens[b]` keys of batch element `b`
/// are real tokens; padded keys get probability 0 without being computed.
pub fn masked_softmax(scores: &Tensor, lens: &[usize]) -> candle_core::Result<Tensor> {
    let dims = scores.dims();
    let rows_per_item = dims
        .get(1..dims.len().saturating_sub(1))
        .map_or(1, |d| d.iter().product());
    scores.contiguous()?.apply_op1_no_bwd(&MaskedSoftmax {
        lens: lens.to_vec(),
        rows_per_item,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn fast_exp_and_erf_are_accurate() {
        let mut x = -20.0f32;
        while x < 20.0 {
            let e = fast_exp(x);
            assert!(((e - x.exp()) / x.exp()).abs() < 1e-6, "exp({x})");
            x += 0.0137;
        }
        let mut x = -5.0f32;
        while x < 5.0 {
            let expected = libm_erf(x as f64) as f32;
            assert!(
                (fast_erf(x) - expected).abs() < 5e-7,
                "erf({x}) = {} vs {expected}",
                fast_erf(x)
            );
            x += 0.0071;
        }
    }

    /// erf by its series / continued fraction in f64, as an independent reference.
    fn libm_erf(x: f64) -> f64 {
        // erf(x) = 2/sqrt(pi) * sum_{n} (-1)^n x^(2n+1) / (n! (2n+1)), fine for |x| <= 5 in f64
        if x.abs() > 5.0 {
            return x.signum();
        }
        let mut sum = 0.0;
        let mut term = x;
        let mut n = 0.0;
        while term.abs() > 1e-17 || n < 5.0 {
            sum += term / (2.0 * n + 1.0);
            n += 1.0;
            term *= -x * x / n;
            if n > 200.0 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn masked_softmax_matches_candle_with_a_bias() {
        let dev = Device::Cpu;
        let scores = Tensor::randn(0f32, 3.0, (2, 3, 4, 5), &dev).unwrap();
        let lens = [5usize, 3];
        let ours = masked_softmax(&scores, &lens).unwrap();
        let bias = Tensor::new(&[[0f32, 0., 0., 0., 0.], [0., 0., 0., -1e9, -1e9]], &dev)
            .unwrap()
            .reshape((2, 1, 1, 5))
            .unwrap();
        let reference =
            candle_nn::ops::softmax_last_dim(&scores.broadcast_add(&bias).unwrap()).unwrap();
        let diff = max_abs_diff(&ours, &reference);
        assert!(diff < 1e-6, "{diff}");
    }

    #[test]
    fn gelu_matches_candle() {
        let x = Tensor::randn(0f32, 3.0, (64, 100), &Device::Cpu).unwrap();
        let diff = max_abs_diff(&gelu_erf(&x).unwrap(), &x.gelu_erf().unwrap());
        assert!(diff < 1e-5, "{diff}");
    }
}
