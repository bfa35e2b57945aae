//! Tests of `guichet-models` on the real default weights, compiled into one
//! test binary. The weights come from `guichet models fetch` (the README's
//! test command and `.ci/run` run it first); `GUICHET_MODELS` overrides the
//! folder.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod embed;
mod generate;
mod ggml;
mod support;
