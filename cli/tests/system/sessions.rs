//! Revocable sessions through the real users service and frontend: the
//! frontend holds a short-lived token renewed through a refresh token, and
//! signing out ends the session for good (issue 9, finding 8).

use crate::browser_like::{Browser, System, start_system_with};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

const PASSWORD: &str = "a long enough password";

/// A system whose session tokens live two seconds.
async fn short_sessions() -> System {
    start_system_with(|s| s.users.session_token_lifetime_seconds = 2).await
}

/// The claims of the browser's session cookie, verified with the keys the
/// users service publishes.
async fn session_claims(system: &System, b: &Browser) -> tokens::Claims {
    let verifier = tokens::VerifierConfig {
        public_key_path: None,
        jwks_url: Some(format!("{}/.well-known/jwks.json", system.urls.users)),
        jwks_min_refresh_seconds: 0,
        token_issuer: None,
    }
    .build(&kit::config::OutgoingConfig::default())
    .expect("a JWKS verifier");
    let value = b.cookies.get("session").expect("a session cookie").trim_matches('"');
    verifier
        .verify_header(Some(value))
        .await
        .expect("a valid session token")
}

/// Wait, bounded, until `check` holds, polling every 100 ms.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, limit: Duration, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait, bounded, until the clock is past `exp` (seconds since the epoch).
async fn until_past(exp: i64) {
    eventually("the token expires", Duration::from_secs(10), || async move {
        chrono_now() > exp
    })
    .await;
}

fn chrono_now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since.as_secs()).expect("in range")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_short_token_with_a_valid_refresh_cookie_is_renewed_transparently() {
    let system = short_sessions().await;
    let mut b = Browser::new(&system.frontend);
    b.sign_up("renewed", PASSWORD).await;
    let first = session_claims(&system, &b).await;
    assert_eq!(first.exp - first.iat, 2, "the configured lifetime");
    let old_refresh = b.cookies.get("refresh").cloned().expect("a refresh cookie");
    until_past(first.exp).await;

    let home = b.get("/thoughts/").await;
    assert_eq!(home.status, StatusCode::OK, "still signed in");
    assert!(home.body.contains("@renewed"));
    assert!(
        home.set_cookie("session").is_some() && home.set_cookie("refresh").is_some(),
        "both renewed"
    );
    assert_ne!(
        b.cookies.get("refresh"),
        Some(&old_refresh),
        "the refresh token rotated"
    );
    let csrf = home.csrf();
    let posted = b
        .post("/thoughts/new", &[("text", "written after a renewal"), ("csrf", &csrf)])
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    assert_eq!(posted.location(), Some("/thoughts/"), "{}", posted.body);
    assert!(b.get("/thoughts/").await.body.contains("written after a renewal"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_signing_out_the_old_cookies_are_signed_out_here_at_once_and_everywhere_soon() {
    let system = short_sessions().await;
    let mut b = Browser::new(&system.frontend);
    b.sign_up("leaver", PASSWORD).await;
    let old_session = b.cookies.get("session").cloned().expect("session");
    let old_refresh = b.cookies.get("refresh").cloned().expect("refresh");
    let claims = session_claims(&system, &b).await;
    let csrf = b.get("/thoughts/").await.csrf();
    let out = b.post("/logout/", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), Some("/login/"));

    // Replaying the old session cookie: signed out, though the token has not expired.
    let mut replay = Browser::new(&system.frontend);
    replay.cookies.insert("session".into(), old_session.clone());
    let home = replay.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), Some("/login/"));
    // Replaying the old refresh cookie: the users service revoked it.
    let mut replay = Browser::new(&system.frontend);
    replay.cookies.insert("refresh".into(), old_refresh.clone());
    assert_eq!(replay.get("/").await.location(), Some("/login/"));
    let mut replay = Browser::new(&system.frontend);
    replay.cookies.insert("session".into(), old_session.clone());
    replay.cookies.insert("refresh".into(), old_refresh.clone());
    until_past(claims.exp).await;
    assert_eq!(replay.get("/").await.location(), Some("/login/"), "expired and revoked");
    let users = users_api::Client::new(
        &system.urls.users,
        Duration::from_secs(2),
        Duration::from_secs(10),
        &kit::config::OutgoingConfig::default(),
    )
    .expect("client");
    match users.refresh_session(&old_refresh).await {
        Err(users_api::ClientError::Status { status: 401, .. }) => {}
        other => panic!("a revoked refresh token must get 401, got {other:?}"),
    }

    // The thoughts service, which keeps no denylist, refuses the token once
    // it has expired (plus its verifier's leeway): within seconds here,
    // within SESSION_TOKEN_LIFETIME_SECONDS in production.
    let bearer = old_session.trim_matches('"').to_owned();
    let url = format!("{}/api/me/thoughts/", system.urls.thoughts);
    let http = reqwest::Client::new();
    eventually(
        "the thoughts service refuses the token",
        Duration::from_secs(15),
        || {
            let (http, url, bearer) = (http.clone(), url.clone(), bearer.clone());
            async move {
                let r = http
                    .get(url)
                    .header("authorization", bearer)
                    .send()
                    .await
                    .expect("sent");
                r.status() == StatusCode::UNAUTHORIZED
            }
        },
    )
    .await;
}
