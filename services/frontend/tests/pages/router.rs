//! The frontend router called directly with `oneshot`: no sockets, no
//! backends (nothing here calls one).

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use frontend::{AppState, router};
use tower::ServiceExt;

async fn get(path: &str) -> Response {
    let config = crate::helpers::config("http://127.0.0.1:9", "http://127.0.0.1:9");
    let app = router(AppState::new(&config).expect("valid configuration"));
    let request = Request::get(path).body(Body::empty()).expect("request");
    app.oneshot(request).await.expect("infallible")
}

async fn text(response: Response) -> String {
    let bytes = to_bytes(response.into_body(), 1 << 20).await.expect("body");
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

fn header_of(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn signed_out_home_redirects_to_the_sign_in_page() {
    let response = get("/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header_of(&response, header::LOCATION), "/login/");
    let thoughts = get("/thoughts").await;
    assert_eq!(thoughts.status(), StatusCode::SEE_OTHER);
    assert_eq!(header_of(&thoughts, header::LOCATION), "/login/");
}

#[tokio::test]
async fn the_stylesheet_is_served_with_its_content_type() {
    let response = get("/static/style.css").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, header::CONTENT_TYPE), "text/css; charset=utf-8");
    assert!(header_of(&response, header::CACHE_CONTROL).contains("max-age"));
    assert_eq!(header_of(&response, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert!(!text(response).await.is_empty());
}

#[tokio::test]
async fn an_unknown_path_gives_the_html_404_page() {
    let response = get("/no-such-page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(header_of(&response, header::CONTENT_TYPE).starts_with("text/html"));
    assert!(header_of(&response, header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'"));
    let body = text(response).await;
    assert!(body.contains("<html") && body.contains("Page not found"), "{body}");
}

#[tokio::test]
async fn the_sign_in_form_carries_a_token_made_from_the_csrf_cookie_it_sets() {
    let response = get("/login").await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = header_of(&response, header::SET_COOKIE).to_owned();
    assert!(cookie.contains("HttpOnly; SameSite=Strict; Path=/"), "{cookie}");
    let token = cookie
        .strip_prefix("csrf=")
        .and_then(|c| c.split(';').next())
        .expect("a csrf cookie")
        .to_owned();
    let body = text(response).await;
    // The form's token is the cookie's nonce followed by its binding to the session.
    assert!(body.contains(&format!("name=\"csrf\" value=\"{token}")), "{body}");
}
