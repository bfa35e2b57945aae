//! The knowledge base: the town's documents, chunked, embedded and indexed
//! twice — lexically (SQLite FTS5, BM25 over French-normalised terms) and
//! densely (hnsw_rs over embeddings) — and searched by fusing both.
//!
//! SQLite ([`store`]) is the source of truth, embeddings included; the HNSW
//! index ([`vector`]) is derived and rebuilt whenever it is missing, unreadable
//! or older than the database. [`ingest`] runs the pipeline from files to
//! stored chunks; [`search`] fuses the two rankings.

pub mod ingest;
pub mod lexical;
pub mod search;
pub mod store;
pub mod vector;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use guichet_models::Embedder;

pub use search::{Filters, SearchHit, SearchMode};
pub use store::{ChunkRow, DocumentRow, Store};
pub use vector::VectorIndex;

use crate::{Error, Result};

/// A knowledge base in a data directory: `guichet.db` and the `index/`
/// folder of the vector index.
pub struct KnowledgeBase {
    dir: PathBuf,
    store: Store,
    vectors: VectorIndex,
    embedder: Arc<dyn Embedder>,
}

impl KnowledgeBase {
    /// Opens (creating if needed) the knowledge base in `dir`, embedding with
    /// `embedder`. The vector index is loaded, or rebuilt from the stored
    /// embeddings when stale; `on_rebuild` is told how many vectors that takes.
    pub fn open(
        dir: &Path,
        embedder: Arc<dyn Embedder>,
        on_rebuild: &mut dyn FnMut(usize),
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let store = Store::open(&dir.join("guichet.db"))?;
        let model = format!("{}:{}", embedder.id(), embedder.dim());
        match store.meta("embedding_model")? {
            None => store.set_meta("embedding_model", &model)?,
            Some(m) if m != model && store.chunk_count()? > 0 => {
                return Err(Error::Usage(format!(
                    "the knowledge base in {} was embedded with {m}, not {model}: use the same --embedding-model, or start from an empty data directory",
                    dir.display()
                )))
            }
            Some(_) => store.set_meta("embedding_model", &model)?,
        }
        let mut kb = Self {
            dir: dir.to_owned(),
            store,
            vectors: VectorIndex::build(embedder.dim(), &[])?,
            embedder,
        };
        let generation = kb.store.generation()?;
        match VectorIndex::load(&kb.index_dir(), kb.embedder.dim(), generation) {
            Some(v) => kb.vectors = v,
            None => kb.rebuild_index(on_rebuild)?,
        }
        Ok(kb)
    }

    fn index_dir(&self) -> PathBuf {
        self.dir.join("index")
    }

    /// Rebuilds the vector index from the stored embeddings and saves it.
    pub fn rebuild_index(&mut self, on_rebuild: &mut dyn FnMut(usize)) -> Result<()> {
        let vectors = self.store.embeddings()?;
        if !vectors.is_empty() {
            on_rebuild(vectors.len());
        }
        self.vectors = VectorIndex::build(self.embedder.dim(), &vectors)?;
        self.save_index()
    }

    /// Writes the vector index (after ingestion) at the store's generation.
    pub fn save_index(&self) -> Result<()> {
        if self.vectors.is_empty() {
            let _ = std::fs::remove_dir_all(self.index_dir());
            return Ok(());
        }
        self.vectors
            .save(&self.index_dir(), self.store.generation()?)
    }

    /// The store (documents, chunks).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The embedder used for chunks and questions.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// Removes a document; false if there was none.
    pub fn remove_document(&mut self, id: i64) -> Result<bool> {
        let removed = self.store.remove_document(id)?;
        if removed {
            self.save_index()?;
        }
        Ok(removed)
    }
}
