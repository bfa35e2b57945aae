//! Text embedders: the [`Embedder`] trait the rest of Guichet sees, and its
//! candle implementations.
//!
//! * [`E5Embedder`]: multilingual-e5-small from its packed 4-bit file (the
//!   French-capable default);
//! * [`BertEmbedder`]: any BERT-family model in safetensors with its
//!   `tokenizer.json` (e.g. all-MiniLM-L6-v2, or a model the town brings).
//!
//! Both share the same input handling ([`windows`]): texts longer than the
//! model's window are cut into consecutive windows whose mean-pooled vectors
//! are averaged (weighted by token count) before L2 normalisation, so nothing
//! is silently truncated; windows of every text are sorted by length and run
//! in padded mini-batches, which keeps padding (wasted work) small.

use crate::Result;

mod bert;
mod e5;
mod ops;
pub mod windows;

pub use bert::BertEmbedder;
pub use e5::{E5Embedder, E5File, E5Tokenizer, WeightMode};

/// What a text is, for models trained with asymmetric prefixes (e5 uses
/// `query: ` and `passage: `); models without prefixes ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmbedKind {
    /// A citizen's question, embedded to search with.
    Query,
    /// A document chunk, embedded to be found.
    Passage,
}

/// A sentence embedder: texts in, L2-normalised vectors out.
///
/// This is the model boundary: the knowledge base and the answering engine
/// hold an `Arc<dyn Embedder>` and never see candle types, so a different
/// implementation (another model, a remote service) slots in without changes.
pub trait Embedder: Send + Sync {
    /// A stable identifier of the model (stored with the vectors, so that an
    /// index built by another model is detected).
    fn id(&self) -> &str;

    /// Dimension of the vectors.
    fn dim(&self) -> usize;

    /// Tokens the model sees at once (special tokens included). Longer inputs
    /// are windowed, not truncated.
    fn max_tokens(&self) -> usize;

    /// Number of tokens `text` becomes (prefix and special tokens included,
    /// before windowing); chunkers use it to size chunks.
    fn count_tokens(&self, text: &str, kind: EmbedKind) -> Result<usize>;

    /// Embeds a batch of texts. Returns one unit-length vector of
    /// [`Embedder::dim`] floats per text, in order; an empty batch gives an
    /// empty result. An empty text is valid and gives the vector of the
    /// prefix and special tokens alone.
    fn embed(&self, texts: &[&str], kind: EmbedKind) -> Result<Vec<Vec<f32>>>;
}

/// Cosine similarity of two vectors (their dot product once normalised).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}
