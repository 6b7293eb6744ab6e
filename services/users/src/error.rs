//! The one error type of the users service, mapped to the JSON error body here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

/// Everything a users handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: input failed validation (field → problem).
    #[error("validation failed")]
    Validation(BTreeMap<String, String>),
    /// 401: unknown user or wrong password (indistinguishable on purpose).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// 401: a refresh token that is unknown, expired or revoked.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// 403: authenticated but not an administrator.
    #[error("administrator required")]
    Forbidden,
    /// 403: public sign-up is switched off.
    #[error("sign-up disabled")]
    SignupDisabled,
    /// 409: the username is taken.
    #[error("username taken")]
    UsernameTaken,
    /// 429: too many login attempts or sign-ups; retry after this many seconds.
    #[error("rate limited")]
    RateLimited(u64),
    /// 500: anything unexpected; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl ApiError {
    /// A validation error for one field.
    pub fn field(name: &str, problem: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(name.to_owned(), problem.into())]))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Validation(errors) => kit::validation_response(errors),
            Self::InvalidCredentials => kit::error_response(StatusCode::UNAUTHORIZED, "Wrong username or password"),
            Self::InvalidRefreshToken => {
                kit::error_response(StatusCode::UNAUTHORIZED, "Invalid or expired refresh token")
            }
            Self::Forbidden => kit::error_response(StatusCode::FORBIDDEN, "Administrator token required"),
            Self::SignupDisabled => kit::error_response(StatusCode::FORBIDDEN, "Sign-up is disabled"),
            Self::UsernameTaken => kit::error_response(StatusCode::CONFLICT, "Username already exists"),
            Self::RateLimited(secs) => kit::error::too_many_requests("Too many attempts, try again later", secs),
            Self::Internal(e) => kit::error::internal_error_response(&e),
        }
    }
}
