//! The caller's own thoughts: `/api/me/thoughts/`.

use crate::AppState;
use crate::domain::ThoughtText;
use crate::error::ApiError;
use crate::store;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kit::Params;
use thoughts_api::Thought;
use tokens::AuthUser;

/// The caller's thoughts, ascending id or newest first; `search` keeps those
/// containing it (case-insensitive, literal). Paged like `/api/thoughts/`.
#[utoipa::path(
    get, path = "/api/me/thoughts/", tag = "thoughts", security(("bearer" = [])),
    params(
        ("search" = Option<String>, Query, description = "case-insensitive literal substring"),
        ("limit" = Option<u32>, Query, description = "page size, 1-1000"),
        ("after" = Option<i64>, Query, description = "only ids greater than this (cursor)"),
        ("order" = Option<String>, Query, description = "asc (default) or desc: newest first"),
        ("before" = Option<i64>, Query, description = "with order=desc: only ids less than this (cursor)"),
    ),
    responses((status = 200, body = Vec<Thought>), (status = 400, body = kit::ErrorBody), (status = 401, body = kit::ErrorBody))
)]
pub async fn list_my_thoughts(
    State(state): State<AppState>,
    caller: AuthUser,
    params: Params,
) -> Result<Response, ApiError> {
    super::list_response(&state, super::List::Mine(&caller.username), &params).await
}

/// Post a thought as the caller: 201 Thought; 429 with `Retry-After` when
/// the account posts faster than its limit (`crate::ratelimit`).
#[utoipa::path(
    post, path = "/api/me/thoughts/", tag = "thoughts", security(("bearer" = [])),
    request_body(content = thoughts_api::NewThought, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 201, body = Thought), (status = 400, body = kit::ErrorBody),
        (status = 401, body = kit::ErrorBody), (status = 429, body = kit::ErrorBody),
    )
)]
pub async fn create_thought(
    State(state): State<AppState>,
    caller: AuthUser,
    params: Params,
) -> Result<(StatusCode, Json<Thought>), ApiError> {
    let raw = params
        .get("text")
        .ok_or_else(|| ApiError::field("text", kit::input::MISSING_PARAMETER))?;
    let text = ThoughtText::parse(raw).map_err(|e| ApiError::field("text", e))?;
    if let Err(wait) = state.post_limiter.check(&caller.username) {
        metrics::counter!("thoughts_rate_limited_total").increment(1);
        tracing::warn!(event = "post_rate_limited", username = %caller.username, "posting rate limited");
        return Err(ApiError::RateLimited(wait.as_secs_f64().ceil() as u64));
    }
    let thought = store::insert(&state.db, &caller.username, &text).await?;
    metrics::counter!("thoughts_created_total").increment(1);
    Ok((StatusCode::CREATED, Json(thought)))
}

/// Delete one of the caller's thoughts: 204; 403 when it is someone else's; 404.
#[utoipa::path(
    delete, path = "/api/me/thoughts/{id}/", tag = "thoughts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "thought id")),
    responses((status = 204), (status = 401, body = kit::ErrorBody), (status = 403, body = kit::ErrorBody), (status = 404, body = kit::ErrorBody))
)]
pub async fn delete_my_thought(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = super::parse_id(&id)?;
    let thought = store::get(&state.db, id).await?.ok_or(ApiError::NotFound)?;
    if thought.username != caller.username {
        return Err(ApiError::Forbidden("This thought belongs to someone else"));
    }
    store::delete(&state.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
