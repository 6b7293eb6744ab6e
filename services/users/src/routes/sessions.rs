//! *(ext)* Revocable sessions, for the frontend: `POST /api/sessions/`
//! signs in like `/api/login/` but answers with a short-lived token (claim
//! `sid`) and an opaque refresh token; `POST /api/sessions/refresh` trades
//! the refresh token for a new pair (the old one is revoked);
//! `POST /api/sessions/revoke` ends the session. The book's `/api/login/`
//! and its two-day token are unchanged.

use super::{login, required};
use crate::AppState;
use crate::error::ApiError;
use crate::session_store::{self, Rotation};
use crate::store;
use anyhow::Context;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use kit::Params;
use kit::address::ClientAddress;
use users_api::SessionResponse;

/// 32 random bytes, base64url without padding: a refresh token or, with
/// 16 bytes, a session id.
fn random_token(bytes: usize) -> Result<String, ApiError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// What is stored of a refresh token: its SHA-256, in hex.
fn token_hash(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The answer for a session: a new short token and the refresh token.
fn answer(
    state: &AppState,
    username: &str,
    admin: bool,
    session_id: &str,
    refresh: String,
    expires: chrono::NaiveDateTime,
) -> Result<Json<SessionResponse>, ApiError> {
    let lifetime = state.session_token_lifetime;
    let token = state
        .signer
        .issue_session(username, admin, session_id, lifetime)
        .map_err(anyhow::Error::from)?;
    let refresh_expires_in = (expires - kit::time::now()).num_seconds().max(0);
    Ok(Json(SessionResponse {
        authorized: format!("Bearer {token}"),
        refresh,
        expires_in: lifetime.as_secs(),
        refresh_expires_in: u64::try_from(refresh_expires_in).unwrap_or(0),
    }))
}

/// Sign in for a session: the same input, checks, limits and errors as
/// `POST /api/login/` (it runs that code), then 200
/// `{"Authorized": "Bearer <short JWT>", "refresh": "<opaque>", "expires_in": N,
/// "refresh_expires_in": M}`.
#[utoipa::path(
    post, path = "/api/sessions/", tag = "users",
    request_body(content(
        (crate::openapi::Credentials = "application/x-www-form-urlencoded"),
        (crate::openapi::Credentials = "application/json"),
    ), description = "Form or JSON (or the query string, as the book's parser reads it)."),
    responses(
        (status = 200, description = "Signed in: a short token (SESSION_TOKEN_LIFETIME_SECONDS) and its refresh token.", body = SessionResponse, links(
            ("Refresh" = (operation_id = "refresh_session", request_body = json!({"refresh": "$response.body#/refresh"}))),
            ("Revoke" = (operation_id = "revoke_session", request_body = json!({"refresh": "$response.body#/refresh"}))),
        )),
        (status = 400, description = "`username` or `password` is missing or invalid (`errors` names it), or the body is malformed.", body = kit::ErrorBody),
        (status = 401, description = "Unknown username or wrong password: the same answer, in similar time, for both.", body = kit::ErrorBody),
        (status = 429, description = "Refused before the password is checked, as `POST /api/login/` refuses.",
            body = kit::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        kit::openapi::BodyErrors, kit::openapi::Internal, kit::openapi::Unavailable,
    )
)]
pub async fn create_session(
    State(state): State<AppState>,
    client: ClientAddress,
    params: Params,
) -> Result<Json<SessionResponse>, ApiError> {
    // The book's login code decides who this is (validation, rate limits,
    // the one 401).
    let user = login::authenticate(&state, client, &params).await?;
    let session_id = random_token(16)?;
    let refresh = random_token(32)?;
    let lifetime = chrono::Duration::from_std(state.refresh_token_lifetime).context("refresh token lifetime")?;
    let expires = kit::time::now() + lifetime;
    session_store::insert_session(&state.db, &token_hash(&refresh), &session_id, &user.username, expires).await?;
    tracing::info!(event = "session_started", username = %user.username, "session started");
    answer(&state, &user.username, user.is_admin, &session_id, refresh, expires)
}

/// Renew a session: field `refresh` → 200 with a new short token and a new
/// refresh token (the one sent is revoked); 401 when it is unknown,
/// expired or revoked. Sending a revoked one again ends its whole session
/// (a replayed token means a copy exists).
#[utoipa::path(
    post, path = "/api/sessions/refresh", tag = "users",
    request_body(content(
        (crate::openapi::RefreshRequest = "application/x-www-form-urlencoded"),
        (crate::openapi::RefreshRequest = "application/json"),
    ), description = "Form or JSON (or the query string, as the book's parser reads it)."),
    responses(
        (status = 200, description = "Renewed: a new short token and a new refresh token; the one sent no longer works.", body = SessionResponse, links(
            ("Refresh" = (operation_id = "refresh_session", request_body = json!({"refresh": "$response.body#/refresh"}))),
            ("Revoke" = (operation_id = "revoke_session", request_body = json!({"refresh": "$response.body#/refresh"}))),
        )),
        (status = 400, description = "`refresh` is missing, or the body is malformed.", body = kit::ErrorBody),
        (status = 401, description = "The refresh token is unknown, expired or revoked (a revoked one also ends its session).", body = kit::ErrorBody),
        kit::openapi::BodyErrors, kit::openapi::Internal, kit::openapi::Unavailable,
    )
)]
pub async fn refresh_session(State(state): State<AppState>, params: Params) -> Result<Json<SessionResponse>, ApiError> {
    let [old] = required(&params, ["refresh"])?;
    let refresh = random_token(32)?;
    let session = match session_store::rotate(&state.db, &token_hash(old), &token_hash(&refresh)).await? {
        Rotation::Rotated(session) => session,
        Rotation::Replayed { session_id } => {
            tracing::warn!(
                event = "refresh_token_replayed",
                session_id,
                "revoked refresh token presented; session ended"
            );
            return Err(ApiError::InvalidRefreshToken);
        }
        Rotation::Unknown => return Err(ApiError::InvalidRefreshToken),
    };
    // The account as it is now (an administrator demoted since sign-in is not one any more).
    let Some(user) = store::find_user(&state.db, &session.username).await? else {
        return Err(ApiError::InvalidRefreshToken);
    };
    answer(
        &state,
        &user.username,
        user.is_admin,
        &session.session_id,
        refresh,
        session.expires,
    )
}

/// End a session: field `refresh` → 204, every refresh token of the session
/// revoked. Also 204 when the token is unknown or already revoked (signing
/// out twice is not an error, and the answer tells nothing about a token).
#[utoipa::path(
    post, path = "/api/sessions/revoke", tag = "users",
    request_body(content(
        (crate::openapi::RefreshRequest = "application/x-www-form-urlencoded"),
        (crate::openapi::RefreshRequest = "application/json"),
    ), description = "Form or JSON (or the query string, as the book's parser reads it)."),
    responses(
        (status = 204, description = "The session is over (or there was none)."),
        (status = 400, description = "`refresh` is missing, or the body is malformed.", body = kit::ErrorBody),
        kit::openapi::BodyErrors, kit::openapi::Internal, kit::openapi::Unavailable,
    )
)]
pub async fn revoke_session(State(state): State<AppState>, params: Params) -> Result<StatusCode, ApiError> {
    let [refresh] = required(&params, ["refresh"])?;
    if session_store::revoke_session(&state.db, &token_hash(refresh)).await? {
        tracing::info!(event = "session_revoked", "session revoked");
    }
    Ok(StatusCode::NO_CONTENT)
}
