//! Causal self-attention over a KV cache, on plain `f32` slices.
//!
//! Why not candle's batched matmuls with an additive mask: their summation
//! order depends on the shape of the batch, so the same position computed
//! in a prompt of 17 tokens or one token at a time gives slightly different
//! values, which the 8-bit activation quantization of the next layers
//! amplifies (log-probabilities moved by 0.1 on a 17-token prompt). Here
//! every query row is computed on its own, in a fixed order, over exactly
//! the keys it may see (causal, and within the sliding window for local
//! layers): a position's result never depends on how the prompt was cut into
//! chunks, so reusing a cached prompt prefix cannot change an answer, and a
//! fixed seed gives the same text. It also needs no mask tensor and no
//! transposes, and costs a few percent of a forward pass.

use rayon::prelude::*;

/// Keys and values of one layer for positions `0..capacity`, laid out
/// `[kv_head][position][head_dim]`.
pub struct KvCache {
    k: Vec<f32>,
    v: Vec<f32>,
    n_kv_head: usize,
    capacity: usize,
    head_dim: usize,
}

impl KvCache {
    /// A cache for `capacity` positions (zeroed lazily by the allocator).
    pub fn new(n_kv_head: usize, capacity: usize, head_dim: usize) -> Self {
        let n = n_kv_head * capacity * head_dim;
        Self {
            k: vec![0.0; n],
            v: vec![0.0; n],
            n_kv_head,
            capacity,
            head_dim,
        }
    }

    /// Stores keys and values of `seq` positions starting at `pos`, given as
    /// `[position][kv_head][head_dim]` (the projections' natural layout).
    pub fn store(&mut self, pos: usize, k: &[f32], v: &[f32]) {
        let (nkv, hd) = (self.n_kv_head, self.head_dim);
        let seq = k.len() / (nkv * hd);
        debug_assert!(pos + seq <= self.capacity, "checked by the caller");
        for i in 0..seq {
            for h in 0..nkv {
                let src = (i * nkv + h) * hd;
                let dst = (h * self.capacity + pos + i) * hd;
                self.k[dst..dst + hd].copy_from_slice(&k[src..src + hd]);
                self.v[dst..dst + hd].copy_from_slice(&v[src..src + hd]);
            }
        }
    }

    fn keys(&self, h: usize, from: usize, to: usize) -> &[f32] {
        let base = h * self.capacity * self.head_dim;
        &self.k[base + from * self.head_dim..base + to * self.head_dim]
    }

    fn values(&self, h: usize, from: usize, to: usize) -> &[f32] {
        let base = h * self.capacity * self.head_dim;
        &self.v[base + from * self.head_dim..base + to * self.head_dim]
    }
}

/// Attention of `seq` queries at positions `pos..pos + seq` given as
/// `[position][head][head_dim]` (already rotated and scaled), over the cache
/// (which already holds their own keys and values). Returns
/// `[position][head][head_dim]`, ready for the output projection.
pub fn attend(
    q: &[f32],
    cache: &KvCache,
    n_head: usize,
    pos: usize,
    window: Option<usize>,
) -> Vec<f32> {
    let hd = cache.head_dim;
    let group = n_head / cache.n_kv_head;
    let mut out = vec![0f32; q.len()];
    out.par_chunks_mut(hd).enumerate().for_each(|(item, o)| {
        let (i, h) = (item / n_head, item % n_head);
        let p = pos + i;
        let lo = window.map_or(0, |w| (p + 1).saturating_sub(w));
        let kvh = h / group;
        let qrow = &q[item * hd..(item + 1) * hd];
        let keys = cache.keys(kvh, lo, p + 1);
        let mut scores: Vec<f32> = keys.chunks_exact(hd).map(|k| dot(qrow, k)).collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for s in &mut scores {
            *s = (*s - max).exp();
            sum += *s;
        }
        let inv = 1.0 / sum;
        for (w, v) in scores
            .iter()
            .zip(cache.values(kvh, lo, p + 1).chunks_exact(hd))
        {
            let w = w * inv;
            for (o, v) in o.iter_mut().zip(v) {
                *o = v.mul_add(w, *o);
            }
        }
    });
    out
}

/// Dot product with eight independent accumulators (vectorised by LLVM).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] = x[l].mul_add(y[l], acc[l]);
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail = x.mul_add(*y, tail);
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(q: &[f32], k: &[Vec<f32>], v: &[Vec<f32>], visible: &[usize]) -> Vec<f32> {
        let s: Vec<f32> = visible
            .iter()
            .map(|&j| q.iter().zip(&k[j]).map(|(a, b)| a * b).sum())
            .collect();
        let m = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f32> = s.iter().map(|x| (x - m).exp()).collect();
        let z: f32 = e.iter().sum();
        let mut o = vec![0.0; q.len()];
        for (w, &j) in e.iter().zip(visible) {
            for (o, x) in o.iter_mut().zip(&v[j]) {
                *o += w / z * x;
            }
        }
        o
    }

    #[test]
    fn matches_naive_attention_with_window_and_groups_and_is_chunking_independent() {
        let (nh, nkv, hd, cap) = (4, 2, 12, 16);
        let val = |a: usize, b: usize| ((a * 31 + b * 17) % 23) as f32 / 11.0 - 1.0;
        let k: Vec<Vec<Vec<f32>>> = (0..nkv)
            .map(|h| {
                (0..cap)
                    .map(|p| (0..hd).map(|d| val(h * 100 + p, d)).collect())
                    .collect()
            })
            .collect();
        let v: Vec<Vec<Vec<f32>>> = (0..nkv)
            .map(|h| {
                (0..cap)
                    .map(|p| (0..hd).map(|d| val(h * 7 + p, d + 3)).collect())
                    .collect()
            })
            .collect();
        let q: Vec<f32> = (0..cap * nh * hd).map(|i| val(i, 5)).collect();
        let mut cache = KvCache::new(nkv, cap, hd);
        let flat = |t: &Vec<Vec<Vec<f32>>>, p: usize| -> Vec<f32> {
            (0..nkv).flat_map(|h| t[h][p].clone()).collect()
        };
        for p in 0..cap {
            cache.store(p, &flat(&k, p), &flat(&v, p));
        }
        let window = Some(5);
        let all = attend(&q, &cache, nh, 0, window);
        for p in 0..cap {
            for h in 0..nh {
                let visible: Vec<usize> = (p.saturating_sub(4)..=p).collect();
                let qrow = &q[(p * nh + h) * hd..(p * nh + h + 1) * hd];
                let want = naive(qrow, &k[h / 2], &v[h / 2], &visible);
                let got = &all[(p * nh + h) * hd..(p * nh + h + 1) * hd];
                for (a, b) in want.iter().zip(got) {
                    assert!((a - b).abs() < 1e-5);
                }
            }
        }
        // The same positions computed in another chunking are bit-identical.
        let row = nh * hd;
        let tail = attend(&q[9 * row..], &cache, nh, 9, window);
        assert_eq!(&all[9 * row..], tail.as_slice());
    }
}
