//! The operational endpoints every service answers. On the public listener:
//! `/healthz` (alive), `/readyz` (ready to take traffic) and
//! `/admin/version`. On the admin listener, which no deployment publishes:
//! `/healthz`, `/metrics` and, for services with an API description,
//! `/openapi.json` and the Swagger UI under `/docs/`, with the book's paths for
//! the same: `/swagger.json` and `/` (a redirect to `/docs/`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// A readiness check: `Ok` when the service can take traffic (with what the
/// `/readyz` body should say besides `"status": "ready"`), else the reason.
pub type ReadyCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Ready, String>> + Send>> + Send + Sync>;

/// What a passing readiness check adds to the 200 body of `/readyz`: fields
/// beside `"status": "ready"` (the frontend lists its backends' states
/// there). `()` converts to an empty one, so a check may return
/// `Result<(), String>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ready {
    /// Extra fields of the body; a `status` field here is ignored.
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Ready {
    /// Ready, with `key` set to `value` in the body.
    pub fn with(mut self, key: impl Into<String>, value: serde_json::Value) -> Self {
        self.details.insert(key.into(), value);
        self
    }
}

impl From<()> for Ready {
    fn from((): ()) -> Self {
        Self::default()
    }
}

/// Build a [`ReadyCheck`] from an async closure returning `Result<(), String>`
/// or `Result<Ready, String>`.
pub fn ready_check<F, Fut, T>(f: F) -> ReadyCheck
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
    T: Into<Ready>,
{
    Arc::new(move || {
        let verdict = f();
        Box::pin(async move { verdict.await.map(Into::into) })
    })
}

/// What the operational endpoints know about their service.
#[derive(Clone)]
pub(crate) struct Ops {
    pub(crate) name: &'static str,
    pub(crate) version_name: String,
    pub(crate) version_sha: String,
    pub(crate) shutting_down: Arc<AtomicBool>,
    pub(crate) ready: ReadyCheck,
    pub(crate) database: Option<crate::db::Database>,
    pub(crate) openapi: Option<Arc<OpenApi>>,
}

/// The public listener's `/healthz`, `/readyz` and `/admin/version` (paths
/// without trailing slash: the chassis accepts both forms).
pub(crate) fn public_routes(ops: Ops) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/admin/version", get(version))
        .with_state(ops)
}

/// The admin listener's `/healthz`, `/metrics` and, when the service has an
/// API description, `/openapi.json` plus the book's `/swagger.json` (the same
/// document) and `/` (its docs page, here a redirect to `/docs/`).
pub(crate) fn admin_routes(ops: Ops) -> Router {
    let routes = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(render_metrics));
    let routes = match ops.openapi.is_some() {
        true => routes
            .route("/openapi.json", get(openapi_json))
            .route("/swagger.json", get(openapi_json))
            // The UI's assets are relative to `/docs/`, so `/` cannot serve
            // the page itself without breaking them: it points there.
            .route("/", get(|| async { Redirect::temporary("/docs/") })),
        false => routes,
    };
    routes.with_state(ops)
}

/// The Swagger UI at `/docs/` (and a redirect from `/docs`), reading
/// `/openapi.json`. Its assets are relative, so it must keep its trailing slash.
pub(crate) fn docs() -> Router {
    Router::from(SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json")))
        .layer(axum::middleware::from_fn(gzip_or_plain))
}

/// The most a docs asset holds once decompressed (the largest is 1.5 MB).
const DOCS_ASSET_MAX_BYTES: usize = 16 * 1024 * 1024;

/// The UI's assets are embedded gzipped and answered with
/// `Content-Encoding: gzip` whatever the request said; as they are to a
/// client that accepts gzip (every browser), decompressed for one that does
/// not, so that every client gets what it can read. Both vary on
/// `Accept-Encoding`, for caches in between.
async fn gzip_or_plain(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let accepts = accepts_gzip(req.headers());
    let mut response = next.run(req).await;
    let gzipped = response
        .headers()
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    if !gzipped {
        return response;
    }
    response
        .headers_mut()
        .append(header::VARY, header::HeaderValue::from_static("accept-encoding"));
    if accepts {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let plain = match axum::body::to_bytes(body, DOCS_ASSET_MAX_BYTES).await {
        Ok(packed) => gunzip(&packed),
        Err(e) => Err(std::io::Error::other(e)),
    };
    match plain {
        Ok(plain) => {
            parts.headers.remove(header::CONTENT_ENCODING);
            parts.headers.remove(header::CONTENT_LENGTH);
            Response::from_parts(parts, axum::body::Body::from(plain))
        }
        Err(e) => {
            tracing::error!(error = %e, "an embedded docs asset does not decompress");
            crate::error::error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                crate::error::default_message(StatusCode::INTERNAL_SERVER_ERROR),
            )
        }
    }
}

/// Decompress a gzip member, at most [`DOCS_ASSET_MAX_BYTES`] of it.
fn gunzip(packed: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut plain = Vec::with_capacity(packed.len() * 4);
    flate2::read::GzDecoder::new(packed)
        .take(DOCS_ASSET_MAX_BYTES as u64)
        .read_to_end(&mut plain)?;
    Ok(plain)
}

/// Whether `Accept-Encoding` accepts gzip (RFC 9110 section 12.5.3): gzip
/// named with a weight above zero, or else `*` with one; no header means
/// identity only.
fn accepts_gzip(headers: &axum::http::HeaderMap) -> bool {
    let (mut gzip, mut any) = (None, None);
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let weight = parts
            .find_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(weight);
        } else if coding == "*" {
            any = Some(weight);
        }
    }
    gzip.or(any).is_some_and(|w| w > 0.0)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(ops): State<Ops>) -> Response {
    let verdict = if ops.shutting_down.load(Ordering::SeqCst) {
        Err("shutting down".to_owned())
    } else {
        (ops.ready)().await
    };
    // 1 when the last readiness check passed: flapping shows in its changes().
    metrics::gauge!("service_ready", "service" => ops.name).set(if verdict.is_ok() { 1.0 } else { 0.0 });
    match verdict {
        Ok(ready) => {
            let mut body = ready.details;
            body.insert("status".to_owned(), json!("ready"));
            Json(serde_json::Value::Object(body)).into_response()
        }
        Err(reason) => {
            tracing::warn!(reason = %reason, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "message": reason})),
            )
                .into_response()
        }
    }
}

async fn version(State(ops): State<Ops>) -> Json<serde_json::Value> {
    Json(json!({"commit": ops.version_sha, "version": ops.version_name}))
}

async fn render_metrics(State(ops): State<Ops>) -> Response {
    if let Some(db) = &ops.database {
        db.record_pool_metrics();
    }
    let body = crate::metrics::handle().render();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn openapi_json(State(ops): State<Ops>) -> Response {
    match &ops.openapi {
        Some(openapi) => Json(OpenApi::clone(openapi)).into_response(),
        None => crate::middleware::not_found().await,
    }
}
