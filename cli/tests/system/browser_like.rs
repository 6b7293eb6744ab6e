//! The whole system started for a test, visited with testkit's browser
//! (keeps cookies, does not follow redirects, reads CSRF tokens).

pub(crate) use testkit::browser::Browser;
use tokio_util::sync::CancellationToken;

/// The whole system on free ports with a fresh data directory.
pub(crate) struct System {
    pub(crate) urls: mythoughts::up::Urls,
    pub(crate) frontend: String,
    shutdown: CancellationToken,
    _data: tempfile::TempDir,
}

impl Drop for System {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub(crate) async fn start_system() -> System {
    start_system_with(|_| {}).await
}

/// The whole system, with the services' settings changed by `adjust`.
pub(crate) async fn start_system_with(adjust: impl FnOnce(&mut mythoughts::up::Settings)) -> System {
    let data = tempfile::tempdir().expect("temp dir");
    let mut args = mythoughts::up::UpArgs::new(0, data.path().to_path_buf());
    adjust(std::sync::Arc::make_mut(&mut args.settings));
    let shutdown = CancellationToken::new();
    let system = mythoughts::up::start(&args, shutdown.clone())
        .await
        .unwrap_or_else(|e| panic!("system: {e}"));
    let urls = system.urls.clone();
    tokio::spawn(system.wait());
    let frontend = urls.frontend.clone().expect("frontend runs");
    testkit::wait_ready(&frontend).await;
    System {
        urls,
        frontend,
        shutdown,
        _data: data,
    }
}
