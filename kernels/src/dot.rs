//! Dot product of two `f32` slices.

use crate::Isa;

/// `Σ a[i]·b[i]` at the detected instruction-set level.
///
/// # Panics
/// When the slices differ in length (a caller's bug, never data).
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    dot_f32_with(Isa::detected(), a, b)
}

/// [`dot_f32`] at a given level (or the best supported one below it). The
/// levels sum in different orders, so results differ by rounding only.
///
/// # Panics
/// When the slices differ in length.
pub fn dot_f32_with(isa: Isa, a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "dot_f32 of slices of different lengths");
    match isa.usable() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `usable` returns Avx512 only when the CPU has AVX-512 F
        // (`Isa::supported`).
        Isa::Avx512 => unsafe { crate::x86::avx512::dot_f32(a, b) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `usable` returns Avx2 only when the CPU has AVX2 and FMA.
        Isa::Avx2 => unsafe { crate::x86::avx2::dot_f32(a, b) },
        _ => scalar(a, b),
    }
}

/// The portable version: eight independent partial sums, which the compiler
/// vectorises for whatever the target has (SSE2 on baseline x86-64).
pub(crate) fn scalar(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (a8, a_rest) = a.split_at(a.len() / 8 * 8);
    let (b8, b_rest) = b.split_at(a8.len());
    for (x, y) in a8.chunks_exact(8).zip(b8.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut sum = acc.iter().sum::<f32>();
    for (x, y) in a_rest.iter().zip(b_rest) {
        sum += x * y;
    }
    sum
}
