//! The signed-in user's page: their thoughts, posting and deleting.

use super::see_other;
use super::{PAGE_SIZE, before_param, older_href};
use crate::AppState;
use crate::error::{PageError, render};
use crate::session::{Ctx, check_csrf, clear_session_cookie};
use crate::views::{HomePage, ThoughtView};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kit::Params;
use thoughts_api::{ClientError, Listing};

const NOTICE: &str = "The thoughts service is not answering right now. Please try again in a moment.";

/// `GET /` and `GET /thoughts/[?before=id]`: redirect to `/login/` when signed out.
pub async fn show_home(State(state): State<AppState>, ctx: Ctx, params: Params) -> Response {
    let Some(user) = &ctx.user else {
        return see_other("/login/", None);
    };
    let thoughts = state.thoughts.with_request_id(&ctx.request_id);
    match thoughts
        .newest(Listing::Mine(&user.bearer), before_param(&params), PAGE_SIZE)
        .await
    {
        Ok(page) => {
            let older = older_href("/thoughts/", &[], page.older);
            let list = ThoughtView::list(page.items, Some(&user.username));
            home(&ctx, StatusCode::OK, list, older, String::new(), None, true)
        }
        Err(ClientError::Status { status: 401, .. }) => {
            see_other("/login/", Some(clear_session_cookie(state.cookie_secure)))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot list thoughts");
            let mut page = home(
                &ctx,
                StatusCode::SERVICE_UNAVAILABLE,
                Vec::new(),
                None,
                String::new(),
                None,
                false,
            );
            page.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("5"));
            page
        }
    }
}

fn home(
    ctx: &Ctx,
    status: StatusCode,
    thoughts: Vec<ThoughtView>,
    older_href: Option<String>,
    draft: String,
    error: Option<String>,
    loaded: bool,
) -> Response {
    let mut layout = ctx.layout();
    if !loaded {
        layout.notice = Some(NOTICE.to_owned());
    }
    render(
        status,
        &HomePage {
            layout,
            older_href,
            thoughts,
            draft,
            error,
            loaded,
        },
    )
}

/// `POST /thoughts/new`: share a thought, back to `/thoughts/`.
pub async fn create_thought(State(state): State<AppState>, ctx: Ctx, headers: HeaderMap, params: Params) -> Response {
    if let Err(e) = check_csrf(&headers, params.get("csrf")) {
        return e.into_response();
    }
    let Some(user) = &ctx.user else {
        return see_other("/login/", None);
    };
    let text = params.get("text").unwrap_or_default();
    let thoughts = state.thoughts.with_request_id(&ctx.request_id);
    match thoughts.create(&user.bearer, text).await {
        Ok(_) => see_other("/thoughts/", None),
        Err(ClientError::Status {
            status: 400,
            errors,
            message,
            ..
        }) => {
            let error = errors.get("text").cloned().unwrap_or(message);
            let error = Some(format!("Your thought {error}."));
            // Show the form again with the draft kept, above the list.
            let page = thoughts
                .newest(Listing::Mine(&user.bearer), None, PAGE_SIZE)
                .await
                .unwrap_or_default();
            let older = older_href("/thoughts/", &[], page.older);
            let list = ThoughtView::list(page.items, Some(&user.username));
            home(&ctx, StatusCode::BAD_REQUEST, list, older, text.to_owned(), error, true)
        }
        Err(ClientError::Status { status: 401, .. }) => {
            see_other("/login/", Some(clear_session_cookie(state.cookie_secure)))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot create thought");
            home(
                &ctx,
                StatusCode::SERVICE_UNAVAILABLE,
                Vec::new(),
                None,
                text.to_owned(),
                None,
                false,
            )
        }
    }
}

/// `POST /thoughts/<id>/delete`: delete one's own thought.
pub async fn delete_thought(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, PageError> {
    check_csrf(&headers, params.get("csrf"))?;
    let Some(user) = &ctx.user else {
        return Ok(see_other("/login/", None));
    };
    let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
    let thoughts = state.thoughts.with_request_id(&ctx.request_id);
    match thoughts.delete_mine(&user.bearer, id).await {
        Ok(()) => Ok(see_other("/thoughts/", None)),
        Err(ClientError::Status { status: 403, .. }) => Err(PageError::Forbidden),
        Err(ClientError::Status { status: 404, .. }) => Err(PageError::NotFound),
        Err(ClientError::Status { status: 401, .. }) => {
            Ok(see_other("/login/", Some(clear_session_cookie(state.cookie_secure))))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot delete thought");
            Err(PageError::Unavailable("thoughts"))
        }
    }
}
