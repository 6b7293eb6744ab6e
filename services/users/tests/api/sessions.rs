//! *(ext)* `POST /api/sessions/`, `/api/sessions/refresh`, `/api/sessions/revoke`:
//! short-lived tokens renewed through revocable refresh tokens.

use crate::helpers::{TestApp, decode, spawn, spawn_with};
use reqwest::StatusCode;
use serde_json::Value;

const PASSWORD: &str = "a strong password";

async fn post(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = app.post_form(path, form, None).await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn start_session(app: &TestApp, username: &str) -> Value {
    let (status, body) = post(app, "/api/sessions/", &[("username", username), ("password", PASSWORD)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn refresh(app: &TestApp, token: &str) -> (StatusCode, Value) {
    post(app, "/api/sessions/refresh", &[("refresh", token)]).await
}

fn field<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name].as_str().unwrap_or_else(|| panic!("{name} in {body}"))
}

testkit::both_engines! {
    async fn a_session_is_a_short_token_with_a_sid_and_an_opaque_refresh_token(engine) {
        let app = spawn(engine).await;
        app.sign_up("bruce", PASSWORD).await;
        let body = start_session(&app, "bruce").await;
        let (header, claims) = decode(field(&body, "Authorized"));
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(claims["username"], "bruce");
        assert!(claims["sid"].as_str().is_some_and(|s| s.len() >= 22), "{claims}");
        let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
        assert_eq!(lifetime, 300, "five minutes by default");
        assert!(claims.get("aud").is_none(), "no aud: the book's verifiers accept it");
        assert_eq!(body["expires_in"], 300);
        let session_days = body["refresh_expires_in"].as_u64().expect("refresh_expires_in");
        assert!((14 * 24 * 3600 - 60..=14 * 24 * 3600).contains(&session_days), "{session_days}");
        let refresh = field(&body, "refresh");
        assert_eq!(refresh.len(), 43, "32 bytes, base64url: {refresh}");
        assert!(refresh.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        // The book's login is unchanged: two days, no sid.
        let (_, login) = app.login("bruce", PASSWORD).await;
        let (_, book) = decode(field(&login, "Authorized"));
        assert!(book.get("sid").is_none());
        assert_eq!(book["exp"].as_i64().expect("exp") - book["iat"].as_i64().expect("iat"), 2 * 24 * 3600);
    }

    async fn the_session_token_lifetime_is_configurable(engine) {
        let app = spawn_with(engine, |c| c.session_token_lifetime_seconds = 60).await;
        app.sign_up("bruce", PASSWORD).await;
        let body = start_session(&app, "bruce").await;
        let (_, claims) = decode(field(&body, "Authorized"));
        assert_eq!(claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat"), 60);
        assert_eq!(body["expires_in"], 60);
    }

    async fn a_wrong_password_gets_the_same_401_as_login(engine) {
        let app = spawn(engine).await;
        app.sign_up("bruce", PASSWORD).await;
        let wrong = post(&app, "/api/sessions/", &[("username", "bruce"), ("password", "not the password")]).await;
        let unknown = post(&app, "/api/sessions/", &[("username", "nobody"), ("password", "not the password")]).await;
        let login = app.login("bruce", "not the password").await;
        assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong, unknown);
        assert_eq!(wrong, login);
        let missing = post(&app, "/api/sessions/", &[]).await;
        assert_eq!(missing.0, StatusCode::BAD_REQUEST);
        assert!(missing.1["errors"]["password"].is_string());
    }

    async fn starting_sessions_counts_against_the_login_limits(engine) {
        let app = spawn_with(engine, |c| c.login_attempts_per_account = 2).await;
        for _ in 0..2 {
            let r = post(&app, "/api/sessions/", &[("username", "bruce"), ("password", "wrong password")]).await;
            assert_eq!(r.0, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(app.login("bruce", "wrong password").await.0, StatusCode::TOO_MANY_REQUESTS);
        let limited = app.post_form("/api/sessions/", &[("username", "bruce"), ("password", "x")], None).await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.headers().contains_key("retry-after"));
    }

    async fn refreshing_renews_the_token_and_rotates_the_refresh_token(engine) {
        let app = spawn(engine).await;
        app.sign_up("bruce", PASSWORD).await;
        let first = start_session(&app, "bruce").await;
        let (status, second) = refresh(&app, field(&first, "refresh")).await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert_ne!(field(&second, "refresh"), field(&first, "refresh"), "rotated");
        let (_, before) = decode(field(&first, "Authorized"));
        let (_, after) = decode(field(&second, "Authorized"));
        assert_eq!(after["username"], "bruce");
        assert_eq!(after["sid"], before["sid"], "the same session");
        assert!(second["refresh_expires_in"].as_u64() <= first["refresh_expires_in"].as_u64(), "a session does not grow longer");
        let (status, third) = refresh(&app, field(&second, "refresh")).await;
        assert_eq!(status, StatusCode::OK, "the new one renews in turn");
        assert_eq!(decode(field(&third, "Authorized")).1["sid"], before["sid"]);
    }

    async fn the_old_refresh_token_is_refused_after_rotation_and_replaying_it_ends_the_session(engine) {
        let app = spawn(engine).await;
        app.sign_up("bruce", PASSWORD).await;
        let first = start_session(&app, "bruce").await;
        let (_, second) = refresh(&app, field(&first, "refresh")).await;
        let (status, body) = refresh(&app, field(&first, "refresh")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["message"], "Invalid or expired refresh token");
        let (status, _) = refresh(&app, field(&second, "refresh")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "a replayed token ends its whole session");
        // Another session of the same account is not affected.
        let other = start_session(&app, "bruce").await;
        assert_eq!(refresh(&app, field(&other, "refresh")).await.0, StatusCode::OK);
    }

    async fn a_revoked_refresh_token_cannot_refresh(engine) {
        let app = spawn(engine).await;
        app.sign_up("bruce", PASSWORD).await;
        let session = start_session(&app, "bruce").await;
        let token = field(&session, "refresh");
        let revoked = app.post_form("/api/sessions/revoke", &[("refresh", token)], None).await;
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
        assert_eq!(refresh(&app, token).await.0, StatusCode::UNAUTHORIZED);
        let again = app.post_form("/api/sessions/revoke", &[("refresh", token)], None).await;
        assert_eq!(again.status(), StatusCode::NO_CONTENT, "signing out twice is fine");
        let unknown = app.post_form("/api/sessions/revoke", &[("refresh", "not-a-token")], None).await;
        assert_eq!(unknown.status(), StatusCode::NO_CONTENT, "says nothing about a token");
        assert_eq!(refresh(&app, "not-a-token").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(refresh(&app, "").await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(post(&app, "/api/sessions/refresh", &[]).await.0, StatusCode::BAD_REQUEST);
    }

    async fn the_typed_client_runs_a_whole_session(engine) {
        let app = spawn(engine).await;
        app.sign_up("bruce", PASSWORD).await;
        let credentials = users_api::Credentials { username: "bruce".into(), password: PASSWORD.into() };
        let session = app.api.create_session(&credentials, None).await.expect("session");
        let renewed = app.api.refresh_session(&session.refresh).await.expect("renewed");
        assert_eq!(renewed.expires_in, 300);
        app.api.revoke_session(&renewed.refresh).await.expect("revoked");
        match app.api.refresh_session(&renewed.refresh).await {
            Err(users_api::ClientError::Status { status: 401, .. }) => {}
            other => panic!("a revoked token must get 401, got {other:?}"),
        }
    }
}
