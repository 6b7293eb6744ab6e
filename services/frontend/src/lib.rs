//! The frontend service: server-rendered web pages for MyThoughts.
//!
//! It owns nothing persistent: the session is a short-lived signed token in
//! a cookie, verified with public keys only, renewed through a refresh token
//! the users service holds (and revokes at sign-out); the only state is the
//! in-memory list of sessions signed out here whose tokens are still live. It reaches the users and thoughts
//! services through their typed clients over HTTP, with deadlines, and
//! renders a clear page (503) when one of them is down; its `/readyz` stays
//! 200 then, naming each backend's state in its body ([`backends`]).

pub mod backends;
pub mod error;
pub mod pages;
pub mod session;
pub mod versions;
pub mod views;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use clap::Parser;
use kit::config::{OutgoingConfig, ServerConfig, StartupError};
use kit::ops::{Ready, ready_check};
use kit::server::{Server, Service};
use std::path::PathBuf;
use std::time::Duration;
use tokens::{Verifier, VerifierConfig};
use tokio_util::sync::CancellationToken;

/// The service name, in logs and metrics.
pub const NAME: &str = "frontend";

/// This service's own version (its `Cargo.toml`; services are released one
/// by one, `deploy/release.sh`): the default of `VERSION_NAME`, which
/// /admin/version/ reports and the frontend's minimum-version checks read.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Configuration, from flags or the environment (the book's names kept).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "frontend-service",
    version,
    mut_arg("version_name", |arg| arg.default_value(VERSION)),
    about = "MyThoughts frontend: server-rendered web pages"
)]
pub struct Config {
    /// Listen address, logging, version.
    #[command(flatten)]
    pub server: ServerConfig,
    /// Session token verification keys.
    #[command(flatten)]
    pub keys: VerifierConfig,
    /// Base URL of the users service.
    #[arg(long, env = "USER_BACKEND_URL")]
    pub user_backend_url: String,
    /// Base URL of the thoughts service.
    #[arg(long, env = "THOUGHTS_BACKEND_URL")]
    pub thoughts_backend_url: String,
    /// Lowest users service version this frontend works with.
    #[arg(long, env = "USER_BACKEND_MIN_VERSION")]
    pub user_backend_min_version: Option<String>,
    /// Lowest thoughts service version this frontend works with.
    #[arg(long, env = "THOUGHTS_BACKEND_MIN_VERSION")]
    pub thoughts_backend_min_version: Option<String>,
    /// Deadline to connect to a backend, in milliseconds.
    #[arg(long, env = "BACKEND_CONNECT_TIMEOUT_MS", default_value_t = 1000)]
    pub backend_connect_timeout_ms: u64,
    /// Deadline for a whole backend call, in milliseconds, its retries included.
    #[arg(long, env = "BACKEND_TIMEOUT_MS", default_value_t = 3000)]
    pub backend_timeout_ms: u64,
    /// Retries and circuit breakers of the calls to the backends (and to the JWKS).
    #[command(flatten)]
    pub outgoing: OutgoingConfig,
    /// Mark cookies `Secure` (set when the site is served over HTTPS).
    #[arg(long, env = "COOKIE_SECURE", default_value_t = false, action = clap::ArgAction::Set)]
    pub cookie_secure: bool,
    /// Proxies in front of the frontend whose X-Forwarded-For is believed
    /// (comma-separated addresses or CIDR blocks, e.g. the ingress
    /// controller's pods); empty: the connecting address is the client.
    /// The users service gets exactly one address, derived from this.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Minimum password length shown on the sign-up form (the users service enforces it).
    #[arg(long, env = "PASSWORD_MIN_LENGTH", default_value_t = 12)]
    pub password_min_length: usize,
    /// Pages of thoughts kept (with their ETag) to ask the thoughts service
    /// for again conditionally, answered 304 while unchanged; 0 = none.
    #[arg(long, env = "THOUGHTS_PAGE_CACHE_ENTRIES", default_value_t = 256, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub thoughts_page_cache_entries: u32,
}

impl Config {
    /// A configuration built in code, reading no flag and no environment
    /// (tests; `mythoughts up` starts from `up::Settings` instead): listen
    /// on 127.0.0.1, port 0, no shutdown drain, pretty logs
    /// ([`ServerConfig::local`]); call the users
    /// service at `user_backend_url` and the thoughts service at
    /// `thoughts_backend_url` (`http://host:port`); verify session tokens
    /// with the PEM public key at `public_key_path`. Everything else is at
    /// its documented default. Set fields afterwards for the variations, e.g.
    /// `config.server.port = 8000`, `config.cookie_secure = true`, or
    /// `config.keys.jwks_url = Some(url)` (with `public_key_path` cleared to
    /// verify with the JWK Set only).
    pub fn local(
        user_backend_url: impl Into<String>,
        thoughts_backend_url: impl Into<String>,
        public_key_path: impl Into<PathBuf>,
    ) -> Self {
        let mut config = Self {
            server: ServerConfig {
                version_name: VERSION.to_owned(),
                ..ServerConfig::local(0)
            },
            user_backend_url: user_backend_url.into(),
            thoughts_backend_url: thoughts_backend_url.into(),
            ..kit::config::defaults()
        };
        config.keys.public_key_path = Some(public_key_path.into());
        config
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    users: users_api::Client,
    thoughts: thoughts_api::Client,
    verifier: Verifier,
    /// Whether cookies get `Secure`: read by the cookie middleware only.
    cookie_secure: bool,
    password_min_length: usize,
    trusted_proxies: kit::address::TrustedProxies,
    /// Sessions signed out here whose short tokens have not expired yet.
    signed_out: session::Denylist,
}

impl axum::extract::FromRef<AppState> for kit::address::TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.trusted_proxies.clone()
    }
}

impl AppState {
    /// Check the backend URLs, load the verification keys and build the
    /// backend clients (nothing is contacted yet).
    pub fn new(config: &Config) -> Result<Self, StartupError> {
        bad_url("USER_BACKEND_URL", &config.user_backend_url)?;
        bad_url("THOUGHTS_BACKEND_URL", &config.thoughts_backend_url)?;
        let verifier = config
            .keys
            .build(&config.outgoing)
            .map_err(|e| StartupError::Config(format!("PUBLIC_KEY_PATH / JWKS_URL: {e}")))?;
        let connect = Duration::from_millis(config.backend_connect_timeout_ms);
        let timeout = Duration::from_millis(config.backend_timeout_ms);
        let users = users_api::Client::new(&config.user_backend_url, connect, timeout, &config.outgoing)
            .map_err(|e| StartupError::Other(anyhow::anyhow!("{e}")))?;
        let thoughts = thoughts_api::Client::new(&config.thoughts_backend_url, connect, timeout, &config.outgoing)
            .map_err(|e| StartupError::Other(anyhow::anyhow!("{e}")))?
            .with_page_cache(config.thoughts_page_cache_entries as usize);
        Ok(Self {
            users,
            thoughts,
            verifier,
            cookie_secure: config.cookie_secure,
            password_min_length: config.password_min_length,
            trusted_proxies: kit::address::TrustedProxies::parse(&config.trusted_proxies)
                .map_err(|e| StartupError::Config(format!("TRUSTED_PROXIES: {e}")))?,
            signed_out: session::Denylist::default(),
        })
    }
}

/// Every page with the site's middleware (cookies, security headers) and
/// the HTML 404 for unknown paths: what [`Application`] serves, minus the
/// chassis (`/healthz`, `/readyz`, request ids, trailing-slash trimming).
pub fn router(state: AppState) -> Router {
    pages::router(state.clone())
        .layer(middleware::from_fn_with_state(state, session::cookies))
        .layer(middleware::from_fn(security_headers))
        // After the layers, as the chassis adds it: a 404 sets no cookie.
        .fallback(error::not_found)
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Security headers on every response.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    add_security_headers(response.headers_mut());
    response
}

/// Content-Security-Policy (no inline script), nosniff, no framing, referrer policy.
pub fn add_security_headers(h: &mut axum::http::HeaderMap) {
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

fn bad_url(name: &str, url: &str) -> Result<(), StartupError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(StartupError::Config(format!(
            "{name} must be an http:// or https:// URL, got {url:?}"
        )))
    }
}

/// A built, bound frontend service.
pub struct Application {
    server: Server,
    /// Checked every few seconds while serving, for `frontend_backend_up`.
    backends: backends::Backends,
}

impl Application {
    /// Check the configuration, build the backend clients, bind the listener.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let state = AppState::new(&config)?;
        let _ = kit::metrics::handle(); // describe after the recorder exists
        metrics::describe_counter!(
            "csrf_refused_total",
            "State-changing requests refused by the CSRF check"
        );
        let backends = backends::Backends::new(
            state.users.clone(),
            state.thoughts.clone(),
            config.user_backend_min_version.clone(),
            config.thoughts_backend_min_version.clone(),
        );
        let api = router(state);
        // Ready while the frontend itself can serve: a backend outage gives
        // degraded pages, and must not take every replica out of its Service
        // (the Ingress would then answer its own 503). The backends' states
        // are in the body.
        let probe = backends.clone();
        let ready = ready_check(move || {
            let probe = probe.clone();
            async move { Ok::<_, String>(Ready::default().with("backends", probe.check().await)) }
        });
        let service = Service {
            name: NAME,
            config: config.server.clone(),
            api,
            // HTML pages only: no API description, no docs.
            openapi: None,
            ready,
            not_found: Some(axum::routing::any(error::not_found)),
            database: None,
        };
        Ok(Self {
            server: Server::bind(service).await?,
            backends,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The admin listener's port (metrics, API docs).
    pub fn admin_port(&self) -> u16 {
        self.server.admin_port()
    }

    /// Serve until `shutdown` is cancelled, then drain and return; check the
    /// backends every [`backends::CHECK_INTERVAL`] meanwhile.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let checks = tokio::spawn(self.backends.check_until(shutdown.child_token()));
        let served = self.server.run(shutdown).await;
        checks.abort();
        served
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The default clap declares for the flag `id` (nothing is parsed, so
    /// the environment plays no part).
    fn declared_default(id: &str) -> String {
        let command = Config::command();
        let arg = command
            .get_arguments()
            .find(|a| a.get_id() == id)
            .unwrap_or_else(|| panic!("no flag {id}"));
        arg.get_default_values()
            .first()
            .and_then(|v| v.to_str())
            .unwrap_or_else(|| panic!("{id} has no default"))
            .to_owned()
    }

    #[test]
    fn the_local_config_keeps_the_documented_defaults() {
        let c = Config::local("http://127.0.0.1:1", "http://127.0.0.1:2", "/keys/public.pem");
        assert_eq!(c.server.addr().to_string(), "127.0.0.1:0");
        assert_eq!(c.server.shutdown_drain_seconds, 0);
        assert_eq!(c.user_backend_url, "http://127.0.0.1:1");
        assert_eq!(c.thoughts_backend_url, "http://127.0.0.1:2");
        assert_eq!(c.keys.public_key_path, Some(PathBuf::from("/keys/public.pem")));
        for (id, value) in [
            ("backend_connect_timeout_ms", c.backend_connect_timeout_ms.to_string()),
            ("backend_timeout_ms", c.backend_timeout_ms.to_string()),
            ("cookie_secure", c.cookie_secure.to_string()),
            ("password_min_length", c.password_min_length.to_string()),
            ("thoughts_page_cache_entries", c.thoughts_page_cache_entries.to_string()),
            ("jwks_min_refresh_seconds", c.keys.jwks_min_refresh_seconds.to_string()),
        ] {
            assert_eq!(value, declared_default(id), "{id}");
        }
    }
}
