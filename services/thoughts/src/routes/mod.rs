//! HTTP routes of the thoughts service, one module per resource.

pub mod admin;
pub mod me;
pub mod thoughts;

use crate::AppState;
use crate::admission::{self, SearchRefusal};
use crate::domain::{Order, Page, SearchNeedle, parse_author};
use crate::error::ApiError;
use crate::store::{self, Scope};
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{delete, get};
use kit::Params;

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
/// `search` when given, with a `Link: rel="next"` header when more follow.
async fn list_response(state: &AppState, list: List<'_>, params: &Params) -> Result<Response, ApiError> {
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
    let mut response = Json(&items).into_response();
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
