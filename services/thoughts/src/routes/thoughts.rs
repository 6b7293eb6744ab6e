//! Everyone's thoughts: `/api/thoughts/`.

use crate::AppState;
use crate::error::ApiError;
use crate::openapi;
use crate::store;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use kit::Params;
use thoughts_api::Thought;

/// All thoughts (or one author's with `username`), ascending id or newest
/// first; `search` keeps those containing it (case-insensitive, literal).
/// Capped and paged with `Link: rel="next"`.
///
/// The parameters may also come in a form or JSON body (the book's parser
/// reads all three), which is why a body can be refused.
#[utoipa::path(
    get, path = "/api/thoughts/", tag = "thoughts",
    params(("query" = inline(Option<openapi::ThoughtsQuery>), Query, style = Form, explode,
        description = "Search, author and paging; see the schema"),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` of this list seen before: 304 when it is still current")),
    responses(
        (status = 200, description = "Thoughts in the requested order (at most a page).",
            body = Vec<Thought>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more thoughts follow"),
                ("ETag" = String, description = "The list's validator: send it back in `If-None-Match` to get 304 while the list is unchanged"),
                ("Cache-Control" = String, description = "`no-cache`: keep it only to revalidate"))),
        (status = 304, description = "Not modified: `If-None-Match` names the list's current `ETag` (no body).",
            headers(("ETag" = String, description = "The list's current validator"))),
        (status = 400, description = "A parameter is invalid (`errors` names it), or a body is not a JSON object.", body = kit::ErrorBody),
        (status = 429, description = "This client address searched more than SEARCHES_PER_ADDRESS_PER_MINUTE times in a minute (searches only).",
            body = kit::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "SEARCH_CONCURRENCY searches are running already, or the search ran past SEARCH_TIMEOUT_MS. Or the database is not reachable right now (`Retry-After: 2`).",
            body = kit::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        kit::openapi::BodyErrors, kit::openapi::Internal,
    )
)]
pub async fn list_thoughts(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, ApiError> {
    super::list_response(&state, super::List::Everyone, &headers, &params).await
}

/// One thought: 200, or 404.
#[utoipa::path(
    get, path = "/api/thoughts/{id}/", tag = "thoughts",
    params(("id" = inline(openapi::ThoughtId), Path, description = "Thought id")),
    responses(
        (status = 200, description = "The thought.", body = Thought),
        (status = 404, description = "No such thought (or the id is not a positive integer).", body = kit::ErrorBody),
        kit::openapi::Internal, kit::openapi::Unavailable,
    )
)]
pub async fn get_thought(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Thought>, ApiError> {
    let id = super::parse_id(&id)?;
    store::get(&state.db, &state.cache, id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}
