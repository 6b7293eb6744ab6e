//! `thoughts-service`: parse configuration, start, serve until SIGTERM/Ctrl-C.

use thoughts::{Application, Config, NAME};
use tracing::Instrument;

#[tokio::main]
async fn main() {
    let config: Config = kit::config::parse_or_exit();
    let telemetry = kit::telemetry::init(NAME, &config.server);
    let span = kit::telemetry::service_span(NAME, &config.server.version_name);
    let app = Application::build(config)
        .instrument(span)
        .await
        .unwrap_or_else(|e| e.exit());
    let result = app.run_until_stopped(kit::server::shutdown_on_signals()).await;
    drop(telemetry);
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
