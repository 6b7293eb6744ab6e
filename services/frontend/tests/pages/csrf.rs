//! CSRF tokens are bound to the session and renewed when it starts: a
//! token is only good with the session it was made for (issue 9, finding 8).

use crate::helpers::TestApp;
use reqwest::StatusCode;

const PASSWORD: &str = "a long enough password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_taken_before_sign_in_does_not_work_after_sign_in() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("fixated", PASSWORD).await;
    let csrf = b.get("/thoughts/").await.csrf();
    b.post("/logout/", &[("csrf", &csrf)]).await;

    let login = b.get("/login/").await;
    let before = login.csrf();
    let nonce_before = b.cookies.get("csrf").cloned().expect("a csrf cookie");
    let signed_in = b
        .post(
            "/login/",
            &[("username", "fixated"), ("password", PASSWORD), ("csrf", &before)],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let rotated = signed_in.set_cookie("csrf").expect("signing in renews the csrf cookie");
    assert!(!rotated.contains(&nonce_before), "{rotated}");

    let stale = b
        .post("/thoughts/new", &[("text", "with an old token"), ("csrf", &before)])
        .await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
    let posted = b.post_thought("with a fresh token").await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    let home = b.get("/thoughts/").await.body;
    assert!(home.contains("with a fresh token") && !home.contains("with an old token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_renews_the_csrf_cookie_too() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let form = b.get("/signup/").await;
    let before = form.csrf();
    let nonce_before = b.cookies.get("csrf").cloned().expect("a csrf cookie");
    let signed_up = b
        .post(
            "/signup/",
            &[("username", "newcomer"), ("password", PASSWORD), ("csrf", &before)],
        )
        .await;
    assert_eq!(signed_up.status, StatusCode::SEE_OTHER);
    let rotated = signed_up.set_cookie("csrf").expect("signing up renews the csrf cookie");
    assert!(!rotated.contains(&nonce_before), "{rotated}");
    let stale = b.post("/thoughts/new", &[("text", "x"), ("csrf", &before)]).await;
    assert_eq!(stale.status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_visitors_token_does_not_work_on_my_session() {
    let app = TestApp::start().await;
    let mut victim = app.browser();
    victim.sign_up("victim", PASSWORD).await;
    let mut mallory = app.browser();
    mallory.sign_up("mallory", PASSWORD).await;
    let mallorys_token = mallory.get("/thoughts/").await.csrf();
    let mallorys_nonce = mallory.cookies.get("csrf").cloned().expect("a csrf cookie");

    // Mallory's token with the victim's cookies.
    let sent = victim
        .post("/thoughts/new", &[("text", "forged"), ("csrf", &mallorys_token)])
        .await;
    assert_eq!(sent.status, StatusCode::FORBIDDEN);
    // Mallory plants her own nonce cookie (cookie tossing) and sends the
    // token made for it: it is bound to her session, not the victim's.
    victim.cookies.insert("csrf".into(), mallorys_nonce);
    let tossed = victim
        .post("/thoughts/new", &[("text", "tossed"), ("csrf", &mallorys_token)])
        .await;
    assert_eq!(tossed.status, StatusCode::FORBIDDEN);

    let home = victim.get("/thoughts/").await;
    assert!(!home.body.contains("forged") && !home.body.contains("tossed"));
    assert_eq!(
        victim.post_thought("mine").await.status,
        StatusCode::SEE_OTHER,
        "forms still work"
    );
}
