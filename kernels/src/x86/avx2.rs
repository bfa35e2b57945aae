//! AVX2 + FMA kernels. Callers must have checked `Isa::Avx2.supported()`
//! (calling a `#[target_feature]` function is `unsafe` for that reason);
//! given that, every function here is sound for any input: it checks the
//! lengths its loads rely on.

use std::arch::x86_64::*;

use crate::int8::{round, GroupSums, TileSums, ACT_MAX, GROUP};

/// Dot product, four independent 8-wide FMA accumulators.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (j, acc) in acc.iter_mut().enumerate() {
            // SAFETY: i + 8j + 8 ≤ i + 32 ≤ n, and n is at most both lengths.
            let (x, y) = unsafe {
                (
                    _mm256_loadu_ps(pa.add(i + 8 * j)),
                    _mm256_loadu_ps(pb.add(i + 8 * j)),
                )
            };
            *acc = _mm256_fmadd_ps(x, y, *acc);
        }
        i += 32;
    }
    while i + 8 <= n {
        // SAFETY: i + 8 ≤ n, and n is at most both lengths.
        let (x, y) = unsafe { (_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i))) };
        acc[0] = _mm256_fmadd_ps(x, y, acc[0]);
        i += 8;
    }
    let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut sum = hsum_ps(s);
    for k in i..n {
        sum += a[k] * b[k];
    }
    sum
}

/// Sum of the eight lanes.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    let s = _mm_add_ss(s, _mm_shuffle_ps::<1>(s, s));
    _mm_cvtss_f32(s)
}

/// Largest magnitude of `x` (same value as the portable version: `max` is
/// exact in any order).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn max_abs(x: &[f32]) -> f32 {
    let sign = _mm256_set1_ps(-0.0);
    let mut m = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= x.len() {
        // SAFETY: i + 8 ≤ x.len().
        let v = unsafe { _mm256_loadu_ps(x.as_ptr().add(i)) };
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v));
        i += 8;
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` is 8 f32 long, the size of one unaligned store.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), m) };
    let mut amax = lanes.iter().fold(0.0f32, |a, v| a.max(*v));
    for v in &x[i..] {
        amax = amax.max(v.abs());
    }
    amax
}

/// `round(x·inv) + 128` as bytes, 32 values per step: the same rounding
/// (half to even) and clamping as the portable version.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn quantize_row(x: &[f32], inv: f32, out: &mut [u8]) {
    let n = x.len().min(out.len());
    let f = _mm256_set1_ps(inv);
    let offset = _mm256_set1_epi8(i8::MIN);
    // packs interleave 128-bit lanes; this puts the dwords back in order.
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let limit = _mm256_set1_epi32(ACT_MAX);
    let mut i = 0;
    while i + 32 <= n {
        let mut q = [_mm256_setzero_si256(); 4];
        for (j, q) in q.iter_mut().enumerate() {
            // SAFETY: i + 8j + 8 ≤ i + 32 ≤ n ≤ x.len().
            let v = unsafe { _mm256_loadu_ps(x.as_ptr().add(i + 8 * j)) };
            // Round half to even under the default MXCSR, then clamp to ±127
            // (x·inv can exceed 127 by a rounding error, never by a step).
            let r = _mm256_cvtps_epi32(_mm256_mul_ps(v, f));
            *q = _mm256_max_epi32(
                _mm256_min_epi32(r, limit),
                _mm256_sub_epi32(_mm256_setzero_si256(), limit),
            );
        }
        let w01 = _mm256_packs_epi32(q[0], q[1]);
        let w23 = _mm256_packs_epi32(q[2], q[3]);
        let b = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(w01, w23), order);
        // Adding 128 to a signed byte is flipping its top bit.
        let b = _mm256_xor_si256(b, offset);
        // SAFETY: i + 32 ≤ n ≤ out.len(): 32 bytes are written.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().add(i).cast(), b) };
        i += 32;
    }
    for k in i..n {
        out[k] = (round(x[k] * inv, ACT_MAX) + 128) as u8;
    }
}

/// Exact sums for 4 activation rows × one group of 16 outputs. Per 4
/// inputs: the row's 4 bytes broadcast to every lane, `vpmaddubsw` against
/// the group's 64 packed bytes (unsigned × signed, pairs added into 16 bits:
/// cannot saturate with 7-bit weights), `vpmaddwd` by ones into 32 bits.
///
/// Rows must share a length that is a multiple of 4, the group 16 times that
/// (checked).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tile(a: [&[u8]; 4], w: [&[i8]; 1], out: &mut TileSums<1>) {
    let k = a[0].len();
    assert!(
        k.is_multiple_of(4) && a.iter().all(|r| r.len() == k) && w[0].len() == k * GROUP,
        "tile rows must share a length that is a multiple of 4"
    );
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_si256(); 2]; 4];
    let pw = w[0].as_ptr();
    for kk in 0..k / 4 {
        // SAFETY: (kk + 1)·64 ≤ k·16 = w[0].len(): two 32-byte loads.
        let (lo, hi) = unsafe {
            (
                _mm256_loadu_si256(pw.add(kk * 64).cast()),
                _mm256_loadu_si256(pw.add(kk * 64 + 32).cast()),
            )
        };
        for (acc, row) in acc.iter_mut().zip(a.iter()) {
            // SAFETY: 4·kk + 4 ≤ k = row.len(); an unaligned 4-byte read.
            let x = unsafe { row.as_ptr().add(4 * kk).cast::<i32>().read_unaligned() };
            let x = _mm256_set1_epi32(x);
            acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(_mm256_maddubs_epi16(x, lo), ones));
            acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(_mm256_maddubs_epi16(x, hi), ones));
        }
    }
    for (o, acc) in out.iter_mut().zip(acc.iter()) {
        // SAFETY: o[0] holds 16 i32: two 32-byte stores at 0 and 8.
        unsafe {
            _mm256_storeu_si256(o[0].as_mut_ptr().cast(), acc[0]);
            _mm256_storeu_si256(o[0].as_mut_ptr().add(8).cast(), acc[1]);
        }
    }
}

/// The scaling of a whole group, 8 lanes at a time: the portable version's
/// operations in the same order (subtract, convert, multiply; no FMA).
#[target_feature(enable = "avx2,fma")]
pub(crate) fn finish(g: GroupSums<'_>, dst: &mut [f32]) {
    assert!(
        g.offsets.len() == GROUP && g.scales.len() == GROUP && dst.len() == GROUP,
        "a whole group is 16 outputs"
    );
    let sa = _mm256_set1_ps(g.row_scale);
    for h in [0, 8] {
        // SAFETY: h + 8 ≤ 16, the length of every slice here (checked).
        unsafe {
            let s = _mm256_loadu_si256(g.sums.as_ptr().add(h).cast());
            let o = _mm256_loadu_si256(g.offsets.as_ptr().add(h).cast());
            let sw = _mm256_loadu_ps(g.scales.as_ptr().add(h));
            let v = _mm256_cvtepi32_ps(_mm256_sub_epi32(s, o));
            _mm256_storeu_ps(
                dst.as_mut_ptr().add(h),
                _mm256_mul_ps(v, _mm256_mul_ps(sa, sw)),
            );
        }
    }
}
