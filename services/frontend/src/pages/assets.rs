//! Static files, compiled into the binary (the site works offline).

use axum::http::header;
use axum::response::IntoResponse;

const CACHE: &str = "public, max-age=3600";

/// `/static/style.css`.
pub async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        include_str!("../../static/style.css"),
    )
}

/// `/static/app.js`.
pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        include_str!("../../static/app.js"),
    )
}

/// `/static/favicon.svg` (also `/favicon.ico`).
pub async fn favicon() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, CACHE)],
        include_str!("../../static/favicon.svg"),
    )
}
