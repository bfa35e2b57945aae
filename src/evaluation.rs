//! The evaluation harness's view of the real assistant: [`InProcess`]
//! implements `guichet_eval::Answerer` with [`crate::rag::Assistant`], so
//! `guichet eval run` measures exactly what citizens get.

use std::path::Path;
use std::sync::Arc;

use guichet_eval::{Answered, AnsweredSource, Answerer, Turn as EvalTurn};
use guichet_models::{Cancel, EmbedKind};

use crate::rag::{Assistant, Request, Turn};

/// The assistant, in this process.
pub struct InProcess {
    assistant: Arc<Assistant>,
}

impl InProcess {
    /// Wraps an assistant.
    pub fn new(assistant: Arc<Assistant>) -> Self {
        Self { assistant }
    }
}

fn file_name(source: &str) -> String {
    Path::new(source)
        .file_name()
        .map_or(source.to_string(), |f| f.to_string_lossy().into_owned())
}

impl Answerer for InProcess {
    fn describe(&self) -> String {
        let a = &self.assistant;
        let generator = a
            .generator()
            .map_or("aucun modèle génératif".to_string(), |g| {
                g.info().id.clone()
            });
        format!(
            "en local — réponses {:?}, {generator}, plongements {}",
            a.settings().mode,
            a.embedder().id()
        )
    }

    fn answer(&self, question: &str, history: &[EvalTurn]) -> guichet_eval::Result<Answered> {
        let mut turns = Vec::new();
        let mut pending: Option<&str> = None;
        for t in history {
            match t.role.as_str() {
                "user" => pending = Some(&t.content),
                "assistant" => {
                    if let Some(q) = pending.take() {
                        turns.push(Turn {
                            question: q.to_string(),
                            standalone: q.to_string(),
                            answer: t.content.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
        if let Some(q) = pending {
            turns.push(Turn {
                question: q.to_string(),
                standalone: q.to_string(),
                answer: String::new(),
            });
        }
        let request = Request {
            message: question.to_string(),
            history: turns,
        };
        let a = self
            .assistant
            .answer(&request, &Cancel::new(), &mut |_| {})
            .map_err(|e| guichet_eval::Error::Answer(e.to_string()))?;
        Ok(Answered {
            status: a.status.as_str().to_string(),
            abstained: a.abstained,
            confidence: a.confidence,
            sources: a
                .sources
                .iter()
                .map(|s| AnsweredSource {
                    n: s.n,
                    document: file_name(&s.source),
                    title: s.title.clone(),
                    page: s.page,
                    page_end: s.page_end,
                    cited: s.cited,
                    text: s.text.clone(),
                })
                .collect(),
            first_token_ms: a.timings.first_token_ms as f64,
            total_ms: a.timings.total_ms as f64,
            generated_tokens: a.generated_tokens,
            model: a.model.clone(),
            mode: a.mode.as_str().to_string(),
            language: a.language.code().to_string(),
            answer: a.answer,
        })
    }

    fn contacts(&self) -> Vec<String> {
        let t = self.assistant.town();
        [&t.phone, &t.email]
            .into_iter()
            .filter(|c| !c.is_empty())
            .cloned()
            .collect()
    }

    fn embed(&self, texts: &[&str]) -> Option<Vec<Vec<f32>>> {
        self.assistant
            .embedder()
            .embed(texts, EmbedKind::Passage)
            .ok()
    }
}
