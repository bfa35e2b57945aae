//! The closed set of decoder architectures Guichet can run, read from a GGUF
//! file's `general.architecture`.
//!
//! A closed enum (rather than a string passed around) means every supported
//! architecture has exactly one loader, checked by a unit test, and an
//! unsupported file is refused at load time with a message listing what is
//! supported, instead of failing somewhere inside the forward pass.

use std::fmt;
use std::str::FromStr;

/// A decoder-only architecture with a loader (`generate/decoder.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Architecture {
    /// Google Gemma 3 (text): sliding-window/global attention, QK norms,
    /// GELU-tanh, sandwich norms. The default model's architecture.
    Gemma3,
    /// Llama 1-3, Mistral, SmolLM and other Llama-shaped models.
    Llama,
    /// Qwen 2 / 2.5: Llama-shaped with biases on the Q, K and V projections.
    Qwen2,
    /// Qwen 3 (dense): Llama-shaped with Q and K RMS norms.
    Qwen3,
    /// Microsoft Phi-3: fused QKV and gate/up projections.
    Phi3,
}

impl Architecture {
    /// Every supported architecture, in the order shown to users.
    pub const ALL: [Architecture; 5] = [
        Architecture::Gemma3,
        Architecture::Llama,
        Architecture::Qwen2,
        Architecture::Qwen3,
        Architecture::Phi3,
    ];

    /// The name used in GGUF metadata (`general.architecture`) and as the
    /// prefix of the architecture's own metadata keys (`gemma3.block_count`).
    pub fn gguf_name(self) -> &'static str {
        match self {
            Architecture::Gemma3 => "gemma3",
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
            Architecture::Qwen3 => "qwen3",
            Architecture::Phi3 => "phi3",
        }
    }

    /// The supported names, comma-separated, for error messages.
    pub fn supported_list() -> String {
        Self::ALL
            .iter()
            .map(|a| a.gguf_name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.gguf_name())
    }
}

/// A GGUF file declares an architecture Guichet has no loader for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported model architecture {found:?}; supported: {supported}")]
pub struct UnknownArchitecture {
    /// What the file declared.
    pub found: String,
    /// The supported architectures, comma-separated.
    pub supported: String,
}

impl FromStr for Architecture {
    type Err = UnknownArchitecture;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.gguf_name() == s)
            .ok_or_else(|| UnknownArchitecture {
                found: s.to_owned(),
                supported: Self::supported_list(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_named() {
        for a in Architecture::ALL {
            assert_eq!(a.gguf_name().parse::<Architecture>(), Ok(a));
        }
        let err = "mamba".parse::<Architecture>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"mamba\"") && msg.contains("gemma3, llama, qwen2, qwen3, phi3"));
    }
}
