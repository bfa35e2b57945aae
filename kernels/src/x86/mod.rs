//! The x86-64 versions of the kernels. Every function here is compiled with
//! `#[target_feature]` for its level and is entered only after
//! [`crate::Isa::supported`] said the CPU has those features.

pub(crate) mod avx2;
pub(crate) mod avx2_ggml;
pub(crate) mod avx512;
pub(crate) mod avx512_ggml;
