//! Hybrid search: dense and lexical candidates fused by reciprocal rank.
//!
//! Reciprocal rank fusion (score = Σ 1 / (60 + rank)) needs no score
//! calibration between BM25 and cosine, and rewards chunks both sides agree
//! on. Proper nouns, form numbers and amounts come from the lexical side,
//! paraphrases from the dense side.

use std::collections::HashMap;

use guichet_models::EmbedKind;

use super::store::ChunkRow;
use super::KnowledgeBase;
use crate::{Error, Result};

/// A candidate's fused score, with (rank, score) on each side when found there.
type Fused = (f64, Option<(usize, f32)>, Option<(usize, f64)>);

/// RRF's constant: ranks beyond a few dozen contribute little.
const RRF_K: f64 = 60.0;

/// Which rankings a search uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SearchMode {
    /// Dense and lexical, fused (the default).
    #[default]
    Hybrid,
    /// Embeddings only (to measure each side).
    Dense,
    /// BM25 only.
    Lexical,
}

/// Restrictions on what a search may return.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Which rankings to use.
    pub mode: SearchMode,
    /// Only these collections (any when empty).
    pub collections: Vec<String>,
    /// Only these formats (any when empty).
    pub formats: Vec<String>,
    /// At most this many chunks per document (0 = no limit).
    pub max_per_document: usize,
    /// Source priorities: a chunk whose collection equals the key, or
    /// whose source path contains it, has its fused score multiplied by
    /// `1 + priority` (the largest matching priority counts).
    pub priorities: Vec<(String, f64)>,
    /// Candidates taken from each ranking before fusion (default: eight
    /// per hit asked, at least 50). Set it to ask for more hits than the
    /// ranking was tuned for without changing the fusion itself.
    pub depth: Option<usize>,
}

/// The priority of a chunk under `priorities` (0 when none matches).
fn priority(row: &ChunkRow, priorities: &[(String, f64)]) -> f64 {
    priorities
        .iter()
        .filter(|(k, _)| !k.is_empty() && (row.collection == *k || row.source.contains(k.as_str())))
        .map(|(_, p)| *p)
        .fold(0.0, f64::max)
}

/// One result of a search.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SearchHit {
    /// The chunk and its document's metadata.
    pub chunk: ChunkRow,
    /// Cosine similarity to the question, if the dense side found it.
    pub dense: Option<f32>,
    /// BM25 score, if the lexical side found it.
    pub lexical: Option<f64>,
    /// Rank on the dense side (1-based).
    pub dense_rank: Option<usize>,
    /// Rank on the lexical side (1-based).
    pub lexical_rank: Option<usize>,
    /// The fused score.
    pub fused: f64,
}

impl KnowledgeBase {
    /// The `k` best chunks for `question`.
    pub fn search(&self, question: &str, k: usize, filters: &Filters) -> Result<Vec<SearchHit>> {
        if k == 0 || question.trim().is_empty() {
            return Ok(Vec::new());
        }
        let q = self
            .embedder
            .embed(&[question], EmbedKind::Query)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Usage("the embedder returned no vector".into()))?;
        self.search_with_vector(question, &q, k, filters)
    }

    /// [`Self::search`] with the question's embedding already computed
    /// (the assistant reuses it to score sentences).
    pub fn search_with_vector(
        &self,
        question: &str,
        q: &[f32],
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<SearchHit>> {
        if k == 0 || question.trim().is_empty() {
            return Ok(Vec::new());
        }
        let candidates = filters.depth.unwrap_or((k * 8).max(50));
        let dense = if filters.mode == SearchMode::Lexical {
            Vec::new()
        } else {
            self.vectors.search(q, candidates)
        };
        let lexical = if filters.mode == SearchMode::Dense {
            Vec::new()
        } else {
            self.store.lexical(question, candidates)?
        };
        let mut fused: HashMap<i64, Fused> = HashMap::new();
        for (rank, (id, s)) in dense.iter().enumerate() {
            let e = fused.entry(*id).or_default();
            e.0 += 1.0 / (RRF_K + rank as f64 + 1.0);
            e.1 = Some((rank + 1, *s));
        }
        for (rank, (id, s)) in lexical.iter().enumerate() {
            let e = fused.entry(*id).or_default();
            e.0 += 1.0 / (RRF_K + rank as f64 + 1.0);
            e.2 = Some((rank + 1, *s));
        }
        let mut order: Vec<(i64, f64)> = fused.iter().map(|(id, v)| (*id, v.0)).collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let ids: Vec<i64> = order.iter().map(|(id, _)| *id).collect();
        let rows = self.store.chunks(&ids)?;
        if !filters.priorities.is_empty() {
            for (id, score) in &mut order {
                if let Some(row) = rows.get(id) {
                    *score *= 1.0 + priority(row, &filters.priorities);
                }
            }
            order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }
        let mut per_doc: HashMap<i64, usize> = HashMap::new();
        let mut hits = Vec::with_capacity(k);
        for (id, score) in order {
            // Deleted chunks still in the vector index have no row.
            let Some(row) = rows.get(&id) else { continue };
            if !filters.collections.is_empty() && !filters.collections.contains(&row.collection) {
                continue;
            }
            if !filters.formats.is_empty() && !filters.formats.contains(&row.format) {
                continue;
            }
            let n = per_doc.entry(row.document_id).or_default();
            if filters.max_per_document > 0 && *n >= filters.max_per_document {
                continue;
            }
            *n += 1;
            let (_, d, l) = fused[&id];
            hits.push(SearchHit {
                chunk: row.clone(),
                dense: d.map(|x| x.1),
                lexical: l.map(|x| x.1),
                dense_rank: d.map(|x| x.0),
                lexical_rank: l.map(|x| x.0),
                fused: score,
            });
            if hits.len() == k {
                break;
            }
        }
        Ok(hits)
    }
}
