//! The seams between the answering engine and where its knowledge is
//! stored: [`Retriever`] (the knowledge base's search) and
//! [`TownKnowledge`] (the référents' exclusions and curated answers), with
//! their implementations for the embedded stores. They are declared here,
//! not in the stores, because the stores sit below the engine and know
//! nothing of it; another engine (PostgreSQL, a remote index) implements
//! the same traits.

use std::sync::Mutex;

use crate::kb::{Filters, KnowledgeBase, SearchHit};
use crate::referents::{Curated, Exclusion, Referents};
use crate::{Error, Result};

/// Where the assistant finds its sources: the seam between the engine and
/// the knowledge base (embedded SQLite + HNSW today, other engines later).
pub trait Retriever: Send + Sync {
    /// The `k` best chunks for `query`, whose embedding is `vector`, made
    /// by the embedding model `model` ([`Error::ModelChanged`] when the
    /// index has switched to another model since).
    fn search(
        &self,
        query: &str,
        vector: &[f32],
        model: &str,
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<SearchHit>>;

    /// How many chunks there are, and in how many each term occurs.
    fn term_frequencies(&self, terms: &[String]) -> Result<(u64, Vec<u64>)>;
}

impl Retriever for Mutex<KnowledgeBase> {
    fn search(
        &self,
        query: &str,
        vector: &[f32],
        model: &str,
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<SearchHit>> {
        let kb = self
            .lock()
            .map_err(|_| Error::Unavailable("the knowledge base lock is poisoned".into()))?;
        if kb.embedder().id() != model {
            return Err(Error::ModelChanged);
        }
        kb.search_with_vector(query, vector, k, filters)
    }

    fn term_frequencies(&self, terms: &[String]) -> Result<(u64, Vec<u64>)> {
        let kb = self
            .lock()
            .map_err(|_| Error::Unavailable("the knowledge base lock is poisoned".into()))?;
        let total = kb.store().chunk_count()?.max(0) as u64;
        Ok((total, kb.store().document_frequencies(terms)?))
    }
}

/// What the town's staff decided: topics not to answer and curated
/// answers, the seam between the engine and where they are stored.
pub trait TownKnowledge: Send + Sync {
    /// The excluded topics.
    fn exclusions(&self) -> Result<Vec<Exclusion>>;
    /// The vectors of the curated answers valid on `today` (the town's
    /// local date, `YYYY-MM-DD`): (id, text, vector).
    fn curated_vectors(&self, today: &str) -> Result<Vec<(i64, String, Vec<f32>)>>;
    /// One curated answer.
    fn curated(&self, id: i64) -> Result<Option<Curated>>;
}

fn locked(m: &Mutex<Referents>) -> Result<std::sync::MutexGuard<'_, Referents>> {
    m.lock()
        .map_err(|_| Error::Unavailable("the référents' store lock is poisoned".into()))
}

impl TownKnowledge for Mutex<Referents> {
    fn exclusions(&self) -> Result<Vec<Exclusion>> {
        locked(self)?.exclusions()
    }
    fn curated_vectors(&self, today: &str) -> Result<Vec<(i64, String, Vec<f32>)>> {
        locked(self)?.live_curated_vectors(today)
    }
    fn curated(&self, id: i64) -> Result<Option<Curated>> {
        locked(self)?.curated_by_id(id)
    }
}
