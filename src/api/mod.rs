//! The HTTP service: a thin axum layer over [`crate::rag::Assistant`].
//!
//! * [`chat`]: `POST /api/chat` (SSE stream or JSON) and
//!   `GET /api/conversations/{id}`;
//! * [`openai`]: `POST /v1/chat/completions`, `GET /v1/models`,
//!   `POST /v1/embeddings`, for the clients people already use;
//! * [`health`]: `/healthz`, `/readyz`, `/metrics`;
//! * [`limits`]: answer slots (503) and per-client rate limits (429);
//! * [`error`]: the one mapping from errors to HTTP;
//! * [`web`]: the citizen page and widget, the référent console.
//!
//! [`serve`] binds first, so `/healthz` answers while the models load and
//! the demo corpus is ingested; the answering routes say 503 until
//! [`Engine`] is ready.

pub mod auth;
pub mod chat;
pub mod documents;
pub mod error;
pub mod health;
pub mod index;
pub mod limits;
pub mod openai;
pub mod referents;
pub mod web;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::routing::{get, post};
use axum::Router;
use guichet_models::GeneratorOptions;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Config;
use crate::conversations::Conversations;
use crate::kb::ingest::{IngestEvent, IngestOptions};
use crate::kb::KnowledgeBase;
use crate::rag::{Assistant, GenerationWorker, Lexicon};
use crate::settings::{AnswerMode, Settings};
use crate::{Error, Result};

pub use error::ApiJson;
use limits::{Admission, ClientLimiter};

/// What answers: loaded once at start-up.
pub struct Engine {
    /// The answering engine.
    pub assistant: Arc<Assistant>,
    /// Where exchanges are stored.
    pub conversations: Arc<Mutex<Conversations>>,
    /// Users, audit log, curated answers, exclusions, feedback, handoffs.
    pub referents: Arc<Mutex<crate::referents::Referents>>,
    /// The knowledge base (shared with the assistant): uploads commit here.
    pub kb: Arc<Mutex<KnowledgeBase>>,
    /// The data directory (uploaded files go under `documents/`).
    pub data_dir: PathBuf,
    /// Documents and chunks in the knowledge base at start (for /readyz).
    pub documents: usize,
    /// Chunks at start.
    pub chunks: i64,
    /// Parses uploaded documents in worker processes.
    pub parser: crate::parse::Parser,
    /// How uploads are filed (the configured chunk limit).
    pub ingest_options: IngestOptions,
}

fn locked<'a, T>(m: &'a Mutex<T>, what: &str) -> Result<std::sync::MutexGuard<'a, T>> {
    m.lock()
        .map_err(|_| Error::Unavailable(format!("the {what} lock is poisoned")))
}

impl Engine {
    /// The conversation store, locked.
    pub fn conversations(&self) -> Result<std::sync::MutexGuard<'_, Conversations>> {
        locked(&self.conversations, "conversation store")
    }

    /// The référents' store, locked.
    pub fn referents(&self) -> Result<std::sync::MutexGuard<'_, crate::referents::Referents>> {
        locked(&self.referents, "référents' store")
    }

    /// The knowledge base, locked (briefly: searches wait on it).
    pub fn kb(&self) -> Result<std::sync::MutexGuard<'_, KnowledgeBase>> {
        locked(&self.kb, "knowledge base")
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Answers given, by status (index of [`crate::rag::Status`] order).
    pub answers: [AtomicU64; 6],
    /// Requests refused because every answer slot was taken.
    pub overloaded: AtomicU64,
    /// Requests refused by the rate limit.
    pub rate_limited: AtomicU64,
    /// Answers that failed or timed out.
    pub failed: AtomicU64,
    /// Time to the whole answer.
    pub total_ms: Histogram,
    /// Time to the first piece of answer text.
    pub first_token_ms: Histogram,
}

/// Upper bounds of the latency buckets, in milliseconds (Prometheus
/// histogram convention: cumulative counts, then `+Inf`).
pub const LATENCY_BUCKETS_MS: [u64; 9] = [100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000];

/// A latency histogram for `/metrics`, lock-free.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Observations at or below each bound of [`LATENCY_BUCKETS_MS`].
    pub buckets: [AtomicU64; 9],
    /// All observations.
    pub count: AtomicU64,
    /// Their sum, in milliseconds.
    pub sum_ms: AtomicU64,
}

impl Histogram {
    /// Records one duration.
    pub fn observe(&self, ms: u64) {
        for (b, bound) in self.buckets.iter().zip(LATENCY_BUCKETS_MS) {
            if ms <= bound {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// The state every handler sees.
#[derive(Clone)]
pub struct AppState {
    engine: Arc<OnceLock<Engine>>,
    /// The configuration.
    pub settings: Arc<Settings>,
    /// Answer slots.
    pub admission: Arc<Admission>,
    /// Per-client rate limit of the chat endpoints.
    pub limiter: Arc<ClientLimiter>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Upload jobs.
    pub jobs: Arc<documents::Jobs>,
    /// The re-embedding in progress or last done.
    pub reembed: index::ReembedSlot,
}

impl AppState {
    /// A state whose engine is not loaded yet.
    pub fn new(settings: Settings) -> Self {
        Self {
            engine: Arc::new(OnceLock::new()),
            admission: Admission::new(settings.limits.queue),
            limiter: Arc::new(ClientLimiter::new(settings.limits.rate_per_minute)),
            metrics: Arc::new(Metrics::default()),
            jobs: Arc::new(documents::Jobs::default()),
            reembed: Arc::default(),
            settings: Arc::new(settings),
        }
    }

    /// A ready state around `engine` (tests, embedding in another program).
    pub fn with_engine(settings: Settings, engine: Engine) -> Self {
        let s = Self::new(settings);
        s.set_engine(engine);
        s
    }

    /// Makes the service ready.
    pub fn set_engine(&self, engine: Engine) {
        let _ = self.engine.set(engine);
    }

    /// The engine, or [`Error::NotReady`] while starting.
    pub fn engine(&self) -> Result<&Engine> {
        self.engine.get().ok_or(Error::NotReady)
    }

    /// Counts a chat request from `ip` against the rate limit.
    pub fn check_rate(&self, ip: Option<IpAddr>) -> Result<()> {
        let ip = ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        self.limiter.check(ip).inspect_err(|_| {
            self.metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
        })
    }

    /// An answer slot, counting refusals.
    pub fn admit(&self) -> Result<limits::Permit> {
        self.admission.acquire().inspect_err(|_| {
            self.metrics.overloaded.fetch_add(1, Ordering::Relaxed);
        })
    }
}

/// The client's address, when the server was started with connection info.
pub fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The OpenAPI description of the API, generated from the handlers and
/// types (served at `/openapi.json`).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Guichet",
        description = "Assistant citoyen : réponses sourcées à partir des documents de la commune."
    ),
    paths(
        chat::chat,
        chat::conversation,
        openai::completions,
        openai::models,
        openai::embeddings,
        health::healthz,
        health::readyz,
        health::metrics,
        referents::feedback,
        referents::handoff,
        referents::list_handoffs,
        referents::resolve_handoff,
        referents::list_curated,
        referents::create_curated,
        referents::update_curated,
        referents::delete_curated,
        referents::list_exclusions,
        referents::create_exclusion,
        referents::delete_exclusion,
        referents::review_queue,
        referents::review,
        referents::audit,
        referents::stats,
        referents::export,
        referents::import,
        index::start,
        index::status,
        documents::upload,
        documents::replace,
        documents::job,
        documents::list,
        documents::show,
        documents::delete
    ),
    components(schemas(
        chat::ChatRequest,
        chat::ChatResponse,
        crate::rag::Answer,
        crate::rag::Source,
        crate::rag::Timings,
        crate::rag::Status,
        crate::rag::Features,
        openai::CompletionRequest,
        openai::Message,
        openai::EmbeddingRequest,
        error::ErrorBody,
        error::ErrorDetail,
        crate::referents::Curated,
        crate::referents::Exclusion,
        crate::referents::Handoff,
        referents::FeedbackRequest,
        referents::HandoffRequest,
        referents::ResolveRequest,
        referents::VerdictRequest,
        crate::referents::Review,
        crate::stats::Stats,
        crate::stats::Period,
        documents::Job,
        index::ReembedJob,
        index::ReembedRequest,
        documents::FileResult
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Declares the `bearer` security scheme of the référent endpoints.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(<ApiDoc as utoipa::OpenApi>::openapi())
}

/// The router: every route, the body limit and CORS.
pub fn app(state: AppState) -> Router {
    let cors = cors(&state.settings.server.cors_origins);
    let body_limit = state.settings.limits.max_body_bytes;
    let mut router = Router::new()
        .route("/api/chat", post(chat::chat))
        .route("/api/conversations/{id}", get(chat::conversation))
        .route("/v1/chat/completions", post(openai::completions))
        .route("/v1/models", get(openai::models))
        .route("/v1/embeddings", post(openai::embeddings))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(openapi))
        .route("/api/feedback", post(referents::feedback))
        .route("/api/handoff", post(referents::handoff))
        .route("/api/handoffs", get(referents::list_handoffs))
        .route(
            "/api/handoffs/{id}/resolve",
            post(referents::resolve_handoff),
        )
        .route(
            "/api/curated",
            get(referents::list_curated).post(referents::create_curated),
        )
        .route(
            "/api/curated/{id}",
            axum::routing::put(referents::update_curated).delete(referents::delete_curated),
        )
        .route(
            "/api/exclusions",
            get(referents::list_exclusions).post(referents::create_exclusion),
        )
        .route(
            "/api/exclusions/{id}",
            axum::routing::delete(referents::delete_exclusion),
        )
        .route("/api/review", get(referents::review_queue))
        .route("/api/audit", get(referents::audit))
        .route("/api/stats", get(referents::stats))
        .route("/api/review/{answer_id}", post(referents::review))
        .route("/api/export", get(referents::export))
        .route("/api/index/reembed", get(index::status).post(index::start))
        .route("/api/import", post(referents::import))
        .layer(DefaultBodyLimit::max(body_limit))
        .merge(documents::routes(
            state.settings.limits.max_upload_request_bytes,
        ))
        .merge(web::routes())
        .with_state(state);
    if let Some(c) = cors {
        router = router.layer(c);
    }
    // Browsers must not guess types (an uploaded text is never run as a
    // script); pages and assets are compressed for slow lines (SSE and
    // images are left as they are by the default predicate).
    let router = router
        .layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                axum::http::header::X_CONTENT_TYPE_OPTIONS,
                axum::http::HeaderValue::from_static("nosniff"),
            ),
        )
        .layer(tower_http::compression::CompressionLayer::new().gzip(true));
    // Refusals (413, 429, 503) are answers, not failures of the server.
    router.layer(
        tower_http::trace::TraceLayer::new_for_http()
            .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG)),
    )
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let list: Vec<axum::http::HeaderValue> =
        origins.iter().filter_map(|o| o.parse().ok()).collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
            .allow_headers([axum::http::header::CONTENT_TYPE]),
    )
}

/// Takes a backup every `every_hours` and keeps the newest `keep`; a
/// failure is logged and retried at the next period.
async fn scheduled_backups(data_dir: PathBuf, s: crate::settings::BackupSettings) {
    let period = Duration::from_secs_f64((s.every_hours * 3600.0).max(1.0));
    let folder = if s.folder.is_empty() {
        data_dir.join("backups")
    } else {
        PathBuf::from(&s.folder)
    };
    loop {
        tokio::time::sleep(period).await;
        let (data, folder, keep) = (data_dir.clone(), folder.clone(), s.keep);
        let done = tokio::task::spawn_blocking(move || {
            let stamp = crate::time::utc(crate::time::now_secs()).replace(':', "");
            let out = folder.join(format!("guichet-{stamp}.tar.gz"));
            let r = crate::durability::backup::backup(&data, &out)?;
            if keep > 0 {
                crate::durability::backup::prune(&folder, keep)?;
            }
            Ok::<_, Error>(r)
        })
        .await;
        match done {
            Ok(Ok(r)) => tracing::info!(
                "scheduled backup written to {} ({} bytes)",
                r.path.display(),
                r.bytes
            ),
            Ok(Err(e)) => tracing::error!("scheduled backup failed: {e}"),
            Err(e) => tracing::error!("scheduled backup task failed: {e}"),
        }
    }
}

/// Loads everything the engine needs: default models fetched if missing,
/// the demo corpus ingested into an empty knowledge base, the generator
/// started when the configuration uses it. Blocking; progress is logged.
pub fn load_engine(config: &Config) -> Result<Engine> {
    let s = &config.settings;
    let needs_generator = s.answer.mode != AnswerMode::Extractive || s.answer.rewrite_with_model;
    let mut wanted = Vec::new();
    if let Some(m) = guichet_models::fetch::default_model(&config.embedding_spec) {
        wanted.push(m);
    }
    if needs_generator {
        if let Some(m) = guichet_models::fetch::default_model(&config.generation_spec) {
            wanted.push(m);
        }
    }
    guichet_models::fetch::ensure(&config.models_dir, &wanted, |ev| {
        if let guichet_models::fetch::FetchEvent::Downloading { model, .. } = ev {
            tracing::info!(
                "fetching the {model} model into {}",
                config.models_dir.display()
            );
        }
    })?;
    let embedder = config.load_embedder()?;
    let parser = config.parser()?;
    let ingest_options = config.ingest_options();
    let mut kb = KnowledgeBase::open(&config.data_dir, embedder.clone(), &mut |n| {
        tracing::info!("rebuilding the vector index from {n} stored embeddings");
    })?;
    if kb.store().chunk_count()? == 0 && !s.server.demo_corpus.is_empty() {
        let demo = PathBuf::from(&s.server.demo_corpus);
        if demo.is_dir() {
            tracing::info!(
                "the knowledge base is empty: ingesting the demo corpus {} (a few minutes on 2 cores)",
                demo.display()
            );
            let mut total = 0;
            let mut done = 0;
            let report = kb.ingest(&parser, &[demo], &ingest_options, &mut |ev| match ev {
                IngestEvent::Files(n) => total = n,
                IngestEvent::FileDone(f) => {
                    done += 1;
                    tracing::info!("ingested {done}/{total}: {}", f.display());
                }
            })?;
            tracing::info!(
                "demo corpus: {} documents, {} chunks in {:.0} s, {} failed",
                report.added + report.updated,
                report.chunks,
                report.seconds,
                report.failed.len()
            );
        } else {
            tracing::warn!(
                "the knowledge base is empty and the demo corpus {} is not there",
                demo.display()
            );
        }
    }
    let documents = kb.store().documents()?.len();
    let chunks = kb.store().chunk_count()?;
    let generator = if needs_generator {
        let opts = GeneratorOptions {
            context: config.context,
            ..GeneratorOptions::default()
        };
        let g = crate::config::load_generator(&config.generation_model, &opts)?;
        Some(GenerationWorker::spawn(Box::new(g), s.limits.queue)?)
    } else {
        None
    };
    let lexicon = if s.answer.lexicon.is_empty() {
        Lexicon::builtin()
    } else {
        Lexicon::with_file(std::path::Path::new(&s.answer.lexicon))?
    };
    let conversations = Conversations::open(
        &config.data_dir.join("guichet.db"),
        s.privacy.keep_original_questions,
    )?;
    let referents = Arc::new(Mutex::new(crate::referents::Referents::open(
        &config.data_dir.join("guichet.db"),
    )?));
    let kb = Arc::new(Mutex::new(kb));
    let assistant = Assistant::new(
        Box::new(kb.clone()),
        embedder,
        generator,
        s.answer.clone(),
        s.town.clone(),
        lexicon,
    )?
    .with_town_knowledge(referents.clone());
    Ok(Engine {
        assistant: Arc::new(assistant),
        conversations: Arc::new(Mutex::new(conversations)),
        referents,
        kb,
        data_dir: config.data_dir.clone(),
        documents,
        chunks,
        parser,
        ingest_options,
    })
}

/// Runs the service until Ctrl-C or SIGTERM: binds, loads the engine in
/// the background, serves.
pub async fn serve(config: Config) -> Result<()> {
    let bind = config.settings.server.bind.clone();
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .map_err(|source| Error::Io {
            path: PathBuf::from(&bind),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Io {
        path: PathBuf::from(&bind),
        source,
    })?;
    let state = AppState::new(config.settings.clone());
    if config.settings.backup.every_hours > 0.0 {
        tokio::spawn(scheduled_backups(
            config.data_dir.clone(),
            config.settings.backup.clone(),
        ));
    }
    let loading = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            let engine = load_engine(&config)?;
            tracing::info!(
                "ready: {} documents, {} chunks, answers {:?}",
                engine.documents,
                engine.chunks,
                config.settings.answer.mode
            );
            state.set_engine(engine);
            Ok::<(), Error>(())
        })
    };
    // Printed on stdout: scripts and tests read the port from it.
    println!("listening on http://{addr}");
    tracing::info!("listening on http://{addr} (loading models and index)");
    let server = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown());
    let server = async {
        server
            .await
            .map_err(|e| Error::Unavailable(format!("server: {e}")))
    };
    let startup = async {
        match loading.await {
            Ok(Ok(())) => std::future::pending::<Result<()>>().await,
            Ok(Err(e)) => Err(e),
            Err(e) => Err(Error::Unavailable(format!("start-up failed: {e}"))),
        }
    };
    tokio::select! {
        r = server => r,
        r = startup => r,
    }
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// The time limit of one answer.
pub(crate) fn answer_timeout(settings: &Settings) -> Duration {
    Duration::from_secs(settings.limits.request_timeout_secs.max(1))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    async fn call(
        app: Router,
        req: Request<Body>,
    ) -> (StatusCode, Option<String>, serde_json::Value) {
        let resp = app.oneshot(req).await.unwrap();
        let status = resp.status();
        let retry = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, retry, v)
    }

    fn chat(body: &str) -> Request<Body> {
        Request::post("/api/chat")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    #[tokio::test]
    async fn while_starting_health_answers_and_the_rest_says_503_in_one_shape() {
        let mut settings = Settings::default();
        settings.limits.max_body_bytes = 1024;
        let app = app(AppState::new(settings));
        let (s, _, _) = call(
            app.clone(),
            Request::get("/healthz").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let (s, retry, v) = call(
            app.clone(),
            Request::get("/readyz").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert!(retry.is_some());
        assert_eq!(v["error"]["code"], "starting");
        let (s, _, v) = call(app.clone(), chat(r#"{"message": "Bonjour"}"#)).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert!(v["error"]["message"].as_str().unwrap().contains("démarre"));
        // Malformed and oversized bodies answer in the same shape.
        let (s, _, v) = call(app.clone(), chat(r#"{"message": 3}"#)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["code"], "invalid_request");
        let big = format!(r#"{{"message": "{}"}}"#, "a".repeat(4096));
        let (s, _, v) = call(app.clone(), chat(&big)).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(v["error"]["code"], "too_large");
        let (s, _, _) = call(
            app.clone(),
            Request::get("/v1/models").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        // The OpenAPI description is generated from the handlers.
        let (s, _, v) = call(
            app,
            Request::get("/openapi.json").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        for path in [
            "/api/chat",
            "/api/conversations/{id}",
            "/v1/chat/completions",
            "/v1/embeddings",
            "/readyz",
        ] {
            assert!(v["paths"].get(path).is_some(), "{path} missing");
        }
        let answer = &v["components"]["schemas"]["Answer"]["properties"];
        assert!(answer.get("confidence").is_some() && answer.get("sources").is_some());
    }
}
