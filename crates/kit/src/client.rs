//! Outgoing HTTP calls to other services: deadlines, request-id and W3C
//! trace-context forwarding (a client span per call), and one metric per
//! call (`outgoing_requests_total{target,outcome}`,
//! `outgoing_request_duration_seconds{target}`).

use std::time::{Duration, Instant};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Build a client with a connect deadline and a whole-call deadline.
pub fn build(connect_timeout: Duration, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .timeout(timeout)
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
