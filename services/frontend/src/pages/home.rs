//! The signed-in user's page: their thoughts, posting and deleting.

use super::{PAGE_SIZE, before_param, older_href, see_other};
use crate::AppState;
use crate::error::{PageError, render, unavailable_notice};
use crate::session::{Ctx, SignedIn, check_csrf};
use crate::views::{HomePage, ThoughtView};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kit::Params;
use thoughts_api::{ClientError, Listing, ThoughtPage};

impl HomePage {
    /// The home page seen by this request: empty form, no thoughts listed.
    pub fn new(ctx: &Ctx) -> Self {
        Self {
            layout: ctx.layout(),
            older_href: None,
            thoughts: Vec::new(),
            draft: String::new(),
            error: None,
            loaded: true,
        }
    }

    /// The thoughts to list, newest first.
    pub fn thoughts(mut self, thoughts: Vec<ThoughtView>) -> Self {
        self.thoughts = thoughts;
        self
    }

    /// The link to the next, older page.
    pub fn older(mut self, href: Option<String>) -> Self {
        self.older_href = href;
        self
    }

    /// Text to put back in the form.
    pub fn draft(mut self, text: &str) -> Self {
        text.clone_into(&mut self.draft);
        self
    }

    /// An inline error about the form.
    pub fn error(mut self, message: String) -> Self {
        self.error = Some(message);
        self
    }

    /// The thoughts could not be loaded: say so above the form.
    pub fn unloaded(mut self) -> Self {
        self.loaded = false;
        self.layout.notice = Some(unavailable_notice("thoughts"));
        self
    }

    /// `page` of `user`'s own thoughts, with the link to older ones.
    fn mine(self, page: ThoughtPage, user: &SignedIn) -> Self {
        self.thoughts(ThoughtView::list(page.items, Some(&user.username)))
            .older(older_href("/thoughts/", &[], page.older))
    }
}

/// `GET /` and `GET /thoughts/[?before=id]`: redirect to `/login/` when signed out.
pub async fn show_home(
    State(state): State<AppState>,
    ctx: Ctx,
    user: SignedIn,
    params: Params,
) -> Result<Response, PageError> {
    let page = state
        .thoughts
        .with_request_id(&ctx.request_id)
        .newest(Listing::Mine(&user.bearer), before_param(&params), PAGE_SIZE)
        .await
        .map_err(|e| PageError::from(e).showing(&HomePage::new(&ctx).unloaded()))?;
    render(StatusCode::OK, &HomePage::new(&ctx).mine(page, &user))
}

/// `POST /thoughts/new`: share a thought, back to `/thoughts/`.
pub async fn create_thought(
    State(state): State<AppState>,
    ctx: Ctx,
    user: Result<SignedIn, PageError>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, PageError> {
    check_csrf(&headers, &ctx, params.get("csrf"))?;
    let user = user?;
    // Browsers send a textarea's line ends as CRLF (HTML's form encoding);
    // the thoughts service refuses CR (issue 9), so lines end in LF alone.
    let text = &params.get("text").unwrap_or_default().replace("\r\n", "\n");
    let thoughts = state.thoughts.with_request_id(&ctx.request_id);
    let (status, refused) = match thoughts.create(&user.bearer, text).await {
        Ok(_) => return Ok(see_other("/thoughts/")),
        Err(ClientError::Status {
            status: 400,
            errors,
            message,
            ..
        }) => {
            let why = errors.get("text").cloned().unwrap_or(message);
            (StatusCode::BAD_REQUEST, format!("Your thought {why}."))
        }
        // The account posts faster than the thoughts service allows.
        Err(ClientError::Status { status: 429, .. }) => (StatusCode::TOO_MANY_REQUESTS, SLOW_DOWN.to_owned()),
        Err(e) => return Err(PageError::from(e).showing(&HomePage::new(&ctx).draft(text).unloaded())),
    };
    // Show the form again with the draft kept, above the list.
    let page = thoughts
        .newest(Listing::Mine(&user.bearer), None, PAGE_SIZE)
        .await
        .unwrap_or_default();
    let home = HomePage::new(&ctx).mine(page, &user).draft(text).error(refused);
    render(status, &home)
}

/// What a 429 from the thoughts service tells the person posting.
const SLOW_DOWN: &str = "You are posting too fast. Wait a moment, then share your thought again: it is kept below.";

/// `POST /thoughts/<id>/delete`: delete one's own thought.
pub async fn delete_thought(
    State(state): State<AppState>,
    ctx: Ctx,
    user: Result<SignedIn, PageError>,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, PageError> {
    check_csrf(&headers, &ctx, params.get("csrf"))?;
    let user = user?;
    let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
    let thoughts = state.thoughts.with_request_id(&ctx.request_id);
    match thoughts.delete_mine(&user.bearer, id).await {
        Ok(()) => Ok(see_other("/thoughts/")),
        Err(ClientError::Status { status: 403, .. }) => Err(PageError::Forbidden),
        Err(ClientError::Status { status: 404, .. }) => Err(PageError::NotFound),
        Err(e) => Err(e.into()),
    }
}
