//! Outgoing HTTP calls to other services: deadlines, retries of idempotent
//! requests within a budget, a circuit breaker per target, request-id and
//! W3C trace-context forwarding (a client span per call), and metrics:
//! `outgoing_requests_total{target,outcome}` and
//! `outgoing_request_duration_seconds{target}` per attempt,
//! `outgoing_retries_total{target}`, `outgoing_retries_refused_total{target}`
//! and `outgoing_breaker_state{target}` (0 closed, 1 half-open, 2 open).
//!
//! How a call fails ([`ApiClient::send`], settings in
//! [`OutgoingConfig`]):
//!
//! - The whole call, every attempt and backoff included, ends by its
//!   deadline (`timeout` of [`ApiClient::new`]).
//! - GET and HEAD are sent again (up to `OUTGOING_RETRIES` times, after a
//!   jittered exponential backoff) when an attempt was refused, timed out
//!   after `OUTGOING_ATTEMPT_TIMEOUT_MS`, broke, or was answered 502, 503 or
//!   504. Every other method (POST, PUT, PATCH, DELETE) is sent again only
//!   when the connection could not be made, so nothing reached the target:
//!   a repeated POST could post twice, and a repeated DELETE that did delete
//!   the first time answers 404.
//! - Retries to one target add at most `OUTGOING_RETRY_BUDGET_PERCENT` of its
//!   calls over 10 s, plus `OUTGOING_RETRY_MIN_PER_SECOND` (tower's
//!   `TpsBudget`), so a failing target never gets a retry storm.
//! - After `BREAKER_FAILURES` failed attempts in a row (transport errors and
//!   5xx; a 4xx is an answer), the target's circuit opens: calls fail at once
//!   with [`ClientError::Unavailable`] for `BREAKER_OPEN_MS`, then one probe
//!   goes through and its result closes or reopens the circuit. The state is
//!   shared by every clone of the client.

mod breaker;
mod retry;

pub use breaker::CircuitState;

use crate::config::OutgoingConfig;
use breaker::Breaker;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tower::ServiceExt as _;
use tower::retry::budget::{Budget as _, TpsBudget};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// How long a pooled connection may stay unused: shorter than the servers'
/// default `IDLE_TIMEOUT_SECONDS` (75), so the client drops it before the
/// server closes it under a request being sent.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The window of the retry budget: retries are weighed against the calls of
/// the last 10 seconds (tower's and Finagle's default).
const BUDGET_WINDOW: Duration = Duration::from_secs(10);

/// Build a client with a connect deadline and a whole-call deadline (no
/// retries, no breaker: for one-off calls such as the container health check).
pub fn build(connect_timeout: Duration, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build()
}

/// One attempt's failure, before it becomes a [`ClientError`].
#[derive(Debug)]
pub(crate) enum Failure {
    /// The request could not be sent or answered.
    Http(reqwest::Error),
    /// The circuit is open: nothing was sent.
    CircuitOpen,
}

/// What the retry policy needs to know of the settings.
#[derive(Debug)]
struct Settings {
    retries: u32,
    backoff: Duration,
    attempt_timeout: Duration,
    /// The whole-call deadline.
    timeout: Duration,
}

/// A call target's shared state: its budget and its breaker.
#[derive(Debug)]
pub(crate) struct Target {
    name: &'static str,
    settings: Settings,
    budget: TpsBudget,
    breaker: Arc<Breaker>,
}

impl Target {
    fn new(name: &'static str, timeout: Duration, outgoing: &OutgoingConfig) -> Self {
        // The recorder first, so the zeros below are exported from the start
        // (an alert on the breaker needs the series before the first change).
        let _ = crate::metrics::handle();
        metrics::counter!("outgoing_retries_total", "target" => name).increment(0);
        metrics::counter!("outgoing_retries_refused_total", "target" => name).increment(0);
        let percent = outgoing.outgoing_retry_budget_percent.min(100) as f32 / 100.0;
        Self {
            name,
            settings: Settings {
                retries: outgoing.outgoing_retries,
                backoff: Duration::from_millis(outgoing.outgoing_retry_backoff_ms.max(1)),
                attempt_timeout: Duration::from_millis(outgoing.outgoing_attempt_timeout_ms.max(1)),
                timeout,
            },
            budget: TpsBudget::new(BUDGET_WINDOW, outgoing.outgoing_retry_min_per_second.min(1000), percent),
            breaker: Breaker::new(
                name,
                outgoing.breaker_failures,
                Duration::from_millis(outgoing.breaker_open_ms),
            ),
        }
    }

    /// Send `request` with retries, every attempt through the breaker.
    async fn call(
        self: &Arc<Self>,
        http: &reqwest::Client,
        mut request: reqwest::Request,
    ) -> Result<reqwest::Response, Failure> {
        // Every call earns budget; only retries spend it.
        self.budget.deposit();
        let now = Instant::now();
        let policy = retry::Policy::new(self.clone(), request.method(), now + self.settings.timeout);
        *request.timeout_mut() = Some(policy.attempt_timeout(now));
        let (target, http) = (self.clone(), http.clone());
        let attempt = tower::service_fn(move |request: reqwest::Request| {
            let (target, http) = (target.clone(), http.clone());
            async move { target.attempt(&http, request).await }
        });
        tower::retry::Retry::new(policy, attempt).oneshot(request).await
    }

    /// One attempt: through the breaker, counted by outcome.
    async fn attempt(&self, http: &reqwest::Client, request: reqwest::Request) -> Result<reqwest::Response, Failure> {
        let target = self.name;
        let Some(permit) = self.breaker.admit() else {
            metrics::counter!("outgoing_requests_total", "target" => target, "outcome" => "breaker_open").increment(1);
            return Err(Failure::CircuitOpen);
        };
        let started = std::time::Instant::now();
        let result = http.execute(request).await;
        let outcome = match &result {
            Ok(r) if r.status().is_server_error() => "server_error",
            Ok(r) if r.status().is_client_error() => "client_error",
            Ok(_) => "success",
            Err(e) if e.is_timeout() => "timeout",
            Err(e) if e.is_connect() => "connect_error",
            Err(_) => "error",
        };
        permit.record(matches!(outcome, "success" | "client_error"));
        metrics::counter!("outgoing_requests_total", "target" => target, "outcome" => outcome).increment(1);
        metrics::histogram!("outgoing_request_duration_seconds", "target" => target)
            .record(started.elapsed().as_secs_f64());
        result.map_err(Failure::Http)
    }
}

/// What went wrong calling another service.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service could not be reached, did not answer in time, or failed (5xx).
    #[error("{0}")]
    Unavailable(String),
    /// The service refused the request (4xx) with the JSON error body.
    #[error("{target} answered {status}: {message}")]
    Status {
        /// Which service answered.
        target: &'static str,
        /// HTTP status.
        status: u16,
        /// The `message` of the error body.
        message: String,
        /// The `errors` map of a validation error.
        errors: std::collections::BTreeMap<String, String>,
    },
}

/// The plumbing of a typed service client: base URL, deadlines, retries,
/// circuit breaker, request-id forwarding, error mapping. The `*-api`
/// crates add the typed calls. Clones share the breaker and the retry budget.
#[derive(Debug, Clone)]
pub struct ApiClient {
    target: Arc<Target>,
    base: String,
    http: reqwest::Client,
    request_id: Option<String>,
}

impl ApiClient {
    /// A client of `target` (a service name, the `target` label of the
    /// metrics) at `base`, with a connect deadline per connection and a
    /// deadline for each whole call, retries and breaker included, failing
    /// as `outgoing` says.
    pub fn new(
        target: &'static str,
        base: &str,
        connect_timeout: Duration,
        timeout: Duration,
        outgoing: &OutgoingConfig,
    ) -> Result<Self, ClientError> {
        let http = build(connect_timeout, timeout).map_err(|e| ClientError::Unavailable(format!("{target}: {e}")))?;
        Ok(Self {
            target: Arc::new(Target::new(target, timeout, outgoing)),
            base: base.trim_end_matches('/').to_owned(),
            http,
            request_id: None,
        })
    }

    /// The same client, forwarding `request_id` on every call.
    pub fn with_request_id(&self, request_id: &str) -> Self {
        Self {
            request_id: Some(request_id.to_owned()),
            ..self.clone()
        }
    }

    /// A request builder for `method` on `path` (appended to the base URL).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    /// A request builder for `method` on a whole `url` (the base URL unused),
    /// for a target known by one URL (a JWK Set).
    pub fn request_url(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.http.request(method, url)
    }

    /// Where this target's circuit stands.
    pub fn circuit(&self) -> CircuitState {
        self.target.breaker.state()
    }

    /// Send, retrying as the module documentation says; a 2xx response (or
    /// a 304, which only a conditional request gets), or the error (4xx
    /// with its JSON body, else unavailable).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let target = self.target.name;
        let request = match &self.request_id {
            Some(id) => request.header("x-request-id", id),
            None => request,
        };
        let mut request = request
            .build()
            .map_err(|e| ClientError::Unavailable(format!("{target}: {e}")))?;
        let span = tracing::info_span!("outgoing", otel.name = %format!("call {target}"), otel.kind = "client", target);
        // traceparent/tracestate of this client span, so the callee's spans are its children.
        let cx = span.context();
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut opentelemetry_http::HeaderInjector(request.headers_mut()))
        });
        let response = self
            .target
            .call(&self.http, request)
            .instrument(span)
            .await
            .map_err(|e| match e {
                Failure::Http(e) => ClientError::Unavailable(format!("{target}: {e}")),
                Failure::CircuitOpen => {
                    ClientError::Unavailable(format!("{target}: circuit open after repeated failures, not called"))
                }
            })?;
        let status = response.status();
        if status.is_success() || status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        if status.is_server_error() {
            return Err(ClientError::Unavailable(format!("{target} answered {status}")));
        }
        let body: crate::ErrorBody = response.json().await.unwrap_or(crate::ErrorBody {
            message: status.canonical_reason().unwrap_or("error").to_owned(),
            errors: None,
        });
        Err(ClientError::Status {
            target,
            status: status.as_u16(),
            message: body.message,
            errors: body.errors.unwrap_or_default(),
        })
    }

    /// Send and decode a JSON body.
    pub async fn json<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let target = self.target.name;
        self.send(request)
            .await?
            .json()
            .await
            .map_err(|e| ClientError::Unavailable(format!("{target}: {e}")))
    }

    /// `GET /admin/version/`: `(version, commit)`.
    pub async fn version(&self) -> Result<(String, String), ClientError> {
        let v: serde_json::Value = self.json(self.request(reqwest::Method::GET, "/admin/version/")).await?;
        let field = |name: &str| v[name].as_str().unwrap_or_default().to_owned();
        Ok((field("version"), field("commit")))
    }
}
