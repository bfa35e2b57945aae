//! The web pages: the citizen page at `/` (also the embeddable widget's
//! frame), the loader `/widget.js`, the référent console at `/console`,
//! their assets, and the public link to a source document.
//!
//! The assets (`src/api/assets/`: plain HTML, CSS and JavaScript modules,
//! no build step) are embedded in the binary with `rust-embed`, so
//! `guichet serve` needs nothing beside it; debug builds read them from
//! disk, so editing a page needs no rebuild. Every page is served with a
//! Content-Security-Policy without inline scripts; the configuration a
//! page needs travels in a JSON data block (not executed), and the
//! town's colour in a generated stylesheet.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rust_embed::RustEmbed;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use guichet_text::{escape_html, hex};

use super::auth::Staff;
use super::AppState;
use crate::{Error, Result};

/// The embedded files of the pages.
#[derive(RustEmbed)]
#[folder = "src/api/assets/"]
struct Assets;

/// The pages and their assets (merged into [`super::app`]): HTML, scripts
/// and images, not part of the API's description.
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(citizen_page))
        .route("/console", get(console_page))
        .route("/widget.js", get(widget_js))
        .route("/assets/theme.css", get(theme_css))
        .route("/assets/logo", get(logo))
        .route("/assets/{*path}", get(asset))
}

/// The JSON and file routes the pages call, described in the API.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(source_file))
        .routes(routes!(latest_eval))
        .routes(routes!(me))
}

/// `GET /api/me` (référents): who the token belongs to, so the console
/// can check a token at login without side effects.
#[utoipa::path(get, path = "/api/me", tag = "référents", security(("bearer" = [])),
    responses((status = 200, description = "`{name, role}`"), (status = 401, body = super::error::ErrorBody)))]
async fn me(staff: Staff) -> Response {
    axum::Json(serde_json::json!({
        "name": staff.name,
        "role": staff.role.as_str(),
    }))
    .into_response()
}

/// The policy of the pages: scripts, styles and images from this server
/// only, no inline script, no plugin; `frame_ancestors` says who may put
/// the page in a frame.
fn csp(frame_ancestors: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; font-src 'self'; form-action 'none'; base-uri 'none'; \
         object-src 'none'; frame-src 'none'; frame-ancestors {frame_ancestors}"
    )
}

/// JSON made safe inside a `<script type="application/json">` block: no
/// `<` can close it.
fn json_block(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn embedded(path: &str) -> Result<rust_embed::EmbeddedFile> {
    Assets::get(path).ok_or_else(|| Error::NotFound(format!("Fichier inconnu : {path}.")))
}

fn text_of(path: &str) -> Result<String> {
    let f = embedded(path)?;
    String::from_utf8(f.data.into_owned())
        .map_err(|_| Error::Unavailable(format!("asset {path} is not UTF-8")))
}

/// What the citizen page knows of the configuration.
fn page_config(state: &AppState) -> serde_json::Value {
    let s = &state.settings;
    serde_json::json!({
        "title": s.widget.title,
        "welcome": s.widget.welcome,
        "town": s.town,
        "max_message_chars": s.limits.max_message_chars,
        "questions_per_conversation": s.limits.questions_per_conversation,
    })
}

fn html(body: String, policy: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CACHE_CONTROL, "no-cache".to_string()),
            (header::CONTENT_SECURITY_POLICY, policy),
            (header::REFERRER_POLICY, "same-origin".to_string()),
        ],
        body,
    )
        .into_response()
}

/// Fills a page template: `{{title}}` and `{{town}}` as escaped text,
/// `{{config}}` as a JSON data block.
fn render(template: &str, state: &AppState) -> String {
    template
        .replace("{{title}}", &escape_html(&state.settings.widget.title))
        .replace("{{town}}", &escape_html(&state.settings.town.name))
        .replace("{{config}}", &json_block(&page_config(state)))
}

/// `GET /`: the citizen page, also the frame of the embedded widget (the
/// sites of `widget.embed_origins` may frame it, no one else).
async fn citizen_page(State(state): State<AppState>) -> Result<Response> {
    let mut ancestors = vec!["'self'".to_string()];
    ancestors.extend(state.settings.widget.embed_origins.iter().cloned());
    Ok(html(
        render(&text_of("index.html")?, &state),
        csp(&ancestors.join(" ")),
    ))
}

/// `GET /console`: the référent console (never framed).
async fn console_page(State(state): State<AppState>) -> Result<Response> {
    Ok(html(
        render(&text_of("console.html")?, &state),
        csp("'none'"),
    ))
}

/// `GET /widget.js`: the loader a town puts on its site with one
/// `<script>` tag; it knows the origins allowed to embed the widget.
async fn widget_js(State(state): State<AppState>) -> Result<Response> {
    let origins = serde_json::Value::from(state.settings.widget.embed_origins.clone());
    let color = serde_json::Value::from(state.settings.widget.color.clone());
    let body = text_of("widget.js")?
        .replace("\"__GUICHET_ORIGINS__\"", &origins.to_string())
        .replace("\"__GUICHET_COLOR__\"", &color.to_string());
    Ok((
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

/// `GET /assets/theme.css`: the town's colour (validated `#rrggbb`).
async fn theme_css(State(state): State<AppState>) -> Response {
    let c = &state.settings.widget.color;
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        format!(":root {{ --primary: {c}; }}\n"),
    )
        .into_response()
}

/// `GET /assets/logo`: the configured logo, or the built-in mark.
async fn logo(State(state): State<AppState>) -> Result<Response> {
    let path = &state.settings.widget.logo;
    if path.is_empty() {
        return asset(Path("logo.svg".to_string()), HeaderMap::new()).await;
    }
    let bytes = tokio::fs::read(path).await.map_err(|e| Error::Io {
        path: path.into(),
        source: e,
    })?;
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    if mime.type_() != "image" {
        return Err(Error::Invalid(format!(
            "widget.logo {path} is not an image"
        )));
    }
    Ok((
        [
            (header::CONTENT_TYPE, mime.essence_str().to_string()),
            (header::CACHE_CONTROL, "max-age=3600".to_string()),
            // An SVG logo opened directly must not run scripts.
            (header::CONTENT_SECURITY_POLICY, "sandbox".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /assets/{path}`: an embedded file, revalidated by its hash
/// (`ETag`, 304), so a slow line downloads each file once.
async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Result<Response> {
    let f = embedded(&path)?;
    let etag = format!("\"{}\"", hex(&f.metadata.sha256_hash()[..12]));
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let mime = f.metadata.mimetype().to_string();
    let mime = if mime.starts_with("text/") || mime.ends_with("javascript") {
        format!("{mime}; charset=utf-8")
    } else {
        mime
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache".to_string()),
            (header::ETAG, etag),
        ],
        f.data.into_owned(),
    )
        .into_response())
}

/// `GET /api/sources/{id}`: the original file of a document, so that a
/// citation opens what it cites (`#page=N` for PDFs). Documents are the
/// town's public documents; HTML and XML are sandboxed (no script runs),
/// text formats are sent as plain text.
#[utoipa::path(get, path = "/api/sources/{id}", tag = "chat",
    params(("id" = i64, Path, description = "The document's id, as in an answer's sources")),
    responses((status = 200, description = "The original file"), (status = 404, body = super::error::ErrorBody)))]
async fn source_file(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response> {
    let engine = state.engine()?;
    let doc = engine
        .kb()?
        .store()
        .document(id)?
        .ok_or_else(|| Error::NotFound("Document inconnu.".into()))?;
    let path = std::path::PathBuf::from(&doc.source);
    let bytes = tokio::fs::read(&path).await.map_err(|_| {
        Error::NotFound(format!(
            "Le fichier de « {} » n'est plus disponible sur le serveur.",
            doc.title
        ))
    })?;
    let mime = match doc.format.as_str() {
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "odt" => "application/vnd.oasis.opendocument.text",
        "html" => "text/html; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };
    let name = super::documents::sanitize(
        &path
            .file_name()
            .map_or(std::borrow::Cow::Borrowed("document"), |n| {
                n.to_string_lossy()
            }),
    );
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if doc.format != "pdf" {
        // A document holding `<script>` stays inert (Chrome's PDF viewer
        // does not run in a sandbox, and PDFs run no page script).
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'",
            ),
        );
    }
    Ok((headers, bytes).into_response())
}

/// `GET /api/eval/latest` (référents): the newest evaluation run under
/// `widget.eval_runs` — its name, `summary.json` and `report.html`.
#[utoipa::path(get, path = "/api/eval/latest", tag = "référents", security(("bearer" = [])),
    responses((status = 200, description = "`{name, summary, report}`"), (status = 401, body = super::error::ErrorBody), (status = 404, body = super::error::ErrorBody)))]
async fn latest_eval(State(state): State<AppState>, _staff: Staff) -> Result<Response> {
    let root = std::path::PathBuf::from(&state.settings.widget.eval_runs);
    let found = tokio::task::spawn_blocking(move || {
        newest_run(&root).map(|dir| {
            let summary: serde_json::Value = std::fs::read_to_string(dir.join("summary.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(serde_json::Value::Null);
            let report = std::fs::read_to_string(dir.join("report.html")).ok();
            (dir, summary, report)
        })
    })
    .await
    .map_err(|e| Error::Unavailable(format!("eval lookup: {e}")))?;
    let Some((dir, summary, report)) = found else {
        return Err(Error::NotFound(
            "Aucune évaluation n'a encore été lancée (guichet eval run).".into(),
        ));
    };
    Ok(axum::Json(serde_json::json!({
        "run": dir.file_name().and_then(|n| n.to_str()).unwrap_or(""),
        "summary": summary,
        "report_html": report,
    }))
    .into_response())
}

/// The run folder (holding a `summary.json`) modified last.
fn newest_run(root: &std::path::Path) -> Option<std::path::PathBuf> {
    std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("summary.json").is_file())
        .max_by_key(|p| {
            std::fs::metadata(p.join("summary.json"))
                .and_then(|m| m.modified())
                .ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_configuration_cannot_break_out_of_the_page() {
        assert_eq!(
            escape_html("<img src=x onerror=\"a\">&'"),
            "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;"
        );
        let v = serde_json::json!({"t": "</script><script>alert(1)</script>"});
        let block = json_block(&v);
        assert!(!block.contains('<'), "{block}");
        let back: serde_json::Value = serde_json::from_str(&block).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn every_page_and_asset_is_embedded() {
        for f in ["index.html", "console.html", "widget.js", "logo.svg"] {
            assert!(Assets::get(f).is_some(), "{f} missing");
        }
        let page = text_of("index.html").unwrap();
        assert!(page.contains("{{config}}"));
        assert!(!page.contains("<script>"), "no inline script");
    }
}
