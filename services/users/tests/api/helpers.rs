//! Start a users service for one test and talk to it.

use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;
pub(crate) use testkit::Engine;

/// A running users service with a fresh database.
pub(crate) struct TestApp {
    pub(crate) base: String,
    /// The admin listener's base URL (metrics, API docs).
    pub(crate) admin: String,
    pub(crate) client: reqwest::Client,
    /// The typed client other services use, for set-up steps.
    pub(crate) api: users_api::Client,
    pub(crate) admin_username: String,
    pub(crate) admin_password: String,
    server: testkit::Running,
    db: testkit::TestDatabase,
}

/// Start the service with the default test configuration, changed by `adjust`.
pub(crate) async fn spawn_with(engine: Engine, adjust: impl FnOnce(&mut users::Config)) -> TestApp {
    spawn_on(testkit::database(engine).await, adjust).await
}

/// Start the service on a database the test prepared (e.g. with accounts
/// written as an older version left them).
pub(crate) async fn spawn_on(db: testkit::TestDatabase, adjust: impl FnOnce(&mut users::Config)) -> TestApp {
    let admin_password = format!("admin-{}", uuid::Uuid::new_v4());
    let mut config = users::Config::local(&db.url, &testkit::keys().private_path);
    config.admin_username = Some("admin".into());
    config.admin_password = Some(admin_password.clone());
    adjust(&mut config);
    let app = users::Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("users service failed to start: {e}"));
    let base = format!("http://127.0.0.1:{}", app.port());
    let admin = format!("http://127.0.0.1:{}", app.admin_port());
    let server = testkit::Running::spawn(|token| app.run_until_stopped(token));
    testkit::wait_ready(&base).await;
    TestApp {
        api: users_api::Client::new(
            &base,
            Duration::from_secs(2),
            Duration::from_secs(30),
            &kit::config::OutgoingConfig::direct(),
        )
        .expect("client"),
        base,
        admin,
        client: reqwest::Client::new(),
        admin_username: "admin".into(),
        admin_password: admin_password.clone(),
        server,
        db,
    }
}

/// Start the service with the default test configuration.
pub(crate) async fn spawn(engine: Engine) -> TestApp {
    spawn_with(engine, |_| {}).await
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

    /// POST a form to `path`, optionally with a `Bearer` token.
    pub(crate) async fn post_form(&self, path: &str, form: &[(&str, &str)], bearer: Option<&str>) -> reqwest::Response {
        let mut req = self.client.post(format!("{}{path}", self.base)).form(form);
        if let Some(b) = bearer {
            req = req.header("authorization", b);
        }
        req.send().await.expect("request sent")
    }

    /// Log in; returns the status and body.
    pub(crate) async fn login(&self, username: &str, password: &str) -> (StatusCode, Value) {
        let r = self
            .post_form("/api/login/", &[("username", username), ("password", password)], None)
            .await;
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The administrator's `Bearer <JWT>`.
    pub(crate) async fn admin_bearer(&self) -> String {
        let credentials = users_api::Credentials {
            username: self.admin_username.clone(),
            password: self.admin_password.clone(),
        };
        match self.api.login(&credentials, None).await {
            Ok(answer) => answer.authorized,
            Err(e) => panic!("the administrator cannot sign in: {e}"),
        }
    }

    /// Sign up a user through the public endpoint.
    pub(crate) async fn sign_up(&self, username: &str, password: &str) -> reqwest::Response {
        self.post_form("/api/users/", &[("username", username), ("password", password)], None)
            .await
    }
}

/// The claims of a token, verified with the test public key by
/// `jsonwebtoken` directly (not the service's code).
pub(crate) fn decode(bearer: &str) -> (jsonwebtoken::Header, Value) {
    let token = bearer.strip_prefix("Bearer ").expect("Bearer prefix");
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(testkit::keys().public_pem.as_bytes()).expect("public key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_required_spec_claims(&["exp"]);
    let data = jsonwebtoken::decode::<Value>(token, &key, &validation).expect("token verifies with the public key");
    (data.header, data.claims)
}
