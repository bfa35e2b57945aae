//! The native GGML products read the block formats as candle does: the same
//! bytes (written by candle's quantizer) dequantize to the same numbers, and
//! the products agree with candle's quantized matmul up to the activations'
//! 8-bit rounding, which both make.

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use guichet_kernels::ggml::{matmul, Format, QuantActs, QuantMatrix};

const FORMATS: [(GgmlDType, Format); 6] = [
    (GgmlDType::Q4_0, Format::Q4_0),
    (GgmlDType::Q4_1, Format::Q4_1),
    (GgmlDType::Q5_0, Format::Q5_0),
    (GgmlDType::Q8_0, Format::Q8_0),
    (GgmlDType::Q4K, Format::Q4K),
    (GgmlDType::Q6K, Format::Q6K),
];

/// Deterministic values in [-1, 1) with a few large ones (as real weights).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let v = (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0;
            if i % 97 == 0 {
                v * 8.0
            } else {
                v
            }
        })
        .collect()
}

#[test]
fn native_formats_read_candles_bytes_and_agree_with_its_matmul() {
    let (rows, cols, m) = (24, 768, 5);
    let w = Tensor::from_vec(values(rows * cols, 3), (rows, cols), &Device::Cpu).unwrap();
    let x = values(m * cols, 5);
    for (dtype, format) in FORMATS {
        let q = QTensor::quantize(&w, dtype).unwrap();
        let native = QuantMatrix::new(format, rows, cols, q.data().unwrap().into_owned()).unwrap();
        // Dequantized values: the same numbers.
        let theirs = q
            .dequantize(&Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let mut ours = vec![0.0f32; cols];
        for (r, theirs) in theirs.iter().enumerate() {
            native.dequantize_row(r, &mut ours);
            for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1e-3),
                    "{format} row {r} value {i}: {a} vs candle's {b}"
                );
            }
        }
        // Products: both quantize the activations to 8 bits per block.
        let xt = Tensor::from_vec(x.clone(), (m, cols), &Device::Cpu).unwrap();
        let theirs = QMatMul::from_qtensor(q)
            .unwrap()
            .forward(&xt)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        let a = QuantActs::quantize(format, &x, m, cols);
        let mut ours = vec![0.0f32; m * rows];
        matmul(&native, &a, 0..m, 0..rows, &mut ours);
        let scale = theirs.iter().flatten().map(|v| v * v).sum::<f32>().sqrt() / (m * rows) as f32;
        for i in 0..m {
            for j in 0..rows {
                let (a, b) = (ours[i * rows + j], theirs[i][j]);
                assert!(
                    (a - b).abs() <= 0.02 * b.abs() + 0.05 * scale,
                    "{format} out ({i},{j}): {a} vs candle's {b}"
                );
            }
        }
    }
}
