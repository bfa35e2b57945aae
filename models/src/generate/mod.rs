//! Text generation: the [`Generator`] trait and its implementation for
//! quantized GGUF files run in process with candle ([`GgufGenerator`]).
//!
//! The rest of Guichet sees only the trait: a prompt (raw text or chat
//! messages) goes in, text deltas come out through a callback, and a
//! [`Cancel`] flag lets the caller stop between two tokens (a citizen closed
//! the page). Nothing here knows about retrieval or HTTP.
//!
//! Loading reads `general.architecture` into the closed [`Architecture`]
//! enum, rebuilds the tokenizer from the file, picks the chat format from the
//! file's template (plain completion for base models) and loads one shared
//! decoder implementation (`decoder.rs`).

pub mod arch;
mod attention;
mod decoder;
pub mod gguf;
mod linear;
pub mod stream;
pub mod template;
pub mod tokenizer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use candle_core::{DType, Tensor, D};
use candle_transformers::generation::{LogitsProcessor, Sampling};

pub use arch::{Architecture, UnknownArchitecture};
pub use gguf::{GgufFile, GgufSummary};
pub use stream::TextStream;
pub use template::ChatFormat;
pub use tokenizer::TextTokenizer;

use decoder::{Decoder, DecoderConfig, LoadOptions};

use crate::{Error, Result};

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions from the application (the system prompt).
    System,
    /// The citizen.
    User,
    /// The assistant (earlier answers).
    Assistant,
}

impl Role {
    /// The role's name in chat templates.
    pub fn name(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Its author.
    pub role: Role,
    /// Its text.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// What to generate from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Text continued as is (trusted: special-token strings in it count).
    Raw(String),
    /// A conversation rendered with the model's chat format.
    Chat(Vec<ChatMessage>),
}

/// Sampling and stopping parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationParams {
    /// Most tokens to generate.
    pub max_new_tokens: usize,
    /// 0 means greedy (always the most likely token): reproducible and, for
    /// extractive answers from sources, usually the most faithful.
    pub temperature: f64,
    /// Keep only the `k` most likely tokens before sampling.
    pub top_k: Option<usize>,
    /// Keep the smallest set of tokens whose probability reaches `p`.
    pub top_p: Option<f64>,
    /// Divides the logit of every token seen in the last
    /// `repeat_window` tokens (1.0 = off); small models loop without it.
    pub repeat_penalty: f32,
    /// How many recent tokens the repetition penalty looks at.
    pub repeat_window: usize,
    /// Seed of the sampler: the same seed gives the same text.
    pub seed: u64,
    /// Generation ends before any of these strings, which are not shown.
    pub stop: Vec<String>,
    /// Keep going past end-of-text tokens (benchmarks: a fixed number of
    /// tokens, as llama-bench does).
    pub ignore_eos: bool,
}

impl Default for GenerationParams {
    fn default() -> Self {
        Self {
            max_new_tokens: 256,
            temperature: 0.0,
            top_k: None,
            top_p: None,
            repeat_penalty: 1.1,
            repeat_window: 64,
            seed: 42,
            stop: Vec::new(),
            ignore_eos: false,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model produced an end-of-sequence or end-of-turn token.
    EndOfText,
    /// A stop string was met.
    StopString,
    /// `max_new_tokens` was reached.
    Length,
    /// The caller cancelled.
    Cancelled,
}

/// The outcome of one generation.
#[derive(Debug, Clone)]
pub struct Generation {
    /// The whole generated text (what the callback received).
    pub text: String,
    /// Why it ended.
    pub finish: FinishReason,
    /// Tokens in the prompt.
    pub prompt_tokens: usize,
    /// Prompt tokens whose keys and values were reused from the cache.
    pub cached_prompt_tokens: usize,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// Seconds spent on the prompt (time to first token, less sampling).
    pub prompt_seconds: f64,
    /// Seconds spent generating after the prompt.
    pub generation_seconds: f64,
}

/// A flag the caller sets to stop a generation between two tokens.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag not set.
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks the generation to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    /// Whether stopping was asked.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What the rest of the service needs to know about a loaded generator.
#[derive(Debug, Clone)]
pub struct GeneratorInfo {
    /// A stable identifier (the file name).
    pub id: String,
    /// The architecture; `None` for a model behind a server, which does
    /// not say.
    pub architecture: Option<Architecture>,
    /// Tokens the context holds (prompt and answer together).
    pub context: usize,
    /// Tokens the model was trained for.
    pub trained_context: usize,
    /// The chat format in use ([`ChatFormat::Server`] when a server
    /// renders the messages).
    pub chat_format: ChatFormat,
    /// The tokenizer family (`llama`, `gpt2`, `tokenizer.json`; `server`
    /// when token counts are estimated).
    pub tokenizer: String,
}

/// Streaming text generation: the model boundary for answers.
pub trait Generator: Send {
    /// What was loaded.
    fn info(&self) -> &GeneratorInfo;

    /// The tokens `prompt` takes once rendered (for context budgeting).
    fn prompt_tokens(&mut self, prompt: &Prompt) -> Result<usize>;

    /// Tokens of a piece of text (for budgeting sources).
    fn count_tokens(&self, text: &str) -> Result<usize>;

    /// Generates from `prompt`, calling `on_text` with each new piece of
    /// text (valid UTF-8, never part of a stop string), until a stop token,
    /// a stop string, `max_new_tokens` or `cancel`.
    fn generate(
        &mut self,
        prompt: &Prompt,
        params: &GenerationParams,
        cancel: &Cancel,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation>;

    /// Log-probability of each of `choices` as the first token written
    /// after `prompt` (the first token of each choice: give one-token
    /// strings such as digits). One pass over the prompt and no sampling:
    /// the cheap way to have a model pick among numbered options.
    fn choice_logprobs(&mut self, prompt: &Prompt, choices: &[String]) -> Result<Vec<f32>> {
        let _ = (prompt, choices);
        Err(Error::Unsupported(format!(
            "{} cannot score choices",
            self.info().id
        )))
    }

    /// Log-probability of each token of `text` given the ones before (the
    /// first token is not scored), for rows where `keep(index)` holds; the
    /// others are `NaN`. Used to measure perplexity.
    fn token_logprobs(&mut self, text: &str, keep: &dyn Fn(usize) -> bool) -> Result<Vec<f32>> {
        let _ = (text, keep);
        Err(Error::Unsupported(format!(
            "{} cannot score text",
            self.info().id
        )))
    }
}

/// How a GGUF generator is loaded.
#[derive(Debug, Clone)]
pub struct GeneratorOptions {
    /// Tokens of context to allocate (capped at the trained length).
    pub context: usize,
    /// Force chat templating on (`Some(true)`) or plain completion
    /// (`Some(false)`); by default, the file's template decides.
    pub chat: Option<bool>,
    /// A `tokenizer.json` to use instead of the GGUF's own tokenizer.
    pub tokenizer_json: Option<PathBuf>,
    /// Rewrite Q5_0 weights as Q8_0 (lossless) to use SIMD kernels.
    pub widen_q5_0: bool,
    /// Fuse projections that read the same input.
    pub fuse: bool,
    /// Prompt tokens per forward pass: bounds the memory of long prompts;
    /// results do not depend on it.
    pub prefill_chunk: usize,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        Self {
            context: 4096,
            chat: None,
            tokenizer_json: None,
            widen_q5_0: true,
            fuse: true,
            prefill_chunk: 512,
        }
    }
}

/// Splits `from..to` into chunks of at most `chunk` tokens (at least 4),
/// none of a single token when the range has more: one-row matmuls take
/// another kernel path in candle (Q6_K), whose last bits differ, and a
/// prompt's numbers must not depend on how it was split.
fn chunks(from: usize, to: usize, chunk: usize) -> Vec<std::ops::Range<usize>> {
    let chunk = chunk.max(4);
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let mut end = (at + chunk).min(to);
        if to - end == 1 {
            end -= 1;
        }
        out.push(at..end);
        at = end;
    }
    out
}

/// A GGUF model run in process with candle.
pub struct GgufGenerator {
    info: GeneratorInfo,
    model: Decoder,
    tokenizer: TextTokenizer,
    /// Prompt tokens whose keys and values are in the cache, in order.
    cached: Vec<u32>,
    prefill_chunk: usize,
}

impl GgufGenerator {
    /// Loads `path` with `opts`.
    pub fn load(path: &Path, opts: &GeneratorOptions) -> Result<Self> {
        let mut gguf = GgufFile::open(path)?;
        let arch = gguf.architecture()?;
        let cfg = DecoderConfig::from_gguf(&gguf, arch)?;
        let tokenizer = TextTokenizer::from_gguf(&gguf, opts.tokenizer_json.as_deref())?;
        let template = gguf
            .opt_string("tokenizer.chat_template")
            .and_then(ChatFormat::from_template);
        let chat_format = match (opts.chat, template) {
            (Some(false), _) | (None, None) => ChatFormat::Plain,
            (_, Some(f)) => f,
            (Some(true), None) => match arch {
                Architecture::Gemma3 => ChatFormat::Gemma,
                Architecture::Qwen2 | Architecture::Qwen3 => ChatFormat::ChatMl,
                Architecture::Phi3 => ChatFormat::Phi3,
                Architecture::Llama => ChatFormat::ChatMl,
            },
        };
        let context = opts.context.clamp(16, cfg.train_ctx.max(16));
        let trained_context = cfg.train_ctx;
        let model = Decoder::load(
            &mut gguf,
            cfg,
            &LoadOptions {
                context,
                widen_q5_0: opts.widen_q5_0,
                fuse: opts.fuse,
            },
        )?;
        let id = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Self {
            info: GeneratorInfo {
                id,
                architecture: Some(arch),
                context,
                trained_context,
                chat_format,
                tokenizer: tokenizer.kind.clone(),
            },
            model,
            tokenizer,
            cached: Vec::new(),
            prefill_chunk: opts.prefill_chunk,
        })
    }

    /// The prompt's token ids: BOS, then the rendered segments.
    fn encode_prompt(&mut self, prompt: &Prompt) -> Result<Vec<u32>> {
        let mut ids: Vec<u32> = self.tokenizer.bos.into_iter().collect();
        match prompt {
            Prompt::Raw(text) => ids.extend(self.tokenizer.encode_trusted(text)?),
            Prompt::Chat(messages) => {
                for seg in self.info.chat_format.render(messages) {
                    let part = if seg.trusted {
                        self.tokenizer.encode_trusted(&seg.text)?
                    } else {
                        self.tokenizer.encode_untrusted(&seg.text)?
                    };
                    ids.extend(part);
                }
            }
        }
        Ok(ids)
    }

    /// Feeds `tokens`, reusing the longest prefix already in the cache
    /// (at least two tokens are computed, see [`chunks`]); returns the logits
    /// of the last token and how many tokens were reused.
    fn prefill(&mut self, tokens: &[u32]) -> Result<(Tensor, usize)> {
        let common = self
            .cached
            .iter()
            .zip(tokens)
            .take_while(|(a, b)| a == b)
            .count()
            .min(tokens.len().saturating_sub(2));
        self.cached.truncate(common);
        let mut logits = None;
        for range in chunks(common, tokens.len(), self.prefill_chunk) {
            let chunk = &tokens[range.clone()];
            let out = self.model.forward(chunk, range.start, &[chunk.len() - 1])?;
            self.cached.extend_from_slice(chunk);
            logits = Some(out);
        }
        let logits = logits.ok_or_else(|| Error::Unsupported("empty prompt".into()))?;
        Ok((logits.squeeze(0)?, common))
    }
}

fn sampler(params: &GenerationParams) -> LogitsProcessor {
    let t = params.temperature;
    let sampling = if t <= 0.0 {
        Sampling::ArgMax
    } else {
        match (params.top_k, params.top_p) {
            (None, None) => Sampling::All { temperature: t },
            (Some(k), None) => Sampling::TopK { k, temperature: t },
            (None, Some(p)) => Sampling::TopP { p, temperature: t },
            (Some(k), Some(p)) => Sampling::TopKThenTopP {
                k,
                p,
                temperature: t,
            },
        }
    };
    LogitsProcessor::from_sampling(params.seed, sampling)
}

impl Generator for GgufGenerator {
    fn info(&self) -> &GeneratorInfo {
        &self.info
    }

    fn prompt_tokens(&mut self, prompt: &Prompt) -> Result<usize> {
        Ok(self.encode_prompt(prompt)?.len())
    }

    fn count_tokens(&self, text: &str) -> Result<usize> {
        self.tokenizer.count(text)
    }

    fn generate(
        &mut self,
        prompt: &Prompt,
        params: &GenerationParams,
        cancel: &Cancel,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let started = Instant::now();
        let tokens = self.encode_prompt(prompt)?;
        let asked = tokens.len() + params.max_new_tokens;
        if tokens.is_empty() || asked > self.model.capacity() {
            return Err(Error::ContextOverflow {
                requested: asked,
                allowed: self.model.capacity(),
            });
        }
        let mut stops: Vec<String> = params.stop.clone();
        stops.extend(
            self.info
                .chat_format
                .stop_strings()
                .iter()
                .map(|s| s.to_string()),
        );
        let mut stream = TextStream::new(stops);
        let mut sampler = sampler(params);
        let mut history: Vec<u32> = tokens.clone();
        let (mut logits, reused) = self.prefill(&tokens)?;
        let prompt_seconds = started.elapsed().as_secs_f64();
        let gen_start = Instant::now();
        let mut generated = 0;
        let finish = loop {
            if cancel.is_cancelled() {
                break FinishReason::Cancelled;
            }
            let window_start = history.len().saturating_sub(params.repeat_window);
            let recent = &history[window_start..];
            let penalty = params.repeat_penalty;
            let next = sampler.sample_f(&logits.to_dtype(DType::F32)?, |l| {
                if penalty != 1.0 {
                    let mut seen = std::collections::HashSet::new();
                    for &t in recent {
                        if seen.insert(t) {
                            if let Some(v) = l.get_mut(t as usize) {
                                *v = if *v >= 0.0 {
                                    *v / penalty
                                } else {
                                    *v * penalty
                                };
                            }
                        }
                    }
                }
            })?;
            if !params.ignore_eos && self.tokenizer.stop_ids.contains(&next) {
                break FinishReason::EndOfText;
            }
            generated += 1;
            history.push(next);
            let delta = stream.push(&self.tokenizer, next)?;
            if !delta.is_empty() {
                on_text(&delta);
            }
            if stream.stopped() {
                break FinishReason::StopString;
            }
            if generated >= params.max_new_tokens {
                break FinishReason::Length;
            }
            if cancel.is_cancelled() {
                break FinishReason::Cancelled;
            }
            let pos = tokens.len() + generated - 1;
            logits = self.model.forward(&[next], pos, &[0])?.squeeze(0)?;
        };
        // Only prompt tokens stay reusable: generated ones were computed one
        // at a time, with other rounding than a prompt containing them.
        self.cached.truncate(tokens.len());
        let tail = stream.finish(&self.tokenizer)?;
        if !tail.is_empty() {
            on_text(&tail);
        }
        Ok(Generation {
            text: stream.text().to_owned(),
            finish,
            prompt_tokens: tokens.len(),
            cached_prompt_tokens: reused,
            generated_tokens: generated,
            prompt_seconds,
            generation_seconds: gen_start.elapsed().as_secs_f64(),
        })
    }

    fn choice_logprobs(&mut self, prompt: &Prompt, choices: &[String]) -> Result<Vec<f32>> {
        let tokens = self.encode_prompt(prompt)?;
        if tokens.is_empty() || tokens.len() + 1 > self.model.capacity() {
            return Err(Error::ContextOverflow {
                requested: tokens.len() + 1,
                allowed: self.model.capacity(),
            });
        }
        let (logits, _) = self.prefill(&tokens)?;
        let logp = candle_nn::ops::log_softmax(&logits.to_dtype(DType::F32)?, D::Minus1)?
            .to_vec1::<f32>()?;
        choices
            .iter()
            .map(|c| {
                let id = self.tokenizer.encode_untrusted(c)?.first().copied();
                Ok(id
                    .and_then(|id| logp.get(id as usize).copied())
                    .unwrap_or(f32::NEG_INFINITY))
            })
            .collect()
    }

    fn token_logprobs(&mut self, text: &str, keep: &dyn Fn(usize) -> bool) -> Result<Vec<f32>> {
        let mut tokens: Vec<u32> = self.tokenizer.bos.into_iter().collect();
        let offset = tokens.len();
        tokens.extend(self.tokenizer.encode_untrusted(text)?);
        if tokens.len() > self.model.capacity() {
            return Err(Error::ContextOverflow {
                requested: tokens.len(),
                allowed: self.model.capacity(),
            });
        }
        self.cached.clear();
        // Token i of `text` (at position offset + i) is predicted by row offset + i - 1.
        let mut out = vec![f32::NAN; tokens.len() - offset];
        for range in chunks(0, tokens.len(), self.prefill_chunk) {
            let at = range.start;
            let rows: Vec<usize> = range
                .clone()
                .filter(|&p| p + 1 < tokens.len() && p >= offset && keep(p + 1 - offset))
                .map(|p| p - at)
                .collect();
            let chunk = &tokens[range];
            let wanted = if rows.is_empty() {
                vec![chunk.len() - 1]
            } else {
                rows.clone()
            };
            let logits = self.model.forward(chunk, at, &wanted)?;
            if !rows.is_empty() {
                let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
                for (r, &row) in rows.iter().enumerate() {
                    let target = tokens[at + row + 1];
                    let v = logp.get(r)?.get(target as usize)?.to_scalar::<f32>()?;
                    out[at + row + 1 - offset] = v;
                }
            }
            self.cached.extend_from_slice(chunk);
        }
        Ok(out)
    }
}
