//! Signing out: only a POST with the session's CSRF token signs out; a GET
//! shows a button and changes nothing (issue 9, finding 8).

use crate::helpers::TestApp;
use reqwest::StatusCode;

const PASSWORD: &str = "a long enough password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn getting_the_sign_out_page_shows_a_button_and_leaves_the_session_intact() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("stays", PASSWORD).await;

    let page = b.get("/logout/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.set_cookie("session").is_none(), "a GET sets no session cookie");
    let main = page.body.split("<main").nth(1).expect("a main element");
    assert!(main.contains("<form action=\"/logout/\" method=\"post\""), "{main}");
    assert!(main.contains("<button type=\"submit\">Sign out</button>"), "{main}");
    assert!(main.contains(&format!("name=\"csrf\" value=\"{}\"", page.csrf())));

    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "still signed in after GET /logout/");
    assert!(home.body.contains("@stays"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_visitor_asking_for_the_sign_out_page_goes_to_sign_in() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let page = b.get("/logout/").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/login/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_signs_out_with_a_form_button_not_a_link() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("header", PASSWORD).await;
    let home = b.get("/thoughts/").await;
    let nav = home
        .body
        .split("<nav")
        .nth(1)
        .and_then(|n| n.split("</nav>").next())
        .expect("nav");
    assert!(!nav.contains("href=\"/logout"), "no sign-out link: {nav}");
    assert!(nav.contains("<form action=\"/logout/\" method=\"post\""), "{nav}");
    assert!(
        nav.contains("<button type=\"submit\" class=\"link\">Sign out</button>"),
        "{nav}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_without_or_with_a_wrong_csrf_token_is_refused_and_keeps_the_session() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("target", PASSWORD).await;
    let csrf = b.get("/thoughts/").await.csrf();
    let mut other = app.browser();
    let foreign = other.get("/login/").await.csrf();

    for form in [
        vec![],
        vec![("csrf", "0123456789abcdef0123456789abcdef")],
        vec![("csrf", foreign.as_str())],
    ] {
        let refused = b.post("/logout/", &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{form:?}");
        assert!(refused.set_cookie("session").is_none(), "{form:?}");
    }
    let cross = b
        .post_with("/logout/", &[("csrf", &csrf)], &[("sec-fetch-site", "cross-site")])
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN, "a cross-site POST");

    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "still signed in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_with_the_token_clears_the_cookie_and_signs_out() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("leaving", PASSWORD).await;
    let csrf = b.get("/logout/").await.csrf();

    let out = b.post("/logout/", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), Some("/login/"));
    let cleared = out.set_cookie("session").expect("the session cookie is cleared");
    assert!(
        cleared.starts_with("session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    assert!(!b.cookies.contains_key("session"));
    assert_eq!(b.get("/").await.location(), Some("/login/"), "signed out");
}
