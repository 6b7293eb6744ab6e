//! The JSON error body of API.md: `{"message": ...}`, plus `errors` for
//! validation failures.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The message of every validation error, as the book's services say it.
pub const VALIDATION_MESSAGE: &str = "Input payload validation failed";

/// The error body every service answers with.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Human readable message.
    pub message: String,
    /// Field name → what is wrong with it (validation errors only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<String, String>>,
}

/// A JSON error response with the given status and message.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    let body = ErrorBody {
        message: message.into(),
        errors: None,
    };
    (status, Json(body)).into_response()
}

/// A 400 response listing what is wrong with each field.
pub fn validation_response(errors: BTreeMap<String, String>) -> Response {
    let body = ErrorBody {
        message: VALIDATION_MESSAGE.to_owned(),
        errors: Some(errors),
    };
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// A 500 response that says nothing internal; the cause chain is logged
/// once, here, inside the request's span.
pub fn internal_error_response(cause: &anyhow::Error) -> Response {
    tracing::error!(error = %format!("{cause:#}"), "internal error");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        default_message(StatusCode::INTERNAL_SERVER_ERROR),
    )
}

/// A 429 response with the service's `message` and `Retry-After` in whole
/// seconds (at least 1).
pub fn too_many_requests(message: impl Into<String>, retry_after_secs: u64) -> Response {
    let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, message);
    let secs = retry_after_secs.max(1).to_string();
    if let Ok(value) = HeaderValue::from_str(&secs) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// A 503 response with the service's `message` and `Retry-After` in whole
/// seconds (at least 1): the service is up but cannot do this right now.
pub fn service_unavailable(message: impl Into<String>, retry_after_secs: u64) -> Response {
    let mut response = error_response(StatusCode::SERVICE_UNAVAILABLE, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(1)));
    response
}

/// The answer when the database refuses a write because its disk is full
/// (SQLite `SQLITE_FULL`, PostgreSQL `53100 disk_full`, see
/// [`crate::db::is_disk_full`]): 507 Insufficient Storage, nothing was
/// saved. The cause is logged here, once, at error level: an operator must
/// free space.
pub fn storage_full_response(cause: &sqlx::Error) -> Response {
    tracing::error!(error = %cause, "database storage full: write refused");
    error_response(
        StatusCode::INSUFFICIENT_STORAGE,
        "The server's storage is full: nothing was saved. Try again later.",
    )
}

/// The answer when the database cannot be reached or is shutting down
/// (see [`crate::db::is_unavailable`]): 503 with `Retry-After`, logged as a
/// warning (readiness reports the same outage).
pub fn database_unavailable_response(cause: &sqlx::Error) -> Response {
    tracing::warn!(error = %cause, "database unavailable: request refused");
    service_unavailable("The database is not reachable right now; try again in a moment", 2)
}

/// The message used for a status when nothing more specific is known.
pub fn default_message(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported body type",
        StatusCode::UNAUTHORIZED => "Authentication required",
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::REQUEST_TIMEOUT => "Request timed out",
        StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
        StatusCode::INSUFFICIENT_STORAGE => "Storage full",
        s if s.is_server_error() => "Internal server error",
        _ => "Bad request",
    }
}
