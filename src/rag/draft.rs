//! The answer being made: one [`Draft`] goes through the stages of
//! [`super::Assistant::answer`], and [`Draft::finish`] is the one place an
//! [`Answer`] is built, so every field (abstained, curated, timings) is
//! derived the same way whatever stage ended the answer.

use std::time::Instant;

use serde::Serialize;

use super::{Answer, Event, Features, Language, Source, Status, Timings};

/// How an answer's text was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// No answer text from the sources: a refusal, a handoff, an exclusion
    /// or an abstention.
    None,
    /// A curated answer validated by the town, verbatim.
    Curated,
    /// Units of the sources, quoted.
    Extractive,
    /// Written by the generation model from the sources, checked.
    Generative,
    /// Units of the sources the generation model chose, quoted.
    Reader,
}

impl Mode {
    /// The name used in the API, the database and the evaluation.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Curated => "curated",
            Mode::Extractive => "extractive",
            Mode::Generative => "generative",
            Mode::Reader => "reader",
        }
    }
}

/// The answer so far; stages fill it, [`Draft::finish`] seals it.
#[derive(Debug)]
pub(super) struct Draft {
    start: Instant,
    first_token_ms: Option<u64>,
    retrieval_ms: u64,
    pub status: Status,
    pub confidence: f64,
    pub topic: Option<String>,
    pub text: String,
    pub sources: Vec<Source>,
    pub standalone: String,
    pub mode: Mode,
    pub fallback: bool,
    pub masked: usize,
    pub model: String,
    pub prompt_tokens: usize,
    pub generated_tokens: usize,
    pub features: Option<Features>,
    pub language: Language,
}

impl Draft {
    /// A draft for `standalone` (the question as searched), started at
    /// `start`, answered in `language`: not found until a stage says
    /// otherwise.
    pub fn new(start: Instant, standalone: &str, language: Language) -> Self {
        Self {
            start,
            first_token_ms: None,
            retrieval_ms: 0,
            status: Status::NotFound,
            confidence: 0.0,
            topic: None,
            text: String::new(),
            sources: Vec::new(),
            standalone: standalone.to_string(),
            mode: Mode::None,
            fallback: false,
            masked: 0,
            model: String::new(),
            prompt_tokens: 0,
            generated_tokens: 0,
            features: None,
            language,
        }
    }

    fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Marks the end of retrieval.
    pub fn retrieved(&mut self) {
        self.retrieval_ms = self.elapsed_ms();
    }

    /// Sends a piece of answer text, noting when the first one went out.
    pub fn emit(&mut self, text: &str, on_event: &mut dyn FnMut(Event<'_>)) {
        if !text.is_empty() {
            if self.first_token_ms.is_none() {
                self.first_token_ms = Some(self.elapsed_ms());
            }
            on_event(Event::Token(text));
        }
    }

    /// Ends with a fixed text of the town's (refusal, handoff, exclusion,
    /// abstention) and no sources.
    pub fn fixed(
        mut self,
        status: Status,
        text: String,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Answer {
        on_event(Event::Sources(&[]));
        self.status = status;
        self.mode = Mode::None;
        self.emit(&text, on_event);
        self.text = text;
        self.finish()
    }

    /// The answer. Abstained is everything that is neither answered from
    /// the sources nor curated.
    pub fn finish(self) -> Answer {
        let total_ms = self.elapsed_ms();
        Answer {
            abstained: !matches!(self.status, Status::Answered | Status::Curated),
            curated: self.status == Status::Curated,
            status: self.status,
            confidence: self.confidence,
            topic: self.topic,
            answer: self.text,
            sources: self.sources,
            standalone_question: self.standalone,
            mode: self.mode,
            fallback: self.fallback,
            masked: self.masked,
            model: self.model,
            prompt_tokens: self.prompt_tokens,
            generated_tokens: self.generated_tokens,
            features: self.features,
            language: self.language,
            timings: Timings {
                retrieval_ms: self.retrieval_ms,
                first_token_ms: self.first_token_ms.unwrap_or(0),
                total_ms,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_reply_is_an_abstention_with_its_text_streamed_once() {
        let mut events = Vec::new();
        let a = Draft::new(Instant::now(), "bonjour", Language::Fr).fixed(
            Status::Refused,
            "Je ne peux pas.".into(),
            &mut |e| {
                events.push(match e {
                    Event::Sources(s) => format!("sources {}", s.len()),
                    Event::Token(t) => format!("token {t}"),
                    Event::Reset => "reset".into(),
                })
            },
        );
        assert_eq!(events, ["sources 0", "token Je ne peux pas."]);
        assert!(a.abstained && !a.curated);
        assert_eq!((a.status, a.mode), (Status::Refused, Mode::None));
        assert_eq!(a.answer, "Je ne peux pas.");
        assert!(a.timings.first_token_ms <= a.timings.total_ms);
    }

    #[test]
    fn answered_and_curated_are_not_abstentions() {
        for (status, abstained, curated) in [
            (Status::Answered, false, false),
            (Status::Curated, false, true),
            (Status::NotFound, true, false),
            (Status::OutOfScope, true, false),
            (Status::HandoffSuggested, true, false),
        ] {
            let mut d = Draft::new(Instant::now(), "q", Language::Fr);
            d.status = status;
            let a = d.finish();
            assert_eq!((a.abstained, a.curated), (abstained, curated), "{status:?}");
        }
    }

    #[test]
    fn modes_keep_their_wire_names() {
        for m in [
            Mode::None,
            Mode::Curated,
            Mode::Extractive,
            Mode::Generative,
            Mode::Reader,
        ] {
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
    }
}
