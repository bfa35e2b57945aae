//! 8-bit integer matrix products for linear layers: `y = x·Wᵀ + b` with `x`
//! quantized per row to 8 bits and `W` per output to 7 bits, accumulated
//! exactly in 32-bit integers and scaled back to `f32` once per output.
//!
//! Why these formats:
//! - Activations are stored as unsigned bytes, `q + 128` with `q` in
//!   `-127..=127` and one scale per row (`x ≈ scale·q`), because the x86 byte
//!   products (`vpmaddubsw`, `vpdpbusd`) multiply unsigned by signed bytes.
//!   The `+128` is removed exactly afterwards: `Σ(q+128)·w = Σq·w + 128·Σw`,
//!   and `128·Σw` is stored with each weight row.
//! - Weights use `-63..=63` (7 bits) with one scale per output row: on AVX2,
//!   `vpmaddubsw` adds two byte products into a saturating 16-bit lane, and
//!   `2·255·63 = 32,130` cannot saturate where `2·255·127` could. The same
//!   range on every level keeps results bit-identical across CPUs.
//! - One scale per row (not per block of 32) lets the integer sum run over
//!   the whole row: per 32 products AVX2 needs three instructions, AVX-512
//!   VNNI one per 64, against four FMAs per 32 in `f32`, and the weights take
//!   a quarter of the memory traffic.
//! - Weights are packed by groups of 16 outputs ([`Int8Matrix`]) so that the
//!   sums come out one output per lane, ready for a vectorised scaling.
//!
//! Every level returns exactly the same numbers: the integer sums are exact
//! and the final scaling is the same scalar code for all of them.

use std::ops::Range;

use crate::Isa;

/// Largest weight magnitude (7 bits, see the module docs).
pub const WEIGHT_MAX: i32 = 63;
/// Largest activation magnitude before the `+128` offset.
pub const ACT_MAX: i32 = 127;
/// Outputs are packed in groups of this many (one AVX-512 register of
/// 32-bit sums).
pub const GROUP: usize = 16;
/// Longest row accepted: `K·255·63` stays below `i32::MAX`.
pub const MAX_K: usize = 131_072;

/// Weights of a linear layer, `rows` outputs of `k` inputs, quantized to 7
/// bits with one scale per output row.
///
/// Packed for the products: outputs in groups of [`GROUP`]; within a group,
/// for each 4 consecutive inputs, the 4 bytes of output 0, then of output 1…
/// (64 bytes). One register load then feeds 16 outputs at once against 4
/// bytes of an activation row broadcast to every lane, and the sums land in
/// the lanes of their outputs: no horizontal reduction.
#[derive(Debug, Clone)]
pub struct Int8Matrix {
    rows: usize,
    k: usize,
    k_pad: usize,
    data: Vec<i8>,
    scales: Vec<f32>,
    offsets: Vec<i32>,
}

impl Int8Matrix {
    /// Quantizes a row-major `(rows, k)` matrix (a linear layer's weight as
    /// stored: one row per output).
    ///
    /// # Panics
    /// When `w.len() != rows·k` or `k` exceeds [`MAX_K`].
    pub fn quantize(w: &[f32], rows: usize, k: usize) -> Self {
        assert_eq!(w.len(), rows * k, "weight matrix is not rows × k");
        assert!(k <= MAX_K, "rows longer than {MAX_K} are not supported");
        let k_pad = padded(k);
        let groups = rows.div_ceil(GROUP);
        let mut data = vec![0i8; groups * k_pad * GROUP];
        let mut scales = vec![0.0; groups * GROUP];
        let mut offsets = vec![0; groups * GROUP];
        for r in 0..rows {
            let src = &w[r * k..(r + 1) * k];
            let amax = max_abs(src);
            let inv = inverse(amax, WEIGHT_MAX);
            let mut sum = 0i32;
            for (i, v) in src.iter().enumerate() {
                let q = round(v * inv, WEIGHT_MAX);
                sum += q;
                data[packed_index(k_pad, r, i)] = q as i8;
            }
            scales[r] = amax / WEIGHT_MAX as f32;
            offsets[r] = 128 * sum;
        }
        Self {
            rows,
            k,
            k_pad,
            data,
            scales,
            offsets,
        }
    }

    /// Number of outputs.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of inputs.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Row `r` as integers and its scale (`w ≈ scale·q`).
    pub fn row_values(&self, r: usize) -> (Vec<i32>, f32) {
        (
            (0..self.k)
                .map(|i| i32::from(self.data[packed_index(self.k_pad, r, i)]))
                .collect(),
            self.scales[r],
        )
    }

    /// The weights as `f32` again (what the products really use).
    pub fn dequantize(&self) -> Vec<f32> {
        (0..self.rows)
            .flat_map(|r| {
                let (q, s) = self.row_values(r);
                q.into_iter().map(move |q| q as f32 * s)
            })
            .collect()
    }

    /// The packed bytes of output group `g` (`k_pad · GROUP` of them).
    fn group(&self, g: usize) -> &[i8] {
        let len = self.k_pad * GROUP;
        &self.data[g * len..(g + 1) * len]
    }
}

/// Where input `i` of output `r` sits in the packed layout.
fn packed_index(k_pad: usize, r: usize, i: usize) -> usize {
    let (g, c) = (r / GROUP, r % GROUP);
    g * k_pad * GROUP + (i / 4) * 4 * GROUP + c * 4 + i % 4
}

/// Activations quantized to 8 bits per row, stored as `q + 128`.
#[derive(Debug, Clone)]
pub struct QuantRows {
    rows: usize,
    k: usize,
    k_pad: usize,
    data: Vec<u8>,
    scales: Vec<f32>,
}

impl QuantRows {
    /// Quantizes a row-major `(rows, k)` matrix at the detected level.
    ///
    /// # Panics
    /// When `x.len() != rows·k` or `k` exceeds [`MAX_K`].
    pub fn quantize(x: &[f32], rows: usize, k: usize) -> Self {
        Self::quantize_with(Isa::detected(), x, rows, k)
    }

    /// [`QuantRows::quantize`] at a given level (same result on every level).
    ///
    /// # Panics
    /// As [`QuantRows::quantize`].
    pub fn quantize_with(isa: Isa, x: &[f32], rows: usize, k: usize) -> Self {
        assert!(k <= MAX_K, "rows longer than {MAX_K} are not supported");
        assert_eq!(rows * k, x.len(), "activations are not rows × k");
        let k_pad = padded(k);
        let mut data = vec![128u8; rows * k_pad];
        let mut scales = Vec::with_capacity(rows);
        let isa = isa.usable();
        for r in 0..rows {
            let src = &x[r * k..(r + 1) * k];
            let dst = &mut data[r * k_pad..r * k_pad + k];
            let amax = max_abs_with(isa, src);
            let inv = inverse(amax, ACT_MAX);
            match isa {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `usable` returns these levels only when the CPU
                // has AVX2 and FMA (`Isa::supported`).
                Isa::Avx2 | Isa::Avx512 => unsafe { crate::x86::avx2::quantize_row(src, inv, dst) },
                _ => quantize_row(src, inv, dst),
            }
            scales.push(amax / ACT_MAX as f32);
        }
        Self {
            rows,
            k,
            k_pad,
            data,
            scales,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Row length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Row `r` as signed values (`q`, without the offset) and its scale.
    pub fn row_values(&self, r: usize) -> (Vec<i32>, f32) {
        let row = &self.row(r)[..self.k];
        (
            row.iter().map(|&u| i32::from(u) - 128).collect(),
            self.scales[r],
        )
    }

    fn row(&self, r: usize) -> &[u8] {
        &self.data[r * self.k_pad..(r + 1) * self.k_pad]
    }
}

/// `out = a·wᵀ + bias` for the outputs `cols` of `w`, at the detected level:
/// `out` is row-major `(a.rows(), cols.len())`.
///
/// # Panics
/// When the shapes disagree (a caller's bug).
pub fn matmul(
    a: &QuantRows,
    w: &Int8Matrix,
    cols: Range<usize>,
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    matmul_with(Isa::detected(), a, w, cols, bias, out)
}

/// [`matmul`] at a given level (same result on every level).
///
/// # Panics
/// As [`matmul`].
pub fn matmul_with(
    isa: Isa,
    a: &QuantRows,
    w: &Int8Matrix,
    cols: Range<usize>,
    bias: Option<&[f32]>,
    out: &mut [f32],
) {
    assert_eq!(a.k, w.k, "activations and weights differ in k");
    assert!(
        cols.start <= cols.end && cols.end <= w.rows,
        "output columns out of range"
    );
    assert_eq!(out.len(), a.rows * cols.len(), "output is not rows × cols");
    if let Some(b) = bias {
        assert_eq!(b.len(), w.rows, "bias is not one value per output");
    }
    match isa.usable() {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => drive::<4>(
            a,
            w,
            cols,
            bias,
            out,
            |ra, rw, sums| {
                // SAFETY: `usable` returns Avx512 only when the CPU has
                // AVX-512 F, BW and VNNI (`Isa::supported`).
                unsafe { crate::x86::avx512::tile(ra, rw, sums) }
            },
            |g, dst| {
                // SAFETY: as above.
                unsafe { crate::x86::avx512::finish(g, dst) }
            },
        ),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => drive::<1>(
            a,
            w,
            cols,
            bias,
            out,
            |ra, rw, sums| {
                // SAFETY: `usable` returns Avx2 only when the CPU has AVX2
                // and FMA (`Isa::supported`).
                unsafe { crate::x86::avx2::tile(ra, rw, sums) }
            },
            |g, dst| {
                // SAFETY: as above.
                unsafe { crate::x86::avx2::finish(g, dst) }
            },
        ),
        _ => drive::<1>(a, w, cols, bias, out, tile, finish),
    }
}

/// Sums of a tile: 4 activation rows × `G` groups of 16 outputs.
pub(crate) type TileSums<const G: usize> = [[[i32; GROUP]; G]; 4];

/// One group's sums and what turns them into outputs.
pub(crate) struct GroupSums<'a> {
    /// The 16 integer sums `Σ(q+128)·w`.
    pub sums: &'a [i32; GROUP],
    /// `128·Σw` of each output.
    pub offsets: &'a [i32],
    /// Each output's weight scale.
    pub scales: &'a [f32],
    /// The activation row's scale.
    pub row_scale: f32,
}

/// `dst[c] = (sums[c] − offsets[c]) as f32 · (row_scale · scales[c])` (the
/// portable version; the SIMD ones compute the same operations, no FMA).
fn finish(g: GroupSums<'_>, dst: &mut [f32]) {
    for (((d, s), o), sw) in dst.iter_mut().zip(g.sums).zip(g.offsets).zip(g.scales) {
        *d = (s - o) as f32 * (g.row_scale * sw);
    }
}

/// Walks the output in tiles of 4 rows × `G` output groups; a partial tile
/// at an edge repeats its first row or group and keeps only the real sums.
/// Then `out = (sum − 128·Σw)·(scale_x·scale_w) + bias`, the same scalar
/// code at every level.
fn drive<const G: usize>(
    a: &QuantRows,
    w: &Int8Matrix,
    cols: Range<usize>,
    bias: Option<&[f32]>,
    out: &mut [f32],
    tile: impl Fn([&[u8]; 4], [&[i8]; G], &mut TileSums<G>),
    full: impl Fn(GroupSums<'_>, &mut [f32]),
) {
    let n = cols.len();
    if n == 0 || a.rows == 0 {
        return;
    }
    let (g_first, g_end) = (cols.start / GROUP, cols.end.div_ceil(GROUP));
    let mut sums = [[[0i32; GROUP]; G]; 4];
    for r0 in (0..a.rows).step_by(4) {
        let nr = 4.min(a.rows - r0);
        let mut ra = [a.row(r0); 4];
        for (i, row) in ra.iter_mut().enumerate().take(nr).skip(1) {
            *row = a.row(r0 + i);
        }
        for g0 in (g_first..g_end).step_by(G) {
            let ng = G.min(g_end - g0);
            let mut rw = [w.group(g0); G];
            for (j, group) in rw.iter_mut().enumerate().take(ng).skip(1) {
                *group = w.group(g0 + j);
            }
            tile(ra, rw, &mut sums);
            for (i, sums) in sums.iter().enumerate().take(nr) {
                let sa = a.scales[r0 + i];
                let out_row = &mut out[(r0 + i) * n..(r0 + i + 1) * n];
                for (j, sums) in sums.iter().enumerate().take(ng) {
                    let base = (g0 + j) * GROUP;
                    let (lo, hi) = (base.max(cols.start), (base + GROUP).min(cols.end));
                    let dst = &mut out_row[lo - cols.start..hi - cols.start];
                    let g = GroupSums {
                        sums,
                        offsets: &w.offsets[base..base + GROUP],
                        scales: &w.scales[base..base + GROUP],
                        row_scale: sa,
                    };
                    if hi - lo == GROUP {
                        full(g, dst);
                    } else {
                        // An edge group: only part of its outputs are asked.
                        let mut all = [0.0f32; GROUP];
                        finish(g, &mut all);
                        dst.copy_from_slice(&all[lo - base..hi - base]);
                    }
                    if let Some(b) = bias {
                        for (d, b) in dst.iter_mut().zip(&b[lo..hi]) {
                            *d += b;
                        }
                    }
                }
            }
        }
    }
}

/// The portable tile: exact integer sums of `(q+128)·w`, read from the
/// packed layout.
fn tile(a: [&[u8]; 4], w: [&[i8]; 1], acc: &mut TileSums<1>) {
    *acc = [[[0i32; GROUP]; 1]; 4];
    for (acc, row) in acc.iter_mut().zip(a.iter()) {
        for (x, block) in row.chunks_exact(4).zip(w[0].chunks_exact(4 * GROUP)) {
            for (sum, wc) in acc[0].iter_mut().zip(block.chunks_exact(4)) {
                *sum += x
                    .iter()
                    .zip(wc)
                    .map(|(&x, &y)| i32::from(x) * i32::from(y))
                    .sum::<i32>();
            }
        }
    }
}

/// Rounds `k` up to a multiple of 4 (one broadcast of activation bytes).
fn padded(k: usize) -> usize {
    k.div_ceil(4) * 4
}

/// The factor mapping `[-amax, amax]` onto `[-max, max]` (0 for a zero row).
pub(crate) fn inverse(amax: f32, max: i32) -> f32 {
    if amax > 0.0 {
        max as f32 / amax
    } else {
        0.0
    }
}

/// Round half to even (what the SIMD conversion does), clamped to `±max`.
pub(crate) fn round(v: f32, max: i32) -> i32 {
    (v.round_ties_even() as i32).clamp(-max, max)
}

/// Largest magnitude of a row (portable).
pub(crate) fn max_abs(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Largest magnitude of a row at level `isa` (the same value on every level).
pub(crate) fn max_abs_with(isa: Isa, x: &[f32]) -> f32 {
    match isa.usable() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `usable` returns these levels only when the CPU has AVX2
        // and FMA (`Isa::supported`).
        Isa::Avx2 | Isa::Avx512 => unsafe { crate::x86::avx2::max_abs(x) },
        _ => max_abs(x),
    }
}

/// Quantizes one row with the factor `inv` into `q + 128` bytes (portable).
pub(crate) fn quantize_row(x: &[f32], inv: f32, out: &mut [u8]) {
    for (v, q) in x.iter().zip(out.iter_mut()) {
        *q = (round(v * inv, ACT_MAX) + 128) as u8;
    }
}
