//! Public pages: search and a user's thoughts, newest first, paged.

use super::{PAGE_SIZE, before_param, older_href};
use crate::AppState;
use crate::error::{PageError, render};
use crate::session::Ctx;
use crate::views::{SearchPage, ThoughtView, UserPage};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kit::Params;
use thoughts_api::{ClientError, Listing};

const NOTICE: &str = "The thoughts service is not answering right now. Please try again in a moment.";

/// `GET /search?search=...[&before=id]`.
pub async fn search(State(state): State<AppState>, ctx: Ctx, params: Params) -> Response {
    let query = params.get("search").unwrap_or_default().trim().to_owned();
    let mut layout = ctx.layout();
    layout.search = query.clone();
    let viewer = ctx.user.as_ref().map(|u| u.username.as_str());
    if query.is_empty() {
        return render(
            StatusCode::OK,
            &SearchPage {
                layout,
                older_href: None,
                query,
                thoughts: Vec::new(),
                loaded: true,
            },
        );
    }
    let thoughts = state.thoughts.with_request_id(&ctx.request_id);
    match thoughts
        .newest(Listing::Search(&query), before_param(&params), PAGE_SIZE)
        .await
    {
        Ok(page) => {
            let older_href = older_href("/search", &[("search", &query)], page.older);
            let thoughts = ThoughtView::list(page.items, viewer);
            render(
                StatusCode::OK,
                &SearchPage {
                    layout,
                    older_href,
                    query,
                    thoughts,
                    loaded: true,
                },
            )
        }
        Err(e) => {
            tracing::warn!(error = %e, "search failed");
            let status = match e {
                ClientError::Status { status: 400, .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            layout.notice = Some(if status == StatusCode::BAD_REQUEST {
                "That search cannot run: use at most 250 characters, without control characters.".to_owned()
            } else {
                NOTICE.to_owned()
            });
            render(
                status,
                &SearchPage {
                    layout,
                    older_href: None,
                    query,
                    thoughts: Vec::new(),
                    loaded: false,
                },
            )
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
    let viewer = ctx.user.as_ref().map(|u| u.username.as_str());
    let thoughts = state.thoughts.with_request_id(&ctx.request_id);
    let mut layout = ctx.layout();
    Ok(
        match thoughts
            .newest(Listing::ByUser(&username), before_param(&params), PAGE_SIZE)
            .await
        {
            Ok(page) => {
                let path = format!("/users/{}/", super::path_segment(&username));
                let older_href = older_href(&path, &[], page.older);
                let thoughts = ThoughtView::list(page.items, viewer);
                render(
                    StatusCode::OK,
                    &UserPage {
                        layout,
                        older_href,
                        username,
                        thoughts,
                        loaded: true,
                    },
                )
            }
            Err(ClientError::Status { status: 400, .. }) => return Err(PageError::NotFound),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list a user's thoughts");
                layout.notice = Some(NOTICE.to_owned());
                let page = UserPage {
                    layout,
                    older_href: None,
                    username,
                    thoughts: Vec::new(),
                    loaded: false,
                };
                render(StatusCode::SERVICE_UNAVAILABLE, &page)
            }
        },
    )
}
