//! Token verification: forged tokens are 401 (never 500), and keys can come
//! from a JWKS URL with rotation.

use crate::helpers::{Engine, bearer, sign, sign_with, spawn, spawn_with};
use axum::routing::get;
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn b64(v: &Value) -> String {
    b64_raw(&v.to_string())
}

fn b64_raw(s: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// A JWT built by hand: this exact header and payload text, RS256-signed
/// with the service's key, so headers `jsonwebtoken` would not write
/// (`crit`) and payloads that are barely JSON reach the service as sent.
fn sign_raw(header: &Value, payload: &str) -> String {
    let key = EncodingKey::from_rsa_pem(testkit::keys().private_pem.as_bytes()).expect("test key");
    let message = format!("{}.{}", b64(header), b64_raw(payload));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::RS256).expect("signed");
    format!("{message}.{signature}")
}

/// `mallory`'s valid claims with `extra` merged in.
fn mallory(extra: Value) -> Value {
    let mut claims = json!({"username": "mallory", "iat": now(), "exp": now() + 3600});
    for (k, v) in extra.as_object().expect("object") {
        claims[k] = v.clone();
    }
    claims
}

fn forged_tokens() -> Vec<(&'static str, String)> {
    let keys = testkit::keys();
    let claims = json!({"username": "mallory", "iat": now(), "exp": now() + 3600});
    let good = sign(&claims);
    let hs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(keys.public_pem.as_bytes()),
    )
    .expect("hs256");
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[1] = b64(&json!({"username": "admin", "iat": now(), "exp": now() + 3600, "admin": true}));
    let tampered = parts.join(".");
    vec![
        (
            "alg none",
            format!(
                "Bearer {}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&claims)
            ),
        ),
        ("HS256 keyed with the public key", format!("Bearer {hs256}")),
        (
            "PS256",
            format!(
                "Bearer {}",
                sign_with(&claims, Algorithm::PS256, &keys.private_pem, None)
            ),
        ),
        (
            "RS512",
            format!(
                "Bearer {}",
                sign_with(&claims, Algorithm::RS512, &keys.private_pem, None)
            ),
        ),
        (
            "another key",
            format!(
                "Bearer {}",
                sign_with(&claims, Algorithm::RS256, &testkit::other_keys().private_pem, None)
            ),
        ),
        (
            "expired",
            format!(
                "Bearer {}",
                sign(&json!({"username": "mallory", "iat": now() - 7200, "exp": now() - 3600}))
            ),
        ),
        (
            "no exp",
            format!("Bearer {}", sign(&json!({"username": "mallory", "iat": now()}))),
        ),
        (
            "no iat",
            format!("Bearer {}", sign(&json!({"username": "mallory", "exp": now() + 3600}))),
        ),
        (
            "no username",
            format!("Bearer {}", sign(&json!({"iat": now(), "exp": now() + 3600}))),
        ),
        (
            "username not a string",
            format!(
                "Bearer {}",
                sign(&json!({"username": 7, "iat": now(), "exp": now() + 3600}))
            ),
        ),
        (
            "nbf in the future",
            format!("Bearer {}", sign(&mallory(json!({"nbf": now() + 600})))),
        ),
        (
            "iat 5 minutes in the future",
            format!("Bearer {}", sign(&mallory(json!({"iat": now() + 300})))),
        ),
        (
            "crit naming a registered claim",
            format!(
                "Bearer {}",
                sign_raw(
                    &json!({"alg": "RS256", "typ": "JWT", "crit": ["exp"], "exp": now() + 3600}),
                    &claims.to_string()
                )
            ),
        ),
        (
            "crit naming an unknown extension",
            format!(
                "Bearer {}",
                sign_raw(
                    &json!({"alg": "RS256", "typ": "JWT", "crit": ["x-skip-checks"], "x-skip-checks": true}),
                    &claims.to_string()
                )
            ),
        ),
        (
            "aud claim",
            format!("Bearer {}", sign(&mallory(json!({"aud": "thoughts"})))),
        ),
        (
            "exp as a string",
            format!("Bearer {}", sign(&mallory(json!({"exp": "tomorrow"})))),
        ),
        ("negative iat", format!("Bearer {}", sign(&mallory(json!({"iat": -1}))))),
        (
            "nbf a huge number",
            format!("Bearer {}", sign(&mallory(json!({"nbf": 1e300})))),
        ),
        (
            "nbf beyond u64",
            format!("Bearer {}", sign(&mallory(json!({"nbf": 1e20})))),
        ),
        (
            "exp out of the range of a double",
            format!(
                "Bearer {}",
                sign_raw(
                    &json!({"alg": "RS256", "typ": "JWT"}),
                    &format!(r#"{{"username":"mallory","iat":{},"exp":1e400}}"#, now())
                )
            ),
        ),
        (
            "exp NaN",
            format!(
                "Bearer {}",
                sign_raw(
                    &json!({"alg": "RS256", "typ": "JWT"}),
                    &format!(r#"{{"username":"mallory","iat":{},"exp":NaN}}"#, now())
                )
            ),
        ),
        ("tampered payload", format!("Bearer {tampered}")),
        ("garbage", "Bearer garbage".to_owned()),
        ("missing Bearer", good.clone()),
        ("Bearer and nothing", "Bearer ".to_owned()),
        ("empty header", String::new()),
        ("Basic scheme", "Basic bWFsbG9yeTpwYXNz".to_owned()),
        ("three dots of noise", "Bearer a.b.c".to_owned()),
    ]
}

testkit::both_engines! {
    async fn every_forged_expired_or_malformed_token_is_401(engine) {
        let app = spawn(engine).await;
        for (case, authorization) in forged_tokens() {
            let r = app.post_thought_with(&authorization, "forged").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{case}");
            let body: Value = r.json().await.unwrap_or_else(|_| panic!("{case}: JSON body"));
            assert!(body["message"].is_string(), "{case}");
            let r = app.client.get(app.url("/api/me/thoughts/")).header("authorization", &authorization).send().await.expect("sent");
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{case} on list");
        }
        assert!(app.get_list("/api/thoughts/").await.is_empty(), "no forged thought was stored");
        // And a good one still works.
        assert_eq!(app.post_thought_with(&bearer("bruce"), "real").await.status(), StatusCode::CREATED);
    }
}

/// Tokens the contract allows although they look unusual, with the name
/// each posts as.
fn unusual_but_valid_tokens() -> Vec<(&'static str, String)> {
    let now = now() as f64;
    let with = |extra: Value| {
        let mut claims = json!({"username": "bruce", "iat": now, "exp": now + 3600.0});
        for (k, v) in extra.as_object().expect("object") {
            claims[k] = v.clone();
        }
        format!("Bearer {}", sign(&claims))
    };
    vec![
        ("nbf in the past", with(json!({"nbf": now - 60.0}))),
        ("iat 30 s in the future", with(json!({"iat": now + 30.0}))),
        ("fractional exp", with(json!({"exp": now + 3600.5}))),
        ("fractional iat", with(json!({"iat": now - 0.25}))),
        ("fractional nbf", with(json!({"nbf": now - 1.5}))),
        (
            "iss without an issuer configured",
            with(json!({"iss": "https://anyone.example"})),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_with_fractional_dates_a_past_nbf_or_a_slightly_early_iat_are_accepted() {
    let app = spawn(Engine::Sqlite).await;
    for (case, authorization) in unusual_but_valid_tokens() {
        let r = app.post_thought_with(&authorization, case).await;
        assert_eq!(r.status(), StatusCode::CREATED, "{case}");
        let thought: Value = r.json().await.expect("a thought");
        assert_eq!(thought["username"], "bruce", "{case}");
        assert_eq!(thought["text"], case);
    }
    assert_eq!(
        app.get_list("/api/thoughts/").await.len(),
        unusual_but_valid_tokens().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_issuer_configured_only_tokens_naming_it_are_accepted() {
    let app = spawn_with(Engine::Sqlite, |c| {
        c.keys.token_issuer = Some("https://users.test".into())
    })
    .await;
    let claims = |iss: Option<&str>| {
        let mut claims = json!({"username": "bruce", "iat": now(), "exp": now() + 3600});
        if let Some(iss) = iss {
            claims["iss"] = json!(iss);
        }
        format!("Bearer {}", sign(&claims))
    };
    for (case, authorization) in [
        ("iss missing", claims(None)),
        ("iss different", claims(Some("https://evil.test"))),
        ("iss with a trailing slash", claims(Some("https://users.test/"))),
        ("iss empty", claims(Some(""))),
    ] {
        let r = app.post_thought_with(&authorization, case).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{case}");
        let body: Value = r.json().await.unwrap_or_else(|_| panic!("{case}: JSON body"));
        assert_eq!(body["message"], "Invalid token", "{case}");
    }
    assert!(app.get_list("/api/thoughts/").await.is_empty());
    let r = app
        .post_thought_with(&claims(Some("https://users.test")), "right issuer")
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// The value of `tokens_rejected_total{reason="<reason>"}` on the admin listener's `/metrics`.
async fn rejected(app: &crate::helpers::TestApp, reason: &str) -> f64 {
    let metrics = app.metrics().await;
    let label = format!("reason=\"{reason}\"");
    metrics
        .lines()
        .filter(|l| l.starts_with("tokens_rejected_total{") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refusal_is_counted_under_its_reason() {
    let app = spawn_with(Engine::Sqlite, |c| {
        c.keys.token_issuer = Some("https://users.test".into())
    })
    .await;
    let iss = json!("https://users.test");
    let header = json!({"alg": "RS256", "typ": "JWT", "crit": ["x-skip-checks"], "x-skip-checks": true});
    let cases = [
        ("not_yet_valid", sign(&mallory(json!({"iss": iss, "nbf": now() + 600})))),
        (
            "issued_in_future",
            sign(&mallory(json!({"iss": iss, "iat": now() + 300}))),
        ),
        (
            "critical_header",
            sign_raw(&header, &mallory(json!({"iss": iss})).to_string()),
        ),
        ("issuer", sign(&mallory(json!({"iss": "https://evil.test"})))),
        ("audience", sign(&mallory(json!({"iss": iss, "aud": "thoughts"})))),
        (
            "expired",
            sign(&mallory(json!({"iss": iss, "iat": now() - 7200, "exp": now() - 3600}))),
        ),
    ];
    for (reason, token) in cases {
        let before = rejected(&app, reason).await;
        let r = app.post_thought_with(&format!("Bearer {token}"), reason).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{reason}");
        assert_eq!(rejected(&app, reason).await, before + 1.0, "{reason}");
    }
}

/// A JWKS endpoint under the test's control, counting its fetches.
struct JwksServer {
    url: String,
    keys: Arc<Mutex<JwkSet>>,
    fetches: Arc<AtomicUsize>,
}

fn jwk_for(private_pem: &str) -> (String, Jwk) {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("key");
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::RS256).expect("jwk");
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).expect("thumbprint");
    jwk.common.key_id = Some(kid.clone());
    (kid, jwk)
}

async fn jwks_server(initial: Vec<Jwk>) -> JwksServer {
    let keys = Arc::new(Mutex::new(JwkSet { keys: initial }));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (k, f) = (keys.clone(), fetches.clone());
    let router = axum::Router::new().route(
        "/.well-known/jwks.json",
        get(move || {
            let (k, f) = (k.clone(), f.clone());
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                let set = k.lock().expect("lock").clone();
                axum::Json(set)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    JwksServer { url, keys, fetches }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_from_a_jwks_url_verify_tokens_and_a_new_kid_triggers_a_refetch() {
    let (kid_a, jwk_a) = jwk_for(&testkit::keys().private_pem);
    let (kid_b, jwk_b) = jwk_for(&testkit::other_keys().private_pem);
    let jwks = jwks_server(vec![jwk_a.clone()]).await;
    let app = spawn_with(Engine::Sqlite, |c| {
        c.keys.public_key_path = None;
        c.keys.jwks_url = Some(jwks.url.clone());
        c.keys.jwks_min_refresh_seconds = 0;
    })
    .await;
    let claims = json!({"username": "bruce", "iat": now(), "exp": now() + 3600});
    let token_a = sign_with(&claims, Algorithm::RS256, &testkit::keys().private_pem, Some(&kid_a));
    assert_eq!(
        app.post_thought_with(&format!("Bearer {token_a}"), "signed by A")
            .await
            .status(),
        StatusCode::CREATED
    );
    // The book's tokens carry no kid: any published key may verify them.
    assert_eq!(
        app.post_thought_with(&bearer("bruce"), "no kid").await.status(),
        StatusCode::CREATED
    );
    // Rotation: the users service starts publishing key B, then signs with it.
    let token_b = sign_with(
        &claims,
        Algorithm::RS256,
        &testkit::other_keys().private_pem,
        Some(&kid_b),
    );
    assert_eq!(
        app.post_thought_with(&format!("Bearer {token_b}"), "too early")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    jwks.keys.lock().expect("lock").keys = vec![jwk_a, jwk_b];
    assert_eq!(
        app.post_thought_with(&format!("Bearer {token_b}"), "signed by B")
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.post_thought_with(&format!("Bearer {token_a}"), "A still valid")
            .await
            .status(),
        StatusCode::CREATED
    );
    // Key A is retired: once the verifier refetches, A's tokens stop working.
    jwks.keys.lock().expect("lock").keys = vec![jwk_for(&testkit::other_keys().private_pem).1];
    let unknown = sign_with(
        &claims,
        Algorithm::RS256,
        &testkit::other_keys().private_pem,
        Some("unknown-kid"),
    );
    let refetch = app.post_thought_with(&format!("Bearer {unknown}"), "refetch").await;
    assert_eq!(
        refetch.status(),
        StatusCode::CREATED,
        "B verifies tokens without a kid match"
    );
    let retired = app.post_thought_with(&format!("Bearer {token_a}"), "A retired").await;
    assert_eq!(
        retired.status(),
        StatusCode::UNAUTHORIZED,
        "a key no longer published no longer verifies"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kids_do_not_make_the_service_hammer_the_jwks_url() {
    let (_, jwk_a) = jwk_for(&testkit::keys().private_pem);
    let jwks = jwks_server(vec![jwk_a]).await;
    let app = spawn_with(Engine::Sqlite, |c| {
        c.keys.public_key_path = None;
        c.keys.jwks_url = Some(jwks.url.clone());
        c.keys.jwks_min_refresh_seconds = 60;
    })
    .await;
    let claims = json!({"username": "mallory", "iat": now(), "exp": now() + 3600});
    for i in 0..20 {
        let kid = format!("unknown-{i}");
        let token = sign_with(
            &claims,
            Algorithm::RS256,
            &testkit::other_keys().private_pem,
            Some(&kid),
        );
        assert_eq!(
            app.post_thought_with(&format!("Bearer {token}"), "x").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(
        jwks.fetches.load(Ordering::SeqCst) <= 1,
        "fetched {} times",
        jwks.fetches.load(Ordering::SeqCst)
    );
}

#[test]
fn a_missing_public_key_is_one_line_and_exit_64() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_thoughts-service"))
        .env_clear()
        .env("PUBLIC_KEY_PATH", "/nonexistent/public_key.pub")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("PUBLIC_KEY_PATH"), "{stderr}");
}
