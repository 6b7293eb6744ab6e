//! The HTTP server bootstrap every service uses.
//!
//! [`Service`] describes one service (its API router, OpenAPI description and
//! readiness check); [`Server::bind`] adds the shared endpoints and
//! middleware and binds the listener; [`Server::run`] serves until the
//! shutdown token is cancelled, then flips readiness and drains.

use crate::config::ServerConfig;
use crate::error::{ErrorBody, default_message, error_response};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, any, get};
use axum::{Json, Router};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::json;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tracing::Instrument;
use utoipa_swagger_ui::SwaggerUi;

/// A readiness check: `Ok` when the service can take traffic, else the reason.
pub type ReadyCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// Build a [`ReadyCheck`] from an async closure.
pub fn ready_check<F, Fut>(f: F) -> ReadyCheck
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    Arc::new(move || Box::pin(f()))
}

/// Everything the chassis needs to know about one service.
pub struct Service {
    /// Service name (`users`, `thoughts`, `frontend`): log field and metric label.
    pub name: &'static str,
    /// Listen address, version, limits.
    pub config: ServerConfig,
    /// The service's own routes, with their state applied.
    pub api: Router,
    /// The OpenAPI description served at `/openapi.json`.
    pub openapi: utoipa::openapi::OpenApi,
    /// What `/readyz` checks besides "not shutting down".
    pub ready: ReadyCheck,
    /// What unknown paths answer; `None` is the JSON 404 of API services.
    pub not_found: Option<MethodRouter>,
    /// The service's database, whose pool `/metrics` reports.
    pub database: Option<crate::db::Database>,
}

impl Service {
    /// A JSON API service that owns `database`: ready when the database
    /// answers, its pool reported on `/metrics`.
    pub fn with_database(
        name: &'static str,
        config: ServerConfig,
        api: Router,
        openapi: utoipa::openapi::OpenApi,
        database: crate::db::Database,
    ) -> Self {
        let db = database.clone();
        let ready = ready_check(move || {
            let db = db.clone();
            async move { db.ping().await }
        });
        Self {
            name,
            config,
            api,
            openapi,
            ready,
            not_found: None,
            database: Some(database),
        }
    }
}

/// Run a service binary: telemetry, start-up inside the service's span, serve
/// until SIGTERM/Ctrl-C, then exit — 64 on bad configuration, 1 on any other
/// failure, 0 after a clean drain.
pub async fn run_main<F, Fut>(name: &'static str, config: &ServerConfig, run: F) -> !
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), crate::config::StartupError>>,
{
    if config.healthcheck {
        std::process::exit(if healthcheck(config.port).await { 0 } else { 1 });
    }
    let telemetry = crate::telemetry::init(name, config);
    let span = crate::telemetry::service_span(name, &config.version_name);
    let result = run(shutdown_on_signals()).instrument(span).await;
    drop(telemetry);
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => e.exit(),
    }
}

/// True when `GET http://127.0.0.1:{port}/healthz` answers 200 within 2 s.
pub async fn healthcheck(port: u16) -> bool {
    let Ok(client) = crate::client::build(Duration::from_secs(1), Duration::from_secs(2)) else {
        return false;
    };
    client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// The route template that matched, copied to the response for logs and metrics.
#[derive(Debug, Clone)]
struct RouteTemplate(String);

#[derive(Clone)]
struct Ops {
    name: &'static str,
    version_name: String,
    version_sha: String,
    shutting_down: Arc<AtomicBool>,
    ready: ReadyCheck,
    database: Option<crate::db::Database>,
}

/// What the access middleware needs: who we are and whether we are draining.
#[derive(Clone)]
struct Access {
    service: &'static str,
    version: Arc<str>,
    shutting_down: Arc<AtomicBool>,
}

/// The process-wide Prometheus handle (one recorder per process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder was installed first; then our
            // handle renders nothing, which the metrics test would catch.
            let _ = metrics::set_global_recorder(recorder);
            describe_metrics();
            handle
        })
        .clone()
}

/// Help texts and units of the chassis metrics (`# HELP` lines).
fn describe_metrics() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "HTTP requests served, by service, method, route template and status class"
    );
    describe_histogram!(
        "http_request_duration_seconds",
        Unit::Seconds,
        "Time to serve an HTTP request, by service, method, route template and status class"
    );
    describe_gauge!("http_requests_in_flight", "HTTP requests being served now");
    describe_counter!(
        "outgoing_requests_total",
        "Calls to other services, by target and outcome"
    );
    describe_histogram!(
        "outgoing_request_duration_seconds",
        Unit::Seconds,
        "Time of calls to other services, by target"
    );
    describe_gauge!(
        "build_info",
        "Always 1; the labels carry the service's version and commit"
    );
    describe_gauge!("service_ready", "1 when the last readiness check passed, 0 otherwise");
    describe_gauge!(
        "db_pool_connections",
        "Database pool connections, by state (idle, in_use)"
    );
    describe_gauge!("db_pool_max_connections", "Largest size of the database pool");
    describe_histogram!(
        "db_pool_acquire_duration_seconds",
        Unit::Seconds,
        "Time waited for a database connection from the pool"
    );
    describe_counter!("tokens_rejected_total", "Bearer tokens refused, by reason");
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
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
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
    let body = metrics_handle().render();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, default_message(StatusCode::NOT_FOUND))
}

/// Inside the router: remember which route template matched.
async fn remember_route(req: Request, next: Next) -> Response {
    let template = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let mut response = next.run(req).await;
    if let Some(template) = template {
        response.extensions_mut().insert(RouteTemplate(template));
    }
    response
}

/// Paths are served with or without their trailing slash: strip it before
/// routing (the docs UI keeps its own, it needs it for relative assets).
fn trim_trailing_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/docs/") {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let rebuilt = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_owned(),
        };
        if let Ok(uri) = rebuilt.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// Give bodiless or plain-text error responses (404, 405, extractor
/// rejections) the JSON error shape, so clients always get `{"message": ...}`.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // Replace only bodies nobody chose: none at all, or axum's plain-text
    // rejections. JSON errors and HTML pages stay as they are.
    let keep = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.starts_with("text/plain"));
    if keep {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let body = ErrorBody {
        message: default_message(status).to_owned(),
        errors: None,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(bytes))
}

/// One span per request (service, version, request id, trace id; parented
/// to an incoming W3C `traceparent`), one access log line, and the RED
/// metrics labelled by route template. While draining, responses carry
/// `Connection: close` so clients reconnect (and find the next instance).
async fn access(State(access): State<Access>, req: Request, next: Next) -> Response {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let started = Instant::now();
    let method = req.method().clone();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let service = access.service;
    // The path only: query strings may carry parameters such as passwords.
    let span = tracing::info_span!(
        "request",
        otel.name = %format!("{method} {}", req.uri().path()),
        otel.kind = "server",
        service,
        version = %access.version,
        request_id = %request_id,
        trace_id = tracing::field::Empty,
        method = %method,
        path = %req.uri().path(),
    );
    let parent = opentelemetry::global::get_text_map_propagator(|p| {
        p.extract(&opentelemetry_http::HeaderExtractor(req.headers()))
    });
    let _ = span.set_parent(parent);
    let trace_id = span.context().span().span_context().trace_id();
    span.record("trace_id", tracing::field::display(trace_id));
    let in_flight = metrics::gauge!("http_requests_in_flight", "service" => service);
    in_flight.increment(1.0);
    let mut response = next.run(req).instrument(span.clone()).await;
    in_flight.decrement(1.0);
    if access.shutting_down.load(Ordering::SeqCst) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    let elapsed = started.elapsed();
    let route = response
        .extensions()
        .get::<RouteTemplate>()
        .map(|r| r.0.clone())
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status();
    let class = format!("{}xx", status.as_u16() / 100);
    let labels = [
        ("service", service.to_owned()),
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", class),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    let size = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    span.in_scope(|| {
        tracing::info!(
            route = %route,
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            response_bytes = size,
            "request finished"
        );
    });
    response
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        default_message(StatusCode::INTERNAL_SERVER_ERROR),
    )
}

/// A bound, not yet running, service.
pub struct Server {
    listener: TcpListener,
    app: Router,
    access: Access,
    drain: Duration,
}

impl Server {
    /// Add the shared endpoints and middleware to `service` and bind its
    /// listener (port 0 picks a free port).
    pub async fn bind(service: Service) -> anyhow::Result<Self> {
        let addr = service.config.addr();
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                anyhow::anyhow!("{} cannot listen on {addr}: the port is already in use", service.name)
            } else {
                anyhow::anyhow!("{} cannot listen on {addr}: {e}", service.name)
            }
        })?;
        Ok(Self::with_listener(service, listener))
    }

    /// Like [`Server::bind`] with a listener the caller already holds.
    pub fn with_listener(service: Service, listener: TcpListener) -> Self {
        let shutting_down = Arc::new(AtomicBool::new(false));
        let ops = Ops {
            name: service.name,
            version_name: service.config.version_name.clone(),
            version_sha: service.config.version_sha.clone(),
            shutting_down: shutting_down.clone(),
            ready: service.ready,
            database: service.database,
        };
        let mut openapi = service.openapi;
        openapi.info.version = ops.version_name.clone();
        let ops_routes = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/admin/version", get(version))
            .route("/metrics", get(render_metrics))
            .with_state(ops.clone());
        let app = service
            .api
            .merge(ops_routes)
            .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
            .fallback_service(service.not_found.unwrap_or_else(|| any(not_found)))
            .layer(middleware::from_fn(remember_route))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(DefaultBodyLimit::max(service.config.body_limit_bytes));
        let _ = metrics_handle();
        metrics::gauge!("build_info", "service" => ops.name, "version" => ops.version_name.clone(), "commit" => ops.version_sha.clone()).set(1.0);
        let access = Access {
            service: service.name,
            version: ops.version_name.clone().into(),
            shutting_down,
        };
        let drain = Duration::from_secs(service.config.shutdown_drain_seconds);
        Self {
            listener,
            app,
            access,
            drain,
        }
    }

    /// The port the listener is bound to.
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Serve until `shutdown` is cancelled; then report not-ready, keep
    /// serving for the drain period, stop accepting, and let in-flight
    /// requests finish (bounded).
    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let span = crate::telemetry::service_span(self.access.service, &self.access.version);
        self.serve(shutdown).instrument(span).await
    }

    async fn serve(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let Self {
            listener,
            app,
            access: access_state,
            drain,
        } = self;
        let name = access_state.service;
        let shutting_down = access_state.shutting_down.clone();
        let svc = ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(middleware::from_fn_with_state(access_state, access))
            .layer(middleware::map_response(json_errors))
            .map_request(trim_trailing_slash)
            .service(app);
        let make = axum::ServiceExt::<Request>::into_make_service_with_connect_info::<SocketAddr>(svc);
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(service = name, %addr, "listening");
        }
        let token = shutdown.clone();
        let flag = shutting_down.clone();
        let serve = axum::serve(listener, make).with_graceful_shutdown(async move {
            token.cancelled().await;
            flag.store(true, Ordering::SeqCst);
            tracing::info!(
                service = name,
                drain_ms = drain.as_millis() as u64,
                "shutting down: draining"
            );
            tokio::time::sleep(drain).await;
        });
        let deadline = async {
            shutdown.cancelled().await;
            tokio::time::sleep(drain + Duration::from_secs(20)).await;
        };
        tokio::select! {
            result = serve.into_future() => result?,
            () = deadline => tracing::warn!(service = name, "in-flight requests did not finish in time"),
        }
        tracing::info!(service = name, "stopped");
        Ok(())
    }
}

/// A token cancelled on SIGTERM or Ctrl-C (SIGINT).
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            () = term => {},
        }
        cancel.cancel();
    });
    token
}
