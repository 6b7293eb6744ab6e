//! Everyone's thoughts: `/api/thoughts/`.

use crate::AppState;
use crate::error::ApiError;
use crate::store;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use kit::Params;
use thoughts_api::Thought;

/// All thoughts (or one author's with `username`), ascending id or newest
/// first; `search` keeps those containing it (case-insensitive, literal).
/// Capped and paged with `Link: rel="next"`.
#[utoipa::path(
    get, path = "/api/thoughts/", tag = "thoughts",
    params(
        ("search" = Option<String>, Query, description = "case-insensitive literal substring"),
        ("username" = Option<String>, Query, description = "only this author's thoughts (not with search)"),
        ("limit" = Option<u32>, Query, description = "page size, 1-1000"),
        ("after" = Option<i64>, Query, description = "only ids greater than this (cursor)"),
        ("order" = Option<String>, Query, description = "asc (default) or desc: newest first"),
        ("before" = Option<i64>, Query, description = "with order=desc: only ids less than this (cursor)"),
    ),
    responses((status = 200, body = Vec<Thought>), (status = 400, body = kit::ErrorBody))
)]
pub async fn list_thoughts(State(state): State<AppState>, params: Params) -> Result<Response, ApiError> {
    super::list_response(&state, super::List::Everyone, &params).await
}

/// One thought: 200, or 404.
#[utoipa::path(
    get, path = "/api/thoughts/{id}/", tag = "thoughts",
    params(("id" = i64, Path, description = "thought id")),
    responses((status = 200, body = Thought), (status = 404, body = kit::ErrorBody))
)]
pub async fn get_thought(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Thought>, ApiError> {
    let id = super::parse_id(&id)?;
    store::get(&state.db, id).await?.map(Json).ok_or(ApiError::NotFound)
}
