//! `POST /api/login/`: password in, RS256 token out.

use super::required;
use crate::AppState;
use crate::domain::{Password, Username};
use crate::error::ApiError;
use crate::store;
use axum::Json;
use axum::extract::State;
use kit::Params;
use kit::address::ClientAddress;
use users_api::LoginResponse;

/// Sign in: 200 `{"Authorized": "Bearer <JWT>"}`; 401 for an unknown user or
/// a wrong password alike; 429 (before the password is checked) when this
/// address tries too often, has failed too often on this account, or has
/// failed on an account that is over its ceiling (`crate::ratelimit`).
#[utoipa::path(
    post, path = "/api/login/", tag = "users",
    request_body(content(
        (crate::openapi::Credentials = "application/x-www-form-urlencoded"),
        (crate::openapi::Credentials = "application/json"),
    ), description = "Form or JSON (or the query string, as the book's parser reads it)."),
    responses(
        (status = 200, description = "Signed in: the token lives TOKEN_LIFETIME_SECONDS (default two days).", body = LoginResponse),
        (status = 400, description = "`username` or `password` is missing or invalid (`errors` names it), or the body is malformed.", body = kit::ErrorBody),
        (status = 401, description = "Unknown username or wrong password: the same answer, in similar time, for both.", body = kit::ErrorBody),
        (status = 429, description = "Refused before the password is checked: this address tried more than LOGIN_ATTEMPTS_PER_ADDRESS times in a minute, or failed too often on this account (LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS), or the account is over LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR and this address failed on it.",
            body = kit::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        kit::openapi::BodyErrors, kit::openapi::Internal, kit::openapi::Unavailable,
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddress,
    params: Params,
) -> Result<Json<LoginResponse>, ApiError> {
    let user = authenticate(&state, client, &params).await?;
    let token = state
        .signer
        .issue(&user.username, user.is_admin)
        .map_err(anyhow::Error::from)?;
    Ok(Json(LoginResponse {
        authorized: format!("Bearer {token}"),
    }))
}

/// Who is signing in: the credentials checked under the login limits
/// (validation 400, limits 429, the one 401 for an unknown user or a wrong
/// password). `/api/login/` and `/api/sessions/` both start here.
pub(crate) async fn authenticate(
    state: &AppState,
    ClientAddress(client): ClientAddress,
    params: &Params,
) -> Result<store::UserRow, ApiError> {
    let [username, password] = required(params, ["username", "password"])?;
    let username = Username::parse(username).map_err(|e| ApiError::field("username", e))?;
    let password = Password::parse(password).map_err(|e| ApiError::field("password", e))?;
    let attempt = match state.login_limiter.check(username.as_str(), client) {
        Ok(attempt) => attempt,
        Err(refused) => {
            metrics::counter!("logins_total", "outcome" => "rate_limited").increment(1);
            metrics::counter!("logins_rate_limited_total", "limit" => refused.limit.as_str()).increment(1);
            tracing::warn!(
                event = "login_rate_limited", username = %username, address = %client,
                limit = refused.limit.as_str(), "login rate limited"
            );
            return Err(ApiError::RateLimited(refused.retry_after_secs()));
        }
    };
    let user = store::find_user(&state.db, username.as_str()).await?;
    let valid = state
        .hasher
        .verify(&password, user.as_ref().map(|u| u.password_hash.as_str()))
        .await?;
    let Some(user) = user.filter(|_| valid) else {
        metrics::counter!("logins_total", "outcome" => "failed").increment(1);
        tracing::warn!(event = "login_failed", username = %username, address = %client, "login failed");
        // An evaluated guess is answered as such; the limits refuse the next ones.
        attempt.failed();
        return Err(ApiError::InvalidCredentials);
    };
    attempt.succeeded();
    metrics::counter!("logins_total", "outcome" => "success").increment(1);
    tracing::info!(event = "login_succeeded", username = %user.username, "login succeeded");
    Ok(user)
}
