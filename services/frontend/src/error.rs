//! The one error type of the frontend: each variant renders an HTML page
//! with its status, never a trace.

use crate::views::ErrorPage;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Everything a page handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// 503: a backend is down or too slow.
    #[error("{0} unavailable")]
    Unavailable(&'static str),
    /// 403: a form without a valid CSRF token, or sent from another site.
    #[error("csrf")]
    Csrf,
    /// 403: not allowed (e.g. someone else's thought).
    #[error("forbidden")]
    Forbidden,
    /// 404: no such page or thought.
    #[error("not found")]
    NotFound,
    /// 500: anything unexpected; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl PageError {
    fn status_title_message(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::Unavailable(what) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                format!("The {what} service is not answering right now. Please try again in a moment."),
            ),
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form was sent from another site or has expired. Go back, reload the page and try again.".into(),
            ),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "You can only change your own thoughts.".into(),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing at this address.".into(),
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "An unexpected error happened on our side. Please try again.".into(),
            ),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let Self::Internal(e) = &self {
            tracing::error!(error = %format!("{e:#}"), "internal error");
        }
        let (status, title, message) = self.status_title_message();
        let page = ErrorPage {
            title,
            message: &message,
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, title).into_response(),
        }
    }
}

/// Render a template, or a 500 page if rendering fails.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => PageError::Internal(anyhow::anyhow!("template: {e}")).into_response(),
    }
}

/// 404 page for unknown paths (outside the page router, so it adds the
/// security headers itself).
pub async fn not_found() -> Response {
    let mut response = PageError::NotFound.into_response();
    crate::add_security_headers(response.headers_mut());
    response
}
