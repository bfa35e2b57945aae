//! The HTTP service: a thin axum layer over [`crate::rag::Assistant`].
//!
//! * [`chat`]: `POST /api/chat` (SSE stream or JSON) and
//!   `GET /api/conversations/{id}`;
//! * [`openai`]: `POST /v1/chat/completions`, `GET /v1/models`,
//!   `POST /v1/embeddings`, for the clients people already use;
//! * [`health`]: `/healthz`, `/readyz`; [`metrics`]: `/metrics`;
//! * [`limits`]: answer slots (503) and per-client rate limits (429);
//! * [`error`]: the one mapping from errors to HTTP;
//! * [`web`]: the citizen page and widget, the référent console.
//!
//! [`serve`] binds first, so `/healthz` answers while the models load and
//! the demo corpus is ingested; the answering routes say 503 until
//! [`Engine`] is ready. What the engine holds and how it is built is the
//! composition root's business ([`crate::engine`]); this module only routes,
//! extracts and maps errors.

pub mod auth;
pub mod chat;
pub mod documents;
pub mod error;
pub mod health;
pub mod index;
pub mod limits;
pub mod metrics;
pub mod openai;
pub mod referents;
pub mod users;
pub mod web;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::routing::get;
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Config;
pub use crate::engine::Engine;
use crate::settings::Settings;
use crate::{Error, Result};

pub use error::ApiJson;
use limits::{Admission, ClientLimiter};
pub use metrics::Metrics;

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
    /// Reverse proxies whose forwarding headers are believed.
    pub trusted: Arc<Vec<ipnet::IpNet>>,
    /// Wakes the notices' delivery thread (`None`: notices are off).
    pub notices: Option<crate::notify::deliver::Waker>,
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
            trusted: Arc::new(settings.server.trusted_networks()),
            notices: None,
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
            self.metrics.rejected("rate_limited");
        })
    }

    /// An answer slot, counting refusals.
    pub fn admit(&self) -> Result<limits::Permit> {
        self.admission.acquire().inspect_err(|_| {
            self.metrics.rejected("overloaded");
        })
    }
}

/// The client's address (behind a trusted proxy, the one it forwards; see
/// [`limits::client_address`]), when the server was started with
/// connection info.
pub fn client_ip(state: &AppState, req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| limits::client_address(c.0.ip(), req.headers(), &state.trusted))
}

/// The OpenAPI description's frame: title, shared schemas and the bearer
/// scheme. Its paths come from the router itself ([`api_routes`]), so a
/// route cannot be served without being described.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Guichet",
        description = "Assistant citoyen : réponses sourcées à partir des documents de la commune."
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
        crate::referents::QueueItem,
        crate::conversations::stats::Stats,
        crate::conversations::stats::Period,
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

/// Every route of the API with its description, in one list: the router
/// and `/openapi.json` are both made from it.
pub fn api_routes(settings: &Settings) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(chat::chat))
        .routes(routes!(chat::conversation))
        .routes(routes!(openai::completions))
        .routes(routes!(openai::models))
        .routes(routes!(openai::embeddings))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(referents::feedback))
        .routes(routes!(referents::handoff))
        .routes(routes!(referents::list_handoffs))
        .routes(routes!(referents::resolve_handoff))
        .routes(routes!(referents::list_curated, referents::create_curated))
        .routes(routes!(
            referents::update_curated,
            referents::delete_curated
        ))
        .routes(routes!(
            referents::list_exclusions,
            referents::create_exclusion
        ))
        .routes(routes!(referents::delete_exclusion))
        .routes(routes!(referents::review_queue))
        .routes(routes!(referents::review))
        .routes(routes!(referents::audit))
        .routes(routes!(users::list_users, users::create_user))
        .routes(routes!(users::update_user, users::revoke_user))
        .routes(routes!(referents::stats))
        .routes(routes!(referents::export))
        .routes(routes!(referents::import))
        .routes(routes!(index::status, index::start))
        .merge(web::api_routes())
        .layer(DefaultBodyLimit::max(settings.limits.max_body_bytes))
        .merge(documents::routes(settings.limits.max_upload_request_bytes))
}

/// The OpenAPI description of the API (served at `/openapi.json`).
pub fn openapi(settings: &Settings) -> utoipa::openapi::OpenApi {
    with_common_responses(api_routes(settings).into_openapi())
}

/// Adds to every operation the answers every route can give, written once
/// here instead of on each handler: 503 (starting, or every answer slot
/// taken; `Retry-After`), and on routes behind a token 401 (no valid
/// token) and 403 (a role that may not).
fn with_common_responses(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let guarded = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let r = &mut op.responses.responses;
            let mut add = |code: &str, description: &str| {
                r.entry(code.to_string())
                    .or_insert_with(|| error(description).into());
            };
            add(
                "503",
                "The service is starting, or every answer slot is taken (Retry-After)",
            );
            if guarded {
                add("401", "No valid bearer token");
                add("403", "The token's role may not do this");
            }
        }
    }
    doc
}

/// The router: every route, the body limit and CORS.
pub fn app(state: AppState) -> Router {
    let cors = cors(&state.settings.server.cors_origins);
    let log_requests = state.settings.log.requests;
    let (api, doc) = api_routes(&state.settings).split_for_parts();
    let doc = Arc::new(with_common_responses(doc));
    let mut router = api
        .route(
            "/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { axum::Json(doc.as_ref().clone()) }
            }),
        )
        .merge(web::page_routes())
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
    // One line per request at info (or debug, `[log] requests = false`):
    // method, the route's pattern (never the query string, and no body:
    // a citizen's question is not logged), status and duration. Refusals
    // (413, 429, 503) are answers, not failures of the server.
    let level = if log_requests {
        tracing::Level::INFO
    } else {
        tracing::Level::DEBUG
    };
    router.layer(
        tower_http::trace::TraceLayer::new_for_http()
            .make_span_with(request_span)
            .on_request(())
            .on_response(
                tower_http::trace::DefaultOnResponse::new()
                    .level(level)
                    .latency_unit(tower_http::LatencyUnit::Millis),
            )
            .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG)),
    )
}

/// The span of one request: its method and route pattern
/// (`/api/documents/{id}`), or `other` for a path no route matched.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("other", |p| p.as_str());
    tracing::info_span!("request", method = %req.method(), route = %route)
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
    let mut state = AppState::new(config.settings.clone());
    // A bad [notify] setting stops the start here, with its key.
    state.notices =
        crate::notify::deliver::start(config.data_dir.join("guichet.db"), &config.settings.notify)?;
    if config.settings.backup.every_hours > 0.0 {
        tokio::spawn(crate::engine::scheduled_backups(
            config.data_dir.clone(),
            config.settings.backup.clone(),
        ));
    }
    let loading = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || {
            let engine = crate::engine::load(&config)?;
            tracing::info!(
                "ready: {} documents, {} chunks, answers {:?}",
                engine.documents,
                engine.chunks,
                config.settings.answer.mode
            );
            crate::engine::scheduled_crawls(&engine, &config.settings.sources);
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

/// An event stream marked for reverse proxies: nginx buffers responses
/// unless told not to (`X-Accel-Buffering: no`), which would deliver a
/// streamed answer in one piece at the end; the keep-alive comments keep
/// idle proxies from closing it.
pub(crate) fn unbuffered(mut r: axum::response::Response) -> axum::response::Response {
    r.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    r
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

    /// The routes that are not part of the API: the pages, their assets
    /// and the description itself.
    const PAGES: [&str; 7] = [
        "/",
        "/console",
        "/widget.js",
        "/assets/theme.css",
        "/assets/logo",
        "/assets/{*path}",
        "/openapi.json",
    ];

    #[tokio::test]
    async fn every_described_operation_is_served_and_every_api_route_is_described() {
        let settings = Settings::default();
        let doc = serde_json::to_value(openapi(&settings)).unwrap();
        let app = app(AppState::new(settings));
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/api/sources/{id}",
            "/api/eval/latest",
            "/api/me",
            "/api/documents/{id}",
            "/api/index/reembed",
        ] {
            assert!(paths.contains_key(path), "{path} is not described");
        }
        let placeholder = regex::Regex::new(r"\{[^}]+\}").unwrap();
        let mut operations = 0;
        let mut undocumented = Vec::new();
        for (path, item) in paths {
            let uri = placeholder.replace_all(path, "1").into_owned();
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_none() {
                    continue;
                }
                operations += 1;
                let req = Request::builder()
                    .method(method.to_uppercase().as_str())
                    .uri(&uri)
                    .body(Body::empty())
                    .unwrap();
                let resp = app.clone().oneshot(req).await.unwrap();
                let status = resp.status();
                let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
                    .await
                    .unwrap();
                // A route that is not served gets axum's bare 404 or 405;
                // every answer of ours (503 while starting, 401, 422...)
                // has a body.
                assert!(
                    !(matches!(status.as_u16(), 404 | 405) && body.is_empty()),
                    "{method} {path} is described but not served ({status})"
                );
                // What it answered to an empty request is among what it
                // says it answers.
                if !item[method]["responses"]
                    .as_object()
                    .is_some_and(|r| r.contains_key(status.as_str()))
                {
                    undocumented.push(format!("{method} {path}: {status}"));
                }
            }
        }
        assert!(operations >= 36, "only {operations} operations described");
        assert!(
            undocumented.is_empty(),
            "answers not in the description:\n{}",
            undocumented.join("\n")
        );
        // The other way: outside the description's one list, the only
        // routes written by hand are the pages'.
        let api = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
        let route = regex::Regex::new(r#"\.route\(\s*"([^"]+)""#).unwrap();
        for f in std::fs::read_dir(api).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            for c in route.captures_iter(&text) {
                assert!(
                    PAGES.contains(&&c[1]) && !paths.contains_key(&c[1]),
                    "{}: {} is routed outside the described list",
                    f.display(),
                    &c[1]
                );
            }
        }
    }
}
