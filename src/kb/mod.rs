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

    /// Opens the knowledge base in `dir` to re-embed it: whatever model
    /// its vectors come from, without loading its vector index (of another
    /// dimension, maybe). Use only with [`KnowledgeBase::reembed`].
    pub fn open_to_reembed(dir: &Path) -> Result<Self> {
        let store = Store::open(&dir.join("guichet.db"))?;
        Ok(Self {
            dir: dir.to_owned(),
            store,
            vectors: VectorIndex::build(1, &[])?,
            embedder: Arc::new(NoEmbedder),
        })
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

    /// Re-embeds every chunk and curated question with `embedder` (a
    /// better model a town brings), then switches in one transaction (see
    /// [`reembed`] and [`KnowledgeBase::switch_to`]). `on_progress` gets
    /// (done, total) chunks.
    pub fn reembed(
        &mut self,
        embedder: Arc<dyn Embedder>,
        on_progress: &mut dyn FnMut(usize, usize),
    ) -> Result<usize> {
        let r = reembed(&self.store, embedder, on_progress)?;
        let n = r.chunks.len();
        self.switch_to(r)?;
        Ok(n)
    }

    /// Puts vectors from [`reembed`] in place: embeddings replaced and the
    /// model recorded in one transaction (chunks added meanwhile embedded
    /// inside it), the new index swapped in and saved. Callers hold the
    /// knowledge base's lock only for this.
    pub fn switch_to(&mut self, r: Reembedded) -> Result<()> {
        let model = format!("{}:{}", r.embedder.id(), r.embedder.dim());
        let e = r.embedder.clone();
        let mut late = false;
        self.store
            .replace_embeddings(&r.chunks, &r.curated, &model, &mut |added| {
                late = true;
                let refs: Vec<&str> = added.iter().map(|(_, t)| t.as_str()).collect();
                Ok(e.embed(&refs, guichet_models::EmbedKind::Passage)?)
            })?;
        self.embedder = r.embedder;
        if late {
            self.rebuild_index(&mut |_| {})
        } else {
            self.vectors = r.index;
            self.save_index()
        }
    }

    /// Removes a document; false if there was none.
    pub fn remove_document(&mut self, id: i64) -> Result<bool> {
        let removed = self.remove_document_unsaved(id)?;
        if removed {
            self.save_index()?;
        }
        Ok(removed)
    }

    /// Removes a document without saving the index file: for a batch
    /// (a crawl removing the pages gone from a site), whose caller saves
    /// it once at the end ([`KnowledgeBase::save_index`]).
    pub fn remove_document_unsaved(&mut self, id: i64) -> Result<bool> {
        self.store.remove_document(id)
    }
}

/// Vectors of every chunk and curated question for a new embedding model,
/// with their index: computed while the old ones keep serving.
pub struct Reembedded {
    /// The new model.
    pub embedder: Arc<dyn Embedder>,
    /// (chunk id, vector).
    pub chunks: Vec<(i64, Vec<f32>)>,
    /// (curated vector rowid, vector).
    pub curated: Vec<(i64, Vec<f32>)>,
    /// The vector index over `chunks`.
    pub index: VectorIndex,
}

/// Embeds every chunk (as passages) and curated question (as queries) of
/// `store` with `embedder` and builds their index, reading through its own
/// connection: nothing is written, so the service keeps answering with the
/// old model meanwhile. `on_progress` gets (done, total) chunks.
pub fn reembed(
    store: &Store,
    embedder: Arc<dyn Embedder>,
    on_progress: &mut dyn FnMut(usize, usize),
) -> Result<Reembedded> {
    let texts = store.chunk_texts()?;
    let total = texts.len();
    let mut chunks = Vec::with_capacity(total);
    for batch in texts.chunks(64) {
        let refs: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
        let vectors = embedder.embed(&refs, guichet_models::EmbedKind::Passage)?;
        chunks.extend(batch.iter().map(|(id, _)| *id).zip(vectors));
        on_progress(chunks.len(), total);
    }
    let curated_texts = store.curated_texts()?;
    let refs: Vec<&str> = curated_texts.iter().map(|(_, t)| t.as_str()).collect();
    let curated: Vec<(i64, Vec<f32>)> = if refs.is_empty() {
        Vec::new()
    } else {
        curated_texts
            .iter()
            .map(|(id, _)| *id)
            .zip(embedder.embed(&refs, guichet_models::EmbedKind::Query)?)
            .collect()
    };
    let index = VectorIndex::build(embedder.dim(), &chunks)?;
    Ok(Reembedded {
        embedder,
        chunks,
        curated,
        index,
    })
}

/// The placeholder embedder of a knowledge base opened to be re-embedded:
/// it refuses to embed, so nothing is searched with stale vectors.
struct NoEmbedder;

impl Embedder for NoEmbedder {
    fn id(&self) -> &str {
        "none"
    }
    fn dim(&self) -> usize {
        1
    }
    fn max_tokens(&self) -> usize {
        512
    }
    fn count_tokens(
        &self,
        text: &str,
        _kind: guichet_models::EmbedKind,
    ) -> guichet_models::Result<usize> {
        Ok(text.split_whitespace().count())
    }
    fn embed(
        &self,
        _texts: &[&str],
        _kind: guichet_models::EmbedKind,
    ) -> guichet_models::Result<Vec<Vec<f32>>> {
        Err(guichet_models::Error::Unsupported(
            "this knowledge base is being re-embedded".into(),
        ))
    }
}
