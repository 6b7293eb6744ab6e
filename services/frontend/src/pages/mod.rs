//! Page handlers, one module per area, and the router.

pub mod account;
pub mod assets;
pub mod browse;
pub mod home;

use crate::AppState;
use crate::session::Ctx;
use crate::views::Layout;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

/// All pages (paths without trailing slash; the chassis accepts both).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home::show_home))
        .route("/thoughts", get(home::show_home))
        .route("/thoughts/new", post(home::create_thought))
        .route("/thoughts/{id}/delete", post(home::delete_thought))
        .route("/login", get(account::show_login).post(account::log_in))
        .route("/signup", get(account::show_signup).post(account::sign_up))
        .route("/logout", get(account::log_out).post(account::log_out_form))
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

/// A URL path segment: everything but unreserved characters percent-encoded.
pub fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A `303 See Other` to `to`, optionally setting a cookie.
pub fn see_other(to: &str, set_cookie: Option<String>) -> Response {
    let mut response = Redirect::to(to).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Some(c) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}
