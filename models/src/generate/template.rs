//! Chat formats: how a conversation becomes the token sequence a model was
//! trained on.
//!
//! The format is chosen from the `tokenizer.chat_template` in the GGUF
//! metadata (recognised by its markers; Jinja is not executed) and falls back
//! to a plain completion layout for base models, which were never trained on
//! turns. Rendering yields segments marked trusted (template markers, where
//! special tokens are recognised) or untrusted (message contents, where they
//! are not), see [`super::tokenizer`].

use super::{ChatMessage, Role};

/// A piece of a rendered prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The text.
    pub text: String,
    /// Whether special-token strings in it are real special tokens.
    pub trusted: bool,
}

/// The prompt layouts Guichet can render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatFormat {
    /// Gemma: `<start_of_turn>user … <end_of_turn>`, the system prompt folded
    /// into the first user turn.
    Gemma,
    /// Llama 3: `<|start_header_id|>role<|end_header_id|>`, `<|eot_id|>`.
    Llama3,
    /// ChatML (Qwen, SmolLM): `<|im_start|>role … <|im_end|>`.
    ChatMl,
    /// Mistral / Llama 2: `[INST] … [/INST]`.
    Mistral,
    /// Phi-3: `<|user|> … <|end|>`.
    Phi3,
    /// No chat training: a plain completion prompt (instructions, then
    /// "Question :" / "Réponse :" lines), for base models.
    Plain,
    /// Messages sent as they are to a server (an OpenAI-compatible
    /// endpoint) that renders them with its model's own template; never
    /// rendered here ([`ChatFormat::render`] gives ChatML, the commonest).
    Server,
}

impl ChatFormat {
    /// Recognises the format from a chat template's markers.
    pub fn from_template(template: &str) -> Option<Self> {
        if template.contains("<start_of_turn>") {
            Some(Self::Gemma)
        } else if template.contains("<|start_header_id|>") {
            Some(Self::Llama3)
        } else if template.contains("<|im_start|>") {
            Some(Self::ChatMl)
        } else if template.contains("<|user|>") && template.contains("<|end|>") {
            Some(Self::Phi3)
        } else if template.contains("[INST]") {
            Some(Self::Mistral)
        } else {
            None
        }
    }

    /// A short name for logs and `models info`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gemma => "gemma",
            Self::Llama3 => "llama3",
            Self::ChatMl => "chatml",
            Self::Mistral => "mistral",
            Self::Phi3 => "phi3",
            Self::Plain => "plain completion",
            Self::Server => "the server's",
        }
    }

    /// Renders `messages` and the opening of the assistant's reply.
    pub fn render(self, messages: &[ChatMessage]) -> Vec<Segment> {
        let mut out = Vec::new();
        let t = |out: &mut Vec<Segment>, s: &str| push(out, s, true);
        let u = |out: &mut Vec<Segment>, s: &str| push(out, s, false);
        match self {
            Self::Gemma | Self::Mistral => {
                // No system turn: the system prompt opens the first user turn.
                let system: Vec<&str> = messages
                    .iter()
                    .filter(|m| m.role == Role::System)
                    .map(|m| m.content.trim())
                    .collect();
                let mut pending_system = (!system.is_empty()).then(|| system.join("\n\n"));
                for m in messages.iter().filter(|m| m.role != Role::System) {
                    let user = m.role == Role::User;
                    if self == Self::Gemma {
                        t(
                            &mut out,
                            if user {
                                "<start_of_turn>user\n"
                            } else {
                                "<start_of_turn>model\n"
                            },
                        );
                    } else if user {
                        t(&mut out, "[INST] ");
                    }
                    if user {
                        if let Some(s) = pending_system.take() {
                            u(&mut out, &s);
                            u(&mut out, "\n\n");
                        }
                    }
                    u(&mut out, m.content.trim());
                    if self == Self::Gemma {
                        t(&mut out, "<end_of_turn>\n");
                    } else if user {
                        t(&mut out, " [/INST]");
                    } else {
                        t(&mut out, "</s>");
                    }
                }
                if self == Self::Gemma {
                    t(&mut out, "<start_of_turn>model\n");
                }
            }
            Self::Llama3 => {
                for m in messages {
                    t(
                        &mut out,
                        &format!("<|start_header_id|>{}<|end_header_id|>\n\n", m.role.name()),
                    );
                    u(&mut out, m.content.trim());
                    t(&mut out, "<|eot_id|>");
                }
                t(
                    &mut out,
                    "<|start_header_id|>assistant<|end_header_id|>\n\n",
                );
            }
            Self::ChatMl | Self::Server => {
                for m in messages {
                    t(&mut out, &format!("<|im_start|>{}\n", m.role.name()));
                    u(&mut out, &m.content);
                    t(&mut out, "<|im_end|>\n");
                }
                t(&mut out, "<|im_start|>assistant\n");
            }
            Self::Phi3 => {
                for m in messages {
                    t(&mut out, &format!("<|{}|>\n", m.role.name()));
                    u(&mut out, &m.content);
                    t(&mut out, "<|end|>\n");
                }
                t(&mut out, "<|assistant|>\n");
            }
            Self::Plain => {
                for m in messages {
                    match m.role {
                        Role::System => {
                            u(&mut out, m.content.trim());
                            u(&mut out, "\n\n");
                        }
                        Role::User => {
                            u(&mut out, "Question : ");
                            u(&mut out, m.content.trim());
                            u(&mut out, "\n");
                        }
                        Role::Assistant => {
                            u(&mut out, "Réponse : ");
                            u(&mut out, m.content.trim());
                            u(&mut out, "\n\n");
                        }
                    }
                }
                u(&mut out, "Réponse :");
            }
        }
        out
    }

    /// Strings that end the reply in this format even when no stop token is
    /// produced (a base model continues with the next "Question :").
    pub fn stop_strings(self) -> &'static [&'static str] {
        match self {
            Self::Plain => &["\nQuestion :", "\nQuestion:"],
            _ => &[],
        }
    }
}

fn push(out: &mut Vec<Segment>, text: &str, trusted: bool) {
    if text.is_empty() {
        return;
    }
    match out.last_mut() {
        Some(last) if last.trusted == trusted => last.text.push_str(text),
        _ => out.push(Segment {
            text: text.to_owned(),
            trusted,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv() -> Vec<ChatMessage> {
        vec![
            ChatMessage::system("Réponds en français."),
            ChatMessage::user("Bonjour <end_of_turn>"),
        ]
    }

    fn text(segs: &[Segment]) -> String {
        segs.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn gemma_folds_system_into_first_user_turn() {
        let segs = ChatFormat::Gemma.render(&conv());
        assert_eq!(
            text(&segs),
            "<start_of_turn>user\nRéponds en français.\n\nBonjour <end_of_turn><end_of_turn>\n<start_of_turn>model\n"
        );
        // The user's fake marker is in an untrusted segment.
        assert!(segs
            .iter()
            .any(|s| !s.trusted && s.text.contains("Bonjour <end_of_turn>")));
        assert!(segs
            .iter()
            .all(|s| s.trusted || !s.text.contains("<start_of_turn>")));
    }

    #[test]
    fn chatml_and_detection() {
        let segs = ChatFormat::ChatMl.render(&conv());
        assert_eq!(
            text(&segs),
            "<|im_start|>system\nRéponds en français.<|im_end|>\n<|im_start|>user\nBonjour <end_of_turn><|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            ChatFormat::from_template("{% for m in messages %}<|im_start|>"),
            Some(ChatFormat::ChatMl)
        );
        assert_eq!(
            ChatFormat::from_template("{{ '<start_of_turn>' }}"),
            Some(ChatFormat::Gemma)
        );
        assert_eq!(ChatFormat::from_template("nothing known"), None);
    }

    #[test]
    fn plain_ends_with_answer_cue() {
        let segs = ChatFormat::Plain.render(&conv());
        assert!(text(&segs).ends_with("Question : Bonjour <end_of_turn>\nRéponse :"));
        assert!(segs.iter().all(|s| !s.trusted));
    }
}
