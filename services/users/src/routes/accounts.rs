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
    // A JSON number has no one text (`1e12`, `1000000000000`): the length
    // policy could not say what it accepts, so a new password is text.
    if !params.is_text("password") {
        return Err(ApiError::field("password", "must be a string"));
    }
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
    request_body(content(
        (crate::openapi::NewAccount = "application/x-www-form-urlencoded"),
        (crate::openapi::NewAccount = "application/json"),
    ), description = "Form or JSON (or the query string, as the book's parser reads it)."),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created (not an administrator).", body = User, links(
            ("SignIn" = (operation_id = "login", request_body = json!({"username": "$response.body#/username", "password": "$request.body#/password"}))),
            ("StartSession" = (operation_id = "create_session", request_body = json!({"username": "$response.body#/username", "password": "$request.body#/password"}))),
        )),
        (status = 400, description = "`username` or `password` is missing or invalid (`errors` names it), or the body is malformed.", body = kit::ErrorBody),
        kit::openapi::Unauthorized,
        (status = 403, description = "The token is not an administrator's.", body = kit::ErrorBody),
        (status = 409, description = "The name is taken, also case-insensitively or as a look-alike of an existing one.", body = kit::ErrorBody),
        kit::openapi::BodyErrors, kit::openapi::Internal, kit::openapi::Unavailable,
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
    request_body(content(
        (crate::openapi::NewAccount = "application/x-www-form-urlencoded"),
        (crate::openapi::NewAccount = "application/json"),
    ), description = "Form or JSON (or the query string, as the book's parser reads it)."),
    responses(
        (status = 201, description = "Created.", body = User, links(
            ("SignIn" = (operation_id = "login", request_body = json!({"username": "$response.body#/username", "password": "$request.body#/password"}))),
            ("StartSession" = (operation_id = "create_session", request_body = json!({"username": "$response.body#/username", "password": "$request.body#/password"}))),
        )),
        (status = 400, description = "`username` or `password` is missing or invalid (`errors` names it), or the body is malformed.", body = kit::ErrorBody),
        (status = 403, description = "Sign-up is switched off (SIGNUP_ENABLED=false).", body = kit::ErrorBody),
        (status = 409, description = "The name is taken, also case-insensitively or as a look-alike of an existing one.", body = kit::ErrorBody),
        (status = 429, description = "More than SIGNUPS_PER_ADDRESS sign-ups from this address, or SIGNUPS_PER_MINUTE from everyone, in a minute.",
            body = kit::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        kit::openapi::BodyErrors, kit::openapi::Internal, kit::openapi::Unavailable,
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
