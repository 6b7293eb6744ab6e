//! Outgoing HTTP calls to other services: deadlines, request-id and W3C
//! trace-context forwarding (a client span per call), and one metric per
//! call (`outgoing_requests_total{target,outcome}`,
//! `outgoing_request_duration_seconds{target}`).

use std::time::{Duration, Instant};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// How long a pooled connection may stay unused: shorter than the servers'
/// default `IDLE_TIMEOUT_SECONDS` (75), so the client drops it before the
/// server closes it under a request being sent.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Build a client with a connect deadline and a whole-call deadline.
pub fn build(connect_timeout: Duration, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .build()
}

/// Send `request` to `target` (a service name), forwarding `request_id`,
/// and record the outcome.
pub async fn send(
    target: &'static str,
    request: reqwest::RequestBuilder,
    request_id: Option<&str>,
) -> reqwest::Result<reqwest::Response> {
    let mut request = match request_id {
        Some(id) => request.header("x-request-id", id),
        None => request,
    };
    let span = tracing::info_span!("outgoing", otel.name = %format!("call {target}"), otel.kind = "client", target);
    // traceparent/tracestate of this client span, so the callee's spans are its children.
    let mut headers = reqwest::header::HeaderMap::new();
    let cx = span.context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut opentelemetry_http::HeaderInjector(&mut headers))
    });
    request = request.headers(headers);
    let started = Instant::now();
    let result = request.send().instrument(span).await;
    let outcome = match &result {
        Ok(r) if r.status().is_server_error() => "server_error",
        Ok(r) if r.status().is_client_error() => "client_error",
        Ok(_) => "success",
        Err(e) if e.is_timeout() => "timeout",
        Err(e) if e.is_connect() => "connect_error",
        Err(_) => "error",
    };
    metrics::counter!("outgoing_requests_total", "target" => target, "outcome" => outcome).increment(1);
    metrics::histogram!("outgoing_request_duration_seconds", "target" => target)
        .record(started.elapsed().as_secs_f64());
    result
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

/// The plumbing of a typed service client: base URL, deadlines, request-id
/// forwarding, error mapping. The `*-api` crates add the typed calls.
#[derive(Debug, Clone)]
pub struct ApiClient {
    target: &'static str,
    base: String,
    http: reqwest::Client,
    request_id: Option<String>,
}

impl ApiClient {
    /// A client of `target` at `base`, with connect and whole-call deadlines.
    pub fn new(
        target: &'static str,
        base: &str,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let http = build(connect_timeout, timeout).map_err(|e| ClientError::Unavailable(format!("{target}: {e}")))?;
        Ok(Self {
            target,
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

    /// Send; a 2xx response, or the error (4xx with its JSON body, else unavailable).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let target = self.target;
        let response = send(target, request, self.request_id.as_deref())
            .await
            .map_err(|e| ClientError::Unavailable(format!("{target}: {e}")))?;
        let status = response.status();
        if status.is_success() {
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
        let target = self.target;
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
