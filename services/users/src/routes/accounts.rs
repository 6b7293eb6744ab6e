//! Account creation: by an administrator (`POST /admin/users/`, the book's
//! endpoint) or by anyone (`POST /api/users/`, sign-up).

use super::required;
use crate::AppState;
use crate::domain::{Password, Username};
use crate::error::ApiError;
use crate::store;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kit::Params;
use kit::address::ClientAddress;
use tokens::AuthUser;
use users_api::User;

async fn create(state: &AppState, params: &Params) -> Result<(StatusCode, Json<User>), ApiError> {
    let [username, password] = required(params, ["username", "password"])?;
    let username = Username::parse_new(username).map_err(|e| ApiError::field("username", e))?;
    let password =
        Password::parse_new(password, state.password_min_chars).map_err(|e| ApiError::field("password", e))?;
    // A look-alike of an existing name (`Admin`, Cyrillic `аdmin`, full-width
    // `ａdmin` beside `admin`) is taken too, with the same answer (issue 9).
    if store::find_user(&state.db, username.as_str()).await?.is_some()
        || store::look_alike_taken(&state.db, username.as_str()).await?
    {
        return Err(ApiError::UsernameTaken);
    }
    let hash = state.hasher.hash(&password).await?;
    // The unique constraints (name and look-alike key) settle a race between
    // two creations.
    let user = store::insert_user(&state.db, username.as_str(), &hash, false)
        .await?
        .ok_or(ApiError::UsernameTaken)?;
    metrics::counter!("signups_total").increment(1);
    tracing::info!(event = "user_created", username = %user.username, "user created");
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Create a user (administrators only): 201 User; 401 without a valid
/// token, 403 with a non-administrator token, 409 when the name is taken.
#[utoipa::path(
    post, path = "/admin/users/", tag = "users",
    request_body(content = users_api::Credentials, content_type = "application/x-www-form-urlencoded"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = User), (status = 400, body = kit::ErrorBody),
        (status = 401, body = kit::ErrorBody), (status = 403, body = kit::ErrorBody),
        (status = 409, body = kit::ErrorBody),
    )
)]
pub async fn create_user(
    State(state): State<AppState>,
    caller: AuthUser,
    params: Params,
) -> Result<(StatusCode, Json<User>), ApiError> {
    if !caller.admin {
        tracing::warn!(event = "admin_required", username = %caller.username, "non-administrator refused");
        return Err(ApiError::Forbidden);
    }
    create(&state, &params).await
}

/// Public sign-up: 201 User; 400 invalid, 409 taken, 429 too many sign-ups
/// from this address or from everyone together, 403 when sign-up is
/// switched off.
#[utoipa::path(
    post, path = "/api/users/", tag = "users",
    request_body(content = users_api::Credentials, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, body = User), (status = 400, body = kit::ErrorBody),
        (status = 403, body = kit::ErrorBody), (status = 409, body = kit::ErrorBody),
        (status = 429, body = kit::ErrorBody),
    )
)]
pub async fn sign_up(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    params: Params,
) -> Result<(StatusCode, Json<User>), ApiError> {
    if !state.signup_enabled {
        return Err(ApiError::SignupDisabled);
    }
    if let Err(refused) = state.signup_limiter.check(client) {
        metrics::counter!("signups_rate_limited_total", "limit" => refused.limit.as_str()).increment(1);
        tracing::warn!(
            event = "signup_rate_limited", address = %client,
            limit = refused.limit.as_str(), "sign-up rate limited"
        );
        return Err(ApiError::RateLimited(refused.retry_after_secs()));
    }
    create(&state, &params).await
}
