//! Reading GGUF files: metadata, a summary for `guichet models info`, and
//! tensors checked against the shape and type the architecture expects.
//!
//! candle's parser reads the header; this module adds what a user needs when a
//! file is wrong: every error names the file and the tensor or key, a
//! truncated file is detected before any weight is read, and a tensor of an
//! unexpected shape or quantization type is refused at load time rather than
//! failing inside a matmul.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::{ggml_file, GgmlDType, QTensor};
use candle_core::Device;

use super::arch::Architecture;
use super::linear::{native_format, Linear};
use crate::{Error, Result};

/// An opened GGUF file: parsed header and metadata, tensors read on demand.
pub struct GgufFile {
    path: PathBuf,
    content: Content,
    file: BufReader<File>,
}

impl GgufFile {
    /// Opens `path`, parses its header and checks that every tensor's data
    /// lies inside the file (a truncated download is reported here, naming
    /// the first tensor cut off).
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut file = BufReader::new(file);
        let content = Content::read(&mut file)
            .map_err(|e| Error::invalid(path, format!("not a readable GGUF file: {e}")))?;
        let mut infos: Vec<(&String, _)> = content.tensor_infos.iter().collect();
        infos.sort_by_key(|(_, info)| info.offset);
        for (name, info) in infos {
            let bytes =
                tensor_bytes(info.ggml_dtype, info.shape.elem_count()).ok_or_else(|| {
                    Error::invalid(
                        path,
                        format!(
                            "tensor {name} has {} elements, not a whole number of {:?} blocks",
                            info.shape.elem_count(),
                            info.ggml_dtype
                        ),
                    )
                })?;
            let end = content.tensor_data_offset + info.offset + bytes as u64;
            if end > len {
                return Err(Error::invalid(
                    path,
                    format!("tensor {name} ends at byte {end} but the file has {len} bytes (truncated download?)"),
                ));
            }
        }
        Ok(Self {
            path: path.to_owned(),
            content,
            file,
        })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The architecture declared in `general.architecture`.
    pub fn architecture(&self) -> Result<Architecture> {
        let name = self.string("general.architecture")?;
        name.parse::<Architecture>()
            .map_err(|e| Error::Unsupported(format!("{}: {e}", self.path.display())))
    }

    /// The raw metadata value for `key`, if present.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.content.metadata.get(key)
    }

    fn missing(&self, key: &str) -> Error {
        Error::invalid(&self.path, format!("missing metadata key {key}"))
    }

    fn wrong_type(&self, key: &str, want: &str) -> Error {
        Error::invalid(&self.path, format!("metadata key {key} is not {want}"))
    }

    /// A string metadata value; an error naming the key when absent.
    pub fn string(&self, key: &str) -> Result<&str> {
        let v = self.value(key).ok_or_else(|| self.missing(key))?;
        v.to_string()
            .map(|s| s.as_str())
            .map_err(|_| self.wrong_type(key, "a string"))
    }

    /// An optional string metadata value.
    pub fn opt_string(&self, key: &str) -> Option<&str> {
        self.value(key)
            .and_then(|v| v.to_string().ok())
            .map(|s| s.as_str())
    }

    /// An unsigned integer metadata value of any integer width.
    pub fn uint(&self, key: &str) -> Result<u64> {
        let v = self.value(key).ok_or_else(|| self.missing(key))?;
        as_u64(v).ok_or_else(|| self.wrong_type(key, "an unsigned integer"))
    }

    /// An optional unsigned integer metadata value.
    pub fn opt_uint(&self, key: &str) -> Option<u64> {
        self.value(key).and_then(as_u64)
    }

    /// An optional float metadata value.
    pub fn opt_float(&self, key: &str) -> Option<f64> {
        match self.value(key)? {
            Value::F32(v) => Some(f64::from(*v)),
            Value::F64(v) => Some(*v),
            other => as_u64(other).map(|v| v as f64),
        }
    }

    /// An optional boolean metadata value.
    pub fn opt_bool(&self, key: &str) -> Option<bool> {
        self.value(key).and_then(|v| v.to_bool().ok())
    }

    /// A metadata array of strings (token lists, merges).
    pub fn strings(&self, key: &str) -> Result<Vec<&str>> {
        let v = self.value(key).ok_or_else(|| self.missing(key))?;
        let arr = v.to_vec().map_err(|_| self.wrong_type(key, "an array"))?;
        arr.iter()
            .map(|v| {
                v.to_string()
                    .map(|s| s.as_str())
                    .map_err(|_| self.wrong_type(key, "an array of strings"))
            })
            .collect()
    }

    /// A metadata array of numbers, as f32 (token scores).
    pub fn floats(&self, key: &str) -> Result<Vec<f32>> {
        let v = self.value(key).ok_or_else(|| self.missing(key))?;
        let arr = v.to_vec().map_err(|_| self.wrong_type(key, "an array"))?;
        arr.iter()
            .map(|v| match v {
                Value::F32(x) => Ok(*x),
                Value::F64(x) => Ok(*x as f32),
                other => as_u64(other)
                    .map(|x| x as f32)
                    .ok_or_else(|| self.wrong_type(key, "an array of numbers")),
            })
            .collect()
    }

    /// A metadata array of integers (token types).
    pub fn uints(&self, key: &str) -> Result<Vec<u64>> {
        let v = self.value(key).ok_or_else(|| self.missing(key))?;
        let arr = v.to_vec().map_err(|_| self.wrong_type(key, "an array"))?;
        arr.iter()
            .map(|v| as_u64(v).ok_or_else(|| self.wrong_type(key, "an array of integers")))
            .collect()
    }

    /// Whether the file has a tensor called `name`.
    pub fn has_tensor(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    /// The shape (outermost first, as in PyTorch) and type of tensor `name`.
    pub fn tensor_info(&self, name: &str) -> Option<(&[usize], GgmlDType)> {
        self.content
            .tensor_infos
            .get(name)
            .map(|i| (i.shape.dims(), i.ggml_dtype))
    }

    /// Reads a weight matrix for the generator's layers: a GGML block format
    /// the kernels read in place ([`super::linear`]) keeps its bytes as
    /// they are; any other type goes through [`GgufFile::tensor`] and candle.
    pub(crate) fn linear(
        &mut self,
        name: &str,
        expected: &[usize],
        widen_q5_0: bool,
    ) -> Result<Linear> {
        match self.content.tensor_infos.get(name).map(|i| i.ggml_dtype) {
            Some(dtype) if expected.len() == 2 && native_format(dtype).is_some() => {
                let (_, dtype, raw) = self.raw(name, expected)?;
                Linear::native(dtype, expected[0], expected[1], raw)
                    .map_err(|e| Error::invalid(&self.path, format!("tensor {name}: {e}")))
            }
            _ => Ok(Linear::candle(self.tensor(name, expected, widen_q5_0)?)?),
        }
    }

    /// The bytes of tensor `name`, its shape checked against `expected`.
    fn raw(&mut self, name: &str, expected: &[usize]) -> Result<(Vec<usize>, GgmlDType, Vec<u8>)> {
        let (dims, dtype, offset) = match self.content.tensor_infos.get(name) {
            Some(info) => (info.shape.dims().to_vec(), info.ggml_dtype, info.offset),
            None => return Err(Error::invalid(&self.path, format!("missing tensor {name}"))),
        };
        if dims != expected {
            return Err(Error::invalid(
                &self.path,
                format!("tensor {name} has shape {dims:?}, expected {expected:?}"),
            ));
        }
        if matches!(dtype, GgmlDType::Q8_1 | GgmlDType::Q8K) {
            return Err(Error::invalid(
                &self.path,
                format!("tensor {name} has type {dtype:?}, which is not a weight type"),
            ));
        }
        let elems: usize = dims.iter().product();
        let size = tensor_bytes(dtype, elems).ok_or_else(|| {
            Error::invalid(&self.path, format!("tensor {name}: bad size for {dtype:?}"))
        })?;
        let mut raw = vec![0u8; size];
        self.file
            .seek(SeekFrom::Start(self.content.tensor_data_offset + offset))
            .and_then(|_| self.file.read_exact(&mut raw))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok((dims, dtype, raw))
    }

    /// Reads tensor `name`, checking its shape against `expected` (outermost
    /// first). With `widen_q5_0`, Q5_0 weights are rewritten as Q8_0 exactly
    /// (same blocks of 32, same scale, 5-bit values stored in 8 bits) so that
    /// they run on candle's SIMD Q8_0 kernels: Q5_0 has none on x86.
    pub fn tensor(&mut self, name: &str, expected: &[usize], widen_q5_0: bool) -> Result<QTensor> {
        let (dims, dtype, raw) = self.raw(name, expected)?;
        let (dtype, raw) = if widen_q5_0 && dtype == GgmlDType::Q5_0 {
            (GgmlDType::Q8_0, q5_0_to_q8_0(&raw))
        } else {
            (dtype, raw)
        };
        let bad = |e: candle_core::Error| Error::invalid(&self.path, format!("tensor {name}: {e}"));
        let t = ggml_file::qtensor_from_ggml(dtype, &raw, dims, &Device::Cpu).map_err(bad)?;
        if widen_q5_0 && dtype == GgmlDType::Q4_1 && t.shape().dims().len() == 2 {
            // Q4_1 (scale and offset per 32) has no SIMD kernel in candle on
            // x86; as Q8_0 each value moves by at most 1/254 of its block's
            // largest magnitude, about 6% of one Q4_1 step.
            let f = t.dequantize(&Device::Cpu).map_err(bad)?;
            return QTensor::quantize(&f, GgmlDType::Q8_0).map_err(bad);
        }
        Ok(t)
    }

    /// A summary of the file for `guichet models info`.
    pub fn summary(&self) -> GgufSummary {
        let mut types: BTreeMap<String, usize> = BTreeMap::new();
        let mut params = 0u64;
        for info in self.content.tensor_infos.values() {
            *types.entry(format!("{:?}", info.ggml_dtype)).or_default() += 1;
            params += info.shape.elem_count() as u64;
        }
        let arch = self
            .opt_string("general.architecture")
            .unwrap_or("?")
            .to_owned();
        let context = self.opt_uint(&format!("{arch}.context_length"));
        let vocab = self
            .value("tokenizer.ggml.tokens")
            .and_then(|v| v.to_vec().ok())
            .map(|v| v.len());
        GgufSummary {
            name: self.opt_string("general.name").map(str::to_owned),
            supported: arch.parse::<Architecture>().is_ok(),
            architecture: arch,
            parameters: params,
            tensor_types: types.into_iter().collect(),
            context_length: context,
            vocab_size: vocab,
            tokenizer: self.opt_string("tokenizer.ggml.model").map(str::to_owned),
            chat_template: self.opt_string("tokenizer.chat_template").is_some(),
        }
    }
}

/// What `guichet models info` prints about a GGUF file, read from its header
/// alone (no weights are loaded).
#[derive(Debug, Clone)]
pub struct GgufSummary {
    /// `general.name`, when present.
    pub name: Option<String>,
    /// `general.architecture`.
    pub architecture: String,
    /// Whether Guichet can run this architecture.
    pub supported: bool,
    /// Total number of weights over all tensors.
    pub parameters: u64,
    /// Quantization type → number of tensors of that type.
    pub tensor_types: Vec<(String, usize)>,
    /// The context length the model was trained for.
    pub context_length: Option<u64>,
    /// Number of tokens in the vocabulary.
    pub vocab_size: Option<usize>,
    /// `tokenizer.ggml.model` (`llama` = SentencePiece, `gpt2` = byte-level BPE).
    pub tokenizer: Option<String>,
    /// Whether the file carries a chat template.
    pub chat_template: bool,
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::U8(x) => Some(u64::from(*x)),
        Value::U16(x) => Some(u64::from(*x)),
        Value::U32(x) => Some(u64::from(*x)),
        Value::U64(x) => Some(*x),
        Value::I8(x) => u64::try_from(*x).ok(),
        Value::I16(x) => u64::try_from(*x).ok(),
        Value::I32(x) => u64::try_from(*x).ok(),
        Value::I64(x) => u64::try_from(*x).ok(),
        _ => None,
    }
}

/// Bytes taken by `elems` values of `dtype`, or `None` when `elems` is not a
/// whole number of blocks.
fn tensor_bytes(dtype: GgmlDType, elems: usize) -> Option<usize> {
    let block = dtype.block_size();
    if !elems.is_multiple_of(block) {
        return None;
    }
    Some(elems / block * dtype.type_size())
}

/// Rewrites Q5_0 blocks (f16 scale, 4 bytes of high bits, 16 bytes of low
/// nibbles; value = scale × (q − 16)) as Q8_0 blocks (f16 scale, 32 signed
/// bytes; value = scale × q). Lossless: q − 16 fits in an i8.
fn q5_0_to_q8_0(raw: &[u8]) -> Vec<u8> {
    const IN: usize = 22;
    const OUT: usize = 34;
    let mut out = Vec::with_capacity(raw.len() / IN * OUT);
    for block in raw.chunks_exact(IN) {
        out.extend_from_slice(&block[0..2]);
        let qh = u32::from_le_bytes([block[2], block[3], block[4], block[5]]);
        let qs = &block[6..22];
        let mut vals = [0u8; 32];
        for j in 0..16 {
            let lo = (qs[j] & 0x0f) | ((((qh >> j) & 1) as u8) << 4);
            let hi = (qs[j] >> 4) | ((((qh >> (j + 16)) & 1) as u8) << 4);
            vals[j] = (lo as i8 - 16) as u8;
            vals[j + 16] = (hi as i8 - 16) as u8;
        }
        out.extend_from_slice(&vals);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Tensor;

    #[test]
    fn q5_0_widening_is_exact() {
        let data: Vec<f32> = (0..256)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let t = Tensor::from_vec(data, (4, 64), &Device::Cpu).unwrap();
        let q5 = QTensor::quantize(&t, GgmlDType::Q5_0).unwrap();
        let raw = q5.data().unwrap();
        let q8 = ggml_file::qtensor_from_ggml(
            GgmlDType::Q8_0,
            &q5_0_to_q8_0(&raw),
            vec![4, 64],
            &Device::Cpu,
        )
        .unwrap();
        let a = q5
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let b = q8
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(a, b);
    }
}
