//! The one error type of the thoughts service, mapped to the JSON error body here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;

/// Everything a thoughts handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: input failed validation (field → problem).
    #[error("validation failed")]
    Validation(BTreeMap<String, String>),
    /// 403: authenticated but not allowed (not the owner, not an administrator).
    #[error("forbidden")]
    Forbidden(&'static str),
    /// 404: no such thought.
    #[error("not found")]
    NotFound,
    /// 429 with `Retry-After`: the account posts too often; retry after this many seconds.
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
            Self::Forbidden(message) => kit::error_response(StatusCode::FORBIDDEN, message),
            Self::NotFound => kit::error_response(StatusCode::NOT_FOUND, "Thought not found"),
            Self::RateLimited(secs) => {
                kit::error::too_many_requests("Too many thoughts posted, slow down and try again later", secs)
            }
            Self::Internal(e) => kit::error::internal_error_response(&e),
        }
    }
}
