//! The answering engine: [`Assistant`] turns a citizen's message (and the
//! conversation so far) into a grounded, cited French answer, or into an
//! abstention that gives the town's contact. It is a library: the HTTP
//! layer (`api`) and the evaluation harness call the same [`Assistant`].
//!
//! The steps, in order (see `DESIGN.md`):
//! 1. refuse prompt-injection attempts, hand over explicit requests for a
//!    person ([`safety`]);
//! 2. rewrite a follow-up into a standalone question ([`condense`]);
//! 3. expand acronyms ([`lexicon`]) and retrieve (hybrid search);
//! 4. score the evidence ([`confidence`]) and abstain under the threshold;
//! 5. answer, extractively ([`extractive`]) or with the LLM from numbered
//!    sources ([`prompt`], [`worker`]), falling back to the extractive answer
//!    when the generated one fails its citation check ([`citations`]);
//! 6. mask contact details found in neither the sources nor the
//!    configuration ([`guard`]), in the stream too.

pub mod citations;
pub mod condense;
pub mod confidence;
pub mod degenerate;
pub mod entities;
pub mod extractive;
pub mod guard;
pub mod lexicon;
pub mod privacy;
pub mod prompt;
pub mod safety;
pub mod topic;
pub mod wanted;
pub mod worker;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Instant;

use guichet_models::generate::ChatFormat;
use guichet_models::{Cancel, EmbedKind, Embedder, GenerationParams};
use serde::Serialize;

use crate::kb::{lexical, Filters, KnowledgeBase, SearchHit};
use crate::settings::{AnswerMode, AnswerSettings, TownSettings};
use crate::{Error, Result};

pub use confidence::Features;
pub use lexicon::Lexicon;
pub use worker::GenerationWorker;

/// Where the assistant finds its sources: the seam between the engine and
/// the knowledge base (embedded SQLite + HNSW today, other engines later).
pub trait Retriever: Send + Sync {
    /// The `k` best chunks for `query`, whose embedding is `vector`, made
    /// by the embedding model `model` ([`Error::ModelChanged`] when the
    /// index has switched to another model since).
    fn search(
        &self,
        query: &str,
        vector: &[f32],
        model: &str,
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<SearchHit>>;

    /// How many chunks there are, and in how many each term occurs.
    fn term_frequencies(&self, terms: &[String]) -> Result<(u64, Vec<u64>)>;
}

impl Retriever for Mutex<KnowledgeBase> {
    fn search(
        &self,
        query: &str,
        vector: &[f32],
        model: &str,
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<SearchHit>> {
        let kb = self
            .lock()
            .map_err(|_| Error::Unavailable("the knowledge base lock is poisoned".into()))?;
        if kb.embedder().id() != model {
            return Err(Error::ModelChanged);
        }
        kb.search_with_vector(query, vector, k, filters)
    }

    fn term_frequencies(&self, terms: &[String]) -> Result<(u64, Vec<u64>)> {
        let kb = self
            .lock()
            .map_err(|_| Error::Unavailable("the knowledge base lock is poisoned".into()))?;
        let total = kb.store().chunk_count()?.max(0) as u64;
        Ok((total, kb.store().document_frequencies(terms)?))
    }
}

/// What the town's staff decided: topics not to answer and curated
/// answers, the seam between the engine and where they are stored.
pub trait TownKnowledge: Send + Sync {
    /// The excluded topics.
    fn exclusions(&self) -> Result<Vec<crate::referents::Exclusion>>;
    /// The vectors of the curated answers valid today: (id, text, vector).
    fn curated_vectors(&self) -> Result<Vec<(i64, String, Vec<f32>)>>;
    /// One curated answer.
    fn curated(&self, id: i64) -> Result<Option<crate::referents::Curated>>;
}

fn locked(
    m: &Mutex<crate::referents::Referents>,
) -> Result<std::sync::MutexGuard<'_, crate::referents::Referents>> {
    m.lock()
        .map_err(|_| Error::Unavailable("the référents' store lock is poisoned".into()))
}

impl TownKnowledge for Mutex<crate::referents::Referents> {
    fn exclusions(&self) -> Result<Vec<crate::referents::Exclusion>> {
        locked(self)?.exclusions()
    }
    fn curated_vectors(&self) -> Result<Vec<(i64, String, Vec<f32>)>> {
        locked(self)?.live_curated_vectors(&crate::time::today())
    }
    fn curated(&self, id: i64) -> Result<Option<crate::referents::Curated>> {
        locked(self)?.curated_by_id(id)
    }
}

/// Cosine (e5 query embeddings) from which a question is taken for a
/// curated answer's question or variant, with [`CURATED_COVERAGE`] of its
/// words in it. Provisional, from a handful of pairs: paraphrases scored
/// 0.94-0.98 ("horaires d'ouverture de la mairie" / "horaires de la
/// mairie" 0.980), the same question about another place 0.93 ("… de la
/// piscine"), other topics under 0.87. Référents add variants for wordings
/// that fall short; to be calibrated on reviewed pairs.
pub const CURATED_SIMILARITY: f32 = 0.95;
/// Share of the question's words (IDF-weighted, synonyms counted) that the
/// curated question must contain: a lexical check beside the cosine,
/// loose because paraphrases change words ("heures" / "horaires").
pub const CURATED_COVERAGE: f64 = 0.3;

/// Whether `keywords` (phrases) occur in `text` on whole words, without
/// case or accents.
fn mentions(text: &str, keywords: &[String]) -> bool {
    let t = lexicon::folded_words(text);
    keywords.iter().any(|k| {
        let k = lexicon::folded_words(k);
        !k.is_empty() && t.windows(k.len()).any(|w| w == k.as_slice())
    })
}

impl Retriever for std::sync::Arc<Mutex<KnowledgeBase>> {
    fn search(
        &self,
        query: &str,
        vector: &[f32],
        model: &str,
        k: usize,
        filters: &Filters,
    ) -> Result<Vec<SearchHit>> {
        (**self).search(query, vector, model, k, filters)
    }

    fn term_frequencies(&self, terms: &[String]) -> Result<(u64, Vec<u64>)> {
        (**self).term_frequencies(terms)
    }
}

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
    /// How the answer was written: `extractive`, `generative`, or `none`.
    pub mode: String,
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
    /// Time spent.
    pub timings: Timings,
}

/// A previous exchange of the conversation.
#[derive(Debug, Clone, Default)]
pub struct Turn {
    /// The citizen's message as typed.
    pub question: String,
    /// The standalone question it was searched as.
    pub standalone: String,
    /// The answer given.
    pub answer: String,
}

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
    models: std::sync::Arc<Models>,
}

/// The embedding model and what is derived from it, swapped as one when
/// the knowledge base is re-embedded.
struct Models {
    embedder: std::sync::Arc<dyn Embedder>,
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
    models: std::sync::RwLock<std::sync::Arc<Models>>,
    retriever: Box<dyn Retriever>,
    town_knowledge: Option<std::sync::Arc<dyn TownKnowledge>>,
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
        retriever: Box<dyn Retriever>,
        embedder: std::sync::Arc<dyn Embedder>,
        generator: Option<GenerationWorker>,
        answer: AnswerSettings,
        town: TownSettings,
        lexicon: Lexicon,
    ) -> Result<Self> {
        if answer.mode == AnswerMode::Generative && generator.is_none() {
            return Err(Error::Usage(
                "the generative answer mode needs a generation model".into(),
            ));
        }
        Ok(Self {
            models: std::sync::RwLock::new(std::sync::Arc::new(Models {
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
    pub fn with_town_knowledge(mut self, k: std::sync::Arc<dyn TownKnowledge>) -> Self {
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

    fn models(&self) -> std::sync::Arc<Models> {
        match self.models.read() {
            Ok(m) => m.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The embedder in use (questions, curated answers, uploads,
    /// `/v1/embeddings`).
    pub fn embedder(&self) -> std::sync::Arc<dyn Embedder> {
        self.models().embedder.clone()
    }

    /// Switches to another embedding model (after the knowledge base was
    /// re-embedded with it): answers already running finish with the old
    /// one, the next ones use the new one.
    pub fn switch_embedder(&self, embedder: std::sync::Arc<dyn Embedder>) {
        let next = std::sync::Arc::new(Models {
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
    pub fn abstention_text(&self) -> String {
        format!(
            "Je n'ai pas trouvé la réponse à cette question dans les documents de {}, \
et je préfère ne pas vous donner une information incertaine. {} \
Vous pouvez aussi demander à être mis en relation avec un agent.",
            self.town.name,
            self.town.contact_text()
        )
    }

    fn refusal_text(&self) -> String {
        format!(
            "Je ne peux pas donner suite à cette demande. Je réponds uniquement aux questions \
sur les démarches et les services de {}, à partir de ses documents. {}",
            self.town.name,
            self.town.contact_text()
        )
    }

    fn handoff_text(&self) -> String {
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
        let message = request.message.trim();
        if message.is_empty() {
            return Err(Error::Invalid("Le message est vide.".into()));
        }
        let fixed = |status: Status, text: String, on_event: &mut dyn FnMut(Event<'_>)| {
            on_event(Event::Sources(&[]));
            on_event(Event::Token(&text));
            let ms = start.elapsed().as_millis() as u64;
            Answer {
                status,
                confidence: 0.0,
                topic: None,
                answer: text,
                abstained: true,
                curated: false,
                sources: Vec::new(),
                standalone_question: message.to_string(),
                mode: "none".into(),
                fallback: false,
                masked: 0,
                model: String::new(),
                prompt_tokens: 0,
                generated_tokens: 0,
                features: None,
                timings: Timings {
                    retrieval_ms: 0,
                    first_token_ms: ms,
                    total_ms: ms,
                },
            }
        };
        if safety::is_injection(message) {
            return Ok(fixed(Status::Refused, self.refusal_text(), on_event));
        }
        if safety::wants_human(message) {
            return Ok(fixed(
                Status::HandoffSuggested,
                self.handoff_text(),
                on_event,
            ));
        }

        // 1. The standalone question, without the citizen's own contact
        // details (they match no document).
        let previous = request.history.last().map(|t| t.standalone.as_str());
        let searched = privacy::strip_personal_data(message);
        let standalone = self.standalone(previous, &searched, cancel);

        // 2. Excluded topics: the référents' message, before any retrieval.
        if let Some(k) = &self.town_knowledge {
            for e in k.exclusions()? {
                if mentions(&standalone, &e.keywords) {
                    let contact = if e.contact.is_empty() {
                        self.town.contact_text()
                    } else {
                        e.contact.clone()
                    };
                    let mut a = fixed(
                        Status::OutOfScope,
                        format!("{} {contact}", e.message.trim()),
                        on_event,
                    );
                    a.topic = Some(e.topic.clone());
                    a.standalone_question = standalone.clone();
                    return Ok(a);
                }
            }
        }

        // 3. Retrieval.
        let Assessment {
            query,
            vector: qvec,
            hits,
            weights,
            features,
            confidence: conf,
            models,
        } = self.assess(&standalone)?;
        let retrieval_ms = start.elapsed().as_millis() as u64;

        // 4. A curated answer validated by the town, served verbatim.
        if let Some(found) = self.curated_match(&standalone, &weights)? {
            let sources: Vec<Source> = found
                .sources
                .iter()
                .enumerate()
                .map(|(i, s)| Source {
                    n: i + 1,
                    document_id: 0,
                    chunk_id: 0,
                    title: s.clone(),
                    section: String::new(),
                    page: None,
                    page_end: None,
                    url: (s.starts_with("http://") || s.starts_with("https://")).then(|| s.clone()),
                    source: s.clone(),
                    cited: true,
                    score: 1.0,
                    extract: String::new(),
                    text: String::new(),
                })
                .collect();
            on_event(Event::Sources(&sources));
            on_event(Event::Token(&found.answer));
            let ms = start.elapsed().as_millis() as u64;
            return Ok(Answer {
                status: Status::Curated,
                confidence: 1.0,
                topic: Some(
                    self.models()
                        .themes
                        .topic(&standalone, None, std::slice::from_ref(&found.question))
                        .to_string(),
                ),
                answer: found.answer.clone(),
                abstained: false,
                curated: true,
                sources,
                standalone_question: query,
                mode: "curated".into(),
                fallback: false,
                masked: 0,
                model: format!("réponse validée par {}", found.validated_by),
                prompt_tokens: 0,
                generated_tokens: 0,
                features,
                timings: Timings {
                    retrieval_ms,
                    first_token_ms: ms,
                    total_ms: ms,
                },
            });
        }

        // 5. Sources and confidence.
        let mut sources: Vec<Source> = hits
            .iter()
            .enumerate()
            .map(|(i, h)| Source {
                n: i + 1,
                document_id: h.chunk.document_id,
                chunk_id: h.chunk.id,
                title: h.chunk.title.clone(),
                section: h.chunk.section.clone(),
                page: h.chunk.page_start,
                page_end: h.chunk.page_end,
                url: h.chunk.url.clone(),
                source: h.chunk.source.clone(),
                cited: false,
                score: h.fused,
                extract: shorten(body(&h.chunk.text), EXTRACT_CHARS),
                text: body(&h.chunk.text).to_string(),
            })
            .collect();
        // Until sources are cited: the question's words, then similarity.
        let topic = Some(
            models
                .themes
                .topic(&standalone, Some(&qvec), &[])
                .to_string(),
        );

        let mut out = Answer {
            status: Status::NotFound,
            confidence: conf,
            topic,
            answer: String::new(),
            abstained: true,
            curated: false,
            sources: Vec::new(),
            standalone_question: query.clone(),
            mode: "none".into(),
            fallback: false,
            masked: 0,
            model: String::new(),
            prompt_tokens: 0,
            generated_tokens: 0,
            features,
            timings: Timings {
                retrieval_ms,
                ..Timings::default()
            },
        };
        let mut first_token: Option<u64> = None;
        let mut emit = |text: &str, on_event: &mut dyn FnMut(Event<'_>)| {
            if !text.is_empty() {
                first_token.get_or_insert_with(|| start.elapsed().as_millis() as u64);
                on_event(Event::Token(text));
            }
        };

        if hits.is_empty() || conf < self.answer.abstain_below {
            on_event(Event::Sources(&[]));
            out.answer = self.abstention_text();
            emit(&out.answer, on_event);
            out.timings.first_token_ms = first_token.unwrap_or(0);
            out.timings.total_ms = start.elapsed().as_millis() as u64;
            return Ok(out);
        }
        on_event(Event::Sources(&sources));

        // 6. The answer.
        let mut allowed = entities::AllowList::default();
        for h in &hits {
            allowed.add_text(&h.chunk.text);
            if let Some(u) = &h.chunk.url {
                allowed.add_text(u);
            }
        }
        for t in [
            &self.town.phone,
            &self.town.email,
            &self.town.website,
            &self.town.address,
        ] {
            allowed.add_text(t);
        }
        let mut guard = guard::Guard::new(allowed);
        let passages: Vec<extractive::Passage<'_>> = hits
            .iter()
            .enumerate()
            .map(|(i, h)| extractive::Passage {
                n: i + 1,
                body: body(&h.chunk.text),
                section: &h.chunk.section,
            })
            .collect();

        let mut text = String::new();
        let mut cited = BTreeSet::new();
        let mut done = false;
        if self.answer.mode == AnswerMode::Generative {
            if let Some(g) = &self.generator {
                match self.generate(g, &hits, &query, cancel, &mut guard, &mut |t| {
                    emit(t, on_event)
                }) {
                    Ok((checked, gen)) => {
                        out.model = g.info().id.clone();
                        out.prompt_tokens = gen.prompt_tokens;
                        out.generated_tokens = gen.generated_tokens;
                        match checked {
                            Some((t, c)) => {
                                text = t;
                                cited = c;
                                out.mode = "generative".into();
                                done = true;
                            }
                            None => out.fallback = true,
                        }
                    }
                    Err(e @ (Error::Cancelled(_) | Error::Overloaded)) => return Err(e),
                    Err(e) => {
                        tracing::warn!("generation failed, extractive answer instead: {e}");
                        out.fallback = true;
                    }
                }
            }
        }
        if !done {
            let asked = wanted::wanted(&standalone);
            match extractive::extract(&qvec, &weights, &asked, &passages, models.embedder.as_ref())?
            {
                Some(x) => {
                    text = guard.check(&x.text);
                    cited = x.cited;
                    out.mode = "extractive".into();
                    if out.model.is_empty() {
                        out.model = format!("extractif ({})", models.embedder.id());
                    }
                    if out.fallback {
                        on_event(Event::Reset);
                    }
                    emit(&text, on_event);
                }
                None => {
                    out.answer = self.abstention_text();
                    if out.fallback {
                        on_event(Event::Reset);
                    }
                    emit(&out.answer, on_event);
                    out.timings.first_token_ms = first_token.unwrap_or(0);
                    out.timings.total_ms = start.elapsed().as_millis() as u64;
                    return Ok(out);
                }
            }
        }
        for s in &mut sources {
            s.cited = cited.contains(&s.n);
        }
        // The theme of what the answer cites comes first.
        let cited_themes: Vec<String> = hits
            .iter()
            .enumerate()
            .filter(|(i, _)| cited.contains(&(i + 1)))
            .map(|(_, h)| {
                h.chunk
                    .breadcrumb
                    .clone()
                    .unwrap_or_else(|| format!("{} › {}", h.chunk.title, h.chunk.section))
            })
            .collect();
        out.topic = Some(
            models
                .themes
                .topic(&standalone, Some(&qvec), &cited_themes)
                .to_string(),
        );
        out.status = Status::Answered;
        out.abstained = false;
        out.answer = text;
        out.sources = sources;
        out.masked = guard.masked();
        out.timings.first_token_ms = first_token.unwrap_or(0);
        out.timings.total_ms = start.elapsed().as_millis() as u64;
        Ok(out)
    }

    /// The curated answer whose question or variant is close enough to the
    /// question (cosine and lexical check), if any is valid today.
    fn curated_match(
        &self,
        question: &str,
        weights: &[confidence::TermGroup],
    ) -> Result<Option<crate::referents::Curated>> {
        let Some(k) = &self.town_knowledge else {
            return Ok(None);
        };
        let live = k.curated_vectors()?;
        if live.is_empty() {
            return Ok(None);
        }
        // Curated questions are embedded as typed: compare with the
        // question as typed, not with its expanded search form.
        let plain = self
            .embedder()
            .embed(&[question], EmbedKind::Query)?
            .into_iter()
            .next()
            .unwrap_or_default();
        let mut best: Option<(f32, i64)> = None;
        for (id, text, v) in live {
            let cos = guichet_models::cosine(&plain, &v);
            if cos >= CURATED_SIMILARITY
                && confidence::coverage(weights, &[&text]) >= CURATED_COVERAGE
                && best.is_none_or(|(b, _)| cos > b)
            {
                best = Some((cos, id));
            }
        }
        match best {
            Some((_, id)) => k.curated(id),
            None => Ok(None),
        }
    }

    /// Retrieves the sources of a standalone question and scores the
    /// evidence: the first half of [`Self::answer`], also used to
    /// calibrate the abstention threshold and by the evaluation.
    pub fn assess(&self, standalone: &str) -> Result<Assessment> {
        let expansions = self.lexicon.expansions(standalone);
        let query = self.lexicon.expand(standalone);
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
        let hits = match self
            .retriever
            .search(&query, &vector, models.embedder.id(), k, &filters)
        {
            // The index switched model between embedding and search: once
            // more with the new one.
            Err(Error::ModelChanged) => {
                models = self.models();
                vector = embed(&models)?;
                self.retriever
                    .search(&query, &vector, models.embedder.id(), k, &filters)?
            }
            r => r?,
        };
        let groups = confidence::term_groups(standalone, &expansions);
        let firsts: Vec<String> = groups.iter().map(|g| g[0].clone()).collect();
        let (total, dfs) = self.retriever.term_frequencies(&firsts)?;
        let unknown: Vec<&str> = confidence::place_names(standalone)
            .into_iter()
            .filter(|w| !self.town.name.contains(w))
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
        let mut confidence = features.map_or(0.0, |f| confidence::CALIBRATED.score(&f));
        if !unknown.is_empty() {
            // "la cantine à Toulouse": no document names that place, so
            // what was found is about somewhere else.
            tracing::info!("the question names {unknown:?}, which no document does");
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

    /// Generates an answer from the sources; `None` in the first slot when
    /// it fails the citation or grounding check.
    #[allow(clippy::type_complexity)]
    fn generate(
        &self,
        g: &GenerationWorker,
        hits: &[SearchHit],
        question: &str,
        cancel: &Cancel,
        guard: &mut guard::Guard,
        emit: &mut dyn FnMut(&str),
    ) -> Result<(
        Option<(String, BTreeSet<usize>)>,
        guichet_models::Generation,
    )> {
        // Budget the sources in characters (French runs at 3.5-4.5
        // characters per token on these tokenizers; 3 keeps a margin).
        let budget_tokens = g
            .info()
            .context
            .saturating_sub(self.answer.max_new_tokens + 700);
        let mut budget = budget_tokens * 3;
        let mut sources = Vec::new();
        for h in hits {
            let text = body(&h.chunk.text);
            if text.len() > budget {
                break;
            }
            budget -= text.len();
            sources.push(prompt::PromptSource {
                heading: format!("{} › {}", h.chunk.title, h.chunk.section),
                page: h.chunk.page_start,
                text: text.to_string(),
            });
        }
        let chat = g.info().chat_format != ChatFormat::Plain;
        let (p, stop) = if chat {
            (
                prompt::chat_prompt(&self.town, &sources, question),
                Vec::new(),
            )
        } else {
            (
                prompt::completion_prompt(&sources, question),
                prompt::completion_stops(),
            )
        };
        let params = GenerationParams {
            max_new_tokens: self.answer.max_new_tokens,
            temperature: self.answer.temperature,
            stop,
            ..GenerationParams::default()
        };
        let mut raw = String::new();
        let gen = g.generate(p, params, cancel, &mut |t| {
            raw.push_str(t);
            let shown = guard.push(t);
            emit(&shown);
        })?;
        if gen.finish == guichet_models::FinishReason::Cancelled {
            return Err(Error::Cancelled("generation cancelled".into()));
        }
        let rest = guard.finish();
        emit(&rest);
        let cut = gen.finish == guichet_models::FinishReason::Length;
        if let Some(why) = degenerate::degenerate(&raw, cut) {
            tracing::info!("generated answer unusable ({why}): extractive fallback");
            return Ok((None, gen));
        }
        let checked = citations::check(&raw, sources.len());
        if checked.cited.is_empty() {
            tracing::info!("generated answer has no valid citation: extractive fallback");
            return Ok((None, gen));
        }
        // Grounding: most of the answer's words must be in what it cites.
        let cited_texts: Vec<&str> = checked
            .cited
            .iter()
            .filter_map(|n| sources.get(n - 1).map(|s| s.text.as_str()))
            .collect();
        let answer_terms = confidence::unweighted(
            confidence::distinct_terms(&checked.text)
                .into_iter()
                .filter(|t| !t.chars().all(|c| c.is_ascii_digit()) || t.len() > 1)
                .collect(),
        );
        let support = confidence::coverage(&answer_terms, &cited_texts);
        if support < 0.6 {
            tracing::info!("generated answer {support:.2} supported: extractive fallback");
            return Ok((None, gen));
        }
        // Masked already while streaming; the final text is masked the
        // same way without counting twice.
        Ok((
            Some((guard.check_uncounted(&checked.text), checked.cited)),
            gen,
        ))
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
