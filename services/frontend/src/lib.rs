//! The frontend service: server-rendered web pages for MyThoughts.
//!
//! It owns nothing persistent: the session is the signed token in a cookie,
//! verified with public keys only. It reaches the users and thoughts
//! services through their typed clients over HTTP, with deadlines, and
//! renders a clear page (503) when one of them is down.

pub mod error;
pub mod pages;
pub mod session;
pub mod versions;
pub mod views;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use clap::Parser;
use kit::config::{ServerConfig, StartupError};
use kit::ops::ready_check;
use kit::server::{Server, Service};
use std::time::Duration;
use tokens::{Verifier, VerifierConfig};
use tokio_util::sync::CancellationToken;

/// The service name, in logs and metrics.
pub const NAME: &str = "frontend";

/// Configuration, from flags or the environment (the book's names kept).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "frontend-service",
    version,
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
    /// Deadline for a whole backend call, in milliseconds.
    #[arg(long, env = "BACKEND_TIMEOUT_MS", default_value_t = 3000)]
    pub backend_timeout_ms: u64,
    /// Mark cookies `Secure` (set when the site is served over HTTPS).
    #[arg(long, env = "COOKIE_SECURE", default_value_t = false, action = clap::ArgAction::Set)]
    pub cookie_secure: bool,
    /// Minimum password length shown on the sign-up form (the users service enforces it).
    #[arg(long, env = "PASSWORD_MIN_LENGTH", default_value_t = 12)]
    pub password_min_length: usize,
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    users: users_api::Client,
    thoughts: thoughts_api::Client,
    verifier: Verifier,
    cookie_secure: bool,
    password_min_length: usize,
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
}

impl Application {
    /// Check the configuration, build the backend clients, bind the listener.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        bad_url("USER_BACKEND_URL", &config.user_backend_url)?;
        bad_url("THOUGHTS_BACKEND_URL", &config.thoughts_backend_url)?;
        let verifier = config
            .keys
            .build()
            .map_err(|e| StartupError::Config(format!("PUBLIC_KEY_PATH / JWKS_URL: {e}")))?;
        let connect = Duration::from_millis(config.backend_connect_timeout_ms);
        let timeout = Duration::from_millis(config.backend_timeout_ms);
        let users = users_api::Client::new(&config.user_backend_url, connect, timeout)
            .map_err(|e| StartupError::Other(anyhow::anyhow!("{e}")))?;
        let thoughts = thoughts_api::Client::new(&config.thoughts_backend_url, connect, timeout)
            .map_err(|e| StartupError::Other(anyhow::anyhow!("{e}")))?;
        let state = AppState {
            users: users.clone(),
            thoughts: thoughts.clone(),
            verifier,
            cookie_secure: config.cookie_secure,
            password_min_length: config.password_min_length,
        };
        let secure = session::CookieSecurity(config.cookie_secure);
        let api = pages::router(state)
            .layer(middleware::from_fn(session::ensure_csrf_cookie))
            .layer(axum::Extension(secure))
            .layer(middleware::from_fn(security_headers));
        let (min_users, min_thoughts) = (
            config.user_backend_min_version.clone(),
            config.thoughts_backend_min_version.clone(),
        );
        let ready = ready_check(move || {
            let (users, thoughts) = (users.clone(), thoughts.clone());
            let (min_users, min_thoughts) = (min_users.clone(), min_thoughts.clone());
            async move {
                let (u, t) = tokio::join!(users.version(), thoughts.version());
                // The reason is public: name the backend, log the details.
                let (u, _) = u.map_err(|e| {
                    tracing::warn!(error = %e, "users backend not ready");
                    "users backend unavailable".to_owned()
                })?;
                let (t, _) = t.map_err(|e| {
                    tracing::warn!(error = %e, "thoughts backend not ready");
                    "thoughts backend unavailable".to_owned()
                })?;
                versions::check("users", &u, min_users.as_deref())?;
                versions::check("thoughts", &t, min_thoughts.as_deref())
            }
        });
        let _ = kit::metrics::handle(); // describe after the recorder exists
        metrics::describe_counter!(
            "csrf_refused_total",
            "State-changing requests refused by the CSRF check"
        );
        let service = Service {
            name: NAME,
            config: config.server.clone(),
            api,
            openapi: utoipa::openapi::OpenApiBuilder::new()
                .info(utoipa::openapi::Info::new(
                    "MyThoughts frontend (HTML pages, no JSON API)",
                    "1",
                ))
                .build(),
            ready,
            not_found: Some(axum::routing::any(error::not_found)),
            database: None,
        };
        Ok(Self {
            server: Server::bind(service).await?,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Serve until `shutdown` is cancelled, then drain and return.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        self.server.run(shutdown).await
    }
}
