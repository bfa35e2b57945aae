//! Guichet's numeric kernels, the only crate of the workspace where `unsafe`
//! is allowed (everywhere else `unsafe_code = "forbid"` holds).
//!
//! Why a separate crate: x86 SIMD intrinsics (`std::arch`) need `unsafe` for
//! their loads and for calling a function compiled for an instruction set the
//! build target does not promise. Keeping all of it here makes the audit one
//! directory long: every `unsafe` block carries a `// SAFETY:` comment
//! (clippy's `undocumented_unsafe_blocks` is denied), and the safe API checks
//! every length the blocks rely on before entering them.
//!
//! Each kernel exists in three forms, chosen at run time ([`Isa::detected`]):
//! a portable scalar version that builds for any target and is the reference
//! the tests compare against, an AVX2 (+FMA) version, and an AVX-512 version
//! (with VNNI for the integer products). `GUICHET_KERNELS=scalar|avx2|avx512`
//! caps the choice (to compare them, or to rule a kernel out on a machine).
//!
//! The kernels:
//! - [`dot_f32`]: dot product of two `f32` slices (the vector index's
//!   distance on unit-length embeddings);
//! - [`int8`]: activations quantized to 8 bits per row ([`int8::QuantRows`]),
//!   weights to 7 bits per output ([`int8::Int8Matrix`]), and their product
//!   accumulated exactly in 32-bit integers ([`int8::matmul`]): the linear
//!   layers of the embedder;
//! - [`ggml`]: GGUF weights in their own block formats (Q4_0, Q4_1, Q5_0,
//!   Q8_0, Q4_K, Q6_K) times 8-bit activations, read in place: the
//!   generators' layers.

mod dot;
pub mod ggml;
pub mod int8;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

pub use dot::{dot_f32, dot_f32_with};

/// An instruction-set level a kernel can run at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Plain Rust, any target: the reference implementation.
    Scalar,
    /// x86-64 AVX2, FMA and F16C (every x86 server CPU since about 2015).
    Avx2,
    /// x86-64 AVX-512 F/BW with VNNI (`vpdpbusd`): Intel since Cascade Lake,
    /// AMD since Zen 4.
    Avx512,
}

impl Isa {
    /// Every level, lowest first.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Avx2, Isa::Avx512];

    /// The best level this CPU supports, capped by `GUICHET_KERNELS` when it
    /// is set. Detected once per process.
    pub fn detected() -> Isa {
        static DETECTED: OnceLock<Isa> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            let best = Isa::ALL
                .into_iter()
                .rev()
                .find(|isa| isa.supported())
                .unwrap_or(Isa::Scalar);
            match std::env::var("GUICHET_KERNELS").ok().as_deref() {
                Some(cap) => Isa::parse(cap).map_or(best, |cap| best.min(cap)),
                None => best,
            }
        })
    }

    /// Whether this CPU can run kernels at this level.
    pub fn supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                Isa::Avx2.supported()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The levels this CPU supports, lowest first (what the tests compare).
    pub fn all_supported() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|isa| isa.supported()).collect()
    }

    /// Reads `scalar`, `avx2` or `avx512`.
    pub fn parse(name: &str) -> Option<Isa> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" => Some(Isa::Scalar),
            "avx2" => Some(Isa::Avx2),
            "avx512" => Some(Isa::Avx512),
            _ => None,
        }
    }

    /// The level's name as `parse` reads it.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// This level if the CPU supports it, else the best one below it: what a
    /// kernel asked to run at `self` really runs at.
    pub(crate) fn usable(self) -> Isa {
        Isa::ALL
            .into_iter()
            .rev()
            .find(|isa| *isa <= self && isa.supported())
            .unwrap_or(Isa::Scalar)
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
