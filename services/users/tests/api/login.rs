//! `POST /api/login/` — the book's login scenarios and ours.

use crate::helpers::{decode, spawn, spawn_with};
use reqwest::StatusCode;
use std::time::{Duration, Instant};

testkit::both_engines! {
    async fn logging_in_returns_an_rs256_bearer_token_with_the_books_claims(engine) {
        let app = spawn(engine).await;
        assert_eq!(app.sign_up("bruce", "a strong password").await.status(), StatusCode::CREATED);
        let (status, body) = app.login("bruce", "a strong password").await;
        assert_eq!(status, StatusCode::OK);
        let bearer = body["Authorized"].as_str().expect("Authorized");
        let (header, claims) = decode(bearer);
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert!(header.kid.is_some(), "kid header");
        assert_eq!(claims["username"], "bruce");
        let iat = claims["iat"].as_i64().expect("iat");
        let exp = claims["exp"].as_i64().expect("exp");
        assert_eq!(exp - iat, 2 * 24 * 3600, "two days");
        assert!(claims.get("aud").is_none(), "no aud: the book's verifier rejects it");
        assert!(claims.get("admin").is_none(), "ordinary users are not administrators");
    }

    async fn logging_in_accepts_json_and_query_string_too(engine) {
        let app = spawn(engine).await;
        app.sign_up("jane doe", "a strong password").await;
        let json = app.client.post(format!("{}/api/login", app.base))
            .json(&serde_json::json!({"username": "jane doe", "password": "a strong password"}))
            .send().await.expect("sent");
        assert_eq!(json.status(), StatusCode::OK);
        let query = app.client.post(format!("{}/api/login/?username=jane%20doe&password=a%20strong%20password", app.base))
            .send().await.expect("sent");
        assert_eq!(query.status(), StatusCode::OK);
    }

    async fn a_wrong_password_and_an_unknown_user_get_the_same_401(engine) {
        let app = spawn(engine).await;
        app.sign_up("bruce", "a strong password").await;
        let (wrong_status, wrong_body) = app.login("bruce", "not the password").await;
        let (unknown_status, unknown_body) = app.login("nobody", "not the password").await;
        assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
        assert_eq!(unknown_status, StatusCode::UNAUTHORIZED);
        assert_eq!(wrong_body, unknown_body);
    }

    async fn missing_fields_get_a_400_naming_them(engine) {
        let app = spawn(engine).await;
        let r = app.post_form("/api/login/", &[], None).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(body["message"], "Input payload validation failed");
        assert!(body["errors"]["username"].is_string());
        assert!(body["errors"]["password"].is_string());
    }

    async fn too_many_attempts_on_one_account_get_429_with_retry_after(engine) {
        let app = spawn_with(engine, |c| c.login_attempts_per_account = 3).await;
        for _ in 0..3 {
            assert_eq!(app.login("bruce", "wrong password").await.0, StatusCode::UNAUTHORIZED);
        }
        let r = app.post_form("/api/login/", &[("username", "bruce"), ("password", "x")], None).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        // Another account is not locked out by it.
        assert_eq!(app.login("stephen", "wrong password").await.0, StatusCode::UNAUTHORIZED);
    }

    async fn too_many_attempts_from_one_address_get_429(engine) {
        let app = spawn_with(engine, |c| c.login_attempts_per_address = 4).await;
        for name in ["a", "b", "c", "d"] {
            assert_eq!(app.login(name, "wrong password").await.0, StatusCode::UNAUTHORIZED);
        }
        assert_eq!(app.login("e", "wrong password").await.0, StatusCode::TOO_MANY_REQUESTS);
    }
}

/// A login POST with an `X-Forwarded-For` header.
async fn login_from(app: &crate::helpers::TestApp, forwarded_for: &str, username: &str) -> StatusCode {
    app.client
        .post(format!("{}/api/login/", app.base))
        .header("x-forwarded-for", forwarded_for)
        .form(&[("username", username), ("password", "wrong password")])
        .send()
        .await
        .expect("sent")
        .status()
}

testkit::both_engines! {
    async fn behind_a_trusted_proxy_each_end_user_has_their_own_address_limit(engine) {
        let app = spawn_with(engine, |c| {
            c.login_attempts_per_address = 2;
            c.trusted_proxies = "127.0.0.1,::1".into();
        }).await;
        assert_eq!(login_from(&app, "203.0.113.1", "a").await, StatusCode::UNAUTHORIZED);
        assert_eq!(login_from(&app, "203.0.113.1", "b").await, StatusCode::UNAUTHORIZED);
        assert_eq!(login_from(&app, "203.0.113.1", "c").await, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(login_from(&app, "203.0.113.2", "c").await, StatusCode::UNAUTHORIZED, "another user, another budget");
    }

    async fn forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit(engine) {
        let app = spawn_with(engine, |c| c.login_attempts_per_address = 2).await;
        assert_eq!(login_from(&app, "203.0.113.1", "a").await, StatusCode::UNAUTHORIZED);
        assert_eq!(login_from(&app, "203.0.113.2", "b").await, StatusCode::UNAUTHORIZED);
        assert_eq!(login_from(&app, "203.0.113.3", "c").await, StatusCode::TOO_MANY_REQUESTS);
    }

    async fn successful_logins_never_lock_an_account(engine) {
        let app = spawn_with(engine, |c| c.login_attempts_per_account = 2).await;
        app.sign_up("bruce", "a strong password").await;
        for _ in 0..5 {
            assert_eq!(app.login("bruce", "a strong password").await.0, StatusCode::OK);
        }
    }
}

#[tokio::test]
async fn an_unknown_user_costs_about_the_same_time_as_a_wrong_password() {
    let app = spawn(testkit::Engine::Sqlite).await;
    app.sign_up("bruce", "a strong password").await;
    // Median of a few tries each, so that one scheduling hiccup does not decide.
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        app.login("bruce", "not the password").await;
        wrong.push(t.elapsed());
        let t = Instant::now();
        app.login("nobody", "not the password").await;
        unknown.push(t.elapsed());
    }
    wrong.sort();
    unknown.sort();
    let (w, u) = (wrong[2], unknown[2]);
    // Both pay for one argon2id verification: neither is a fast path.
    assert!(u * 3 > w && w * 3 > u, "wrong password {w:?} vs unknown user {u:?}");
    assert!(
        u > Duration::from_millis(1),
        "an unknown user must still cost a hash: {u:?}"
    );
}

/// A login POST as the end user at `forwarded_for` behind the trusted proxy
/// (loopback), with a bounded wait.
async fn login_as(app: &crate::helpers::TestApp, forwarded_for: &str, username: &str, password: &str) -> StatusCode {
    app.client
        .post(format!("{}/api/login/", app.base))
        .header("x-forwarded-for", forwarded_for)
        .form(&[("username", username), ("password", password)])
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("sent")
        .status()
}

testkit::both_engines! {
    async fn a_strangers_failures_from_one_address_do_not_block_the_owner_at_another(engine) {
        let app = spawn_with(engine, |c| c.trusted_proxies = "127.0.0.1,::1".into()).await;
        app.sign_up("bruce", "a strong password").await;
        for _ in 0..5 {
            assert_eq!(login_as(&app, "203.0.113.66", "bruce", "a guess").await, StatusCode::UNAUTHORIZED);
        }
        let r = app.client.post(format!("{}/api/login/", app.base))
            .header("x-forwarded-for", "203.0.113.66")
            .form(&[("username", "bruce"), ("password", "a strong password")])
            .send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password is not evaluated");
        let retry: u64 = r.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
        assert!((1..=180).contains(&retry), "one more guess within 3 minutes: {retry}");
        let body: serde_json::Value = r.json().await.expect("json error body");
        assert!(body["message"].is_string());
        assert_eq!(login_as(&app, "198.51.100.7", "bruce", "a strong password").await, StatusCode::OK);
        assert_eq!(login_as(&app, "203.0.113.66", "stephen", "a guess").await, StatusCode::UNAUTHORIZED, "other accounts");
    }
}

/// Issue 9, finding 4: a stranger guessing at 2.5 wrong passwords a second
/// from one address while the owner signs in every 0.7 s from another, for
/// 10 s (at most 25 guesses and 15 sign-ins, each bounded to 10 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_guessing_from_one_address_cannot_lock_the_owner_out() {
    const RUN: Duration = Duration::from_secs(10);
    let app = spawn_with(testkit::Engine::Sqlite, |c| c.trusted_proxies = "127.0.0.1,::1".into()).await;
    assert_eq!(
        app.sign_up("bruce", "a strong password").await.status(),
        StatusCode::CREATED
    );
    let app = std::sync::Arc::new(app);
    let started = Instant::now();
    let paced = |every: Duration, most: usize, from: &'static str, password: &'static str| {
        let app = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut statuses = Vec::new();
            while statuses.len() < most && started.elapsed() < RUN {
                tick.tick().await;
                statuses.push(login_as(&app, from, "bruce", password).await);
            }
            statuses
        })
    };
    let attacker = paced(Duration::from_millis(400), 25, "203.0.113.66", "a wrong guess");
    let owner = paced(Duration::from_millis(700), 15, "198.51.100.7", "a strong password");
    let attacker = attacker.await.expect("attacker task");
    let owner = owner.await.expect("owner task");
    let count = |statuses: &[StatusCode], status| statuses.iter().filter(|s| **s == status).count();
    let evaluated = count(&attacker, StatusCode::UNAUTHORIZED);
    let refused = count(&attacker, StatusCode::TOO_MANY_REQUESTS);
    let signed_in = count(&owner, StatusCode::OK);
    println!(
        "in {:.1} s: attacker sent {} guesses ({evaluated} evaluated, {refused} refused with 429); \
         owner signed in {signed_in} of {} times",
        started.elapsed().as_secs_f64(),
        attacker.len(),
        owner.len(),
    );
    assert_eq!(evaluated + refused, attacker.len(), "only 401 or 429: {attacker:?}");
    // Loose floors: on a loaded machine a hash can take far longer than 0.7 s.
    assert!(attacker.len() >= 10, "the attacker kept its pace: {}", attacker.len());
    assert!(
        evaluated <= 5,
        "{evaluated} guesses evaluated; the per-pair budget is 5"
    );
    assert!(owner.len() >= 5, "the owner kept its pace: {}", owner.len());
    assert!(
        signed_in * 100 >= owner.len() * 95,
        "the owner signed in {signed_in} of {} times: {owner:?}",
        owner.len()
    );
}

/// Guesses sent in parallel from one address (20 at once, each bounded to
/// 10 s) are not all evaluated before the failures are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_from_one_address_get_no_more_than_the_budget() {
    let app = spawn_with(testkit::Engine::Sqlite, |c| c.trusted_proxies = "127.0.0.1,::1".into()).await;
    app.sign_up("bruce", "a strong password").await;
    let app = std::sync::Arc::new(app);
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..20 {
        let app = app.clone();
        guesses.spawn(async move { login_as(&app, "203.0.113.66", "bruce", &format!("guess {i}")).await });
    }
    let statuses = guesses.join_all().await;
    let evaluated = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    println!("20 parallel guesses: {evaluated} evaluated, {refused} refused with 429");
    assert_eq!(evaluated + refused, 20, "{statuses:?}");
    assert!(evaluated <= 5, "{evaluated} evaluated; the per-pair budget is 5");
    assert_eq!(
        login_as(&app, "198.51.100.7", "bruce", "a strong password").await,
        StatusCode::OK
    );
}

/// With one hashing thread (MAX_CONCURRENT_HASHES=1), logins sent at once
/// wait their turn instead of failing: two accounts and an unknown name,
/// three at a time, each bounded to 60 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_logins_at_once_than_hashing_threads_all_get_their_answer() {
    let app = spawn_with(testkit::Engine::Sqlite, |c| {
        c.max_concurrent_hashes = 1;
        c.trusted_proxies = "127.0.0.1,::1".into();
    })
    .await;
    for name in ["bruce", "selina"] {
        assert_eq!(
            app.sign_up(name, "a strong password").await.status(),
            StatusCode::CREATED
        );
    }
    let app = std::sync::Arc::new(app);
    let attempt = |from: &'static str, username: &'static str| {
        let app = app.clone();
        tokio::spawn(async move {
            tokio::time::timeout(
                Duration::from_secs(60),
                login_as(&app, from, username, "a strong password"),
            )
            .await
            .expect("answered")
        })
    };
    let bruce = attempt("198.51.100.1", "bruce");
    let selina = attempt("198.51.100.2", "selina");
    let nobody = attempt("198.51.100.3", "nobody");
    assert_eq!(bruce.await.expect("task"), StatusCode::OK);
    assert_eq!(selina.await.expect("task"), StatusCode::OK);
    assert_eq!(nobody.await.expect("task"), StatusCode::UNAUTHORIZED);
}
