//! A service process's life: start-up inside the service's span, the
//! container health check, and the shutdown signal (SIGTERM or Ctrl-C).
//! Draining itself is [`Server::run`](crate::server::Server::run)'s job.

use crate::config::{ServerConfig, StartupError};
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Run a service binary: telemetry, start-up inside the service's span, serve
/// until SIGTERM/Ctrl-C, then exit — 64 on bad configuration, 1 on any other
/// failure, 0 after a clean drain.
pub async fn run_main<F, Fut>(name: &'static str, config: &ServerConfig, run: F) -> !
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), StartupError>>,
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
