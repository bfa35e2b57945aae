//! The generator's tokenizer, rebuilt from the GGUF file itself so that a user
//! needs nothing but the `.gguf` (as with llama.cpp).
//!
//! Two families are stored in GGUF metadata:
//! - `llama`: a SentencePiece BPE model (Gemma, Llama 2, Mistral) given as
//!   tokens, scores and token types but no merges. The merges are derived from
//!   the scores exactly as the Hugging Face converter does (every split of a
//!   piece into two pieces of the vocabulary, ranked by the piece's score),
//!   with byte fallback, so ids match the reference `tokenizer.json`.
//! - `gpt2`: byte-level BPE with explicit merges (SmolLM, Qwen, Llama 3); the
//!   pre-tokenizer regex is chosen from `tokenizer.ggml.pre`.
//!
//! Control tokens (`<start_of_turn>`, `<|im_end|>`...) are special: they are
//! recognised in trusted template text only. Untrusted text (a citizen's
//! message, a document) is encoded with special-token matching off, so typing
//! `<end_of_turn>` cannot forge a turn.

use std::collections::HashMap;
use std::path::Path;

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::{Prepend, Replace, Sequence as NormalizerSequence, NFC};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence as PreSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PreTokenizerWrapper, SplitDelimiterBehavior,
    Tokenizer,
};

use super::gguf::GgufFile;
use crate::{Error, Result};

/// GGUF token types (llama.cpp's `llama_token_type`).
const TYPE_CONTROL: u64 = 3;
const TYPE_USER_DEFINED: u64 = 4;
const TYPE_UNUSED: u64 = 5;

/// A tokenizer for one generator, with its special ids.
pub struct TextTokenizer {
    inner: Tokenizer,
    /// Beginning-of-sequence id, when the model uses one.
    pub bos: Option<u32>,
    /// Ids that end generation (end of sequence, end of turn).
    pub stop_ids: Vec<u32>,
    /// Which family was built (`llama`, `gpt2`, or `tokenizer.json`).
    pub kind: String,
}

impl TextTokenizer {
    /// Reads the tokenizer of the GGUF file at `path` (no weights are read).
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_gguf(&GgufFile::open(path)?, None)
    }

    /// Builds the tokenizer from the GGUF metadata, or from `override_json`
    /// (a Hugging Face `tokenizer.json`) when given.
    pub fn from_gguf(gguf: &GgufFile, override_json: Option<&Path>) -> Result<Self> {
        let tokens = gguf.strings("tokenizer.ggml.tokens")?;
        let (inner, kind) = match override_json {
            Some(path) => (
                Tokenizer::from_file(path)
                    .map_err(|e| Error::invalid(path, format!("not a tokenizer.json: {e}")))?,
                "tokenizer.json".to_owned(),
            ),
            None => {
                let model = gguf.string("tokenizer.ggml.model")?.to_owned();
                let tok = match model.as_str() {
                    "llama" => sentencepiece_bpe(gguf, &tokens)?,
                    "gpt2" => byte_level_bpe(gguf, &tokens)?,
                    other => {
                        return Err(Error::Unsupported(format!(
                            "{}: tokenizer type {other:?} (supported: llama, gpt2; or pass a tokenizer.json)",
                            gguf.path().display()
                        )))
                    }
                };
                (tok, model)
            }
        };
        let id = |key: &str| gguf.opt_uint(key).and_then(|v| u32::try_from(v).ok());
        let add_bos = gguf
            .opt_bool("tokenizer.ggml.add_bos_token")
            .unwrap_or(true);
        let bos = if add_bos {
            id("tokenizer.ggml.bos_token_id")
        } else {
            None
        };
        let mut stop_ids: Vec<u32> = [
            "tokenizer.ggml.eos_token_id",
            "tokenizer.ggml.eot_token_id",
            "tokenizer.ggml.eom_token_id",
        ]
        .iter()
        .filter_map(|k| id(k))
        .collect();
        // End-of-turn markers of the chat formats: a chat model ends its turn
        // with them even when the metadata names only the end of sequence.
        for marker in [
            "<end_of_turn>",
            "<|im_end|>",
            "<|eot_id|>",
            "<|end|>",
            "<|endoftext|>",
        ] {
            if let Some(i) = tokens.iter().position(|t| *t == marker) {
                stop_ids.push(i as u32);
            }
        }
        stop_ids.sort_unstable();
        stop_ids.dedup();
        Ok(Self {
            inner,
            bos,
            stop_ids,
            kind,
        })
    }

    /// Encodes trusted text: special tokens written in it (template markers)
    /// become their ids. No BOS is added.
    pub fn encode_trusted(&mut self, text: &str) -> Result<Vec<u32>> {
        self.inner.set_encode_special_tokens(false);
        self.encode(text)
    }

    /// Encodes untrusted text: special-token strings in it stay plain text.
    pub fn encode_untrusted(&mut self, text: &str) -> Result<Vec<u32>> {
        self.inner.set_encode_special_tokens(true);
        let ids = self.encode(text);
        self.inner.set_encode_special_tokens(false);
        ids
    }

    /// Counts the tokens of `text` (as untrusted text would be encoded, up to
    /// the rare special-token string).
    pub fn count(&self, text: &str) -> Result<usize> {
        Ok(self
            .inner
            .encode_fast(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?
            .len())
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .inner
            .encode_fast(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?
            .get_ids()
            .to_vec())
    }

    /// Decodes ids to text, leaving out special tokens.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner
            .decode(ids, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }
}

fn tok_err(e: impl std::fmt::Display) -> Error {
    Error::Tokenizer(e.to_string())
}

/// Added tokens from the GGUF token types: control tokens are special;
/// user-defined and unused ones are matched verbatim (not normalized) but are
/// not special, as in the reference `tokenizer.json` files.
fn added_tokens(gguf: &GgufFile, tokens: &[&str]) -> Result<(Vec<AddedToken>, Vec<AddedToken>)> {
    let types = match gguf.value("tokenizer.ggml.token_type") {
        Some(_) => gguf.uints("tokenizer.ggml.token_type")?,
        None => return Ok((Vec::new(), Vec::new())),
    };
    let mut special = Vec::new();
    let mut plain = Vec::new();
    for (tok, ty) in tokens.iter().zip(types) {
        match ty {
            TYPE_CONTROL => special.push(AddedToken::from(tok.to_string(), true).normalized(false)),
            TYPE_USER_DEFINED | TYPE_UNUSED => {
                plain.push(AddedToken::from(tok.to_string(), false).normalized(false))
            }
            _ => {}
        }
    }
    Ok((special, plain))
}

fn finish(mut tok: Tokenizer, gguf: &GgufFile, tokens: &[&str]) -> Result<Tokenizer> {
    let (special, plain) = added_tokens(gguf, tokens)?;
    tok.add_special_tokens(special).map_err(tok_err)?;
    tok.add_tokens(plain).map_err(tok_err)?;
    Ok(tok)
}

/// SentencePiece BPE (`tokenizer.ggml.model = llama`).
fn sentencepiece_bpe(gguf: &GgufFile, tokens: &[&str]) -> Result<Tokenizer> {
    let scores = gguf.floats("tokenizer.ggml.scores")?;
    if scores.len() != tokens.len() {
        return Err(Error::invalid(
            gguf.path(),
            format!("{} tokens but {} scores", tokens.len(), scores.len()),
        ));
    }
    let ids: HashMap<&str, u32> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, i as u32))
        .collect();
    // Every way of writing a piece as two pieces of the vocabulary is a merge;
    // merges rank by the merged piece's score (highest first), ties by id.
    let mut merges: Vec<(f32, u32, u32, u32)> = Vec::new();
    for (id, piece) in tokens.iter().enumerate() {
        let mut local: Vec<(u32, u32)> = piece
            .char_indices()
            .skip(1)
            .filter_map(|(i, _)| Some((*ids.get(&piece[..i])?, *ids.get(&piece[i..])?)))
            .collect();
        local.sort_unstable();
        merges.extend(
            local
                .into_iter()
                .map(|(l, r)| (scores[id], id as u32, l, r)),
        );
    }
    // Stable sort: within one score, pieces keep vocabulary order.
    merges.sort_by(|a, b| b.0.total_cmp(&a.0));
    let merges: Vec<(String, String)> = merges
        .into_iter()
        .map(|(_, _, l, r)| (tokens[l as usize].to_owned(), tokens[r as usize].to_owned()))
        .collect();
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), i as u32))
        .collect();
    let mut bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .byte_fallback(true)
        .fuse_unk(true);
    if let Some(unk) = gguf
        .opt_uint("tokenizer.ggml.unknown_token_id")
        .and_then(|i| tokens.get(i as usize))
    {
        bpe = bpe.unk_token(unk.to_string());
    }
    let bpe = bpe.build().map_err(tok_err)?;
    let mut tok = Tokenizer::new(bpe);
    let replace = Replace::new(" ", "▁").map_err(tok_err)?;
    let normalizer: NormalizerWrapper = if gguf
        .opt_bool("tokenizer.ggml.add_space_prefix")
        .unwrap_or(true)
    {
        NormalizerSequence::new(vec![Prepend::new("▁".into()).into(), replace.into()]).into()
    } else {
        replace.into()
    };
    tok.with_normalizer(Some(normalizer)).map_err(tok_err)?;
    let decoder: DecoderWrapper = DecoderSequence::new(vec![
        Replace::new("▁", " ").map_err(tok_err)?.into(),
        ByteFallback::new().into(),
        Fuse::new().into(),
    ])
    .into();
    tok.with_decoder(Some(decoder));
    finish(tok, gguf, tokens)
}

/// Byte-level BPE (`tokenizer.ggml.model = gpt2`).
fn byte_level_bpe(gguf: &GgufFile, tokens: &[&str]) -> Result<Tokenizer> {
    const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    let merges = gguf
        .strings("tokenizer.ggml.merges")?
        .into_iter()
        .map(|m| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| Error::invalid(gguf.path(), format!("bad merge {m:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let vocab: Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), i as u32))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(tok_err)?;
    let mut tok = Tokenizer::new(bpe);
    let regex_split = |re: &str| -> Result<PreTokenizerWrapper> {
        Ok(PreSequence::new(vec![
            Split::new(
                SplitPattern::Regex(re.into()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(tok_err)?
            .into(),
            ByteLevel::new(false, false, false).into(),
        ])
        .into())
    };
    let pre = gguf.opt_string("tokenizer.ggml.pre").unwrap_or("default");
    let pre_tokenizer: PreTokenizerWrapper = match pre {
        "qwen2" | "deepseek-r1-qwen" => {
            tok.with_normalizer(Some(NFC)).map_err(tok_err)?;
            regex_split(QWEN2)?
        }
        "llama3" | "llama-bpe" | "smaug-bpe" => regex_split(LLAMA3)?,
        // SmolLM: every digit apart, then GPT-2's pattern.
        "smollm" => PreSequence::new(vec![
            Digits::new(true).into(),
            ByteLevel::new(false, false, true).into(),
        ])
        .into(),
        other => {
            if other != "default" && other != "gpt-2" {
                tracing::warn!(pre = other, "unknown GGUF pre-tokenizer, using GPT-2's");
            }
            ByteLevel::new(false, false, true).into()
        }
    };
    tok.with_pre_tokenizer(Some(pre_tokenizer));
    tok.with_decoder(Some(ByteLevelDecoder::new(false, false, true)));
    finish(tok, gguf, tokens)
}
