//! The real frontend `Application` on port 0, configured in code, in front
//! of stub backends.

use crate::stubs::{self, Stub, Thoughts};
use frontend::{Application, Config};
use testkit::browser::Browser;
use tokio_util::sync::CancellationToken;

/// A frontend configuration for these tests: the given backends, the test
/// public key, everything else at its default.
pub(crate) fn config(users_url: &str, thoughts_url: &str) -> Config {
    Config::local(users_url, thoughts_url, &testkit::keys().public_path)
}

/// A running frontend; stopped when dropped.
pub(crate) struct Frontend {
    /// Its base URL.
    pub(crate) base: String,
    /// Its admin listener's base URL (metrics).
    pub(crate) admin: String,
    stop: CancellationToken,
}

impl Drop for Frontend {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Build, bind and serve a frontend (it accepts connections on return).
pub(crate) async fn start_frontend(config: Config) -> Frontend {
    let app = Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("frontend: {e}"));
    let base = format!("http://127.0.0.1:{}", app.port());
    let admin = format!("http://127.0.0.1:{}", app.admin_port());
    let stop = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(stop.clone()));
    Frontend { base, admin, stop }
}

/// A frontend and its two stub backends, all ready.
pub(crate) struct TestApp {
    /// The stub users service.
    pub(crate) users: Stub,
    /// The stub thoughts service.
    pub(crate) thoughts: Stub,
    /// What the stub thoughts service holds.
    pub(crate) thoughts_data: Thoughts,
    /// The frontend under test.
    pub(crate) frontend: Frontend,
}

impl TestApp {
    /// With the default configuration.
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// With the configuration changed by `adjust` first.
    pub(crate) async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let users = stubs::users().await;
        let (thoughts, thoughts_data) = stubs::thoughts(stubs::VERSION).await;
        let mut config = config(&users.url(), &thoughts.url());
        adjust(&mut config);
        let frontend = start_frontend(config).await;
        testkit::wait_ready(&frontend.base).await;
        Self {
            users,
            thoughts,
            thoughts_data,
            frontend,
        }
    }

    /// A new browser, without cookies, on the frontend.
    pub(crate) fn browser(&self) -> Browser {
        Browser::new(&self.frontend.base)
    }
}
