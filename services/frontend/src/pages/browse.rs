//! Public pages: search and a user's thoughts.

use crate::AppState;
use crate::error::{PageError, render};
use crate::session::Ctx;
use crate::views::{SearchPage, ThoughtView, UserPage};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kit::Params;

const NOTICE: &str = "The thoughts service is not answering right now. Please try again in a moment.";

/// `GET /search?search=...`.
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
                query,
                thoughts: Vec::new(),
                loaded: true,
            },
        );
    }
    let thoughts = state.thoughts.with_request_id(&ctx.request_id);
    match thoughts.list(Some(&query)).await {
        Ok(list) => render(
            StatusCode::OK,
            &SearchPage {
                layout,
                query,
                thoughts: ThoughtView::list(list, viewer),
                loaded: true,
            },
        ),
        Err(e) => {
            tracing::warn!(error = %e, "search failed");
            let status = match e {
                thoughts_api::ClientError::Status { status: 400, .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            };
            layout.notice = Some(if status == StatusCode::BAD_REQUEST {
                "That search is too long: use at most 250 characters.".to_owned()
            } else {
                NOTICE.to_owned()
            });
            render(
                status,
                &SearchPage {
                    layout,
                    query,
                    thoughts: Vec::new(),
                    loaded: false,
                },
            )
        }
    }
}

/// `GET /users/<username>/`: someone's thoughts, newest first.
pub async fn show_user(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(username): Path<String>,
) -> Result<Response, PageError> {
    if username.is_empty() || username.chars().count() > 50 {
        return Err(PageError::NotFound);
    }
    let viewer = ctx.user.as_ref().map(|u| u.username.as_str());
    let thoughts = state.thoughts.with_request_id(&ctx.request_id);
    let mut layout = ctx.layout();
    Ok(match thoughts.list_by_user(&username).await {
        Ok(list) => render(
            StatusCode::OK,
            &UserPage {
                layout,
                username,
                thoughts: ThoughtView::list(list, viewer),
                loaded: true,
            },
        ),
        Err(thoughts_api::ClientError::Status { status: 400, .. }) => return Err(PageError::NotFound),
        Err(e) => {
            tracing::warn!(error = %e, "cannot list a user's thoughts");
            layout.notice = Some(NOTICE.to_owned());
            render(
                StatusCode::SERVICE_UNAVAILABLE,
                &UserPage {
                    layout,
                    username,
                    thoughts: Vec::new(),
                    loaded: false,
                },
            )
        }
    })
}
