//! `thoughts-service`: parse configuration, start, serve until SIGTERM/Ctrl-C.

use thoughts::{Application, Config};

#[tokio::main]
async fn main() {
    let config: Config = kit::config::parse_or_exit();
    kit::telemetry::init_logging(config.server.log_format);
    let app = Application::build(config).await.unwrap_or_else(|e| e.exit());
    if let Err(e) = app.run_until_stopped(kit::server::shutdown_on_signals()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
