//! The accounts of référents and admins, managed by admins over the API
//! and in the console: create (the token is shown once), list with their
//! last use, change role, expiry, e-mail and topics, revoke. The last
//! valid admin can be neither revoked nor demoted: the town would lock
//! itself out of its own service.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Deserializer};

use super::auth::Staff;
use super::{ApiJson, AppState};
use crate::referents::{Profile, Role, User, UserChange};
use crate::{Error, Result};

/// A present field, even `null`: tells "set to nothing" from "absent".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// The body of `POST /api/users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// A unique name (1 to 64 characters, no `#`), written in the audit log.
    #[schema(pattern = r"^[^#]{1,64}$")]
    pub name: String,
    /// `referent` (default) or `admin`.
    #[serde(default)]
    pub role: Option<Role>,
    /// The last day the token is valid (the town's time zone).
    #[serde(default)]
    #[schema(format = Date)]
    pub expires_at: Option<String>,
    /// Where its owner receives notices.
    #[serde(default)]
    pub email: Option<String>,
    /// Topics of those notices (empty: all).
    #[serde(default)]
    pub topics: Vec<String>,
}

/// The body of `PATCH /api/users/{name}`: the fields given change, `null`
/// removes an expiry or an e-mail.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// A new role.
    #[serde(default)]
    pub role: Option<Role>,
    /// A new last valid day, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    pub expires_at: Option<Option<String>>,
    /// A new address, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// New topics.
    #[serde(default)]
    pub topics: Option<Vec<String>>,
}

fn today(state: &AppState) -> String {
    crate::time::local_today(&state.settings.town.zone())
}

/// 409 when the account about to lose its admin rights is the last valid
/// admin: the town would lock itself out.
fn keep_an_admin(store: &crate::referents::Referents, today: &str) -> Result<()> {
    if store.valid_admins(today)? <= 1 {
        return Err(Error::Conflict(
            "C'est le dernier compte administrateur valide : créez-en un autre d'abord.".into(),
        ));
    }
    Ok(())
}

fn unknown(name: &str) -> Error {
    Error::NotFound(format!("Aucun compte actif ne s'appelle « {name} »."))
}

/// `GET /api/users` (admins): every account, revoked ones too, without
/// secrets, with its last use.
#[utoipa::path(get, path = "/api/users", tag = "référents", security(("bearer" = [])),
    responses((status = 200, body = [User])))]
pub async fn list_users(State(state): State<AppState>, staff: Staff) -> Result<Response> {
    staff.require(Role::Admin)?;
    let engine = state.engine()?;
    let users = engine.referents()?.users()?;
    Ok(Json(users).into_response())
}

/// `POST /api/users` (admins): creates an account; the answer holds its
/// token, shown only this once (only its hash is kept).
#[utoipa::path(post, path = "/api/users", tag = "référents", security(("bearer" = [])),
    request_body = NewUser,
    responses((status = 201, description = "`{user, token}`"), (status = 422, body = super::error::ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    staff: Staff,
    ApiJson(u): ApiJson<NewUser>,
) -> Result<Response> {
    staff.require(Role::Admin)?;
    if let Some(p) = crate::referents::name_problem(&u.name) {
        return Err(Error::Invalid(p));
    }
    let engine = state.engine()?;
    let store = engine.referents()?;
    if store.user(&u.name)?.is_some() {
        return Err(Error::Conflict(format!(
            "Un compte « {} » existe déjà : révoquez-le d'abord.",
            u.name
        )));
    }
    let role = u.role.unwrap_or(Role::Referent);
    let profile = Profile {
        expires_at: u.expires_at,
        email: u.email,
        topics: u.topics,
    };
    let token = store.add_user(&u.name, role, &profile)?;
    store.audit(&staff.name, "user.create", &u.name, role.as_str())?;
    let user = store.user(&u.name)?.ok_or_else(|| unknown(&u.name))?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "user": user, "token": token })),
    )
        .into_response())
}

/// `PATCH /api/users/{name}` (admins): changes role, expiry, e-mail or
/// topics of an active account.
#[utoipa::path(patch, path = "/api/users/{name}", tag = "référents", security(("bearer" = [])),
    params(("name" = String, Path)), request_body = UserPatch,
    responses((status = 200, body = User), (status = 404, body = super::error::ErrorBody),
        (status = 409, description = "It would leave no valid admin", body = super::error::ErrorBody),
        (status = 422, body = super::error::ErrorBody)))]
pub async fn update_user(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
    ApiJson(p): ApiJson<UserPatch>,
) -> Result<Response> {
    staff.require(Role::Admin)?;
    let engine = state.engine()?;
    let store = engine.referents()?;
    let current = store.user(&name)?.ok_or_else(|| unknown(&name))?;
    let today = today(&state);
    let loses_admin = current.role == Role::Admin
        && current.valid_on(&today)
        && (p.role == Some(Role::Referent)
            || p.expires_at
                .as_ref()
                .is_some_and(|e| e.as_deref().is_some_and(|d| *d < *today)));
    if loses_admin {
        keep_an_admin(&store, &today)?;
    }
    let change = UserChange {
        role: p.role,
        expires_at: p.expires_at,
        email: p.email,
        topics: p.topics,
    };
    if !store.update_user(&name, &change, &staff.name)? {
        return Err(unknown(&name));
    }
    let user = store.user(&name)?.ok_or_else(|| unknown(&name))?;
    Ok(Json(user).into_response())
}

/// `DELETE /api/users/{name}` (admins): revokes an account's token at once.
#[utoipa::path(delete, path = "/api/users/{name}", tag = "référents", security(("bearer" = [])),
    params(("name" = String, Path)),
    responses((status = 204), (status = 404, body = super::error::ErrorBody),
        (status = 409, description = "It is the last valid admin", body = super::error::ErrorBody)))]
pub async fn revoke_user(
    State(state): State<AppState>,
    staff: Staff,
    Path(name): Path<String>,
) -> Result<Response> {
    staff.require(Role::Admin)?;
    let engine = state.engine()?;
    let store = engine.referents()?;
    let current = store.user(&name)?.ok_or_else(|| unknown(&name))?;
    let today = today(&state);
    if current.role == Role::Admin && current.valid_on(&today) {
        keep_an_admin(&store, &today)?;
    }
    if !store.revoke(&name)? {
        return Err(unknown(&name));
    }
    store.audit(&staff.name, "user.revoke", &name, "")?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
