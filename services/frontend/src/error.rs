//! The one error type of the frontend: each variant renders an HTML page (or
//! a redirect) with its status, never a trace. Backend failures arrive here
//! through `From<ClientError>`, so handlers use `?`.

use crate::session::SessionCookie;
use crate::views::ErrorPage;
use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use kit::client::ClientError;

/// Everything a page handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// 303 to `/login/`: the page needs a signed-in user and there is none.
    #[error("signed out")]
    SignedOut,
    /// 303 to `/login/`, clearing the session cookie: a backend refused the
    /// session's token (401), e.g. because it was revoked.
    #[error("session refused by a backend")]
    SessionEnded,
    /// 503 with `Retry-After`: a backend is down, too slow or failing. Shows
    /// `page` (the page as far as it could be built, with a notice) when the
    /// handler gave one ([`PageError::showing`]), else the error page naming
    /// `service`.
    #[error("{service} unavailable: {cause}")]
    Unavailable {
        /// Which backend (`users`, `thoughts`), for the message.
        service: &'static str,
        /// What the client reported (logged, never shown).
        cause: String,
        /// The rendered page to answer with instead of the error page.
        page: Option<String>,
    },
    /// 403: a form without a valid CSRF token, or sent from another site.
    #[error("csrf")]
    Csrf,
    /// 403: not allowed (e.g. someone else's thought).
    #[error("forbidden")]
    Forbidden,
    /// 404: no such page or thought.
    #[error("not found")]
    NotFound,
    /// 429: a backend refused because this user sends too much (e.g. posts
    /// too fast); not an outage.
    #[error("rate limited")]
    RateLimited,
    /// 500: anything unexpected; logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The notice shown when `service` does not answer (on the page that could
/// not be completed, or on the error page).
pub fn unavailable_notice(service: &str) -> String {
    format!("The {service} service is not answering right now. Please try again in a moment.")
}

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_SECONDS: &str = "5";

/// Which backend a client error comes from: `Status` names it, and kit's
/// `Unavailable` messages start with it (`"thoughts: ..."`, `"users answered 502"`).
fn service_of(error: &ClientError) -> &'static str {
    match error {
        ClientError::Status { target, .. } => target,
        ClientError::Unavailable(why) => ["users", "thoughts"]
            .into_iter()
            .find(|name| why.starts_with(name))
            .unwrap_or("backend"),
    }
}

impl From<ClientError> for PageError {
    /// A 401 ends the session; a 429 asks the user to slow down; anything
    /// else the handler did not handle itself (unreachable, timeout, 5xx, an
    /// unexpected 4xx) is an outage.
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Status { status: 401, .. } => Self::SessionEnded,
            ClientError::Status { status: 429, .. } => Self::RateLimited,
            other => Self::Unavailable {
                service: service_of(&other),
                cause: other.to_string(),
                page: None,
            },
        }
    }
}

impl PageError {
    /// For an outage, answer with `page` (rendered now) instead of the bare
    /// error page; any other error is returned unchanged.
    pub fn showing(self, page: &impl Template) -> Self {
        match self {
            Self::Unavailable { service, cause, .. } => Self::Unavailable {
                service,
                cause,
                page: page.render().ok(),
            },
            other => other,
        }
    }

    fn status_title_message(&self) -> (StatusCode, &'static str, String) {
        match self {
            // Redirects: `into_response` answers them before any page.
            Self::SignedOut | Self::SessionEnded => (StatusCode::SEE_OTHER, "Please sign in", String::new()),
            Self::Unavailable { service, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                unavailable_notice(service),
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
            Self::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                "Slow down",
                "You are doing that too often. Wait a moment, then try again.".into(),
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
        match &self {
            Self::SignedOut => return see_other("/login/"),
            Self::SessionEnded => return (SessionCookie::Clear, see_other("/login/")).into_response(),
            Self::Internal(e) => tracing::error!(error = %format!("{e:#}"), "internal error"),
            Self::Unavailable { cause, .. } => tracing::warn!(error = %cause, "backend unavailable"),
            _ => {}
        }
        let (status, title, message) = self.status_title_message();
        let html = match self {
            Self::Unavailable { page: Some(page), .. } => Ok(page),
            _ => ErrorPage {
                title,
                message: &message,
            }
            .render(),
        };
        let mut response = match html {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, title).into_response(),
        };
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        response
    }
}

/// Render a template with `status`.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Result<Response, PageError> {
    let html = page
        .render()
        .map_err(|e| PageError::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok((status, Html(html)).into_response())
}

/// A `303 See Other` to `to`.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// 404 page for unknown paths (outside the page router, so it adds the
/// security headers itself).
pub async fn not_found() -> Response {
    let mut response = PageError::NotFound.into_response();
    crate::add_security_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn status(code: u16) -> ClientError {
        ClientError::Status {
            target: "thoughts",
            status: code,
            message: "refused".into(),
            errors: BTreeMap::new(),
        }
    }

    #[test]
    fn a_401_from_a_backend_signs_out_and_clears_the_session() {
        let response = PageError::from(status(401)).into_response();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], "/login/");
        assert!(
            matches!(response.extensions().get::<SessionCookie>(), Some(SessionCookie::Clear)),
            "the cookie middleware is asked to clear the session"
        );
    }

    #[test]
    fn an_unreachable_or_failing_backend_is_a_503_naming_it_with_retry_after() {
        for (error, service) in [
            (ClientError::Unavailable("users: connection refused".into()), "users"),
            (ClientError::Unavailable("thoughts answered 502".into()), "thoughts"),
            (status(418), "thoughts"),
        ] {
            let error = PageError::from(error);
            assert!(
                matches!(&error, PageError::Unavailable { service: s, .. } if *s == service),
                "{error}"
            );
            let response = error.into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        }
    }

    #[test]
    fn a_429_from_a_backend_asks_to_slow_down_and_is_not_an_outage() {
        let error = PageError::from(status(429));
        assert!(matches!(error, PageError::RateLimited), "{error}");
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(
            response.headers().get(header::RETRY_AFTER).is_none(),
            "no invented wait"
        );
    }
}
