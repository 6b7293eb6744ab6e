//! Start a thoughts service for one test, mint tokens, talk to it.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
pub(crate) use testkit::Engine;

/// A running thoughts service with a fresh database.
pub(crate) struct TestApp {
    pub(crate) base: String,
    /// The admin listener's base URL (metrics, API docs).
    pub(crate) admin: String,
    pub(crate) client: reqwest::Client,
    /// The typed client other services use, for set-up steps.
    pub(crate) api: thoughts_api::Client,
    server: testkit::Running,
    db: testkit::TestDatabase,
}

/// Start the service verifying with the test public key, changed by `adjust`.
/// Posting is unlimited (many tests post hundreds of thoughts as one user);
/// `posting` tests the real limit.
pub(crate) async fn spawn_with(engine: Engine, adjust: impl FnOnce(&mut thoughts::Config)) -> TestApp {
    let db = testkit::database(engine).await;
    let mut config = thoughts::Config::local(&db.url, &testkit::keys().public_path);
    config.posts_per_account_per_minute = 0;
    adjust(&mut config);
    let app = thoughts::Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("thoughts service failed to start: {e}"));
    let base = format!("http://127.0.0.1:{}", app.port());
    let admin = format!("http://127.0.0.1:{}", app.admin_port());
    let server = testkit::Running::spawn(|token| app.run_until_stopped(token));
    testkit::wait_ready(&base).await;
    TestApp {
        api: thoughts_api::Client::new(
            &base,
            Duration::from_secs(2),
            Duration::from_secs(30),
            &kit::config::OutgoingConfig::direct(),
        )
        .expect("client"),
        base,
        admin,
        client: reqwest::Client::new(),
        server,
        db,
    }
}

/// Start the service with the default test configuration.
pub(crate) async fn spawn(engine: Engine) -> TestApp {
    spawn_with(engine, |_| {}).await
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Sign arbitrary claims with the test key (RS256, no kid, like the book).
pub(crate) fn sign(claims: &Value) -> String {
    sign_with(claims, Algorithm::RS256, &testkit::keys().private_pem, None)
}

/// Sign `claims` with `alg` and an RSA private key PEM.
pub(crate) fn sign_with(claims: &Value, alg: Algorithm, private_pem: &str, kid: Option<&str>) -> String {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("test key");
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).expect("signed")
}

/// A valid `Bearer` token for `username`, as the book's users service makes them.
pub(crate) fn bearer(username: &str) -> String {
    format!(
        "Bearer {}",
        sign(&json!({"username": username, "iat": now(), "exp": now() + 3600}))
    )
}

/// A valid administrator `Bearer` token.
pub(crate) fn admin_bearer(username: &str) -> String {
    format!(
        "Bearer {}",
        sign(&json!({"username": username, "iat": now(), "exp": now() + 3600, "admin": true}))
    )
}

impl TestApp {
    /// The Prometheus text of the admin listener's `/metrics`.
    pub(crate) async fn metrics(&self) -> String {
        let url = format!("{}/metrics", self.admin);
        let r = self.client.get(url).send().await.expect("sent");
        r.text().await.expect("text")
    }

    /// The service's database (its SQLite file, for tests that inspect it).
    pub(crate) fn database(&self) -> &testkit::TestDatabase {
        &self.db
    }

    /// Shut the service down as SIGTERM would and wait until it has stopped.
    pub(crate) async fn stop(&mut self) {
        self.server.stop().await;
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Post a thought as `username` through the typed client; returns the
    /// created thought as JSON.
    pub(crate) async fn post_thought(&self, username: &str, text: &str) -> Value {
        match self.api.create(&bearer(username), text).await {
            Ok(thought) => serde_json::to_value(thought).expect("a thought is JSON"),
            Err(e) => panic!("posting {text:?} as {username} failed: {e}"),
        }
    }

    /// Post a thought with an arbitrary `Authorization` value.
    pub(crate) async fn post_thought_with(&self, authorization: &str, text: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/me/thoughts/"))
            .header("authorization", authorization)
            .form(&[("text", text)])
            .send()
            .await
            .expect("sent")
    }

    /// GET a JSON list.
    pub(crate) async fn get_list(&self, path_and_query: &str) -> Vec<Value> {
        let r = self.client.get(self.url(path_and_query)).send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::OK, "{path_and_query}");
        r.json().await.expect("json list")
    }

    /// Texts of the thoughts matching `search`.
    pub(crate) async fn search(&self, needle: &str) -> Vec<String> {
        let r = self
            .client
            .get(self.url("/api/thoughts/"))
            .query(&[("search", needle)])
            .send()
            .await
            .expect("sent");
        texts_of(r).await
    }

    /// Texts of `username`'s own thoughts matching `search` (`/api/me/thoughts/`).
    pub(crate) async fn search_mine(&self, username: &str, needle: &str) -> Vec<String> {
        let r = self
            .client
            .get(self.url("/api/me/thoughts/"))
            .header("authorization", bearer(username))
            .query(&[("search", needle)])
            .send()
            .await
            .expect("sent");
        texts_of(r).await
    }
}

/// The texts of a 200 list response.
async fn texts_of(r: reqwest::Response) -> Vec<String> {
    assert_eq!(r.status(), StatusCode::OK);
    let items: Vec<Value> = r.json().await.expect("json");
    items
        .iter()
        .map(|t| t["text"].as_str().expect("text").to_owned())
        .collect()
}
