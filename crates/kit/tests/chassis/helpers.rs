//! A tiny service on the chassis, and ways to talk to it.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use kit::Params;
use kit::config::ServerConfig;
use kit::ops::ready_check;
use kit::server::{Server, Service};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tower::ServiceExt as _;

/// The version the test service reports.
pub(crate) const VERSION: &str = "9.9.9-test";
/// The commit the test service reports.
pub(crate) const COMMIT: &str = "abc1234";
/// The test service's body limit.
pub(crate) const BODY_LIMIT: usize = 1024;

/// What the test service's readiness check answers; tests change it.
#[derive(Clone, Default)]
pub(crate) struct Readiness(Arc<Mutex<Option<String>>>);

impl Readiness {
    /// Make the check pass (`Ok`) or fail with a reason.
    pub(crate) fn set(&self, verdict: Result<(), &str>) {
        *self.0.lock().expect("readiness lock") = verdict.err().map(str::to_owned);
    }

    fn get(&self) -> Result<(), String> {
        match self.0.lock().expect("readiness lock").clone() {
            None => Ok(()),
            Some(reason) => Err(reason),
        }
    }
}

async fn get_item(Path(id): Path<u32>) -> Json<Value> {
    Json(json!({"id": id}))
}

/// Echo the `a` and `b` parameters, from wherever `Params` found them.
async fn echo(params: Params) -> Json<Value> {
    Json(json!({"a": params.get("a"), "b": params.get("b")}))
}

async fn explode() -> &'static str {
    panic!("secret internal detail: password=hunter2")
}

/// The test service: a few routes, a default OpenAPI description and a
/// readiness check the test controls.
pub(crate) fn service(config: ServerConfig, readiness: &Readiness) -> Service {
    let api = Router::new()
        .route("/api/items/{id}", get(get_item))
        .route("/api/echo", get(echo).post(echo))
        .route("/api/panic", get(explode));
    let check = readiness.clone();
    Service {
        name: "kit-test",
        config,
        api,
        openapi: Some(utoipa::openapi::OpenApi::default()),
        ready: ready_check(move || {
            let verdict = check.get();
            async move { verdict }
        }),
        not_found: None,
        database: None,
    }
}

/// The test service's configuration: loopback, port 0, known version.
pub(crate) fn config() -> ServerConfig {
    let mut config = ServerConfig::local(0);
    config.version_name = VERSION.to_owned();
    config.version_sha = COMMIT.to_owned();
    config.body_limit_bytes = BODY_LIMIT;
    config
}

/// The complete public application of a test service, for `oneshot`.
pub(crate) async fn app() -> (Router, Readiness) {
    let readiness = Readiness::default();
    let server = Server::bind(service(config(), &readiness)).await.expect("bound");
    (server.router(), readiness)
}

/// The admin application of a test service (metrics, API docs), for `oneshot`.
pub(crate) async fn admin_app() -> Router {
    apps().await.1
}

/// The public and the admin application of one test service, for `oneshot`.
pub(crate) async fn apps() -> (Router, Router) {
    let server = Server::bind(service(config(), &Readiness::default()))
        .await
        .expect("bound");
    (server.router(), server.admin_router())
}

/// A response, read whole.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The body as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value as text ("" when absent).
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// Send `request` through `app` and read the whole response.
pub(crate) async fn send(app: &Router, request: Request<Body>) -> Reply {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body read");
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.to_vec(),
    }
}

/// `GET uri` through `app`.
pub(crate) async fn get_path(app: &Router, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).expect("valid request")).await
}

/// `POST uri` through `app` with a body of the given type.
pub(crate) async fn post(app: &Router, uri: &str, content_type: &str, body: impl Into<Body>) -> Reply {
    let request = Request::post(uri)
        .header("content-type", content_type)
        .body(body.into())
        .expect("valid request");
    send(app, request).await
}
