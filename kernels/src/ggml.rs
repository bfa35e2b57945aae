//! Products with weights in the GGML block formats the shipped GGUF files use
//! (Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K), read in place: a weight is never
//! widened to a bigger format, so generating a token streams the file's own
//! bytes (4.5 to 6.6 bits a weight) from memory once.
//!
//! Activations are quantized to 8 bits per block of the weight's block length
//! ([`QuantActs`]): blocks of 256 with one scale each for the K formats
//! (GGML's Q8_K), of 32 for the others (Q8_0). With each block go the sums of
//! its quantized values by 16, which turn the formats' offsets and minimums
//! into one multiplication per sub-block instead of one per weight.
//!
//! The products are exact in 32-bit integers within a block and scaled to
//! `f32` once per block. The SIMD levels add those block results in a
//! different order than the portable version, so results differ by `f32`
//! rounding only (the tests bound it).
//!
//! The layouts below are GGML's (`ggml-common.h`): little-endian `f16` scales
//! first, then the packed values.

use std::fmt;
use std::ops::Range;

use crate::Isa;

/// A GGML block format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// 32 weights: `f16` scale, 16 bytes of 4-bit values, `w = d·(q − 8)`.
    Q4_0,
    /// 32 weights: `f16` scale and minimum, 16 bytes of 4-bit values,
    /// `w = d·q + m`.
    Q4_1,
    /// 32 weights: `f16` scale, 32 fifth bits, 16 bytes of low nibbles,
    /// `w = d·(q − 16)`.
    Q5_0,
    /// 32 weights: `f16` scale, 32 signed bytes, `w = d·q`.
    Q8_0,
    /// 256 weights in 8 sub-blocks of 32: `f16` scale and minimum, 6-bit
    /// sub-block scales and minimums (12 bytes), 128 bytes of 4-bit values,
    /// `w = d·sc·q − dmin·m`.
    Q4K,
    /// 256 weights in 16 sub-blocks of 16: 128 bytes of low nibbles, 64 of
    /// high 2-bit pairs, 16 signed sub-block scales, `f16` scale,
    /// `w = d·sc·(q − 32)`.
    Q6K,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 6] = [
        Format::Q4_0,
        Format::Q4_1,
        Format::Q5_0,
        Format::Q8_0,
        Format::Q4K,
        Format::Q6K,
    ];

    /// Weights per block.
    pub const fn block_len(self) -> usize {
        match self {
            Format::Q4K | Format::Q6K => 256,
            _ => 32,
        }
    }

    /// Bytes per block.
    pub const fn block_bytes(self) -> usize {
        match self {
            Format::Q4_0 => 18,
            Format::Q4_1 => 20,
            Format::Q5_0 => 22,
            Format::Q8_0 => 34,
            Format::Q4K => 144,
            Format::Q6K => 210,
        }
    }

    /// Byte offsets of the block's `f16` fields (scale, and minimum where
    /// there is one).
    pub const fn half_offsets(self) -> &'static [usize] {
        match self {
            Format::Q4_1 | Format::Q4K => &[0, 2],
            Format::Q6K => &[208],
            _ => &[0],
        }
    }

    /// GGML's name of the format.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Q4_0 => "Q4_0",
            Format::Q4_1 => "Q4_1",
            Format::Q5_0 => "Q5_0",
            Format::Q8_0 => "Q8_0",
            Format::Q4K => "Q4_K",
            Format::Q6K => "Q6_K",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why bytes cannot be a [`QuantMatrix`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError(String);

impl fmt::Display for ShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ShapeError {}

/// A weight matrix of `rows` outputs by `cols` inputs, each row a sequence of
/// blocks of one [`Format`], as stored in a GGUF file.
#[derive(Debug, Clone)]
pub struct QuantMatrix {
    format: Format,
    rows: usize,
    cols: usize,
    data: Vec<u8>,
}

impl QuantMatrix {
    /// Takes a tensor's bytes; refuses a row length that is not a whole
    /// number of blocks or bytes that do not match the shape.
    pub fn new(
        format: Format,
        rows: usize,
        cols: usize,
        data: Vec<u8>,
    ) -> Result<Self, ShapeError> {
        if cols == 0 || !cols.is_multiple_of(format.block_len()) {
            return Err(ShapeError(format!(
                "{format} rows of {cols} values are not a whole number of {}-value blocks",
                format.block_len()
            )));
        }
        let expected = rows * cols / format.block_len() * format.block_bytes();
        if data.len() != expected {
            return Err(ShapeError(format!(
                "{format} {rows}×{cols} takes {expected} bytes, not {}",
                data.len()
            )));
        }
        Ok(Self {
            format,
            rows,
            cols,
            data,
        })
    }

    /// The block format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Outputs.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Inputs.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The bytes of row `r`.
    ///
    /// # Panics
    /// When `r` is out of range.
    pub fn row(&self, r: usize) -> &[u8] {
        let len = self.cols / self.format.block_len() * self.format.block_bytes();
        &self.data[r * len..(r + 1) * len]
    }

    /// Row `r` as `f32` (the reference meaning of the bytes; also a token
    /// embedding lookup).
    ///
    /// # Panics
    /// When `r` is out of range or `out` is not `cols` long.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        assert_eq!(out.len(), self.cols, "output is not one row long");
        let (bl, bb) = (self.format.block_len(), self.format.block_bytes());
        for (blk, y) in self.row(r).chunks_exact(bb).zip(out.chunks_exact_mut(bl)) {
            dequantize_block(self.format, blk, y);
        }
    }
}

/// Activation rows quantized to 8 bits per block (GGML's Q8_K for the K
/// formats, Q8_0 for the others), with the sums of the quantized values by 16.
#[derive(Debug, Clone)]
pub struct QuantActs {
    rows: usize,
    cols: usize,
    block: usize,
    qs: Vec<i8>,
    scales: Vec<f32>,
    sums: Vec<i16>,
}

/// Values per stored partial sum of [`QuantActs`] (the Q6_K sub-block).
pub const SUM_LEN: usize = 16;

impl QuantActs {
    /// Quantizes row-major `(rows, cols)` activations for weights of
    /// `format`: per block of `format.block_len()`, `q = round(127·x/amax)`.
    ///
    /// # Panics
    /// When `x.len() != rows·cols` or `cols` is not a whole number of blocks.
    pub fn quantize(format: Format, x: &[f32], rows: usize, cols: usize) -> Self {
        let block = format.block_len();
        assert_eq!(x.len(), rows * cols, "activations are not rows × cols");
        assert!(cols.is_multiple_of(block), "rows are not whole blocks");
        let mut qs = vec![0i8; rows * cols];
        let mut scales = vec![0.0f32; rows * cols / block];
        let mut sums = vec![0i16; rows * cols / SUM_LEN];
        for (((xb, qb), d), s) in x
            .chunks_exact(block)
            .zip(qs.chunks_exact_mut(block))
            .zip(scales.iter_mut())
            .zip(sums.chunks_exact_mut(block / SUM_LEN))
        {
            let amax = crate::int8::max_abs_with(Isa::detected(), xb);
            let inv = crate::int8::inverse(amax, 127);
            *d = amax / 127.0;
            for (v, q) in xb.iter().zip(qb.iter_mut()) {
                *q = crate::int8::round(v * inv, 127) as i8;
            }
            for (q16, s) in qb.chunks_exact(SUM_LEN).zip(s.iter_mut()) {
                *s = q16.iter().map(|&q| q as i16).sum();
            }
        }
        Self {
            rows,
            cols,
            block,
            qs,
            scales,
            sums,
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Values per row.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r` as the quantization represents it (`scale·q`).
    ///
    /// # Panics
    /// When `r` is out of range.
    pub fn dequantize_row(&self, r: usize) -> Vec<f32> {
        let row = self.row(r);
        row.qs
            .chunks_exact(self.block)
            .zip(row.scales)
            .flat_map(|(q, d)| q.iter().map(move |&q| q as f32 * d))
            .collect()
    }

    /// Row `r`: its quantized values, block scales and sums by 16.
    pub(crate) fn row(&self, r: usize) -> ActRow<'_> {
        let (c, nb) = (self.cols, self.cols / self.block);
        ActRow {
            qs: &self.qs[r * c..(r + 1) * c],
            scales: &self.scales[r * nb..(r + 1) * nb],
            sums: &self.sums[r * c / SUM_LEN..(r + 1) * c / SUM_LEN],
        }
    }
}

/// One row of [`QuantActs`].
#[derive(Clone, Copy)]
pub(crate) struct ActRow<'a> {
    pub(crate) qs: &'a [i8],
    pub(crate) scales: &'a [f32],
    pub(crate) sums: &'a [i16],
}

/// `out[i·w_rows.len() + j] = a_i · w_j` for the activation rows `a_rows`
/// and weight rows `w_rows`, at the detected level. Callers split the ranges
/// over threads.
///
/// # Panics
/// When the activations were quantized for another block length or width,
/// a range is out of bounds, or `out` has the wrong length.
pub fn matmul(
    w: &QuantMatrix,
    a: &QuantActs,
    a_rows: Range<usize>,
    w_rows: Range<usize>,
    out: &mut [f32],
) {
    matmul_with(Isa::detected(), w, a, a_rows, w_rows, out);
}

/// Activation rows per kernel call: the weight bytes are unpacked once for
/// this many rows (prompts), which also fits AVX2's 16 registers.
pub const TILE: usize = 4;

/// [`matmul`] at a given level (or the best supported one below it).
///
/// # Panics
/// As [`matmul`].
pub fn matmul_with(
    isa: Isa,
    w: &QuantMatrix,
    a: &QuantActs,
    a_rows: Range<usize>,
    w_rows: Range<usize>,
    out: &mut [f32],
) {
    assert_eq!(a.cols, w.cols, "activations and weights differ in width");
    assert_eq!(
        a.block,
        w.format.block_len(),
        "activations quantized for another block length"
    );
    assert!(
        a_rows.end <= a.rows && w_rows.end <= w.rows,
        "row range out of bounds"
    );
    let n = w_rows.len();
    assert_eq!(out.len(), a_rows.len() * n, "output is not a_rows × w_rows");
    let isa = isa.usable();
    let rows: Vec<ActRow<'_>> = a_rows.map(|i| a.row(i)).collect();
    for (jj, j) in w_rows.enumerate() {
        let wr = w.row(j);
        for (t, tile) in rows.chunks(TILE).enumerate() {
            let at = |r: usize| (t * TILE + r) * n + jj;
            match <[ActRow<'_>; TILE]>::try_from(tile) {
                Ok(tile) => {
                    for (r, v) in dot(isa, w.format, wr, tile).into_iter().enumerate() {
                        out[at(r)] = v;
                    }
                }
                Err(_) => {
                    for (r, row) in tile.iter().enumerate() {
                        out[at(r)] = dot(isa, w.format, wr, [*row])[0];
                    }
                }
            }
        }
    }
}

/// `R` dot products of one weight row with activation rows.
fn dot<const R: usize>(isa: Isa, f: Format, w: &[u8], a: [ActRow<'_>; R]) -> [f32; R] {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            // SAFETY: `matmul_with` passes a level `usable` returned, which
            // is Avx512 only when the CPU has AVX-512 F/BW/VNNI besides
            // AVX2, FMA and F16C (`Isa::supported`).
            unsafe { crate::x86::avx512_ggml::dot(f, w, a) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            // SAFETY: `matmul_with` passes a level `usable` returned, which
            // is Avx2 only when the CPU has AVX2, FMA and F16C.
            unsafe { crate::x86::avx2_ggml::dot(f, w, a) }
        }
        _ => std::array::from_fn(|r| dot_scalar(f, w, a[r])),
    }
}

/// Decodes a little-endian IEEE half (every GGML scale).
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = ((bits >> 15) as u32) << 31;
    let exp = ((bits >> 10) & 0x1f) as u32;
    let man = (bits & 0x3ff) as u32;
    let out = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: m·2^-24, exact in f32.
            let v = m as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(out)
}

/// The `f16` at `b[at..at + 2]`.
pub(crate) fn half(b: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// Q4_K's 6-bit scales and minimums of its 8 sub-blocks, from the 12 packed
/// bytes (GGML's `get_scale_min_k4`): scales 0-3 and minimums 0-3 are the low
/// 6 bits of bytes 0-3 and 4-7; scales and minimums 4-7 take their low 4
/// bits from the nibbles of bytes 8-11 and their high 2 bits from the top
/// bits of bytes 0-3 and 4-7. Four bytes at a time, without branches: every
/// kernel decodes this once per block.
#[inline(always)]
pub(crate) fn q4k_scales(s: &[u8]) -> ([u8; 8], [u8; 8]) {
    const LOW6: u32 = 0x3f3f_3f3f;
    const LOW4: u32 = 0x0f0f_0f0f;
    const LOW2: u32 = 0x0303_0303;
    let word = |i: usize| u32::from_le_bytes([s[4 * i], s[4 * i + 1], s[4 * i + 2], s[4 * i + 3]]);
    let (a, b, c) = (word(0), word(1), word(2));
    let sc_lo = a & LOW6;
    let m_lo = b & LOW6;
    let sc_hi = (c & LOW4) | (((a >> 6) & LOW2) << 4);
    let m_hi = ((c >> 4) & LOW4) | (((b >> 6) & LOW2) << 4);
    let join = |lo: u32, hi: u32| {
        let (l, h) = (lo.to_le_bytes(), hi.to_le_bytes());
        [l[0], l[1], l[2], l[3], h[0], h[1], h[2], h[3]]
    };
    (join(sc_lo, sc_hi), join(m_lo, m_hi))
}

/// The integer values of one block before its scales (offsets applied), in
/// the first `block_len` entries of `out`: the reference every kernel is
/// tested against.
fn block_values(f: Format, b: &[u8], out: &mut [i32; 256]) {
    let mut put = |vals: &mut dyn Iterator<Item = i32>| {
        for (o, v) in out.iter_mut().zip(vals) {
            *o = v;
        }
    };
    match f {
        Format::Q4_0 | Format::Q4_1 => {
            let off = if f == Format::Q4_0 { 8 } else { 0 };
            let qs = &b[b.len() - 16..];
            put(&mut (0..32).map(|i| {
                let q = if i < 16 {
                    qs[i] & 0x0f
                } else {
                    qs[i - 16] >> 4
                };
                q as i32 - off
            }))
        }
        Format::Q5_0 => {
            let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
            let qs = &b[6..22];
            put(&mut (0..32).map(|i| {
                let lo = if i < 16 {
                    qs[i] & 0x0f
                } else {
                    qs[i - 16] >> 4
                };
                (lo as i32 | ((((qh >> i) & 1) as i32) << 4)) - 16
            }))
        }
        Format::Q8_0 => put(&mut b[2..34].iter().map(|&q| q as i8 as i32)),
        Format::Q4K => {
            let qs = &b[16..144];
            put(&mut (0..256).map(|i| {
                let (chunk, k) = (i / 64, i % 64);
                let byte = qs[chunk * 32 + k % 32];
                (if k < 32 { byte & 0x0f } else { byte >> 4 }) as i32
            }))
        }
        Format::Q6K => {
            let (ql, qh) = (&b[0..128], &b[128..192]);
            put(&mut (0..256).map(|i| {
                let (half, k) = (i / 128, i % 128);
                let (quarter, l) = (k / 32, k % 32);
                let lo = ql[half * 64 + (quarter % 2) * 32 + l];
                let lo = if quarter < 2 { lo & 0x0f } else { lo >> 4 };
                let hi = (qh[half * 32 + l] >> (2 * quarter)) & 3;
                (lo | (hi << 4)) as i32 - 32
            }))
        }
    }
}

/// One block as `f32` (the reference meaning of the format).
fn dequantize_block(f: Format, b: &[u8], y: &mut [f32]) {
    let mut q = [0i32; 256];
    block_values(f, b, &mut q);
    match f {
        Format::Q4_0 | Format::Q5_0 | Format::Q8_0 => {
            let d = half(b, 0);
            for (y, q) in y.iter_mut().zip(&q) {
                *y = d * *q as f32;
            }
        }
        Format::Q4_1 => {
            let (d, m) = (half(b, 0), half(b, 2));
            for (y, q) in y.iter_mut().zip(&q) {
                *y = d * *q as f32 + m;
            }
        }
        Format::Q4K => {
            let (d, dmin) = (half(b, 0), half(b, 2));
            let (sc, m) = q4k_scales(&b[4..16]);
            for (i, (y, q)) in y.iter_mut().zip(&q).enumerate() {
                let j = i / 32;
                *y = d * sc[j] as f32 * *q as f32 - dmin * m[j] as f32;
            }
        }
        Format::Q6K => {
            let d = half(b, 208);
            for (i, (y, q)) in y.iter_mut().zip(&q).enumerate() {
                *y = d * (b[192 + i / 16] as i8) as f32 * *q as f32;
            }
        }
    }
}

/// The portable dot product of a weight row with an activation row: exact
/// integer sums per block, then the block's scales.
pub(crate) fn dot_scalar(f: Format, w: &[u8], a: ActRow<'_>) -> f32 {
    let (bl, bb) = (f.block_len(), f.block_bytes());
    let mut acc = 0.0f32;
    let mut q = [0i32; 256];
    for (b, blk) in w.chunks_exact(bb).enumerate() {
        block_values(f, blk, &mut q);
        let x = &a.qs[b * bl..(b + 1) * bl];
        let da = a.scales[b];
        let s = &a.sums[b * bl / SUM_LEN..(b + 1) * bl / SUM_LEN];
        acc += match f {
            Format::Q4_0 | Format::Q5_0 | Format::Q8_0 => {
                half(blk, 0) * da * int_dot(&q[..bl], x) as f32
            }
            Format::Q4_1 => {
                let sum: i32 = s.iter().map(|&v| v as i32).sum();
                half(blk, 0) * da * int_dot(&q[..bl], x) as f32 + half(blk, 2) * da * sum as f32
            }
            Format::Q4K => {
                let (sc, m) = q4k_scales(&blk[4..16]);
                let mut isum = 0i32;
                let mut msum = 0i32;
                for j in 0..8 {
                    isum +=
                        sc[j] as i32 * int_dot(&q[j * 32..(j + 1) * 32], &x[j * 32..(j + 1) * 32]);
                    msum += m[j] as i32 * (s[2 * j] as i32 + s[2 * j + 1] as i32);
                }
                half(blk, 0) * da * isum as f32 - half(blk, 2) * da * msum as f32
            }
            Format::Q6K => {
                let mut isum = 0i32;
                for j in 0..16 {
                    let sc = blk[192 + j] as i8 as i32;
                    isum += sc * int_dot(&q[j * 16..(j + 1) * 16], &x[j * 16..(j + 1) * 16]);
                }
                half(blk, 208) * da * isum as f32
            }
        };
    }
    acc
}

fn int_dot(q: &[i32], x: &[i8]) -> i32 {
    q.iter().zip(x).map(|(&q, &x)| q * x as i32).sum()
}
