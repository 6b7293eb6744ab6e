//! `users-service`: parse configuration, start, serve until SIGTERM/Ctrl-C.

use users::{Application, Config, NAME};

#[tokio::main]
async fn main() {
    let config: Config = kit::config::parse_or_exit();
    let server = config.server.clone();
    kit::lifecycle::run_main(NAME, &server, |shutdown| async move {
        let app = Application::build(config).await?;
        app.run_until_stopped(shutdown)
            .await
            .map_err(|e| kit::config::StartupError::Other(e.into()))
    })
    .await
}
