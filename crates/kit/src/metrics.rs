//! The process-wide Prometheus recorder and the chassis metrics' help texts.
//!
//! One recorder serves every service in the process (the all-in-one launcher
//! runs several); services describe their own business metrics after calling
//! [`handle`], crates describe theirs where they record them.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

/// The process-wide Prometheus handle; the first call installs the recorder.
pub fn handle() -> PrometheusHandle {
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
            describe_chassis_metrics();
            handle
        })
        .clone()
}

/// Set `build_info{service,version,commit}` to 1.
pub(crate) fn record_build_info(service: &'static str, version: &str, commit: &str) {
    metrics::gauge!("build_info", "service" => service, "version" => version.to_owned(), "commit" => commit.to_owned())
        .set(1.0);
}

/// Help texts and units of the chassis metrics (`# HELP` lines).
fn describe_chassis_metrics() {
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
    describe_gauge!("http_connections_open", "Connections being served now, by listener");
    describe_counter!(
        "http_connections_refused_total",
        "Connections closed on accept because MAX_CONNECTIONS were being served, by listener"
    );
    describe_counter!(
        "http_connections_timed_out_total",
        "Connections closed for a slow request head (header_read) or idleness (idle), by listener"
    );
    describe_counter!(
        "outgoing_requests_total",
        "Attempts of calls to other services, by target and outcome (breaker_open: failed at once, not sent)"
    );
    describe_histogram!(
        "outgoing_request_duration_seconds",
        Unit::Seconds,
        "Time of each attempt sent to another service, by target"
    );
    describe_counter!(
        "outgoing_retries_total",
        "Attempts sent again after a failed one, by target"
    );
    describe_counter!(
        "outgoing_retries_refused_total",
        "Retries not sent because the target's retry budget was spent, by target"
    );
    describe_gauge!(
        "outgoing_breaker_state",
        "Circuit breaker of each call target: 0 closed, 1 half-open, 2 open"
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
}
