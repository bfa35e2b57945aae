//! The SQLite store: the knowledge base's source of truth.
//!
//! Documents, their chunks (text, metadata and embedding) and the FTS5
//! lexical index live in one database file in WAL mode. A document is
//! replaced in one transaction (old chunks out, new chunks in), so a crash
//! leaves every document either fully old or fully new. Chunk ids grow
//! monotonically (AUTOINCREMENT) and are never reused, so an id still present
//! in the derived vector index can never point to another chunk.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use super::lexical;
use crate::schema::{blob, unblob};
use crate::Result;

/// A document to store.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// Where it comes from: the file path or URL; unique.
    pub source: String,
    /// A grouping chosen by the town (empty by default).
    pub collection: String,
    /// Its title.
    pub title: String,
    /// Its format (`pdf`, `service-public`...).
    pub format: String,
    /// sha256 of the file's bytes: an unchanged file is skipped.
    pub hash: String,
    /// Public URL, when known (Service-Public fiches).
    pub url: Option<String>,
    /// Document date (ISO), when known.
    pub date: Option<String>,
    /// Other metadata as a JSON object.
    pub metadata: serde_json::Value,
    /// Whether the title's words go into the lexical index.
    pub index_title: bool,
}

/// A chunk to store.
#[derive(Debug, Clone)]
pub struct NewChunk {
    /// Position in the document.
    pub ordinal: usize,
    /// Section path, " › "-joined.
    pub section: String,
    /// First page, for paged documents.
    pub page_start: Option<u32>,
    /// Last page.
    pub page_end: Option<u32>,
    /// The text.
    pub text: String,
    /// Its embedding (unit length).
    pub embedding: Vec<f32>,
}

/// Embeds chunks added during a re-embedding, given as (id, text).
pub type EmbedLate<'a> = &'a mut dyn FnMut(&[(i64, String)]) -> Result<Vec<Vec<f32>>>;

/// A stored document.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocumentRow {
    /// Its id.
    pub id: i64,
    /// Its source path or URL.
    pub source: String,
    /// Its collection.
    pub collection: String,
    /// Its title.
    pub title: String,
    /// Its format.
    pub format: String,
    /// sha256 of its bytes.
    pub hash: String,
    /// Public URL.
    pub url: Option<String>,
    /// Document date.
    pub date: Option<String>,
    /// Number of chunks.
    pub chunk_count: i64,
    /// When it was (re)ingested.
    pub ingested_at: String,
}

/// A stored chunk with its document's metadata, as search returns it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChunkRow {
    /// Chunk id.
    pub id: i64,
    /// Document id.
    pub document_id: i64,
    /// Document title.
    pub title: String,
    /// Document source.
    pub source: String,
    /// Document URL.
    pub url: Option<String>,
    /// Document format.
    pub format: String,
    /// Document collection.
    pub collection: String,
    /// Section path.
    pub section: String,
    /// First page.
    pub page_start: Option<u32>,
    /// Last page.
    pub page_end: Option<u32>,
    /// Position in the document.
    pub ordinal: i64,
    /// The text.
    pub text: String,
    /// The document's breadcrumb, when it has one (Service-Public fiches:
    /// "Accueil particuliers > Papiers - Citoyenneté > …"): its theme.
    pub breadcrumb: Option<String>,
}

/// A page of a crawled site as stored: what a re-crawl needs to ask only
/// for changes (`ETag`, `Last-Modified`) and to follow the links of a page
/// that did not change. Read from the document's metadata, where the
/// crawler writes `crawl_source`, `http_etag`, `http_last_modified`,
/// `links` and `base_href`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrawledPage {
    /// The document id.
    pub id: i64,
    /// sha256 of the bytes last fetched.
    pub hash: String,
    /// The `ETag` the site gave.
    pub etag: Option<String>,
    /// The `Last-Modified` the site gave.
    pub last_modified: Option<String>,
    /// The page's links as written (resolve against `base`).
    pub links: Vec<String>,
    /// The page's `<base href>`, if any.
    pub base: Option<String>,
}

/// The SQLite store.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    /// (See [`crate::schema`]: created, migrated or refused there.)
    pub fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            conn: crate::schema::open(path)?,
        })
    }

    /// An in-memory store, for tests.
    pub fn in_memory() -> Result<Self> {
        Ok(Self {
            conn: crate::schema::in_memory()?,
        })
    }

    /// A value of the `meta` table.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a value of the `meta` table.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    /// A counter bumped by every change of chunks: the vector index records
    /// the generation it was built at, and is rebuilt when it lags.
    pub fn generation(&self) -> Result<u64> {
        Ok(self
            .meta("generation")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// The id and hash of the document from `source`, if stored.
    pub fn find_source(&self, source: &str) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, hash FROM documents WHERE source = ?1",
                [source],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The stored pages of the crawl source `name`, by URL.
    pub fn crawled_pages(&self, name: &str) -> Result<HashMap<String, CrawledPage>> {
        let mut st = self.conn.prepare(
            "SELECT id, source, hash, json_extract(metadata, '$.http_etag'),
                    json_extract(metadata, '$.http_last_modified'),
                    json_extract(metadata, '$.links'), json_extract(metadata, '$.base_href')
             FROM documents
             WHERE json_valid(metadata) AND json_extract(metadata, '$.crawl_source') = ?1",
        )?;
        let rows = st.query_map([name], |r| {
            let links: Option<String> = r.get(5)?;
            Ok((
                r.get::<_, String>(1)?,
                CrawledPage {
                    id: r.get(0)?,
                    hash: r.get(2)?,
                    etag: r.get(3)?,
                    last_modified: r.get(4)?,
                    links: links
                        .map(|l| l.lines().map(str::to_string).collect())
                        .unwrap_or_default(),
                    base: r.get(6)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
    }

    /// Stores `doc` with its `chunks`, replacing any document from the same
    /// source, in one transaction. Returns the document id and chunk ids.
    pub fn replace_document(
        &mut self,
        doc: &NewDocument,
        chunks: &[NewChunk],
    ) -> Result<(i64, Vec<i64>)> {
        let tx = self.conn.transaction()?;
        // A new version keeps its document id (links and reviews point to it).
        let previous: Option<i64> = tx
            .query_row(
                "SELECT id FROM documents WHERE source = ?1",
                [&doc.source],
                |r| r.get(0),
            )
            .optional()?;
        delete_source(&tx, &doc.source)?;
        tx.execute(
            "INSERT INTO documents(id, source, collection, title, format, hash, url, date, metadata, chunk_count)
             VALUES (?10, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                doc.source,
                doc.collection,
                doc.title,
                doc.format,
                doc.hash,
                doc.url,
                doc.date,
                doc.metadata.to_string(),
                chunks.len() as i64,
                previous
            ],
        )?;
        let doc_id = tx.last_insert_rowid();
        let mut ids = Vec::with_capacity(chunks.len());
        {
            let mut ins = tx.prepare(
                "INSERT INTO chunks(document_id, ordinal, section, page_start, page_end, text, embedding)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut fts = tx.prepare("INSERT INTO chunks_fts(rowid, terms) VALUES (?1, ?2)")?;
            for c in chunks {
                ins.execute(params![
                    doc_id,
                    c.ordinal as i64,
                    c.section,
                    c.page_start,
                    c.page_end,
                    c.text,
                    blob(&c.embedding)
                ])?;
                let id = tx.last_insert_rowid();
                // Title and section count as words of the chunk.
                let title = if doc.index_title {
                    doc.title.as_str()
                } else {
                    ""
                };
                let terms = lexical::normalize(&format!("{title} {} {}", c.section, c.text));
                fts.execute(params![id, terms])?;
                ids.push(id);
            }
        }
        bump_generation(&tx)?;
        tx.commit()?;
        Ok((doc_id, ids))
    }

    /// Removes document `id` and its chunks; false if there was none.
    pub fn remove_document(&mut self, id: i64) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let source: Option<String> = tx
            .query_row("SELECT source FROM documents WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(source) = source else {
            return Ok(false);
        };
        delete_source(&tx, &source)?;
        bump_generation(&tx)?;
        tx.commit()?;
        Ok(true)
    }

    /// Every stored document, by id.
    pub fn documents(&self) -> Result<Vec<DocumentRow>> {
        let mut st = self.conn.prepare(
            "SELECT id, source, collection, title, format, hash, url, date, chunk_count, ingested_at FROM documents ORDER BY id",
        )?;
        let rows = st.query_map([], doc_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One document.
    pub fn document(&self, id: i64) -> Result<Option<DocumentRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, source, collection, title, format, hash, url, date, chunk_count, ingested_at FROM documents WHERE id = ?1",
                [id],
                doc_row,
            )
            .optional()?)
    }

    /// The chunks of document `id`, in order.
    pub fn document_chunks(&self, id: i64) -> Result<Vec<ChunkRow>> {
        let ids: Vec<i64> = {
            let mut st = self
                .conn
                .prepare("SELECT id FROM chunks WHERE document_id = ?1 ORDER BY ordinal")?;
            let rows = st.query_map([id], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let map = self.chunks(&ids)?;
        Ok(ids.iter().filter_map(|i| map.get(i).cloned()).collect())
    }

    /// Every chunk's id and text (what its embedding was computed from).
    pub fn chunk_texts(&self) -> Result<Vec<(i64, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT id, text FROM chunks ORDER BY id")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every curated answer's embedded texts, as `(rowid, text)`.
    pub fn curated_texts(&self) -> Result<Vec<(i64, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT rowid, text FROM curated_vectors ORDER BY rowid")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Replaces every embedding in one transaction — chunks', then curated
    /// answers' — and records `model` (`id:dimension`): a reader sees the
    /// old vectors or the new ones, never a mix. Chunks added meanwhile
    /// (absent from `chunks`) are embedded by `missing` inside it.
    pub fn replace_embeddings(
        &mut self,
        chunks: &[(i64, Vec<f32>)],
        curated: &[(i64, Vec<f32>)],
        model: &str,
        missing: EmbedLate<'_>,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut up = tx.prepare("UPDATE chunks SET embedding = ?1 WHERE id = ?2")?;
            for (id, v) in chunks {
                up.execute(params![blob(v), id])?;
            }
            let known: std::collections::HashSet<i64> = chunks.iter().map(|c| c.0).collect();
            let mut st = tx.prepare("SELECT id, text FROM chunks ORDER BY id")?;
            let late: Vec<(i64, String)> = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<(i64, String)>>>()?
                .into_iter()
                .filter(|(id, _)| !known.contains(id))
                .collect();
            if !late.is_empty() {
                for ((id, _), v) in late.iter().zip(missing(&late)?) {
                    up.execute(params![blob(&v), id])?;
                }
            }
            let mut upc =
                tx.prepare("UPDATE curated_vectors SET embedding = ?1 WHERE rowid = ?2")?;
            for (id, v) in curated {
                upc.execute(params![blob(v), id])?;
            }
        }
        tx.execute(
            "INSERT INTO meta(key, value) VALUES ('embedding_model', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [model],
        )?;
        bump_generation(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Chunks by id, with their document metadata (missing ids are absent:
    /// deleted chunks still in the vector index are filtered out here).
    pub fn chunks(&self, ids: &[i64]) -> Result<HashMap<i64, ChunkRow>> {
        let mut out = HashMap::new();
        let mut st = self.conn.prepare_cached(
            "SELECT c.id, c.document_id, d.title, d.source, d.url, d.format, d.collection, c.section,
                    c.page_start, c.page_end, c.ordinal, c.text,
                    json_extract(d.metadata, '$.breadcrumb')
             FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ?1",
        )?;
        for id in ids {
            let row = st
                .query_row([id], |r| {
                    Ok(ChunkRow {
                        id: r.get(0)?,
                        document_id: r.get(1)?,
                        title: r.get(2)?,
                        source: r.get(3)?,
                        url: r.get(4)?,
                        format: r.get(5)?,
                        collection: r.get(6)?,
                        section: r.get(7)?,
                        page_start: r.get(8)?,
                        page_end: r.get(9)?,
                        ordinal: r.get(10)?,
                        text: r.get(11)?,
                        breadcrumb: r.get(12)?,
                    })
                })
                .optional()?;
            if let Some(row) = row {
                out.insert(*id, row);
            }
        }
        Ok(out)
    }

    /// Every chunk's id and embedding (to rebuild the vector index).
    pub fn embeddings(&self) -> Result<Vec<(i64, Vec<f32>)>> {
        let mut st = self
            .conn
            .prepare("SELECT id, embedding FROM chunks ORDER BY id")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, unblob(&r.get::<_, Vec<u8>>(1)?)))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Number of documents (a count, not their rows: `/metrics` asks at
    /// every scrape while holding the knowledge base).
    pub fn document_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))?)
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM chunks", [], |r| r.get(0))?)
    }

    /// In how many chunks each of `terms` (normalised, as
    /// [`lexical::terms`] gives them) occurs: the rarity of a question's
    /// words, for the confidence score. Read from FTS5's own vocabulary.
    pub fn document_frequencies(&self, terms: &[String]) -> Result<Vec<u64>> {
        self.conn.execute_batch(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab USING fts5vocab(main, chunks_fts, row);",
        )?;
        let mut st = self
            .conn
            .prepare_cached("SELECT doc FROM temp.chunks_vocab WHERE term = ?1")?;
        terms
            .iter()
            .map(|t| {
                Ok(st
                    .query_row([t], |r| r.get::<_, i64>(0))
                    .optional()?
                    .unwrap_or(0)
                    .max(0) as u64)
            })
            .collect()
    }

    /// The `k` best chunks for `question` by BM25 (best first, with the
    /// BM25 score, higher is better).
    pub fn lexical(&self, question: &str, k: usize) -> Result<Vec<(i64, f64)>> {
        let Some(q) = lexical::fts_query(question) else {
            return Ok(Vec::new());
        };
        let mut st = self.conn.prepare_cached(
            "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY s LIMIT ?2",
        )?;
        let rows = st.query_map(params![q, k as i64], |r| {
            Ok((r.get::<_, i64>(0)?, -r.get::<_, f64>(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

/// Whether a document with these bytes (`hash`, their SHA-256) is stored,
/// read on `conn` (an import's transaction).
pub fn has_document_hash(conn: &Connection, hash: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM documents WHERE hash = ?1")?
        .exists([hash])?)
}

/// Every document with its metadata (what an export writes), read on
/// `conn`.
pub fn documents_with_metadata(conn: &Connection) -> Result<Vec<(DocumentRow, serde_json::Value)>> {
    let mut st = conn.prepare(
        "SELECT id, source, collection, title, format, hash, url, date, chunk_count, ingested_at, metadata
         FROM documents ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((doc_row(r)?, crate::schema::json_column(r, 10, "documents")?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn doc_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocumentRow> {
    Ok(DocumentRow {
        id: r.get(0)?,
        source: r.get(1)?,
        collection: r.get(2)?,
        title: r.get(3)?,
        format: r.get(4)?,
        hash: r.get(5)?,
        url: r.get(6)?,
        date: r.get(7)?,
        chunk_count: r.get(8)?,
        ingested_at: r.get(9)?,
    })
}

fn delete_source(tx: &rusqlite::Transaction<'_>, source: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM chunks_fts WHERE rowid IN (SELECT c.id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE d.source = ?1)",
        [source],
    )?;
    tx.execute(
        "DELETE FROM chunks WHERE document_id IN (SELECT id FROM documents WHERE source = ?1)",
        [source],
    )?;
    tx.execute("DELETE FROM documents WHERE source = ?1", [source])?;
    Ok(())
}

fn bump_generation(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO meta(key, value) VALUES ('generation', '1')
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [],
    )?;
    Ok(())
}
