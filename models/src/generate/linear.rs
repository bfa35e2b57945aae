//! The generators' weight matrices. A tensor in a GGML K format (Q4_K,
//! Q6_K: the bulk of every Q4_K_M file) keeps the file's bytes and is
//! multiplied by [`guichet_kernels::ggml`]'s products against 8-bit
//! activations, on every thread of rayon's pool; any other type goes
//! through candle's `QMatMul` (prompts dequantized to `f32` for its GEMM).
//!
//! Why: measured in one run on a 2-vCPU AVX-512 Xeon (`guichet bench
//! generate`, models/README.md), the native K products run Qwen2.5-1.5B at
//! pp512 37.1 / tg128 12.3 tok/s against 27.8 / 10.5 through candle, and the
//! 0.5B's prompts at 98.9 against 83.7 tok/s. The kernels also read Q4_0,
//! Q4_1, Q5_0 and Q8_0, but for those candle's dequantized f32 GEMM was
//! faster on prompts (SmolLM2's Q4_1: 114 against 242 tok/s), so they are
//! used only when asked for.
//!
//! `GUICHET_GGML_KERNELS`: `0` sends every tensor to candle, `all` sends
//! every GGML block format to the native kernels; anything else (the
//! default) the K formats only.

use std::sync::Arc;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Module, Shape, Tensor};
use guichet_kernels::ggml::{self, Format, QuantActs, QuantMatrix};
use rayon::prelude::*;

use crate::Result;

/// The kernels' format for a GGML type, when the kernels read it and they
/// are not switched off.
pub(crate) fn native_format(dtype: GgmlDType) -> Option<Format> {
    let choice = std::env::var("GUICHET_GGML_KERNELS").unwrap_or_default();
    let (k_formats, blocks_of_32) = match choice.trim() {
        "0" | "off" => (false, false),
        "all" => (true, true),
        _ => (true, false),
    };
    match dtype {
        GgmlDType::Q4K if k_formats => Some(Format::Q4K),
        GgmlDType::Q6K if k_formats => Some(Format::Q6K),
        GgmlDType::Q4_0 if blocks_of_32 => Some(Format::Q4_0),
        GgmlDType::Q4_1 if blocks_of_32 => Some(Format::Q4_1),
        GgmlDType::Q5_0 if blocks_of_32 => Some(Format::Q5_0),
        GgmlDType::Q8_0 if blocks_of_32 => Some(Format::Q8_0),
        _ => None,
    }
}

/// A weight matrix `(rows, cols)` applied as `x·Wᵀ`, or looked up by row
/// (a token embedding).
#[derive(Clone)]
pub(crate) enum Linear {
    /// GGML blocks on the native kernels.
    Native(Arc<QuantMatrix>),
    /// Anything else, on candle.
    Candle(Arc<QTensor>),
}

/// Rows from which a candle matmul dequantizes its weights and runs
/// candle's f32 GEMM instead of its quantized kernels: those have no tiled
/// kernel for Q8_0/Q5_0 on AVX2. Two, so that every prompt chunk (two rows
/// or more, see `chunks` in the generator) takes the same path.
const DEQUANT_ROWS: usize = 2;

impl Linear {
    /// A native matrix from a tensor's bytes.
    pub(crate) fn native(
        dtype: GgmlDType,
        rows: usize,
        cols: usize,
        raw: Vec<u8>,
    ) -> std::result::Result<Self, String> {
        let format =
            native_format(dtype).ok_or_else(|| format!("{dtype:?} is not a native format"))?;
        let w = QuantMatrix::new(format, rows, cols, raw).map_err(|e| e.to_string())?;
        Ok(Self::Native(Arc::new(w)))
    }

    /// A tensor candle read: kept for candle, or its bytes moved to a
    /// native matrix when the kernels read its type (the projections that
    /// are not fused come this way).
    pub(crate) fn candle(t: QTensor) -> Result<Self> {
        Self::from_arc(Arc::new(t))
    }

    /// As [`Linear::candle`], from a shared tensor.
    pub(crate) fn from_arc(t: Arc<QTensor>) -> Result<Self> {
        let dims = t.shape().dims().to_vec();
        if let (Some(_), [rows, cols]) = (native_format(t.dtype()), dims.as_slice()) {
            if let Ok(l) = Self::native(t.dtype(), *rows, *cols, t.data()?.into_owned()) {
                return Ok(l);
            }
        }
        Ok(Self::Candle(t))
    }

    /// `x·Wᵀ` for `x` of shape `(…, cols)`.
    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Linear::Native(w) => native_forward(w, x),
            Linear::Candle(t) => {
                let rows = x.dims().first().copied().unwrap_or(1);
                if rows >= DEQUANT_ROWS
                    && t.dtype() != GgmlDType::F32
                    && std::env::var("GUICHET_PREFILL_DEQUANT").map_or(true, |v| v != "0")
                {
                    let wf = t.dequantize(&Device::Cpu)?;
                    Ok(x.matmul(&wf.t()?)?)
                } else {
                    Ok(QMatMul::from_arc(t.clone())?.forward(x)?)
                }
            }
        }
    }

    /// Rows `ids` as `f32`, shape `(ids, cols)`.
    pub(crate) fn rows(&self, ids: &[u32]) -> Result<Tensor> {
        match self {
            Linear::Native(w) => {
                let cols = w.cols();
                let mut out = vec![0.0f32; ids.len() * cols];
                for (&id, o) in ids.iter().zip(out.chunks_exact_mut(cols)) {
                    let id = id as usize;
                    if id >= w.rows() {
                        let msg =
                            format!("token id {id} is outside the vocabulary of {}", w.rows());
                        return Err(candle_core::Error::Msg(msg).into());
                    }
                    w.dequantize_row(id, o);
                }
                Ok(Tensor::from_vec(out, (ids.len(), cols), &Device::Cpu)?)
            }
            Linear::Candle(t) => {
                let ids = Tensor::new(ids, &Device::Cpu)?;
                Ok(t.embedding(&ids)?.to_dtype(DType::F32)?)
            }
        }
    }
}

/// `x·Wᵀ` on the native kernels: prompts split their rows over the threads
/// (each part reads the whole matrix once per four rows), a few rows split
/// the matrix's rows instead (generation reads each weight once).
fn native_forward(w: &QuantMatrix, x: &Tensor) -> Result<Tensor> {
    let dims = x.dims().to_vec();
    let k = dims.last().copied().unwrap_or(0);
    if k != w.cols() {
        let msg = format!("matmul input has {k} columns, the weights {}", w.cols());
        return Err(candle_core::Error::Msg(msg).into());
    }
    let xs = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let rows = xs.len() / k.max(1);
    let n = w.rows();
    let f = w.format();
    let threads = rayon::current_num_threads().max(1);
    let mut out = vec![0.0f32; rows * n];
    if rows >= 4 * threads {
        // Parts of whole tiles, at most 64 rows so a part's activations stay
        // in the core's cache while the matrix streams past them.
        let part = rows.div_ceil(threads).div_ceil(ggml::TILE).clamp(1, 16) * ggml::TILE;
        out.par_chunks_mut(part * n)
            .zip(xs.par_chunks(part * k))
            .for_each(|(o, xc)| {
                let r = xc.len() / k;
                let a = QuantActs::quantize(f, xc, r, k);
                ggml::matmul(w, &a, 0..r, 0..n, o);
            });
    } else {
        let a = QuantActs::quantize(f, &xs, rows, k);
        // Four pieces per thread, for balance between cores that are not
        // equally free.
        let step = n.div_ceil(4 * threads).div_ceil(16).max(1) * 16;
        if rows == 1 {
            out.par_chunks_mut(step).enumerate().for_each(|(c, o)| {
                let j0 = c * step;
                ggml::matmul(w, &a, 0..1, j0..j0 + o.len(), o);
            });
        } else {
            let parts: Vec<(usize, Vec<f32>)> = (0..n)
                .step_by(step)
                .collect::<Vec<_>>()
                .into_par_iter()
                .map(|j0| {
                    let cols = j0..(j0 + step).min(n);
                    let mut o = vec![0.0f32; rows * cols.len()];
                    ggml::matmul(w, &a, 0..rows, cols, &mut o);
                    (j0, o)
                })
                .collect();
            for (j0, o) in parts {
                let width = o.len() / rows;
                for (dst, src) in out.chunks_exact_mut(n).zip(o.chunks_exact(width)) {
                    dst[j0..j0 + width].copy_from_slice(src);
                }
            }
        }
    }
    let mut shape = dims;
    if let Some(last) = shape.last_mut() {
        *last = n;
    }
    Ok(Tensor::from_vec(
        out,
        Shape::from_dims(&shape),
        &Device::Cpu,
    )?)
}
