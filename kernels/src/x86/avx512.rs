//! AVX-512 kernels (F, BW and VNNI). Callers must have checked
//! `Isa::Avx512.supported()`; given that, every function here is sound for
//! any input: it checks the lengths its loads rely on.

use std::arch::x86_64::*;

use crate::int8::{GroupSums, TileSums, GROUP};

/// Dot product, four independent 16-wide FMA accumulators.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma")]
pub(crate) fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm512_setzero_ps(); 4];
    let mut i = 0;
    while i + 64 <= n {
        for (j, acc) in acc.iter_mut().enumerate() {
            // SAFETY: i + 16j + 16 ≤ i + 64 ≤ n, at most both lengths.
            let (x, y) = unsafe {
                (
                    _mm512_loadu_ps(pa.add(i + 16 * j)),
                    _mm512_loadu_ps(pb.add(i + 16 * j)),
                )
            };
            *acc = _mm512_fmadd_ps(x, y, *acc);
        }
        i += 64;
    }
    while i + 16 <= n {
        // SAFETY: i + 16 ≤ n, at most both lengths.
        let (x, y) = unsafe { (_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i))) };
        acc[0] = _mm512_fmadd_ps(x, y, acc[0]);
        i += 16;
    }
    let s = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
    let mut sum = _mm512_reduce_add_ps(s);
    for k in i..n {
        sum += a[k] * b[k];
    }
    sum
}

/// Exact sums for 4 activation rows × 4 groups of 16 outputs, 64 byte
/// products per `vpdpbusd`: the row's 4 bytes broadcast to every lane
/// against a group's 64 packed bytes (unsigned × signed, four at a time into
/// 32-bit lanes: no intermediate saturation).
///
/// Rows must share a length that is a multiple of 4, each group 16 times
/// that (checked).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma")]
pub(crate) fn tile(a: [&[u8]; 4], w: [&[i8]; 4], out: &mut TileSums<4>) {
    let k = a[0].len();
    assert!(
        k.is_multiple_of(4)
            && a.iter().all(|r| r.len() == k)
            && w.iter().all(|g| g.len() == k * GROUP),
        "tile rows must share a length that is a multiple of 4"
    );
    let mut acc = [[_mm512_setzero_si512(); 4]; 4];
    for kk in 0..k / 4 {
        let mut wv = [_mm512_setzero_si512(); 4];
        for (v, g) in wv.iter_mut().zip(w.iter()) {
            // SAFETY: (kk + 1)·64 ≤ k·16 = g.len(): one 64-byte load.
            *v = unsafe { _mm512_loadu_si512(g.as_ptr().add(kk * 64).cast()) };
        }
        for (acc, row) in acc.iter_mut().zip(a.iter()) {
            // SAFETY: 4·kk + 4 ≤ k = row.len(); an unaligned 4-byte read.
            let x = unsafe { row.as_ptr().add(4 * kk).cast::<i32>().read_unaligned() };
            let x = _mm512_set1_epi32(x);
            for (acc, v) in acc.iter_mut().zip(wv.iter()) {
                *acc = _mm512_dpbusd_epi32(*acc, x, *v);
            }
        }
    }
    for (o, acc) in out.iter_mut().zip(acc.iter()) {
        for (o, v) in o.iter_mut().zip(acc.iter()) {
            // SAFETY: `o` holds 16 i32: one 64-byte store.
            unsafe { _mm512_storeu_si512(o.as_mut_ptr().cast(), *v) };
        }
    }
}

/// The scaling of a whole group in one register: the portable version's
/// operations in the same order (subtract, convert, multiply; no FMA).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma")]
pub(crate) fn finish(g: GroupSums<'_>, dst: &mut [f32]) {
    assert!(
        g.offsets.len() == GROUP && g.scales.len() == GROUP && dst.len() == GROUP,
        "a whole group is 16 outputs"
    );
    // SAFETY: every slice here is 16 elements long (checked): one 64-byte
    // load or store each.
    unsafe {
        let s = _mm512_loadu_si512(g.sums.as_ptr().cast());
        let o = _mm512_loadu_si512(g.offsets.as_ptr().cast());
        let sw = _mm512_loadu_ps(g.scales.as_ptr());
        let v = _mm512_cvtepi32_ps(_mm512_sub_epi32(s, o));
        let f = _mm512_mul_ps(_mm512_set1_ps(g.row_scale), sw);
        _mm512_storeu_ps(dst.as_mut_ptr(), _mm512_mul_ps(v, f));
    }
}
