//! Short-lived session tokens renewed through the refresh cookie, and a
//! sign-out that ends the session for good (issue 9, finding 8).

use crate::helpers::TestApp;
use reqwest::StatusCode;
use testkit::browser::Browser;

const PASSWORD: &str = "a long enough password";

/// The claims of the browser's session cookie, verified with the test key.
async fn session_claims(b: &Browser) -> tokens::Claims {
    let value = b.cookies.get("session").expect("a session cookie").trim_matches('"');
    let verifier = tokens::Verifier::from_pem(testkit::keys().public_pem.as_bytes()).expect("test public key");
    verifier
        .verify_header(Some(value))
        .await
        .expect("a valid session token")
}

/// A session cookie value for `claims` that expired at `exp`, signed with the test key.
fn expired_cookie(claims: &tokens::Claims, exp: i64) -> String {
    let signer = tokens::Signer::from_pem(testkit::keys().private_pem.as_bytes()).expect("test key");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(signer.kid().to_owned());
    let claims = tokens::Claims {
        iat: exp - 300,
        exp,
        ..claims.clone()
    };
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(testkit::keys().private_pem.as_bytes()).expect("key");
    let token = jsonwebtoken::encode(&header, &claims, &key).expect("signed");
    format!("\"Bearer {token}\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_token_with_a_refresh_cookie_is_renewed_transparently() {
    let app = TestApp::start().await;
    let now = chrono::Utc::now().timestamp();
    // Just expired (still inside the verifiers' leeway), and long expired.
    for (name, exp) in [("recent", now - 1), ("long", now - 600)] {
        let mut b = app.browser();
        b.sign_up(name, PASSWORD).await;
        let claims = session_claims(&b).await;
        let old_refresh = b.cookies.get("refresh").cloned().expect("a refresh cookie");
        b.cookies.insert("session".into(), expired_cookie(&claims, exp));

        let home = b.get("/thoughts/").await;
        assert_eq!(home.status, StatusCode::OK, "{name}: still signed in");
        assert!(home.body.contains(&format!("@{name}")));
        assert!(
            home.set_cookie("session").is_some_and(|c| !c.contains("Max-Age=0")),
            "{name}"
        );
        assert!(
            home.set_cookie("refresh").is_some_and(|c| !c.contains("Max-Age=0")),
            "{name}"
        );
        assert!(home.set_cookie("csrf").is_none(), "a renewal keeps the CSRF nonce");
        let renewed = session_claims(&b).await;
        assert!(renewed.exp > now, "{name}: a live token");
        assert_eq!(renewed.sid, claims.sid, "{name}: the same session");
        assert_ne!(b.cookies.get("refresh"), Some(&old_refresh), "{name}: rotated");

        // The page's forms work with the renewed session.
        assert_eq!(b.post_thought("after renewal").await.status, StatusCode::SEE_OTHER);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_holding_only_the_refresh_cookie_is_renewed_too() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("idle", PASSWORD).await;
    b.cookies.remove("session"); // the browser dropped it at its Max-Age
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(b.cookies.contains_key("session"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_without_a_refresh_cookie_or_with_a_refused_one_is_signed_out() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("expired", PASSWORD).await;
    let claims = session_claims(&b).await;
    let expired = expired_cookie(&claims, chrono::Utc::now().timestamp() - 600);

    let mut without = app.browser();
    without.cookies.insert("session".into(), expired.clone());
    assert_eq!(without.get("/").await.location(), Some("/login/"));

    let mut refused = app.browser();
    refused.cookies.insert("session".into(), expired);
    refused.cookies.insert("refresh".into(), "not-a-refresh-token".into());
    let home = refused.get("/").await;
    assert_eq!(home.location(), Some("/login/"));
    for name in ["session", "refresh"] {
        let cleared = home.set_cookie(name).expect("cleared");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_signing_out_neither_the_old_session_cookie_nor_the_old_refresh_cookie_signs_in() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("gone", PASSWORD).await;
    let old_session = b.cookies.get("session").cloned().expect("session");
    let old_refresh = b.cookies.get("refresh").cloned().expect("refresh");
    let csrf = b.get("/thoughts/").await.csrf();
    let out = b.post("/logout/", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), Some("/login/"));
    for name in ["session", "refresh"] {
        assert!(
            out.set_cookie(name).is_some_and(|c| c.contains("Max-Age=0")),
            "{name} cleared"
        );
    }

    // The old token has not expired, but this frontend refuses it at once.
    let mut replay = app.browser();
    replay.cookies.insert("session".into(), old_session.clone());
    assert_eq!(replay.get("/").await.location(), Some("/login/"));
    let mut replay = app.browser();
    replay.cookies.insert("session".into(), old_session);
    replay.cookies.insert("refresh".into(), old_refresh.clone());
    assert_eq!(replay.get("/").await.location(), Some("/login/"));
    // The refresh token was revoked at the users service.
    let mut replay = app.browser();
    replay.cookies.insert("refresh".into(), old_refresh);
    assert_eq!(replay.get("/").await.location(), Some("/login/"));

    // Signing in again starts a new session that works.
    b.get("/login/").await;
    let csrf = b.get("/login/").await.csrf();
    let again = b
        .post(
            "/login/",
            &[("username", "gone"), ("password", PASSWORD), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_while_the_users_service_is_down_still_signs_out_here() {
    let mut app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("offline", PASSWORD).await;
    let old_session = b.cookies.get("session").cloned().expect("session");
    let csrf = b.get("/thoughts/").await.csrf();
    app.users.stop().await;
    let out = b.post("/logout/", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), Some("/login/"));
    let mut replay = app.browser();
    replay.cookies.insert("session".into(), old_session);
    assert_eq!(replay.get("/").await.location(), Some("/login/"));
}
