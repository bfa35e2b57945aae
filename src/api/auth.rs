//! Authentication of référent and admin endpoints: `Authorization: Bearer
//! <token>`, checked against the hashed tokens of `guichet users`. Citizens
//! need none. 401 without or with a bad token, 403 with the wrong role.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AppState;
use crate::referents::Role;
use crate::{Error, Result};

/// An authenticated member of staff.
#[derive(Debug, Clone)]
pub struct Staff {
    /// Their user name (written in the audit log).
    pub name: String,
    /// Their role.
    pub role: Role,
}

impl Staff {
    /// [`Error::Forbidden`] unless the role is at least `role`.
    pub fn require(&self, role: Role) -> Result<()> {
        if self.role >= role {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// The token of an `Authorization: Bearer` header; the scheme is
/// case-insensitive (RFC 7235).
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let engine = state.engine()?;
        let token = bearer_token(&parts.headers).ok_or(Error::Unauthorized)?;
        let today = crate::time::local_today(&state.settings.town.zone());
        let found = engine.referents()?.authenticate(token, &today)?;
        let (name, role) = found.ok_or(Error::Unauthorized)?;
        Ok(Staff { name, role })
    }
}
