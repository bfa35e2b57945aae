//! AVX2 + FMA products of GGML weight blocks with 8-bit activations (see
//! [`crate::ggml`]). The weights' values are unpacked to unsigned bytes in
//! registers (never to memory), multiplied by the signed activation bytes
//! with `vpmaddubsw`, weighted by the sub-block scales with `vpmaddwd`, and
//! accumulated in 32-bit lanes; a block's sum is scaled to `f32` once. With
//! `R` activation rows the weight bytes are unpacked once for all of them.
//!
//! No product can saturate `vpmaddubsw`'s 16-bit lanes: unsigned weight
//! values are at most 63 (Q6_K) and activations at most 127 in magnitude, so
//! a pair is at most 2·63·127 = 16,002; for Q8_0 the weight's magnitude is
//! taken (at most 127 in GGML's quantizer; a hostile −128 gives a wrong
//! number, never undefined behaviour).

use std::arch::x86_64::*;

use super::avx2::hsum_ps;
use crate::ggml::{q4k_scales, ActRow, Format, SUM_LEN};

/// `R` dot products of one weight row of format `f` with activation rows.
///
/// # Panics
/// When an activation row does not have the weight row's length, block
/// scales and sums (every load below relies on these lengths).
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) fn dot<const R: usize>(f: Format, w: &[u8], a: [ActRow<'_>; R]) -> [f32; R] {
    let nb = checked_blocks(f, w, &a);
    match f {
        Format::Q4K => q4k(w, nb, a),
        Format::Q6K => q6k(w, nb, a),
        Format::Q8_0 => q8_0(w, nb, a),
        Format::Q4_0 | Format::Q4_1 | Format::Q5_0 => q4_q5(f, w, nb, a),
    }
}

/// The number of blocks of the weight row, after checking that every
/// activation row has that many blocks of values, scales and sums: the
/// lengths every load of both SIMD levels relies on.
///
/// # Panics
/// When they do not match.
pub(crate) fn checked_blocks(f: Format, w: &[u8], a: &[ActRow<'_>]) -> usize {
    let (bl, bb) = (f.block_len(), f.block_bytes());
    assert!(w.len().is_multiple_of(bb), "weight row is not whole blocks");
    let nb = w.len() / bb;
    for r in a {
        assert!(
            r.qs.len() == nb * bl && r.scales.len() == nb && r.sums.len() * SUM_LEN == nb * bl,
            "activation row does not match the weight row"
        );
    }
    nb
}

/// 32 bytes at `p`.
///
/// # Safety
/// `p..p + 32` must be readable.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load(p: *const u8) -> __m256i {
    // SAFETY: the caller guarantees 32 readable bytes; the load is unaligned.
    unsafe { _mm256_loadu_si256(p.cast()) }
}

/// Activation bytes `at..at + 32` of row `r`. Every caller passes
/// `at + 32 ≤ 256·b + 256` or `32·b + 32` for a block `b < nb`, within the
/// `nb·block_len` values `dot` checked the row has.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) fn act(r: &ActRow<'_>, at: usize) -> __m256i {
    debug_assert!(at + 32 <= r.qs.len());
    // SAFETY: see above: `dot` checked `r.qs.len() = nb·block_len`, and
    // every `at` is a block's offset plus at most `block_len − 32`.
    unsafe { load(r.qs.as_ptr().add(at).cast()) }
}

/// The `f16` at `b[at..at + 2]`, converted by F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) fn half(b: &[u8], at: usize) -> f32 {
    let bits = u16::from_le_bytes([b[at], b[at + 1]]);
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits as i32)))
}

/// The 16 sums by 16 of an activation block of 256 (`sums[16b..16b + 16]`).
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) fn sums16(r: &ActRow<'_>, b: usize) -> __m256i {
    let s = &r.sums[16 * b..16 * b + 16];
    // SAFETY: `s` is 16 `i16`, 32 bytes.
    unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q4k<const R: usize>(w: &[u8], nb: usize, a: [ActRow<'_>; R]) -> [f32; R] {
    let mask = _mm256_set1_epi8(0x0f);
    let mut acc = [_mm256_setzero_ps(); R];
    let mut mins = [_mm256_setzero_ps(); R];
    for (b, blk) in w.chunks_exact(144).take(nb).enumerate() {
        let (d, dmin) = (half(blk, 0), half(blk, 2));
        let (sc, m) = q4k_scales(&blk[4..16]);
        // Each minimum twice, against the two sums by 16 of its sub-block.
        let m = _mm_cvtsi64_si128(i64::from_le_bytes(m));
        let m = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m, m));
        let mut isum = [_mm256_setzero_si256(); R];
        for j in 0..4 {
            // SAFETY: `blk` is 144 bytes and 16 + 32j + 32 ≤ 144.
            let raw = unsafe { load(blk.as_ptr().add(16 + 32 * j)) };
            let lo = _mm256_and_si256(raw, mask);
            let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(raw), mask);
            let s_lo = _mm256_set1_epi16(sc[2 * j] as i16);
            let s_hi = _mm256_set1_epi16(sc[2 * j + 1] as i16);
            for (r, isum) in a.iter().zip(isum.iter_mut()) {
                let at = 256 * b + 64 * j;
                let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, act(r, at)), s_lo);
                let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, act(r, at + 32)), s_hi);
                *isum = _mm256_add_epi32(*isum, _mm256_add_epi32(p0, p1));
            }
        }
        for (t, r) in a.iter().enumerate() {
            let da = r.scales[b];
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * da), _mm256_cvtepi32_ps(isum[t]), acc[t]);
            let ms = _mm256_cvtepi32_ps(_mm256_madd_epi16(sums16(r, b), m));
            mins[t] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * da), ms, mins[t]);
        }
    }
    std::array::from_fn(|t| hsum_ps(_mm256_sub_ps(acc[t], mins[t])))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q6k<const R: usize>(w: &[u8], nb: usize, a: [ActRow<'_>; R]) -> [f32; R] {
    let m4 = _mm256_set1_epi8(0x0f);
    let m2 = _mm256_set1_epi8(3);
    let mut acc = [_mm256_setzero_ps(); R];
    let mut offs = [_mm256_setzero_ps(); R];
    for (b, blk) in w.chunks_exact(210).take(nb).enumerate() {
        let d = half(blk, 208);
        let sc: [i16; 16] = std::array::from_fn(|j| blk[192 + j] as i8 as i16);
        // SAFETY: `sc` is 16 `i16`, 32 bytes.
        let scv = unsafe { _mm256_loadu_si256(sc.as_ptr().cast()) };
        let mut isum = [_mm256_setzero_si256(); R];
        for h in 0..2 {
            // SAFETY: `blk` is 210 bytes: 64h + 32 + 32 ≤ 128 and
            // 128 + 32h + 32 ≤ 192.
            let (ql0, ql1, qh) = unsafe {
                (
                    load(blk.as_ptr().add(64 * h)),
                    load(blk.as_ptr().add(64 * h + 32)),
                    load(blk.as_ptr().add(128 + 32 * h)),
                )
            };
            let high = |v: __m256i| _mm256_slli_epi16::<4>(_mm256_and_si256(v, m2));
            let q = [
                _mm256_or_si256(_mm256_and_si256(ql0, m4), high(qh)),
                _mm256_or_si256(_mm256_and_si256(ql1, m4), high(_mm256_srli_epi16::<2>(qh))),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16::<4>(ql0), m4),
                    high(_mm256_srli_epi16::<4>(qh)),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16::<4>(ql1), m4),
                    high(_mm256_srli_epi16::<6>(qh)),
                ),
            ];
            for (k, q) in q.iter().enumerate() {
                let j = 8 * h + 2 * k;
                let s = _mm256_set_m128i(_mm_set1_epi16(sc[j + 1]), _mm_set1_epi16(sc[j]));
                for (r, isum) in a.iter().zip(isum.iter_mut()) {
                    let x = act(r, 256 * b + 128 * h + 32 * k);
                    *isum =
                        _mm256_add_epi32(*isum, _mm256_madd_epi16(_mm256_maddubs_epi16(*q, x), s));
                }
            }
        }
        for (t, r) in a.iter().enumerate() {
            let dd = _mm256_set1_ps(d * r.scales[b]);
            acc[t] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(isum[t]), acc[t]);
            // The −32 of every value: 32·Σ sc_j·(sum of sub-block j).
            let corr = _mm256_slli_epi32::<5>(_mm256_madd_epi16(sums16(r, b), scv));
            offs[t] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(corr), offs[t]);
        }
    }
    std::array::from_fn(|t| hsum_ps(_mm256_sub_ps(acc[t], offs[t])))
}

#[target_feature(enable = "avx2,fma,f16c")]
fn q8_0<const R: usize>(w: &[u8], nb: usize, a: [ActRow<'_>; R]) -> [f32; R] {
    let ones = _mm256_set1_epi16(1);
    let mut acc = [_mm256_setzero_ps(); R];
    for (b, blk) in w.chunks_exact(34).take(nb).enumerate() {
        let d = half(blk, 0);
        // SAFETY: `blk` is 34 bytes and 2 + 32 ≤ 34.
        let q = unsafe { load(blk.as_ptr().add(2)) };
        let mag = _mm256_sign_epi8(q, q);
        for (t, r) in a.iter().enumerate() {
            let x = _mm256_sign_epi8(act(r, 32 * b), q);
            let isum = _mm256_madd_epi16(_mm256_maddubs_epi16(mag, x), ones);
            acc[t] = _mm256_fmadd_ps(
                _mm256_set1_ps(d * r.scales[b]),
                _mm256_cvtepi32_ps(isum),
                acc[t],
            );
        }
    }
    std::array::from_fn(|t| hsum_ps(acc[t]))
}

/// Q4_0, Q4_1 and Q5_0: unsigned 4- or 5-bit values, then the format's
/// offset (−8, +min, −16) through the activation block sums.
#[target_feature(enable = "avx2,fma,f16c")]
fn q4_q5<const R: usize>(f: Format, w: &[u8], nb: usize, a: [ActRow<'_>; R]) -> [f32; R] {
    let bb = f.block_bytes();
    let mask = _mm256_set1_epi8(0x0f);
    let ones = _mm256_set1_epi16(1);
    // Byte i of the spread word gets byte i/8 of the fifth bits; the mask
    // then tests bit i % 8 of it, i.e. bit i of the word.
    let spread = _mm256_setr_epi64x(
        0,
        0x0101_0101_0101_0101,
        0x0202_0202_0202_0202,
        0x0303_0303_0303_0303,
    );
    let bit = _mm256_set1_epi64x(0x8040_2010_0804_0201_u64 as i64);
    let mut acc = [_mm256_setzero_ps(); R];
    let mut offs = [0.0f32; R];
    for (b, blk) in w.chunks_exact(bb).take(nb).enumerate() {
        let d = half(blk, 0);
        // SAFETY: the 16 value bytes are the block's last 16 bytes.
        let nib = unsafe { _mm_loadu_si128(blk.as_ptr().add(bb - 16).cast()) };
        let mut q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16::<4>(nib), nib), mask);
        let off = match f {
            Format::Q5_0 => {
                let qh = u32::from_le_bytes([blk[2], blk[3], blk[4], blk[5]]);
                let bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(qh as i32), spread);
                let set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
                q = _mm256_or_si256(q, _mm256_and_si256(set, _mm256_set1_epi8(0x10)));
                16.0
            }
            Format::Q4_0 => 8.0,
            _ => 0.0, // Q4_1: its minimum, added below
        };
        for (t, r) in a.iter().enumerate() {
            let isum = _mm256_madd_epi16(_mm256_maddubs_epi16(q, act(r, 32 * b)), ones);
            let dd = d * r.scales[b];
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dd), _mm256_cvtepi32_ps(isum), acc[t]);
            let sum = r.sums[2 * b] as i32 + r.sums[2 * b + 1] as i32;
            offs[t] += match f {
                Format::Q4_1 => -half(blk, 2) * r.scales[b] * sum as f32,
                _ => dd * off * sum as f32,
            };
        }
    }
    std::array::from_fn(|t| hsum_ps(acc[t]) - offs[t])
}
