//! Logs and traces.
//!
//! Logs: one JSON object per line on stdout (or pretty text for a terminal),
//! with the fields of every enclosing span flattened onto the line, so a
//! request's lines carry `service`, `version`, `request_id` and `trace_id`.
//! Traces: OpenTelemetry spans, exported over OTLP/HTTP only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set; W3C trace context is always
//! accepted and forwarded, so trace ids exist (and are logged) either way.

use crate::config::{LogFormat, ServerConfig};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

mod json;

/// Keeps the tracer provider alive; flushes and stops it when dropped.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl TelemetryGuard {
    /// Export the finished spans now.
    pub fn flush(&self) {
        let _ = self.provider.force_flush();
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

fn provider(service: &str, config: &ServerConfig) -> SdkTracerProvider {
    let name = config.otel_service_name.clone().unwrap_or_else(|| service.to_owned());
    let mut builder = SdkTracerProvider::builder().with_resource(Resource::builder().with_service_name(name).build());
    if let Some(endpoint) = config.otel_exporter_otlp_endpoint.as_deref().filter(|e| !e.is_empty()) {
        let protocol = if config.otel_exporter_otlp_protocol == "http/json" {
            Protocol::HttpJson
        } else {
            Protocol::HttpBinary
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .build();
        match exporter {
            Ok(exporter) => builder = builder.with_batch_exporter(exporter),
            Err(e) => eprintln!("warning: traces will not be exported: {e}"),
        }
    }
    builder.build()
}

/// Install the process-wide log subscriber and tracer provider. The first
/// call wins (several services in one process share them); later calls
/// return `None`.
pub fn init(service: &str, config: &ServerConfig) -> Option<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn,opentelemetry=warn"));
    let provider = provider(service, config);
    // Spans carry what their fields say and nothing per poll: no busy/idle
    // clocks (two clock reads each time a request's future is polled), no
    // thread attributes, no context switched in on entry (nothing reads
    // `Context::current`: the client injects the span's own context). Events
    // reach a trace from warnings up; the access line of every request is
    // in the logs, with the trace id.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("mythoughts"))
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_context_activation(false)
        .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
            meta.is_span() || *meta.level() <= tracing::Level::WARN
        }));
    let (json, pretty) = match config.log_format {
        LogFormat::Json => (Some(json::JsonLayer::new(json::Stdout::new())), None),
        LogFormat::Pretty => (None, Some(tracing_subscriber::fmt::layer().compact())),
    };
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(otel)
        .with(json)
        .with(pretty)
        .try_init();
    if installed.is_err() {
        let _ = provider.shutdown();
        return None;
    }
    opentelemetry::global::set_tracer_provider(provider.clone());
    Some(TelemetryGuard { provider })
}

/// The span every line of a service's own work (start-up, shutdown) is
/// logged in: `service` and `version` on each line.
pub fn service_span(service: &'static str, version: &str) -> tracing::Span {
    tracing::info_span!("service", service, version = %version)
}
