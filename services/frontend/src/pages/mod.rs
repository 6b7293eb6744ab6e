//! Page handlers, one module per area, and the router.

pub mod account;
pub mod assets;
pub mod browse;
pub mod home;

use crate::AppState;
use crate::session::Ctx;
use crate::views::Layout;
use axum::Router;
use axum::routing::{get, post};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

pub use crate::error::see_other;

/// All pages (paths without trailing slash; the chassis accepts both).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home::show_home))
        .route("/thoughts", get(home::show_home))
        .route("/thoughts/new", post(home::create_thought))
        .route("/thoughts/{id}/delete", post(home::delete_thought))
        .route("/login", get(account::show_login).post(account::log_in))
        .route("/signup", get(account::show_signup).post(account::sign_up))
        .route("/logout", get(account::show_logout).post(account::log_out))
        .route("/search", get(browse::search))
        .route("/users/{username}", get(browse::show_user))
        .route("/static/style.css", get(assets::style))
        .route("/static/app.js", get(assets::script))
        .route("/static/favicon.svg", get(assets::favicon))
        .route("/favicon.ico", get(assets::favicon))
        .with_state(state)
}

impl Ctx {
    /// The layout for a page seen by this request.
    pub fn layout(&self) -> Layout {
        Layout {
            user: self.user.as_ref().map(|u| u.username.clone()),
            csrf: self.csrf.clone(),
            search: String::new(),
            notice: None,
        }
    }
}

/// Thoughts per page.
pub const PAGE_SIZE: u32 = 50;

/// The `before` cursor of a page URL, if valid.
pub fn before_param(params: &kit::Params) -> Option<i64> {
    params
        .get("before")
        .and_then(|b| b.parse().ok())
        .filter(|b: &i64| *b > 0)
}

/// The link to the older page: `path?query&before=cursor`.
pub fn older_href(path: &str, query: &[(&str, &str)], older: Option<i64>) -> Option<String> {
    let cursor = older?.to_string();
    let mut pairs: Vec<(&str, &str)> = query.to_vec();
    pairs.push(("before", &cursor));
    Some(format!(
        "{path}?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    ))
}

/// Every byte but the unreserved characters of RFC 3986 (`A-Z a-z 0-9 - . _ ~`).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A URL path segment: everything but unreserved characters percent-encoded
/// (UTF-8, upper-case hex), so a username can never add a `/`, `?` or `#`.
pub fn path_segment(s: &str) -> String {
    utf8_percent_encode(s, PATH_SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_encode_everything_but_unreserved_characters() {
        assert_eq!(path_segment("Jane Doe"), "Jane%20Doe");
        assert_eq!(path_segment("a-b.c_d~e09AZ"), "a-b.c_d~e09AZ");
        assert_eq!(
            path_segment("../?#&%+=;:@!$'()*,/"),
            "..%2F%3F%23%26%25%2B%3D%3B%3A%40%21%24%27%28%29%2A%2C%2F"
        );
        assert_eq!(path_segment("ünï"), "%C3%BCn%C3%AF");
        for b in 0u8..=127 {
            let c = char::from(b);
            let expected = if c.is_ascii_alphanumeric() || "-._~".contains(c) {
                c.to_string()
            } else {
                format!("%{b:02X}")
            };
            assert_eq!(path_segment(&c.to_string()), expected, "byte {b}");
        }
    }
}
