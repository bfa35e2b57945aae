//! AVX-512 (BW) products of the K formats with 8-bit activations: the same
//! arithmetic as [`super::avx2_ggml`], two sub-blocks per 512-bit
//! `vpmaddubsw` so that each activation row costs half the instructions.
//! The other formats (blocks of 32, one sub-block per register anyway) run
//! the AVX2 versions.

use std::arch::x86_64::*;

use super::avx2_ggml::{checked_blocks, half, sums16};
use crate::ggml::{q4k_scales, ActRow, Format};

/// `R` dot products of one Q4_K or Q6_K weight row with activation rows;
/// other formats go to the AVX2 version.
///
/// # Panics
/// When an activation row does not match the weight row (as the AVX2
/// version).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
pub(crate) fn dot<const R: usize>(f: Format, w: &[u8], a: [ActRow<'_>; R]) -> [f32; R] {
    let nb = checked_blocks(f, w, &a);
    match f {
        Format::Q4K => q4k(w, nb, a),
        Format::Q6K => q6k(w, nb, a),
        _ => super::avx2_ggml::dot(f, w, a),
    }
}

/// Activation bytes `at..at + 64` of row `r` (within the row: see
/// [`act`], whose argument is the same).
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
fn act64(r: &ActRow<'_>, at: usize) -> __m512i {
    debug_assert!(at + 64 <= r.qs.len());
    // SAFETY: `dot` checked `r.qs.len() = nb·256`, and every `at` is a
    // block's offset plus at most 192.
    unsafe { _mm512_loadu_si512(r.qs.as_ptr().add(at).cast()) }
}

/// 32 bytes at `p` in both 256-bit halves (a load-port broadcast).
///
/// # Safety
/// `p..p + 32` must be readable.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
unsafe fn both_halves(p: *const u8) -> __m512i {
    // SAFETY: the caller guarantees 32 readable bytes.
    unsafe { _mm512_broadcast_i64x4(_mm256_loadu_si256(p.cast())) }
}

/// Asks for the weight bytes a few blocks ahead of `blk` (of `len` bytes):
/// generation streams every weight from memory once, and the hardware
/// prefetcher alone leaves a core waiting at each new page.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
fn prefetch(blk: &[u8], len: usize) {
    let ahead = blk.as_ptr().wrapping_add(8 * len);
    // A prefetch never faults: any address, even past the row, is only a
    // hint to the cache (hence a safe intrinsic).
    _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
    _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64).cast());
    _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(128).cast());
}

/// 16-bit lane indexes: lane `k` of the result takes lane `f(k)`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
fn lanes(f: impl Fn(usize) -> usize) -> __m512i {
    let v: [i16; 32] = std::array::from_fn(|k| f(k) as i16);
    // SAFETY: `v` is 32 `i16`, 64 bytes.
    unsafe { _mm512_loadu_si512(v.as_ptr().cast()) }
}

/// Eight bytes widened to the low eight 16-bit lanes of a register.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
fn widen8(b: [u8; 8]) -> __m512i {
    _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(i64::from_le_bytes(b))))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
fn q4k<const R: usize>(w: &[u8], nb: usize, a: [ActRow<'_>; R]) -> [f32; R] {
    let mask = _mm512_set1_epi8(0x0f);
    // Low half: the low nibbles (sub-block 2j), high half: the high ones
    // (sub-block 2j + 1), the order of the 64 activations they multiply.
    let nibble_shift = _mm512_setr_epi64(0, 0, 0, 0, 4, 4, 4, 4);
    // Pair j's scales: 2j in lanes 0-15, 2j + 1 in lanes 16-31.
    let pick: [__m512i; 4] = std::array::from_fn(|j| lanes(|k| 2 * j + k / 16));
    // Each minimum against the two sums by 16 of its sub-block.
    let pairs = lanes(|k| (k / 2) % 8);
    let mut acc = [_mm512_setzero_ps(); R];
    let mut mins = [_mm256_setzero_ps(); R];
    for (b, blk) in w.chunks_exact(144).take(nb).enumerate() {
        prefetch(blk, 144);
        let (d, dmin) = (half(blk, 0), half(blk, 2));
        let (sc, m) = q4k_scales(&blk[4..16]);
        let sc = widen8(sc);
        let m = _mm512_castsi512_si256(_mm512_permutexvar_epi16(pairs, widen8(m)));
        let mut isum = [_mm512_setzero_si512(); R];
        for (j, pick) in pick.iter().enumerate() {
            // SAFETY: `blk` is 144 bytes and 16 + 32j + 32 ≤ 144.
            let raw = unsafe { both_halves(blk.as_ptr().add(16 + 32 * j)) };
            let q = _mm512_and_si512(_mm512_srlv_epi64(raw, nibble_shift), mask);
            let s = _mm512_permutexvar_epi16(*pick, sc);
            for (r, isum) in a.iter().zip(isum.iter_mut()) {
                let p = _mm512_maddubs_epi16(q, act64(r, 256 * b + 64 * j));
                *isum = _mm512_add_epi32(*isum, _mm512_madd_epi16(p, s));
            }
        }
        for (t, r) in a.iter().enumerate() {
            let da = r.scales[b];
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * da), _mm512_cvtepi32_ps(isum[t]), acc[t]);
            let ms = _mm256_cvtepi32_ps(_mm256_madd_epi16(sums16(r, b), m));
            mins[t] = _mm256_fmadd_ps(_mm256_set1_ps(dmin * da), ms, mins[t]);
        }
    }
    std::array::from_fn(|t| _mm512_reduce_add_ps(acc[t]) - super::avx2::hsum_ps(mins[t]))
}

#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx2,fma,f16c")]
fn q6k<const R: usize>(w: &[u8], nb: usize, a: [ActRow<'_>; R]) -> [f32; R] {
    let m4 = _mm512_set1_epi8(0x0f);
    let m2 = _mm512_set1_epi8(3);
    // The high bit pairs of quarters 0 and 1 (then 2 and 3) are bits 0-1
    // and 2-3 (then 4-5 and 6-7) of the same `qh` bytes.
    let shift01 = _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2);
    let shift23 = _mm512_setr_epi64(4, 4, 4, 4, 6, 6, 6, 6);
    // Lane k of quarter pair p takes scale 4p + k/8 (16 values per scale,
    // two per 16-bit lane).
    let pick: [__m512i; 4] = std::array::from_fn(|p| lanes(|k| 4 * p + k / 8));
    let mut acc = [_mm512_setzero_ps(); R];
    let mut offs = [_mm256_setzero_ps(); R];
    for (b, blk) in w.chunks_exact(210).take(nb).enumerate() {
        prefetch(blk, 210);
        let d = half(blk, 208);
        // SAFETY: `blk` is 210 bytes and 192 + 16 ≤ 210.
        let sc8 = unsafe { _mm_loadu_si128(blk.as_ptr().add(192).cast()) };
        let scv = _mm256_cvtepi8_epi16(sc8);
        let scz = _mm512_castsi256_si512(scv);
        let mut isum = [_mm512_setzero_si512(); R];
        for h in 0..2 {
            // SAFETY: 64h + 64 ≤ 128 and 128 + 32h + 32 ≤ 192 < 210.
            let (ql, qh) = unsafe {
                (
                    _mm512_loadu_si512(blk.as_ptr().add(64 * h).cast()),
                    both_halves(blk.as_ptr().add(128 + 32 * h)),
                )
            };
            let high = |shift: __m512i| {
                let bits = _mm512_and_si512(_mm512_srlv_epi64(qh, shift), m2);
                _mm512_slli_epi16::<4>(bits)
            };
            let q01 = _mm512_or_si512(_mm512_and_si512(ql, m4), high(shift01));
            let q23 = _mm512_or_si512(
                _mm512_and_si512(_mm512_srli_epi16::<4>(ql), m4),
                high(shift23),
            );
            for (p, q) in [q01, q23].into_iter().enumerate() {
                let s = _mm512_permutexvar_epi16(pick[2 * h + p], scz);
                for (r, isum) in a.iter().zip(isum.iter_mut()) {
                    let x = act64(r, 256 * b + 128 * h + 64 * p);
                    *isum =
                        _mm512_add_epi32(*isum, _mm512_madd_epi16(_mm512_maddubs_epi16(q, x), s));
                }
            }
        }
        for (t, r) in a.iter().enumerate() {
            let da = r.scales[b];
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * da), _mm512_cvtepi32_ps(isum[t]), acc[t]);
            let corr = _mm256_slli_epi32::<5>(_mm256_madd_epi16(sums16(r, b), scv));
            offs[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * da), _mm256_cvtepi32_ps(corr), offs[t]);
        }
    }
    std::array::from_fn(|t| _mm512_reduce_add_ps(acc[t]) - super::avx2::hsum_ps(offs[t]))
}
