//! Structured logging: JSON lines (default) or pretty text for a terminal.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

/// Install the global log subscriber once; later calls (several services in
/// one process, tests) keep the first one.
pub fn init_logging(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
