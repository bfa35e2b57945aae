//! One decoder-only transformer forward pass for every supported GGUF
//! architecture, on candle's CPU kernels with quantized weights.
//!
//! The architectures differ in a handful of switches (rope style, biases, QK
//! norms, sandwich norms, activation, sliding window, fused projections), so
//! they share one implementation, configured from the GGUF metadata by
//! [`DecoderConfig::from_gguf`]. Gemma 3 is implemented here rather than with
//! candle-transformers' `quantized_gemma3`, which uses SiLU instead of
//! GELU-tanh, ignores the sliding window while decoding and precomputes
//! 131,072 rope positions per layer. Here:
//! - Gemma 3's local layers (five of every six) attend to the last 512
//!   positions with rope base 10,000; global layers see everything with rope
//!   base 1,000,000 (and the file's linear rope scaling, if any);
//! - rope tables are sized to the context the caller allows, and shared;
//! - the KV cache is preallocated for that context, written in place, and
//!   kept between calls so a shared prompt prefix is not recomputed;
//! - attention runs row by row ([`super::attention`]), so results do not
//!   depend on how a prompt is chunked.

use candle_core::quantized::GgmlDType;
use candle_core::{DType, Device, Tensor, D};
use candle_nn::ops::rms_norm;
use candle_nn::rotary_emb::{rope_i, rope_thd};

use super::arch::Architecture;
use super::attention::{attend, KvCache};
use super::gguf::GgufFile;
use super::linear::{native_format, Linear};
use crate::{Error, Result};

/// How a layer's activation gates the feed-forward network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activation {
    /// SwiGLU (Llama, Qwen, Phi-3).
    Silu,
    /// GeGLU with the tanh approximation (Gemma).
    GeluTanh,
}

/// Hyper-parameters of a decoder, read from GGUF metadata.
#[derive(Debug, Clone)]
pub struct DecoderConfig {
    /// The architecture.
    pub arch: Architecture,
    /// Number of transformer blocks.
    pub n_layer: usize,
    /// Width of the residual stream.
    pub hidden: usize,
    /// Query heads.
    pub n_head: usize,
    /// Key/value heads (grouped-query attention when fewer than `n_head`).
    pub n_kv_head: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// Vocabulary size (rows of the embedding).
    pub vocab: usize,
    /// Context length the model was trained for.
    pub train_ctx: usize,
    rms_eps: f32,
    rope_dim: usize,
    rope_neox: bool,
    rope_base: f32,
    rope_base_local: f32,
    rope_linear_scale: f32,
    /// Sliding-window size of local layers (Gemma 3), if any.
    pub sliding_window: Option<usize>,
    /// Every `swa_period`-th layer is global, the others local.
    swa_period: usize,
    activation: Activation,
    embed_scale: Option<f32>,
    attn_scale: f32,
    final_softcap: Option<f32>,
}

impl DecoderConfig {
    /// Reads the configuration of `arch` from `gguf`'s metadata.
    pub fn from_gguf(gguf: &GgufFile, arch: Architecture) -> Result<Self> {
        let p = arch.gguf_name();
        let key = |k: &str| format!("{p}.{k}");
        let usize_of = |k: &str| -> Result<usize> { Ok(gguf.uint(&key(k))? as usize) };
        let hidden = usize_of("embedding_length")?;
        let n_head = usize_of("attention.head_count")?;
        let n_kv_head = gguf
            .opt_uint(&key("attention.head_count_kv"))
            .map(|v| v as usize)
            .unwrap_or(n_head);
        if n_head == 0 || n_kv_head == 0 || n_head % n_kv_head != 0 {
            return Err(Error::invalid(
                gguf.path(),
                format!("{n_head} query heads cannot share {n_kv_head} key/value heads"),
            ));
        }
        let head_dim = gguf
            .opt_uint(&key("attention.key_length"))
            .map(|v| v as usize)
            .unwrap_or(hidden / n_head);
        let rope_dim = gguf
            .opt_uint(&key("rope.dimension_count"))
            .map(|v| v as usize)
            .unwrap_or(head_dim)
            .min(head_dim);
        let vocab = match gguf.tensor_info("token_embd.weight") {
            Some((dims, _)) if dims.len() == 2 => dims[0],
            _ => {
                return Err(Error::invalid(
                    gguf.path(),
                    "missing tensor token_embd.weight",
                ))
            }
        };
        let rope_base = gguf.opt_float(&key("rope.freq_base")).unwrap_or(10_000.0) as f32;
        let linear = match gguf.opt_string(&key("rope.scaling.type")) {
            Some("linear") => gguf.opt_float(&key("rope.scaling.factor")).unwrap_or(1.0) as f32,
            _ => 1.0,
        };
        let gemma = arch == Architecture::Gemma3;
        Ok(Self {
            arch,
            n_layer: usize_of("block_count")?,
            hidden,
            n_head,
            n_kv_head,
            head_dim,
            vocab,
            train_ctx: gguf.opt_uint(&key("context_length")).unwrap_or(2048) as usize,
            rms_eps: gguf
                .opt_float(&key("attention.layer_norm_rms_epsilon"))
                .unwrap_or(1e-6) as f32,
            rope_dim,
            rope_neox: arch != Architecture::Llama,
            rope_base,
            rope_base_local: if gemma {
                gguf.opt_float(&key("rope.freq_base_swa"))
                    .unwrap_or(10_000.0) as f32
            } else {
                rope_base
            },
            rope_linear_scale: linear.max(1.0),
            sliding_window: if gemma {
                gguf.opt_uint(&key("attention.sliding_window"))
                    .map(|v| v as usize)
            } else {
                None
            },
            swa_period: if gemma { 6 } else { 1 },
            activation: if gemma {
                Activation::GeluTanh
            } else {
                Activation::Silu
            },
            embed_scale: gemma.then(|| (hidden as f32).sqrt()),
            attn_scale: 1.0 / (head_dim as f32).sqrt(),
            final_softcap: gguf
                .opt_float(&key("final_logit_softcapping"))
                .map(|v| v as f32)
                .filter(|v| *v > 0.0),
        })
    }

    /// Whether layer `i` uses the sliding window (Gemma 3: all but every sixth).
    fn is_local(&self, i: usize) -> bool {
        self.sliding_window.is_some() && !(i + 1).is_multiple_of(self.swa_period)
    }
}

/// Projections that read the same input, fused into one matmul when their
/// weights share a quantization type (one pass over the input instead of
/// two or three), split afterwards.
struct Projections {
    fused: Option<Linear>,
    parts: Vec<Linear>,
    sizes: Vec<usize>,
}

impl Projections {
    fn forward(&self, x: &Tensor) -> Result<Vec<Tensor>> {
        match &self.fused {
            Some(w) => {
                let y = w.forward(x)?;
                let mut out = Vec::with_capacity(self.sizes.len());
                let mut at = 0;
                for &n in &self.sizes {
                    out.push(y.narrow(D::Minus1, at, n)?.contiguous()?);
                    at += n;
                }
                Ok(out)
            }
            None => Ok(self
                .parts
                .iter()
                .map(|w| w.forward(x))
                .collect::<Result<Vec<_>>>()?),
        }
    }
}

struct Layer {
    attn_norm: Tensor,
    qkv: Projections,
    q_bias: Option<Tensor>,
    k_bias: Option<Tensor>,
    v_bias: Option<Tensor>,
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
    out: Linear,
    post_attn_norm: Option<Tensor>,
    ffn_norm: Tensor,
    gate_up: Projections,
    down: Linear,
    post_ffn_norm: Option<Tensor>,
    local: bool,
}

/// Cos/sin tables for positions `0..capacity`.
struct RopeTable {
    cos: Tensor,
    sin: Tensor,
}

impl RopeTable {
    fn new(
        dim: usize,
        base: f32,
        linear_scale: f32,
        freq_factors: Option<&[f32]>,
        capacity: usize,
    ) -> Result<Self> {
        let inv: Vec<f32> = (0..dim / 2)
            .map(|i| {
                let f = 1.0 / base.powf(2.0 * i as f32 / dim as f32) / linear_scale;
                match freq_factors.and_then(|ff| ff.get(i)) {
                    Some(factor) if *factor > 0.0 => f / factor,
                    _ => f,
                }
            })
            .collect();
        let mut cos = Vec::with_capacity(capacity * inv.len());
        let mut sin = Vec::with_capacity(capacity * inv.len());
        for p in 0..capacity {
            for f in &inv {
                let a = p as f32 * f;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
        let shape = (capacity, inv.len());
        Ok(Self {
            cos: Tensor::from_vec(cos, shape, &Device::Cpu)?,
            sin: Tensor::from_vec(sin, shape, &Device::Cpu)?,
        })
    }
}

/// A loaded decoder with its KV cache.
pub struct Decoder {
    /// The hyper-parameters.
    pub cfg: DecoderConfig,
    embed: Linear,
    layers: Vec<Layer>,
    output_norm: Tensor,
    lm_head: Linear,
    rope_global: RopeTable,
    rope_local: Option<RopeTable>,
    caches: Vec<KvCache>,
    capacity: usize,
}

/// Options that change how weights are held in memory.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Positions the KV cache and rope tables are sized for.
    pub context: usize,
    /// Rewrite Q5_0 (exactly) and Q4_1 weights as Q8_0 for candle's SIMD
    /// kernels (neither has one on x86).
    pub widen_q5_0: bool,
    /// Fuse Q/K/V and gate/up projections when their types match.
    pub fuse: bool,
}

fn norm(gguf: &mut GgufFile, name: &str, n: usize) -> Result<Tensor> {
    Ok(gguf
        .tensor(name, &[n], false)?
        .dequantize(&Device::Cpu)?
        .to_dtype(DType::F32)?)
}

fn opt_norm(gguf: &mut GgufFile, name: &str, n: usize) -> Result<Option<Tensor>> {
    if gguf.has_tensor(name) {
        norm(gguf, name, n).map(Some)
    } else {
        Ok(None)
    }
}

/// Whether tensor `name` is to be widened for candle's kernels: only when
/// the native kernels do not read its format.
fn widen(gguf: &GgufFile, name: &str, opts: &LoadOptions) -> bool {
    opts.widen_q5_0
        && gguf
            .tensor_info(name)
            .is_none_or(|(_, dtype)| native_format(dtype).is_none())
}

/// Loads `names` (each `(name, rows)`, all with `inp` columns) as one fused
/// matmul when allowed and their types match, else separately.
fn projections(
    gguf: &mut GgufFile,
    names: &[(String, usize)],
    inp: usize,
    opts: &LoadOptions,
) -> Result<Projections> {
    let mut tensors = Vec::with_capacity(names.len());
    for (name, rows) in names {
        let widen = widen(gguf, name, opts);
        tensors.push(gguf.tensor(name, &[*rows, inp], widen)?);
    }
    let sizes: Vec<usize> = names.iter().map(|(_, r)| *r).collect();
    let dtype = tensors[0].dtype();
    let fusable = opts.fuse
        && names.len() > 1
        && tensors.iter().all(|t| t.dtype() == dtype)
        && !matches!(dtype, GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16);
    if fusable {
        let mut raw = Vec::new();
        for t in &tensors {
            raw.extend_from_slice(&t.data()?);
        }
        let rows: usize = sizes.iter().sum();
        let fused = match native_format(dtype) {
            Some(_) => Linear::native(dtype, rows, inp, raw)
                .map_err(|e| Error::invalid(gguf.path(), format!("{}: {e}", names[0].0)))?,
            None => Linear::candle(candle_core::quantized::ggml_file::qtensor_from_ggml(
                dtype,
                &raw,
                vec![rows, inp],
                &Device::Cpu,
            )?)?,
        };
        return Ok(Projections {
            fused: Some(fused),
            parts: Vec::new(),
            sizes,
        });
    }
    Ok(Projections {
        fused: None,
        parts: tensors
            .into_iter()
            .map(Linear::candle)
            .collect::<Result<_>>()?,
        sizes,
    })
}

impl Decoder {
    /// Loads the weights of `gguf` for the configuration `cfg`.
    pub fn load(gguf: &mut GgufFile, cfg: DecoderConfig, opts: &LoadOptions) -> Result<Self> {
        let (h, hd) = (cfg.hidden, cfg.head_dim);
        let q_rows = cfg.n_head * hd;
        let kv_rows = cfg.n_kv_head * hd;
        // A tied output layer shares the embedding's bytes.
        let embed = gguf.linear("token_embd.weight", &[cfg.vocab, h], false)?;
        let lm_head = if gguf.has_tensor("output.weight") {
            gguf.linear("output.weight", &[cfg.vocab, h], opts.widen_q5_0)?
        } else {
            embed.clone()
        };
        let ff = match gguf.tensor_info("blk.0.ffn_down.weight") {
            Some((dims, _)) if dims.len() == 2 => dims[1],
            _ => {
                return Err(Error::invalid(
                    gguf.path(),
                    "missing tensor blk.0.ffn_down.weight",
                ))
            }
        };
        let mut layers = Vec::with_capacity(cfg.n_layer);
        for i in 0..cfg.n_layer {
            let n = |s: &str| format!("blk.{i}.{s}");
            let qkv = if cfg.arch == Architecture::Phi3 {
                let name = n("attn_qkv.weight");
                let t = gguf.tensor(&name, &[q_rows + 2 * kv_rows, h], widen(gguf, &name, opts))?;
                Projections {
                    fused: Some(Linear::candle(t)?),
                    parts: Vec::new(),
                    sizes: vec![q_rows, kv_rows, kv_rows],
                }
            } else {
                projections(
                    gguf,
                    &[
                        (n("attn_q.weight"), q_rows),
                        (n("attn_k.weight"), kv_rows),
                        (n("attn_v.weight"), kv_rows),
                    ],
                    h,
                    opts,
                )?
            };
            let gate_up = if cfg.arch == Architecture::Phi3 {
                let name = n("ffn_up.weight");
                let t = gguf.tensor(&name, &[2 * ff, h], widen(gguf, &name, opts))?;
                Projections {
                    fused: Some(Linear::candle(t)?),
                    parts: Vec::new(),
                    sizes: vec![ff, ff],
                }
            } else {
                projections(
                    gguf,
                    &[(n("ffn_gate.weight"), ff), (n("ffn_up.weight"), ff)],
                    h,
                    opts,
                )?
            };
            layers.push(Layer {
                attn_norm: norm(gguf, &n("attn_norm.weight"), h)?,
                qkv,
                q_bias: opt_norm(gguf, &n("attn_q.bias"), q_rows)?,
                k_bias: opt_norm(gguf, &n("attn_k.bias"), kv_rows)?,
                v_bias: opt_norm(gguf, &n("attn_v.bias"), kv_rows)?,
                q_norm: opt_norm(gguf, &n("attn_q_norm.weight"), hd)?,
                k_norm: opt_norm(gguf, &n("attn_k_norm.weight"), hd)?,
                out: gguf.linear(&n("attn_output.weight"), &[h, q_rows], opts.widen_q5_0)?,
                post_attn_norm: opt_norm(gguf, &n("post_attention_norm.weight"), h)?,
                ffn_norm: norm(gguf, &n("ffn_norm.weight"), h)?,
                gate_up,
                down: gguf.linear(&n("ffn_down.weight"), &[h, ff], opts.widen_q5_0)?,
                post_ffn_norm: opt_norm(gguf, &n("post_ffw_norm.weight"), h)?,
                local: cfg.is_local(i),
            });
        }
        let output_norm = norm(gguf, "output_norm.weight", h)?;
        let capacity = opts.context.max(1);
        let freq_factors = if gguf.has_tensor("rope_freqs.weight") {
            Some(norm(gguf, "rope_freqs.weight", cfg.rope_dim / 2)?.to_vec1::<f32>()?)
        } else {
            None
        };
        let rope_global = RopeTable::new(
            cfg.rope_dim,
            cfg.rope_base,
            cfg.rope_linear_scale,
            freq_factors.as_deref(),
            capacity,
        )?;
        let rope_local = match cfg.sliding_window {
            Some(_) => Some(RopeTable::new(
                cfg.rope_dim,
                cfg.rope_base_local,
                1.0,
                None,
                capacity,
            )?),
            None => None,
        };
        let caches = (0..cfg.n_layer)
            .map(|_| KvCache::new(cfg.n_kv_head, capacity, hd))
            .collect();
        Ok(Self {
            cfg,
            embed,
            layers,
            output_norm,
            lm_head,
            rope_global,
            rope_local,
            caches,
            capacity,
        })
    }

    /// Positions the cache holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Runs `tokens` at positions `pos..pos + tokens.len()` (the cache must
    /// already hold positions `0..pos`), and returns the logits of the rows
    /// whose offsets in `tokens` are listed in `rows` (shape `(rows, vocab)`).
    pub fn forward(&mut self, tokens: &[u32], pos: usize, rows: &[usize]) -> Result<Tensor> {
        let seq = tokens.len();
        if seq == 0 || pos + seq > self.capacity {
            return Err(Error::ContextOverflow {
                requested: pos + seq,
                allowed: self.capacity,
            });
        }
        let mut x = self.embed.rows(tokens)?;
        if let Some(s) = self.cfg.embed_scale {
            x = (x * f64::from(s))?;
        }
        let eps = self.cfg.rms_eps;
        for (layer, cache) in self.layers.iter().zip(self.caches.iter_mut()) {
            let h = rms_norm(&x, &layer.attn_norm, eps)?;
            let (window, rope) = match (layer.local, &self.rope_local) {
                (true, Some(r)) => (self.cfg.sliding_window, r),
                _ => (None, &self.rope_global),
            };
            let h = attention(&self.cfg, layer, cache, &h, pos, window, rope)?;
            let h = match &layer.post_attn_norm {
                Some(n) => rms_norm(&h, n, eps)?,
                None => h,
            };
            x = (x + h)?;
            let h = rms_norm(&x, &layer.ffn_norm, eps)?;
            let gu = layer.gate_up.forward(&h)?;
            let (gate, up) = (&gu[0], &gu[1]);
            let act = match self.cfg.activation {
                Activation::Silu => candle_nn::ops::silu(gate)?,
                Activation::GeluTanh => gate.gelu()?,
            };
            let h = layer.down.forward(&(act * up)?)?;
            let h = match &layer.post_ffn_norm {
                Some(n) => rms_norm(&h, n, eps)?,
                None => h,
            };
            x = (x + h)?;
        }
        let x = if rows.len() == seq {
            x
        } else {
            let idx: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
            x.index_select(&Tensor::new(idx.as_slice(), &Device::Cpu)?, 0)?
        };
        let x = rms_norm(&x, &self.output_norm, eps)?;
        let logits = self.lm_head.forward(&x)?;
        Ok(match self.cfg.final_softcap {
            Some(c) => ((logits / f64::from(c))?.tanh()? * f64::from(c))?,
            None => logits,
        })
    }
}

/// Applies rotary embeddings to `x` of shape `(seq, heads, head_dim)` at
/// positions `pos..`, returning the same layout, contiguous.
fn apply_rope(cfg: &DecoderConfig, rope: &RopeTable, x: &Tensor, pos: usize) -> Result<Tensor> {
    let (seq, _, hd) = x.dims3()?;
    let cos = rope.cos.narrow(0, pos, seq)?;
    let sin = rope.sin.narrow(0, pos, seq)?;
    let rot = |t: &Tensor| -> Result<Tensor> {
        // (seq, heads, d) in and out.
        Ok(if cfg.rope_neox {
            rope_thd(&t.unsqueeze(0)?.contiguous()?, &cos, &sin)?.squeeze(0)?
        } else {
            rope_i(&t.transpose(0, 1)?.contiguous()?.unsqueeze(0)?, &cos, &sin)?
                .squeeze(0)?
                .transpose(0, 1)?
        })
    };
    let out = if cfg.rope_dim == hd {
        rot(x)?
    } else {
        let r = rot(&x.narrow(2, 0, cfg.rope_dim)?)?;
        let pass = x.narrow(2, cfg.rope_dim, hd - cfg.rope_dim)?;
        Tensor::cat(&[&r, &pass], 2)?
    };
    Ok(out.contiguous()?)
}

/// Projections, norms and rotary embeddings around [`attend`].
fn attention(
    cfg: &DecoderConfig,
    layer: &Layer,
    cache: &mut KvCache,
    x: &Tensor,
    pos: usize,
    window: Option<usize>,
    rope: &RopeTable,
) -> Result<Tensor> {
    let seq = x.dim(0)?;
    let (nh, nkv, hd) = (cfg.n_head, cfg.n_kv_head, cfg.head_dim);
    let qkv = layer.qkv.forward(x)?;
    let bias = |t: &Tensor, b: &Option<Tensor>| -> Result<Tensor> {
        Ok(match b {
            Some(b) => t.broadcast_add(b)?,
            None => t.clone(),
        })
    };
    let q = bias(&qkv[0], &layer.q_bias)?.reshape((seq, nh, hd))?;
    let k = bias(&qkv[1], &layer.k_bias)?.reshape((seq, nkv, hd))?;
    let v = bias(&qkv[2], &layer.v_bias)?.reshape((seq, nkv, hd))?;
    let q = match &layer.q_norm {
        Some(n) => rms_norm(&q.contiguous()?, n, cfg.rms_eps)?,
        None => q,
    };
    let k = match &layer.k_norm {
        Some(n) => rms_norm(&k.contiguous()?, n, cfg.rms_eps)?,
        None => k,
    };
    let q = (apply_rope(cfg, rope, &q, pos)? * f64::from(cfg.attn_scale))?;
    let k = apply_rope(cfg, rope, &k, pos)?;
    let k = k.flatten_all()?.to_vec1::<f32>()?;
    let v = v.flatten_all()?.to_vec1::<f32>()?;
    cache.store(pos, &k, &v);
    let q = q.flatten_all()?.to_vec1::<f32>()?;
    let out = attend(&q, cache, nh, pos, window);
    let out = Tensor::from_vec(out, (seq, nh * hd), &Device::Cpu)?;
    layer.out.forward(&out)
}
