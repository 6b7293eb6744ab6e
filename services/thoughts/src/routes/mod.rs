//! HTTP routes of the thoughts service, one module per resource.

pub mod admin;
pub mod me;
pub mod thoughts;

use crate::AppState;
use crate::admission::{self, SearchRefusal};
use crate::domain::{Order, Page, SearchNeedle, parse_author};
use crate::error::ApiError;
use crate::store::versions::{self, Subject};
use crate::store::{self, Scope};
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use kit::Params;

/// The metric counting lists answered `304 Not Modified`.
pub const NOT_MODIFIED_METRIC: &str = "thoughts_lists_not_modified_total";

/// All routes (paths without trailing slash; the chassis accepts both).
/// The two lists, which search, go through search admission first.
pub fn router(state: AppState) -> Router {
    let admit = middleware::from_fn_with_state(state.clone(), admission::admit_searches);
    Router::new()
        .route(
            "/api/me/thoughts",
            get(me::list_my_thoughts)
                .post(me::create_thought)
                .route_layer(admit.clone()),
        )
        .route("/api/me/thoughts/{id}", delete(me::delete_my_thought))
        .route("/api/thoughts", get(thoughts::list_thoughts).route_layer(admit))
        .route("/api/thoughts/{id}", get(thoughts::get_thought))
        .route("/admin/thoughts/{id}", delete(admin::delete_thought))
        .with_state(state)
}

/// A thought id from the path; anything but a positive integer in decimal
/// digits is a 404, as the book's `<int:thought_id>` routes answer (they
/// match digits only).
fn parse_id(raw: &str) -> Result<i64, ApiError> {
    crate::domain::decimal(raw)
        .filter(|id| *id > 0)
        .ok_or(ApiError::NotFound)
}

/// Which list endpoint is answering.
#[derive(Debug, Clone, Copy)]
enum List<'a> {
    /// `GET /api/thoughts/`: everyone's, or one author's with `username=`.
    Everyone,
    /// `GET /api/me/thoughts/`: the caller's own (`username=` means nothing here).
    Mine(&'a str),
}

/// A list response: a page of thoughts in the requested order (ascending id
/// by default, newest first with `order=desc`), only those containing
/// `search` when given, with a `Link: rel="next"` header when more follow,
/// and an `ETag`: `304 Not Modified` when `If-None-Match` names it
/// (`store::versions`; on SQLite without running the query).
async fn list_response(
    state: &AppState,
    list: List<'_>,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, ApiError> {
    let search = params.get("search").filter(|s| !s.is_empty());
    let needle = match search {
        Some(s) => SearchNeedle::parse(s).map_err(|e| ApiError::field("search", e))?,
        None => None,
    };
    let (path, scope, author) = match list {
        List::Mine(caller) => ("/api/me/thoughts/", Scope::Author(caller), None),
        List::Everyone => {
            // (ext) `username` narrows the public list to one author's thoughts.
            match params.get("username").filter(|u| !u.is_empty()) {
                Some(u) => {
                    let author = parse_author(u).map_err(|e| ApiError::field("username", e))?;
                    if needle.is_some() {
                        return Err(ApiError::field("username", "cannot be combined with search"));
                    }
                    ("/api/thoughts/", Scope::Author(author), Some(author))
                }
                None => ("/api/thoughts/", Scope::Everyone, None),
            }
        }
    };
    let page = Page::parse(
        params.get("limit"),
        params.get("order"),
        params.get("after"),
        params.get("before"),
        state.list_max,
    )
    .map_err(|(field, e)| ApiError::field(field, e))?;
    if needle.is_some() {
        metrics::counter!("thoughts_searches_total").increment(1);
    }
    let private = matches!(list, List::Mine(_));
    let if_none_match = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
    let known = state.versions.tag(match scope {
        Scope::Everyone => Subject::Everyone,
        Scope::Author(author) => Subject::Author(author),
    });
    if let (Some(tag), Some(wanted)) = (&known, if_none_match)
        && versions::matches(wanted, tag)
    {
        return Ok(not_modified(tag, private));
    }
    let query = store::Query {
        scope,
        needle: needle.as_ref(),
        page,
    };
    let mut items = match store::list(&state.db, &query, state.search.timeout()).await {
        Ok(items) => items,
        Err(store::ListError::TimedOut) => return Ok(SearchRefusal::TimedOut.into_response()),
        Err(store::ListError::Database(e)) => return Err(e.into()),
    };
    let more = items.len() > page.limit as usize;
    items.truncate(page.limit as usize);
    let body = serde_json::to_vec(&items).map_err(|e| ApiError::Internal(e.into()))?;
    let tag = known.unwrap_or_else(|| versions::digest_tag(&body));
    if if_none_match.is_some_and(|wanted| versions::matches(wanted, &tag)) {
        return Ok(not_modified(&tag, private));
    }
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        body,
    )
        .into_response();
    validator_headers(response.headers_mut(), &tag, private);
    if let (true, Some(last)) = (more, items.last()) {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(s) = search {
            query.push(("search", s.to_owned()));
        }
        if let Some(u) = author {
            query.push(("username", u.to_owned()));
        }
        query.push(("limit", page.limit.to_string()));
        match page.order {
            Order::NewestFirst => {
                query.push(("order", "desc".to_owned()));
                query.push(("before", last.id.to_string()));
            }
            Order::OldestFirst => query.push(("after", last.id.to_string())),
        }
        let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
        if let Ok(value) = HeaderValue::from_str(&format!("<{path}?{qs}>; rel=\"next\"")) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// `304 Not Modified` for a list whose current tag is `tag`.
fn not_modified(tag: &str, private: bool) -> Response {
    metrics::counter!(NOT_MODIFIED_METRIC).increment(1);
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    validator_headers(response.headers_mut(), tag, private);
    response
}

/// `ETag`, and how caches may keep a list: only revalidated (`no-cache`),
/// and the caller's own only in the caller's cache (`private`, varying with
/// the token).
fn validator_headers(headers: &mut HeaderMap, tag: &str, private: bool) {
    if let Ok(value) = HeaderValue::from_str(tag) {
        headers.insert(header::ETAG, value);
    }
    let (cache_control, vary) = if private {
        ("private, no-cache", Some("authorization"))
    } else {
        ("no-cache", None)
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
    if let Some(vary) = vary {
        headers.insert(header::VARY, HeaderValue::from_static(vary));
    }
}
