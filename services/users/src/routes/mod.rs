//! HTTP routes of the users service, one module per resource.

pub mod accounts;
pub mod keys;
pub mod login;
pub mod sessions;

use crate::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::routing::{get, post};
use kit::Params;
use kit::input::MISSING_PARAMETER;
use std::collections::BTreeMap;

/// The values of required parameters, or a 400 naming every missing one.
fn required<'a, const N: usize>(params: &'a Params, names: [&str; N]) -> Result<[&'a str; N], ApiError> {
    let mut errors = BTreeMap::new();
    let values = names.map(|name| {
        params.get(name).unwrap_or_else(|| {
            errors.insert(name.to_owned(), MISSING_PARAMETER.to_owned());
            ""
        })
    });
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// All routes of the service (paths without trailing slash; the chassis
/// accepts both forms).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/login", post(login::login))
        .route("/api/users", post(accounts::sign_up))
        .route("/api/sessions", post(sessions::create_session))
        .route("/api/sessions/refresh", post(sessions::refresh_session))
        .route("/api/sessions/revoke", post(sessions::revoke_session))
        .route("/admin/users", post(accounts::create_user))
        .route("/.well-known/jwks.json", get(keys::jwks))
        .with_state(state)
}
