//! The answering engine: [`Assistant`] turns a citizen's message (and the
//! conversation so far) into a grounded, cited French answer, or into an
//! abstention that gives the town's contact. It is a library: the HTTP
//! layer (`api`) and the evaluation harness call the same [`Assistant`].
//!
//! [`Assistant::answer`] reads as its stages, each in its own file with
//! its own tests, all filling one `Draft` whose `finish` is the only place
//! an [`Answer`] is built:
//! 1. **gate** (`gate`): an empty message is an error; prompt-injection
//!    attempts are refused and explicit requests for a person handed over
//!    ([`safety`]);
//! 2. **condense**: a follow-up rewritten into a standalone question
//!    ([`condense`]), the citizen's own contact details left out
//!    ([`guichet_text::privacy`]);
//! 3. **scope** (`scope`): topics the référents excluded get their message;
//! 4. **retrieve** ([`Assistant::assess`]): acronyms expanded ([`lexicon`]),
//!    hybrid search, the evidence scored ([`confidence`]);
//! 5. **curated** (`curated`): a validated answer close enough is served
//!    verbatim;
//! 6. **assess**: under the calibrated threshold, abstain with the town's
//!    contact ([`confidence::abstains`], the one place it is applied);
//! 7. **compose and check** (`compose`): generated from numbered sources
//!    ([`prompt`], [`worker`]), each sentence kept only when attributed
//!    to a source unit ([`attribution`], which attaches its `[n]`; a
//!    looping text is caught by [`degenerate`]), else extractive
//!    ([`extractive`]); contact details found in neither the sources nor
//!    the configuration masked ([`guard`]), in the stream too.
//!
//! Recording the exchange is the caller's (`conversations`, the API).

pub mod attribution;
pub mod competence;
mod compose;
pub mod condense;
pub mod confidence;
mod curated;
pub mod degenerate;
mod draft;
pub mod extractive;
mod gate;
pub mod guard;
pub mod language;
pub mod lexicon;
pub mod prompt;
pub mod reader;
pub mod remote;
pub mod safety;
mod scope;
mod seams;
pub mod situation;
pub mod topic;
pub mod wanted;
pub mod worker;

use std::sync::Arc;
use std::time::Instant;

use draft::Draft;

use guichet_models::generate::ChatFormat;
use guichet_models::{Cancel, EmbedKind, Embedder, GenerationParams};
use serde::Serialize;

use crate::kb::{lexical, Filters, SearchHit, SearchMode};
use crate::settings::{AnswerMode, AnswerSettings, TownSettings};
use crate::{Error, Result};

pub use confidence::Features;
pub use curated::{CURATED_COVERAGE, CURATED_SIMILARITY};
pub use draft::Mode;
pub use language::Language;
pub use lexicon::Lexicon;
pub use seams::{Retriever, TownKnowledge};
pub use worker::GenerationWorker;

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Answered from the sources, with citations.
    Answered,
    /// A curated answer validated by the town was served.
    Curated,
    /// The documents do not cover the question: abstained.
    NotFound,
    /// A topic the town excluded, or outside the assistant's remit.
    OutOfScope,
    /// The citizen asked for a person: contact details given.
    HandoffSuggested,
    /// The message tried to override the assistant's rules.
    Refused,
}

impl Status {
    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Answered => "answered",
            Status::Curated => "curated",
            Status::NotFound => "not_found",
            Status::OutOfScope => "out_of_scope",
            Status::HandoffSuggested => "handoff_suggested",
            Status::Refused => "refused",
        }
    }
}

/// One numbered source of an answer.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Source {
    /// Its number in the answer's `[n]` citations (1-based).
    pub n: usize,
    /// The document's id in the knowledge base.
    pub document_id: i64,
    /// The chunk's id.
    pub chunk_id: i64,
    /// The document's title.
    pub title: String,
    /// The section path within the document.
    pub section: String,
    /// First page, for paged documents.
    pub page: Option<u32>,
    /// Last page.
    pub page_end: Option<u32>,
    /// Public link (Service-Public page), when known.
    pub url: Option<String>,
    /// Where the document came from (file path or URL).
    pub source: String,
    /// Whether the answer cites it.
    pub cited: bool,
    /// The fused retrieval score.
    pub score: f64,
    /// A short extract of the chunk, for display.
    pub extract: String,
    /// The chunk's whole text (kept in process for the evaluation's
    /// groundedness check; not sent nor stored).
    #[serde(skip)]
    pub text: String,
}

/// Time spent, in milliseconds.
#[derive(
    Debug, Clone, Copy, Default, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema,
)]
pub struct Timings {
    /// Rewriting, embedding and searching.
    pub retrieval_ms: u64,
    /// Until the first piece of answer text.
    pub first_token_ms: u64,
    /// The whole answer.
    pub total_ms: u64,
}

/// The assistant's answer to one message.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Answer {
    /// What became of the message.
    pub status: Status,
    /// How sure the evidence is (0-1).
    pub confidence: f64,
    /// The municipal topic, when recognised.
    pub topic: Option<String>,
    /// The answer text (citations as `[n]`).
    pub answer: String,
    /// Whether the assistant abstained (no grounded answer).
    pub abstained: bool,
    /// Whether it is a curated answer validated by the town.
    pub curated: bool,
    /// The sources: cited ones flagged, the other retrieved ones too.
    pub sources: Vec<Source>,
    /// The question as searched (follow-ups rewritten, acronyms expanded).
    pub standalone_question: String,
    /// How the answer was written (`extractive`, `generative`, `curated`
    /// or `none` on the wire).
    pub mode: Mode,
    /// Whether a generated answer failed its checks and the extractive
    /// answer replaced it (the streamed text is then superseded).
    pub fallback: bool,
    /// Contact details masked by the output guard.
    pub masked: usize,
    /// The model that wrote the answer.
    pub model: String,
    /// Prompt tokens (generative mode).
    pub prompt_tokens: usize,
    /// Generated tokens (generative mode).
    pub generated_tokens: usize,
    /// The evidence behind `confidence`.
    pub features: Option<Features>,
    /// The citizen's language (ISO 639-1): the assistant's own sentences
    /// are in it, quoted sources stay in French.
    pub language: Language,
    /// Time spent.
    pub timings: Timings,
}

impl Answer {
    /// The exchange the conversation store keeps of this answer to
    /// `question`.
    pub fn exchange<'a>(&'a self, question: &'a str) -> crate::conversations::Exchange<'a> {
        crate::conversations::Exchange {
            question,
            standalone: &self.standalone_question,
            answer: &self.answer,
            status: self.status.as_str(),
            confidence: self.confidence,
            topic: self.topic.as_deref(),
            mode: self.mode.as_str(),
            model: &self.model,
            sources: serde_json::to_value(&self.sources).unwrap_or_default(),
            timings: serde_json::to_value(self.timings).unwrap_or_default(),
            prompt_tokens: self.prompt_tokens as u64,
            generated_tokens: self.generated_tokens as u64,
            fallback: self.fallback,
        }
    }
}

pub use crate::conversations::Turn;

/// A citizen's message and its conversation.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The message.
    pub message: String,
    /// Earlier exchanges, oldest first.
    pub history: Vec<Turn>,
}

/// What the assistant reports while it works.
#[derive(Debug)]
pub enum Event<'a> {
    /// The retrieved sources, before any text (a UI shows them at once).
    Sources(&'a [Source]),
    /// A piece of answer text.
    Token(&'a str),
    /// The text streamed so far is withdrawn (a generated answer failed its
    /// citation or grounding check); the replacement follows as tokens.
    Reset,
}

/// The retrieval of a question and how sure its evidence is.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The question as searched (acronyms expanded).
    pub query: String,
    /// Its embedding.
    pub vector: Vec<f32>,
    /// The retrieved chunks, best first.
    pub hits: Vec<SearchHit>,
    /// The question's terms (with their expansions' terms) and IDF.
    pub weights: Vec<confidence::TermGroup>,
    /// The confidence features (`None` without hits).
    pub features: Option<Features>,
    /// The calibrated confidence (0-1).
    pub confidence: f64,
    /// The models the question was embedded with (the rest of its answer
    /// uses the same, even if the index switches model meanwhile).
    models: Arc<Models>,
}

/// The embedding model and what is derived from it, swapped as one when
/// the knowledge base is re-embedded.
struct Models {
    embedder: Arc<dyn Embedder>,
    themes: topic::Themes,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models")
            .field("embedder", &self.embedder.id())
            .finish()
    }
}

/// The answering engine.
pub struct Assistant {
    models: std::sync::RwLock<Arc<Models>>,
    retriever: Arc<dyn Retriever>,
    town_knowledge: Option<Arc<dyn TownKnowledge>>,
    generator: Option<GenerationWorker>,
    answer: AnswerSettings,
    town: TownSettings,
    lexicon: Lexicon,
}

impl std::fmt::Debug for Assistant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assistant")
            .field("mode", &self.answer.mode)
            .field("generator", &self.generator)
            .finish()
    }
}

/// Longest extract shown with a source.
const EXTRACT_CHARS: usize = 240;

fn shorten(text: &str, max: usize) -> String {
    let t: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.chars().count() <= max {
        return t;
    }
    let cut: String = t.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("{cut}…")
}

/// The chunk text without its context line.
fn body(text: &str) -> &str {
    text.split_once('\n').map_or(text, |(_, b)| b)
}

impl Assistant {
    /// An assistant over `retriever`, embedding questions with `embedder`
    /// and generating with `generator` when given (required for the
    /// generative mode and for model rewrites of follow-ups).
    pub fn new(
        retriever: Arc<dyn Retriever>,
        embedder: Arc<dyn Embedder>,
        generator: Option<GenerationWorker>,
        answer: AnswerSettings,
        town: TownSettings,
        lexicon: Lexicon,
    ) -> Result<Self> {
        if answer.mode != AnswerMode::Extractive && generator.is_none() {
            return Err(Error::Usage(
                "the generative and reader answer modes need a generation model".into(),
            ));
        }
        Ok(Self {
            models: std::sync::RwLock::new(Arc::new(Models {
                themes: topic::Themes::new(embedder.as_ref()),
                embedder,
            })),
            retriever,
            town_knowledge: None,
            generator,
            answer,
            town,
            lexicon,
        })
    }

    /// Adds the référents' exclusions and curated answers.
    pub fn with_town_knowledge(mut self, k: Arc<dyn TownKnowledge>) -> Self {
        self.town_knowledge = Some(k);
        self
    }

    /// The answer settings in force.
    pub fn settings(&self) -> &AnswerSettings {
        &self.answer
    }

    /// The town's settings (contact details).
    pub fn town(&self) -> &TownSettings {
        &self.town
    }

    /// The generation worker, when one is loaded.
    pub fn generator(&self) -> Option<&GenerationWorker> {
        self.generator.as_ref()
    }

    fn models(&self) -> Arc<Models> {
        match self.models.read() {
            Ok(m) => m.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The embedder in use (questions, curated answers, uploads,
    /// `/v1/embeddings`).
    pub fn embedder(&self) -> Arc<dyn Embedder> {
        self.models().embedder.clone()
    }

    /// Switches to another embedding model (after the knowledge base was
    /// re-embedded with it): answers already running finish with the old
    /// one, the next ones use the new one.
    pub fn switch_embedder(&self, embedder: Arc<dyn Embedder>) {
        let next = Arc::new(Models {
            themes: topic::Themes::new(embedder.as_ref()),
            embedder,
        });
        match self.models.write() {
            Ok(mut m) => *m = next,
            Err(p) => *p.into_inner() = next,
        }
    }

    /// The abstention text: the documents do not cover this, here is the
    /// town's contact, a person can take over.
    pub fn abstention_text(&self, language: Language) -> String {
        if let Some(t) = language.fixed(language::Fixed::NotFound, &self.town) {
            return t;
        }
        format!(
            "Je n'ai pas trouvé la réponse à cette question dans les documents de {}, \
et je préfère ne pas vous donner une information incertaine. {} \
Vous pouvez aussi demander à être mis en relation avec un agent.",
            self.town.name,
            self.town.contact_text()
        )
    }

    fn refusal_text(&self, language: Language) -> String {
        if let Some(t) = language.fixed(language::Fixed::Refused, &self.town) {
            return t;
        }
        format!(
            "Je ne peux pas donner suite à cette demande. Je réponds uniquement aux questions \
sur les démarches et les services de {}, à partir de ses documents. {}",
            self.town.name,
            self.town.contact_text()
        )
    }

    fn handoff_text(&self, language: Language) -> String {
        if let Some(t) = language.fixed(language::Fixed::Handoff, &self.town) {
            return t;
        }
        format!(
            "Bien sûr : un agent peut prendre le relais. {} Vous pouvez aussi laisser vos \
coordonnées avec le formulaire « parler à un agent » : la mairie vous recontactera.",
            self.town.contact_text()
        )
    }

    /// Answers `request`, reporting sources and text through `on_event` as
    /// they come. `cancel` stops the generation between two tokens.
    pub fn answer(
        &self,
        request: &Request,
        cancel: &Cancel,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Answer> {
        let start = Instant::now();
        let message = gate::message(&request.message)?;
        let language = Language::of_message(message);
        if let Some(g) = gate::gate(message) {
            let text = match g {
                gate::Gate::Refuse => self.refusal_text(language),
                gate::Gate::Handoff => self.handoff_text(language),
            };
            return Ok(Draft::new(start, message, language).fixed(g.status(), text, on_event));
        }
        // The standalone question, without the citizen's own contact
        // details (they match no document).
        let previous = request.history.last().map(|t| t.standalone.as_str());
        let standalone = self.standalone(
            previous,
            &guichet_text::privacy::strip_personal_data(message),
            cancel,
        );
        if let Some(answer) = self.excluded(start, &standalone, language, on_event)? {
            return Ok(answer);
        }
        if let Some(outside) = competence::outside(&standalone) {
            tracing::info!("outside the town's competence: {outside:?}");
            let text = language
                .fixed(language::Fixed::OutOfScope, &self.town)
                .unwrap_or_else(|| format!("{} {}", outside.message(), self.town.contact_text()));
            return Ok(Draft::new(start, &standalone, language).fixed(
                Status::OutOfScope,
                text,
                on_event,
            ));
        }
        let assessment = self.assess(&standalone)?;
        let mut draft = Draft::new(start, &assessment.query, language);
        draft.retrieved();
        draft.features = assessment.features;
        if let Some(found) = self.curated_match(&standalone, &assessment.weights)? {
            return Ok(self.serve_curated(draft, &standalone, found, on_event));
        }
        draft.confidence = assessment.confidence;
        // Until sources are cited: the question's words, then similarity.
        draft.topic = Some(
            assessment
                .models
                .themes
                .topic(&standalone, Some(&assessment.vector), &[])
                .to_string(),
        );
        if confidence::abstains(&assessment, self.answer.abstain_below) {
            return Ok(draft.fixed(Status::NotFound, self.abstention_text(language), on_event));
        }
        self.compose(draft, &standalone, &assessment, cancel, on_event)
    }

    /// The référents' message and contact when the question mentions a
    /// topic they excluded.
    fn excluded(
        &self,
        start: Instant,
        standalone: &str,
        language: Language,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<Option<Answer>> {
        let Some(k) = &self.town_knowledge else {
            return Ok(None);
        };
        let exclusions = k.exclusions()?;
        let Some(e) = scope::excluded(&exclusions, standalone) else {
            return Ok(None);
        };
        let contact = if e.contact.is_empty() {
            self.town.contact_text()
        } else {
            e.contact.clone()
        };
        let mut draft = Draft::new(start, standalone, language);
        draft.topic = Some(e.topic.clone());
        // The référents' message is French: in another language, the
        // assistant's sentence first, then theirs as written.
        let text = match language.fixed(language::Fixed::OutOfScope, &self.town) {
            Some(lead) => format!("{lead}\n\n{} {contact}", e.message.trim()),
            None => format!("{} {contact}", e.message.trim()),
        };
        Ok(Some(draft.fixed(Status::OutOfScope, text, on_event)))
    }

    /// Retrieves the sources of a standalone question and scores the
    /// evidence: the first half of [`Self::answer`], also used to
    /// calibrate the abstention threshold and by the evaluation.
    pub fn assess(&self, standalone: &str) -> Result<Assessment> {
        let expansions = self.lexicon.expansions(standalone);
        let query = self.lexicon.expand(standalone);
        // In another language, only names and numbers are the sources'
        // words: they alone are searched lexically, the rest is e5's.
        let language = Language::of_message(standalone);
        let (lexical_query, mode) = if language == Language::Fr {
            (query.clone(), SearchMode::Hybrid)
        } else {
            match language::neutral_terms(&query) {
                n if n.is_empty() => (query.clone(), SearchMode::Dense),
                n => (n, SearchMode::Hybrid),
            }
        };
        let embed = |m: &Models| -> Result<Vec<f32>> {
            m.embedder
                .embed(&[query.as_str()], EmbedKind::Query)?
                .into_iter()
                .next()
                .ok_or_else(|| Error::Unavailable("the embedder returned no vector".into()))
        };
        let mut models = self.models();
        let mut vector = embed(&models)?;
        let filters = Filters {
            max_per_document: self.answer.per_document,
            priorities: self
                .answer
                .priorities
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            ..Filters::default()
        };
        let k = self.answer.sources;
        // Many more than shown, without the cap per document (two chunks
        // of a fiche for another case must not keep out the one of the
        // citizen's case: [`situation`]); the cap is applied after, and a
        // few documents can hold dozens of the best chunks.
        let wide = k * 8;
        let per_document = filters.max_per_document;
        let filters = Filters {
            max_per_document: 0,
            // The fusion of the `k` shown, not of `wide`.
            depth: Some((k * 8).max(50)),
            mode,
            ..filters
        };
        let search = |vector: &[f32], models: &Models| {
            self.retriever
                .search(&lexical_query, vector, models.embedder.id(), wide, &filters)
        };
        let hits = match search(&vector, &models) {
            // The index switched model between embedding and search: once
            // more with the new one.
            Err(Error::ModelChanged) => {
                models = self.models();
                vector = embed(&models)?;
                search(&vector, &models)?
            }
            r => r?,
        };
        let asked = situation::of_question(standalone);
        let law = extractive::asks_for_law(standalone);
        let ranked = situation::rank_by_case(
            hits,
            &asked,
            |h| situation::of_source(&h.chunk.title, &h.chunk.section),
            // A fiche's list of legal texts or links must not take its
            // place from the chunk that says what the fiche says.
            |h| {
                if !law && extractive::points_elsewhere(&h.chunk.section, body(&h.chunk.text)) {
                    h.fused * extractive::POINTER_FACTOR
                } else {
                    h.fused
                }
            },
        );
        let mut per_doc: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
        let hits: Vec<SearchHit> = ranked
            .into_iter()
            .filter(|h| {
                let n = per_doc.entry(h.chunk.document_id).or_default();
                *n += 1;
                per_document == 0 || *n <= per_document
            })
            .take(k)
            .collect();
        let groups = confidence::term_groups(standalone, &expansions);
        let firsts: Vec<String> = groups.iter().map(|g| g[0].clone()).collect();
        let (total, dfs) = self.retriever.term_frequencies(&firsts)?;
        let unknown: Vec<&str> = confidence::place_names(standalone)
            .into_iter()
            .filter(|w| !self.town.name.contains(w))
            // « je vis en Belgique »: fiches say « à l'étranger », not the
            // country (a question about its own rules is refused earlier).
            .filter(|w| !competence::is_country(w))
            .filter(|w| {
                lexical::terms(w).iter().any(|t| {
                    firsts
                        .iter()
                        .position(|f| f == t)
                        .is_some_and(|i| dfs[i] == 0)
                })
            })
            .collect();
        let weights = confidence::weighted_terms(total, &dfs, groups);
        let features = evidence(&hits, &weights);
        // The coverage of a question's words says nothing when they are
        // not French: the cross-lingual weights read the cosine alone.
        let weights_in_use = if language == Language::Fr {
            confidence::CALIBRATED
        } else {
            confidence::CROSS_LINGUAL
        };
        let mut confidence = features.map_or(0.0, |f| weights_in_use.score(&f));
        if !unknown.is_empty() {
            // "la cantine à Toulouse": no document names that place, so
            // what was found is about somewhere else.
            tracing::info!("the question names {unknown:?}, which no document does");
            confidence = 0.0;
        }
        let texts: Vec<&str> = hits.iter().map(|h| h.chunk.text.as_str()).collect();
        let other = confidence::elsewhere(standalone, &texts, |p| {
            self.town.name.contains(p) || competence::is_country(p)
        });
        if !other.is_empty() {
            // Another commune's own services: what was found is about
            // somewhere else, and only that commune answers.
            tracing::info!("the question asks about {other:?}, which no passage found speaks of");
            confidence = 0.0;
        }
        Ok(Assessment {
            query,
            vector,
            hits,
            weights,
            features,
            confidence,
            models,
        })
    }

    /// The standalone question: the model's rewrite when enabled and
    /// usable, else the cheap carry-over.
    fn standalone(&self, previous: Option<&str>, message: &str, cancel: &Cancel) -> String {
        let Some(prev) = previous else {
            return message.to_string();
        };
        if !condense::is_followup(message) {
            return message.to_string();
        }
        if self.answer.rewrite_with_model {
            if let Some(g) = &self.generator {
                let chat = g.info().chat_format != ChatFormat::Plain;
                let params = GenerationParams {
                    max_new_tokens: 48,
                    stop: vec!["\n".into()],
                    ..GenerationParams::default()
                };
                let mut text = String::new();
                let r = g.generate(
                    prompt::rewrite_prompt(chat, prev, message),
                    params,
                    cancel,
                    &mut |t| text.push_str(t),
                );
                match r {
                    Ok(_) if condense::usable_rewrite(message, &text) => {
                        return text.trim().to_string()
                    }
                    Ok(_) => tracing::debug!("unusable rewrite {text:?}, carrying over"),
                    Err(e) => tracing::debug!("rewrite failed ({e}), carrying over"),
                }
            }
        }
        condense::carry_over(Some(prev), message)
    }
}

/// The confidence features of a retrieval, or `None` without hits.
fn evidence(hits: &[SearchHit], weights: &[confidence::TermGroup]) -> Option<Features> {
    if hits.is_empty() {
        return None;
    }
    let dense = hits.iter().filter_map(|h| h.dense).fold(f32::MIN, f32::max);
    let dense = if dense == f32::MIN {
        0.0
    } else {
        f64::from(dense)
    };
    let texts: Vec<String> = hits
        .iter()
        .take(3)
        .map(|h| format!("{} {} {}", h.chunk.title, h.chunk.section, h.chunk.text))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    Some(Features {
        dense,
        coverage: confidence::coverage(weights, &refs),
    })
}

/// What unit tests of the question rules share.
#[cfg(test)]
pub(crate) mod test_sets {
    /// Every answerable question of the reviewed evaluation sets (not the
    /// out-of-scope and injection cases): what no refusal rule may catch.
    pub fn answerable_questions() -> Vec<String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("eval/sets");
        let mut out = Vec::new();
        for file in ["smoke.jsonl", "montpellier.jsonl", "service-public.jsonl"] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let case: serde_json::Value = serde_json::from_str(line).unwrap();
                if !matches!(case["kind"].as_str(), Some("injection" | "out_of_scope")) {
                    out.push(case["question"].as_str().unwrap().to_string());
                }
            }
        }
        assert!(out.len() > 250, "{}", out.len());
        out
    }
}
