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
    /// 507: the database's disk is full; nothing was written.
    #[error("database storage full: {0}")]
    StorageFull(sqlx::Error),
    /// 503 with `Retry-After`: the database is unreachable or shutting down.
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(sqlx::Error),
    /// 500: anything unexpected; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    /// A full disk and an unreachable database are told apart from bugs:
    /// they are conditions of the system the client can wait out.
    fn from(e: sqlx::Error) -> Self {
        if kit::db::is_disk_full(&e) {
            Self::StorageFull(e)
        } else if kit::db::is_unavailable(&e) {
            Self::DatabaseUnavailable(e)
        } else {
            Self::Internal(e.into())
        }
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
            Self::StorageFull(e) => kit::error::storage_full_response(&e),
            Self::DatabaseUnavailable(e) => kit::error::database_unavailable_response(&e),
            Self::Internal(e) => kit::error::internal_error_response(&e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(error: sqlx::Error) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = ApiError::from(error).into_response();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(axum::http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .expect("body");
        (status, retry_after, serde_json::from_slice(&body).expect("a JSON body"))
    }

    #[tokio::test]
    async fn a_full_disk_answers_507_with_a_clear_message_not_500() {
        let (status, _, body) = answer(testkit::sqlite_full_error().await).await;
        assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(
            body["message"], "The server's storage is full: nothing was saved. Try again later.",
            "{body}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_database_answers_503_with_retry_after_not_500() {
        let (status, retry_after, body) = answer(sqlx::Error::PoolTimedOut).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after.as_deref(), Some("2"));
        assert!(
            body["message"].as_str().is_some_and(|m| m.contains("database")),
            "{body}"
        );
        let (status, _, _) = answer(sqlx::Error::RowNotFound).await;
        assert_eq!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "anything else stays internal"
        );
    }
}
