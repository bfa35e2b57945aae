//! The one mapping from the application error to HTTP: status, headers
//! and a JSON body of the same shape for every error,
//! `{"error": {"code": "...", "message": "..."}}`, with a French message a
//! citizen can read. 5xx bodies hide internals; the real error is logged.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::Error;

/// Seconds a client is told to wait when every answer slot is taken.
const BUSY_RETRY_SECS: u64 = 2;

impl Error {
    /// The HTTP status, a stable code and the French message of an error.
    pub fn http_parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            Error::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", m.clone()),
            Error::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", m.clone()),
            Error::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone()),
            Error::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone()),
            Error::Ingest(_) | Error::Parse(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "document_refused",
                self.to_string(),
            ),
            Error::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Jeton d'accès manquant ou invalide (en-tête Authorization: Bearer …).".into(),
            ),
            Error::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Ce rôle ne permet pas cette action.".into(),
            ),
            Error::Overloaded => (
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "Le service est très sollicité en ce moment : merci de réessayer dans quelques secondes.".into(),
            ),
            Error::RateLimited { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Trop de questions en peu de temps : merci de patienter un peu avant de réessayer.".into(),
            ),
            Error::Quota { message, .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "quota", message.clone())
            }
            Error::NotReady => (
                StatusCode::SERVICE_UNAVAILABLE,
                "starting",
                "Le service démarre : merci de réessayer dans un instant.".into(),
            ),
            Error::Timeout => (
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "La réponse a pris trop de temps : merci de reformuler ou de réessayer.".into(),
            ),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Une erreur interne s'est produite : merci de réessayer plus tard.".into(),
            ),
        }
    }
}

/// The body of every error response.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// An error's code and message.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable code (`invalid_request`, `too_large`, `not_found`,
    /// `document_refused`,
    /// `overloaded`, `rate_limited`, `starting`, `timeout`, `internal`).
    pub code: &'static str,
    /// A message in French, for the citizen.
    pub message: String,
}

impl Error {
    /// The JSON body of this error.
    pub fn body(&self) -> ErrorBody {
        let (_, code, message) = self.http_parts();
        ErrorBody {
            error: ErrorDetail { code, message },
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code, _) = self.http_parts();
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!("{code}: {self}");
        }
        let mut resp = (status, axum::Json(self.body())).into_response();
        if matches!(self, Error::Unauthorized) {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        let retry = match &self {
            Error::Overloaded => Some(BUSY_RETRY_SECS),
            Error::NotReady => Some(5),
            Error::RateLimited { retry_after_secs } => Some((*retry_after_secs).max(1)),
            Error::Quota {
                retry_after_secs, ..
            } if *retry_after_secs > 0 => Some(*retry_after_secs),
            _ => None,
        };
        if let Some(secs) = retry {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

/// A JSON body whose rejections answer in the same error shape (a
/// malformed body is 422 with a French message, an oversized one 413).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(r) => Err(rejection(r)),
        }
    }
}

fn rejection(r: JsonRejection) -> Error {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return Error::TooLarge("La requête est trop volumineuse.".into());
    }
    match r {
        JsonRejection::MissingJsonContentType(_) => {
            Error::Invalid("La requête doit être en JSON (Content-Type: application/json).".into())
        }
        other => Error::Invalid(format!("Requête JSON invalide : {}", other.body_text())),
    }
}
