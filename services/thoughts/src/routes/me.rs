//! The caller's own thoughts: `/api/me/thoughts/`.

use crate::AppState;
use crate::domain::ThoughtText;
use crate::error::ApiError;
use crate::openapi;
use crate::store;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kit::Params;
use thoughts_api::Thought;
use tokens::AuthUser;

/// The caller's thoughts, ascending id or newest first; `search` keeps those
/// containing it (case-insensitive, literal). Paged like `/api/thoughts/`.
///
/// The parameters may also come in a form or JSON body (the book's parser
/// reads all three), which is why a body can be refused.
#[utoipa::path(
    get, path = "/api/me/thoughts/", tag = "thoughts", security(("bearer" = [])),
    params(("query" = inline(Option<openapi::MyThoughtsQuery>), Query, style = Form, explode,
        description = "Search and paging; see the schema"),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` of this list seen before: 304 when it is still current")),
    responses(
        (status = 200, description = "The caller's thoughts in the requested order (at most a page).",
            body = Vec<Thought>, headers(("Link" = String, description = "`<…>; rel=\"next\"` when more thoughts follow"),
                ("ETag" = String, description = "The list's validator: send it back in `If-None-Match` to get 304 while the list is unchanged"),
                ("Cache-Control" = String, description = "`private, no-cache`: keep it only to revalidate"))),
        (status = 304, description = "Not modified: `If-None-Match` names the list's current `ETag` (no body).",
            headers(("ETag" = String, description = "The list's current validator"))),
        (status = 400, description = "A parameter is invalid (`errors` names it), or a body is not a JSON object.", body = kit::ErrorBody),
        kit::openapi::Unauthorized,
        (status = 429, description = "This client address searched more than SEARCHES_PER_ADDRESS_PER_MINUTE times in a minute (searches only).",
            body = kit::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "SEARCH_CONCURRENCY searches are running already, or the search ran past SEARCH_TIMEOUT_MS (both with `Retry-After`); or no key to verify tokens is known yet (the users service unreachable since start-up). Or the database is not reachable right now (`Retry-After: 2`).",
            body = kit::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait (search refusals)"))),
        kit::openapi::BodyErrors, kit::openapi::Internal,
    )
)]
pub async fn list_my_thoughts(
    State(state): State<AppState>,
    caller: AuthUser,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, ApiError> {
    super::list_response(&state, super::List::Mine(&caller.username), &headers, &params).await
}

/// Post a thought as the caller: 201 Thought; 429 with `Retry-After` when
/// the account posts faster than its limit (`crate::ratelimit`).
#[utoipa::path(
    post, path = "/api/me/thoughts/", tag = "thoughts", security(("bearer" = [])),
    request_body(content(
        (openapi::NewThought = "application/x-www-form-urlencoded"),
        (openapi::NewThought = "application/json"),
    ), description = "Form or JSON (or the query string, as the book's parser reads it)."),
    responses(
        (status = 201, description = "Stored; `username` is the token's.", body = Thought, links(
            ("GetThought" = (operation_id = "get_thought", parameters(("id" = "$response.body#/id")))),
            ("DeleteMyThought" = (operation_id = "delete_my_thought", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, description = "`text` is missing or invalid (`errors.text` says why), or the body is malformed.", body = kit::ErrorBody),
        kit::openapi::Unauthorized,
        (status = 429, description = "This account posted faster than POSTS_PER_ACCOUNT_PER_MINUTE after a burst of POSTS_BURST_PER_ACCOUNT.",
            body = kit::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "No key to verify tokens is known yet (the users service unreachable since start-up). Or the database is not reachable right now (`Retry-After: 2`).", body = kit::ErrorBody),
        kit::openapi::BodyErrors, kit::openapi::Internal,
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
    let thought = store::post(&state.db, &state.cache, &state.versions, &caller.username, &text).await?;
    metrics::counter!("thoughts_created_total").increment(1);
    Ok((StatusCode::CREATED, Json(thought)))
}

/// Delete one of the caller's thoughts: 204; 403 when it is someone else's; 404.
#[utoipa::path(
    delete, path = "/api/me/thoughts/{id}/", tag = "thoughts", security(("bearer" = [])),
    params(("id" = inline(openapi::ThoughtId), Path, description = "Thought id")),
    responses(
        (status = 204, description = "Deleted."),
        kit::openapi::Unauthorized,
        (status = 403, description = "The thought is someone else's.", body = kit::ErrorBody),
        (status = 404, description = "No such thought (or the id is not a positive integer).", body = kit::ErrorBody),
        (status = 503, description = "No key to verify tokens is known yet (the users service unreachable since start-up). Or the database is not reachable right now (`Retry-After: 2`).", body = kit::ErrorBody),
        kit::openapi::Internal,
    )
)]
pub async fn delete_my_thought(
    State(state): State<AppState>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = super::parse_id(&id)?;
    let thought = store::get(&state.db, &state.cache, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if thought.username != caller.username {
        return Err(ApiError::Forbidden("This thought belongs to someone else"));
    }
    store::delete(&state.db, &state.cache, &state.versions, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
