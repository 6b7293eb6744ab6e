//! The middleware around every service: security headers, request ids, one span, access log
//! line (info; debug for probes and scrapes) and RED metrics per request (labelled by route template), trailing
//! slashes, body limits and body read deadlines (408), panics turned into 500s and the JSON error body for
//! responses nobody gave one.

use crate::error::{ErrorBody, default_message, error_response};
use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use http_body::{Frame, SizeHint};
use metrics::SharedString;
use std::collections::HashMap;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::normalize_path::NormalizePath;
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tracing::Instrument;

/// What the access middleware needs: who we are and whether we are draining.
#[derive(Clone)]
pub(crate) struct Access {
    pub(crate) service: &'static str,
    pub(crate) version: Arc<str>,
    pub(crate) shutting_down: Arc<AtomicBool>,
    /// Every request of this listener is operational (the admin listener:
    /// metrics scrapes, API docs) and logged at debug.
    pub(crate) operational: bool,
}

/// The whole application: `routes` (the service's own and the operational
/// ones, with their fallback) served with or without a trailing slash,
/// `docs` as they are, and the chassis middleware around both.
pub(crate) fn wrap(
    routes: Router,
    docs: Option<Router>,
    access: Access,
    body_limit_bytes: usize,
    body_read_timeout: Duration,
) -> Router {
    // NormalizePath must see requests before the router does, so it wraps
    // `routes` as the fallback of an outer router. That outer router
    // matches the docs UI first: it needs its trailing slash (`/docs/` is
    // its page, its assets are relative to it, `/docs` redirects there),
    // which NormalizePath would trim into a redirect loop.
    let routes = routes.layer(middleware::from_fn(remember_route));
    // One middleware for the security headers, the access log and metrics,
    // the body deadline and the JSON error shape: each axum middleware
    // boxes its future and clones the stack below it, per request.
    let chassis = Chassis {
        access,
        body_read_timeout,
    };
    Router::new()
        .merge(docs.unwrap_or_default())
        .fallback_service(NormalizePath::trim_trailing_slash(routes))
        .layer(middleware::from_fn(remember_route))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(DefaultBodyLimit::max(body_limit_bytes))
        .layer(middleware::from_fn_with_state(chassis, around_request))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(FastRequestUuid))
}

/// What [`around_request`] needs.
#[derive(Clone)]
struct Chassis {
    access: Access,
    body_read_timeout: Duration,
}

/// Around every request, outermost first: the security headers, the access
/// log line and metrics, the body deadline (408), and the JSON error body
/// for errors nobody gave one.
async fn around_request(State(chassis): State<Chassis>, req: Request, next: Next) -> Response {
    let csp = if req.uri().path().starts_with("/docs") {
        DOCS_CSP
    } else {
        API_CSP
    };
    let timeout = chassis.body_read_timeout;
    let mut response = access_log(&chassis.access, req, |req| async move {
        let (req, missed) = with_body_deadline(timeout, req);
        let response = json_errors(next.run(req).await);
        match missed {
            Some(missed) if missed.load(Ordering::SeqCst) => body_timed_out(),
            _ => response,
        }
    })
    .await;
    add_security_headers(response.headers_mut(), csp);
    response
}

/// Request ids: random (version 4) UUIDs, like tower-http's
/// `MakeRequestUuid`, drawn from a per-thread generator seeded once rather
/// than from the operating system per request (a request id is a label,
/// not a secret).
#[derive(Clone, Copy)]
struct FastRequestUuid;

impl tower_http::request_id::MakeRequestId for FastRequestUuid {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = id.hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).ok().map(RequestId::new)
    }
}

/// The policy of JSON answers (and anything else that is not a page): load nothing.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The policy of the Swagger UI: its own scripts and styles (it sets inline
/// style attributes), data: icons, and fetches of `/openapi.json`.
const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Security headers on every response of every listener. A service that
/// sets its own (the frontend's pages) keeps its values: only absent
/// headers are added.
fn add_security_headers(headers: &mut axum::http::HeaderMap, csp: &'static str) {
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    }
}

/// Give the request body `timeout` to arrive in full, counted from now (its
/// head has arrived). A body that misses it makes the handler's read fail,
/// and the flag returned is set: whatever the handler answered then, the
/// client gets 408 ([`body_timed_out`]), since the rest of the body is still
/// on its way. A request without a body (most GETs) is left as it is.
fn with_body_deadline(timeout: Duration, req: Request) -> (Request, Option<Arc<AtomicBool>>) {
    if req.body().is_end_stream() {
        return (req, None);
    }
    let missed = Arc::new(AtomicBool::new(false));
    let flag = missed.clone();
    let req = req.map(|inner| {
        Body::new(DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            missed: flag,
        })
    });
    (req, Some(missed))
}

/// The answer when the body missed its deadline: 408, and the connection is
/// closed.
fn body_timed_out() -> Response {
    let mut response = error_response(
        StatusCode::REQUEST_TIMEOUT,
        default_message(StatusCode::REQUEST_TIMEOUT),
    );
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body that fails once its deadline passes.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    missed: Arc<AtomicBool>,
}

/// The error a [`DeadlineBody`] ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.missed.store(true, Ordering::SeqCst);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What unknown paths of a JSON API answer: 404 with the JSON error body.
pub(crate) async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, default_message(StatusCode::NOT_FOUND))
}

/// The route template that matched, copied to the response for logs and metrics.
#[derive(Debug, Clone)]
struct RouteTemplate(MatchedPath);

/// Inside the router: remember which route template matched.
async fn remember_route(req: Request, next: Next) -> Response {
    let template = req.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(req).await;
    if let Some(template) = template {
        response.extensions_mut().insert(RouteTemplate(template));
    }
    response
}

/// Give bodiless or plain-text error responses (404, 405, extractor
/// rejections) the JSON error shape, so clients always get `{"message": ...}`.
fn json_errors(response: Response) -> Response {
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

/// Requests of the public listener logged at debug rather than info: the
/// probes and the version check that orchestrators and deployments send
/// every few seconds, which say nothing about users' traffic. Everything
/// else (the service's own routes, `/admin/users`, unknown paths) is info.
fn is_probe(path: &str) -> bool {
    matches!(
        path.strip_suffix('/').unwrap_or(path),
        "/healthz" | "/readyz" | "/admin/version"
    )
}

/// The request span at a level known when the code is compiled (each level
/// is its own callsite): debug for probes and scrapes, info for the rest.
macro_rules! request_span {
    ($level:expr, $access:expr, $method:expr, $path:expr, $request_id:expr) => {
        tracing::span!(
            $level,
            "request",
            otel.name = %format_args!("{} {}", $method, $path),
            otel.kind = "server",
            service = $access.service,
            version = %$access.version,
            request_id = %$request_id,
            trace_id = tracing::field::Empty,
            method = %$method,
            path = %$path,
        )
    };
}

/// The access line, in `span`, at the span's level.
macro_rules! request_finished {
    ($level:expr, $span:expr, $route:expr, $status:expr, $elapsed:expr, $size:expr) => {
        tracing::event!(
            parent: $span,
            $level,
            route = %$route,
            status = $status.as_u16(),
            latency_ms = $elapsed.as_secs_f64() * 1000.0,
            response_bytes = $size,
            "request finished"
        )
    };
}

/// One span per request (service, version, request id, trace id; parented
/// to an incoming W3C `traceparent`), one access log line, and the RED
/// metrics labelled by route template. Probes and the admin listener's
/// requests are logged at debug, the rest at info. While draining,
/// responses carry `Connection: close` so clients reconnect (and find the
/// next instance).
async fn access_log<F, Fut>(access: &Access, req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let started = Instant::now();
    let method = req.method().clone();
    let quiet = access.operational || is_probe(req.uri().path());
    let span = {
        let request_id = req
            .extensions()
            .get::<RequestId>()
            .and_then(|id| id.header_value().to_str().ok())
            .unwrap_or_default();
        // The path only: query strings may carry parameters such as passwords.
        let path = req.uri().path();
        if quiet {
            request_span!(tracing::Level::DEBUG, access, method, path, request_id)
        } else {
            request_span!(tracing::Level::INFO, access, method, path, request_id)
        }
    };
    // A disabled span (its level filtered out) has no trace to join or log.
    if !span.is_disabled() {
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&opentelemetry_http::HeaderExtractor(req.headers()))
        });
        let _ = span.set_parent(parent);
        let trace_id = span.context().span().span_context().trace_id();
        span.record("trace_id", tracing::field::display(trace_id));
    }
    let service = access.service;
    let in_flight = metrics::gauge!("http_requests_in_flight", "service" => service);
    in_flight.increment(1.0);
    let mut response = inner(req).instrument(span.clone()).await;
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
        .map_or(SharedString::const_str("unmatched"), |r| route_label(r.0.as_str()));
    let status = response.status();
    let labels = [
        ("service", SharedString::const_str(service)),
        ("method", method_label(&method)),
        ("route", route.clone()),
        ("status", SharedString::const_str(status_class(status))),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    let size = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let route = &*route;
    if quiet {
        request_finished!(tracing::Level::DEBUG, &span, route, status, elapsed, size);
    } else {
        request_finished!(tracing::Level::INFO, &span, route, status, elapsed, size);
    }
    response
}

/// The `status` label: the status class.
fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The `method` label, without an allocation for the standard methods.
fn method_label(method: &Method) -> SharedString {
    let name = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => return SharedString::from_owned(method.as_str().to_owned()),
    };
    SharedString::const_str(name)
}

/// The `route` label: one shared copy of each route template, so labelling
/// a request allocates nothing. Templates come from the routers, so the
/// table holds a bounded set (unmatched paths are labelled `unmatched`).
fn route_label(template: &str) -> SharedString {
    static ROUTES: OnceLock<RwLock<HashMap<Box<str>, Arc<str>>>> = OnceLock::new();
    let routes = ROUTES.get_or_init(RwLock::default);
    if let Some(shared) = routes.read().ok().and_then(|r| r.get(template).cloned()) {
        return SharedString::from(shared);
    }
    let Ok(mut routes) = routes.write() else {
        return SharedString::from_owned(template.to_owned());
    };
    let shared = routes.entry(template.into()).or_insert_with(|| template.into()).clone();
    SharedString::from(shared)
}

/// A panicking handler answers 500 with the default message: the panic's
/// text may hold internals, so it stays in the panic hook's output.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        default_message(StatusCode::INTERNAL_SERVER_ERROR),
    )
}
