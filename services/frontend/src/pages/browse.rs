//! Public pages: search and a user's thoughts, newest first, paged.

use super::{PAGE_SIZE, before_param, older_href, path_segment};
use crate::AppState;
use crate::error::{PageError, render, unavailable_notice};
use crate::session::Ctx;
use crate::views::{SearchPage, ThoughtView, UserPage};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kit::Params;
use kit::address::ClientAddress;
use thoughts_api::{ClientError, Listing};

/// `GET /search?search=...[&before=id]`.
pub async fn search(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ctx: Ctx,
    params: Params,
) -> Result<Response, PageError> {
    let query = params.get("search").unwrap_or_default().trim().to_owned();
    let mut layout = ctx.layout();
    layout.search = query.clone();
    let mut page = SearchPage {
        layout,
        older_href: None,
        query,
        thoughts: Vec::new(),
        loaded: true,
    };
    if page.query.is_empty() {
        return render(StatusCode::OK, &page);
    }
    let found = state
        .thoughts
        .with_request_id(&ctx.request_id)
        .newest_for(
            Listing::Search(&page.query),
            before_param(&params),
            PAGE_SIZE,
            Some(&client.to_string()),
        )
        .await;
    page.loaded = found.is_ok();
    match found {
        Ok(found) => {
            page.older_href = older_href("/search", &[("search", &page.query)], found.older);
            let viewer = ctx.user.as_ref().map(|u| u.username.as_str());
            page.thoughts = ThoughtView::list(found.items, viewer);
            render(StatusCode::OK, &page)
        }
        Err(ClientError::Status { status: 400, .. }) => {
            page.layout.notice =
                Some("That search cannot run: use at most 250 characters, without control characters.".to_owned());
            render(StatusCode::BAD_REQUEST, &page)
        }
        Err(ClientError::Status { status: 429, .. }) => {
            page.layout.notice = Some("Too many searches from your address; try again in a minute.".to_owned());
            render(StatusCode::TOO_MANY_REQUESTS, &page)
        }
        Err(e) => {
            page.layout.notice = Some(unavailable_notice("thoughts"));
            Err(PageError::from(e).showing(&page))
        }
    }
}

/// `GET /users/<username>/[?before=id]`: someone's thoughts, newest first.
pub async fn show_user(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(username): Path<String>,
    params: Params,
) -> Result<Response, PageError> {
    if username.is_empty() || username.chars().count() > 50 {
        return Err(PageError::NotFound);
    }
    let listed = state
        .thoughts
        .with_request_id(&ctx.request_id)
        .newest(Listing::ByUser(&username), before_param(&params), PAGE_SIZE)
        .await;
    let mut page = UserPage {
        layout: ctx.layout(),
        older_href: None,
        username,
        thoughts: Vec::new(),
        loaded: listed.is_ok(),
    };
    match listed {
        Ok(listed) => {
            let path = format!("/users/{}/", path_segment(&page.username));
            page.older_href = older_href(&path, &[], listed.older);
            let viewer = ctx.user.as_ref().map(|u| u.username.as_str());
            page.thoughts = ThoughtView::list(listed.items, viewer);
            render(StatusCode::OK, &page)
        }
        Err(ClientError::Status { status: 400, .. }) => Err(PageError::NotFound),
        Err(e) => {
            page.layout.notice = Some(unavailable_notice("thoughts"));
            Err(PageError::from(e).showing(&page))
        }
    }
}
