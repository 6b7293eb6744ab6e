//! The users service: accounts, sign-in and RS256 tokens.
//!
//! It owns the user accounts (argon2id password hashes) and the private
//! signing key; it publishes the public key as a JWK Set. It knows nothing of
//! thoughts or pages.

pub mod domain;
pub mod error;
pub mod hashing;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod session_store;
pub mod store;

use anyhow::Context;
use axum::extract::FromRef;
use clap::Parser;
use kit::config::{DatabaseConfig, ServerConfig, StartupError};
use kit::db::Database;
use kit::openapi::BearerScheme;
use kit::server::{Server, Service};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokens::{Signer, Verifier};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

/// The service name, in logs, metrics and file names.
pub const NAME: &str = "users";

/// This service's own version (its `Cargo.toml`; services are released one
/// by one, `deploy/release.sh`): the default of `VERSION_NAME`, which
/// /admin/version/ reports and the frontend's minimum-version checks read.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Configuration, from flags or the environment (the book's names kept).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "users-service",
    version,
    mut_arg("version_name", |arg| arg.default_value(VERSION)),
    about = "MyThoughts users service: accounts, sign-in, RS256 tokens"
)]
pub struct Config {
    /// Listen address, logging, version.
    #[command(flatten)]
    pub server: ServerConfig,
    /// Database engine and connection.
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// PEM private key that signs tokens (RSA). Required: there is no built-in key.
    #[arg(long, env = "PRIVATE_KEY_PATH", default_value = "/opt/keys/private_key.pem")]
    pub private_key_path: PathBuf,
    /// More PEM public keys to publish in the JWKS next to the signing key's
    /// (comma-separated files, or directories whose `*.pub`/`*.pem` files
    /// are all taken): the previous key during a key rotation, so the tokens
    /// it signed stay valid until they expire, or the next one, so verifiers
    /// know it before it signs.
    #[arg(long, env = "PUBLISHED_PUBLIC_KEY_PATHS", value_delimiter = ',')]
    pub published_public_key_paths: Vec<PathBuf>,
    /// Token lifetime in seconds (default two days).
    #[arg(long, env = "TOKEN_LIFETIME_SECONDS", default_value_t = 2 * 24 * 3600)]
    pub token_lifetime_seconds: u64,
    /// Optional `iss` claim of issued tokens.
    #[arg(long, env = "TOKEN_ISSUER")]
    pub token_issuer: Option<String>,
    /// Ensure this administrator account exists at start-up.
    #[arg(long, env = "ADMIN_USERNAME")]
    pub admin_username: Option<String>,
    /// The administrator's password (prefer ADMIN_PASSWORD_FILE).
    #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// File holding the administrator's password.
    #[arg(long, env = "ADMIN_PASSWORD_FILE")]
    pub admin_password_file: Option<PathBuf>,
    /// Allow public sign-up at POST /api/users/.
    #[arg(long, env = "SIGNUP_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub signup_enabled: bool,
    /// Minimum length of a new password, in characters.
    #[arg(long, env = "PASSWORD_MIN_LENGTH", default_value_t = domain::Password::DEFAULT_MIN_CHARS)]
    pub password_min_length: usize,
    /// Older form of the per-account ceiling: failed login attempts allowed
    /// per account per minute, from all addresses together. When not 0 it
    /// replaces LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR (0 = not set).
    #[arg(long, env = "LOGIN_ATTEMPTS_PER_ACCOUNT", default_value_t = 0)]
    pub login_attempts_per_account: u32,
    /// Login attempts allowed per client address per minute, on any accounts
    /// (IPv6 addresses grouped by /64).
    #[arg(long, env = "LOGIN_ATTEMPTS_PER_ADDRESS", default_value_t = 60)]
    pub login_attempts_per_address: u32,
    /// Sign-ups allowed per client address per minute.
    #[arg(long, env = "SIGNUPS_PER_ADDRESS", default_value_t = 20)]
    pub signups_per_address: u32,
    /// Proxies whose X-Forwarded-For is believed for rate limiting
    /// (comma-separated addresses or CIDR blocks, e.g. the frontend's pods).
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Password hashes computed at once, each on its own thread (0 = number of CPUs).
    #[arg(long, env = "MAX_CONCURRENT_HASHES", default_value_t = 0)]
    pub max_concurrent_hashes: usize,
    /// Lifetime of the short session tokens of POST /api/sessions/, in
    /// seconds: how long a signed-out session's token keeps working where
    /// nothing else stops it (the book's /api/login/ keeps TOKEN_LIFETIME_SECONDS).
    #[arg(long, env = "SESSION_TOKEN_LIFETIME_SECONDS", default_value_t = 300)]
    pub session_token_lifetime_seconds: u64,
    /// Longest life of a session (its refresh tokens) from sign-in, in seconds (default 14 days).
    #[arg(long, env = "REFRESH_TOKEN_LIFETIME_SECONDS", default_value_t = 14 * 24 * 3600)]
    pub refresh_token_lifetime_seconds: u64,
    /// Failed login attempts allowed on one account from one client address
    /// per LOGIN_FAILURE_WINDOW_MINUTES; the budget refills evenly over it.
    #[arg(long, env = "LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS", default_value_t = 5)]
    pub login_failures_per_account_and_address: u32,
    /// Minutes over which that budget refills; a failure also marks its
    /// address for this long (see LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR).
    #[arg(long, env = "LOGIN_FAILURE_WINDOW_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=1440))]
    pub login_failure_window_minutes: u64,
    /// Ceiling of failed login attempts per account per hour, from all
    /// addresses together; over it, only addresses without a recent failure
    /// on that account are still evaluated.
    #[arg(long, env = "LOGIN_FAILURES_PER_ACCOUNT_PER_HOUR", default_value_t = 100)]
    pub login_failures_per_account_per_hour: u32,
    /// Sign-ups allowed per minute from all addresses together.
    #[arg(long, env = "SIGNUPS_PER_MINUTE", default_value_t = 60)]
    pub signups_per_minute: u32,
}

impl Config {
    /// A configuration built in code, reading nothing from the environment:
    /// loopback, a free port, no drain, readable logs, the database at
    /// `database_url` and the signing key at `private_key_path`; every other
    /// setting at its declared default. Adjust fields afterwards.
    pub fn local(database_url: impl Into<String>, private_key_path: impl Into<PathBuf>) -> Self {
        Self {
            server: ServerConfig {
                version_name: VERSION.to_owned(),
                ..ServerConfig::local(0)
            },
            database: DatabaseConfig::with_url(database_url),
            private_key_path: private_key_path.into(),
            ..kit::config::defaults()
        }
    }

    /// The login limits these settings describe (`ratelimit` has the rule).
    pub fn login_limits(&self) -> ratelimit::LoginLimits {
        let per_account = match self.login_attempts_per_account {
            0 => ratelimit::quota(self.login_failures_per_account_per_hour, Duration::from_secs(3600)),
            per_minute => ratelimit::per_minute(per_minute),
        };
        ratelimit::LoginLimits {
            per_address: ratelimit::per_minute(self.login_attempts_per_address),
            failures_per_account_and_address: self.login_failures_per_account_and_address,
            window: Duration::from_secs(60 * self.login_failure_window_minutes),
            per_account,
        }
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    db: Database,
    hasher: hashing::Hasher,
    signer: Arc<Signer>,
    verifier: Verifier,
    login_limiter: ratelimit::LoginLimiter,
    signup_limiter: ratelimit::SignupLimiter,
    trusted_proxies: kit::address::TrustedProxies,
    password_min_chars: usize,
    signup_enabled: bool,
    session_token_lifetime: Duration,
    refresh_token_lifetime: Duration,
}

impl FromRef<AppState> for kit::address::TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.trusted_proxies.clone()
    }
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The OpenAPI description of the service, with the default password
/// policy ([`openapi::document`] serves the one in force).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "MyThoughts users service",
        description = "Accounts, sign-in and RS256 tokens (API.md)"
    ),
    paths(
        routes::login::login,
        routes::accounts::create_user,
        routes::accounts::sign_up,
        routes::keys::jwks,
        routes::sessions::create_session,
        routes::sessions::refresh_session,
        routes::sessions::revoke_session
    ),
    components(schemas(
        users_api::User,
        openapi::Credentials,
        openapi::NewAccount,
        users_api::LoginResponse,
        users_api::SessionResponse,
        openapi::RefreshRequest,
        openapi::JwkSet,
        kit::ErrorBody
    )),
    modifiers(&BearerScheme),
    tags((name = "users", description = "Accounts, sign-in, sessions and the token keys"))
)]
pub struct ApiDoc;

/// A built, bound users service.
pub struct Application {
    server: Server,
}

/// The PEM files named by `PUBLISHED_PUBLIC_KEY_PATHS`: each path is a file,
/// or a directory (e.g. a mounted Kubernetes Secret, possibly empty) whose
/// `*.pub` and `*.pem` files are read in name order; hidden entries are skipped.
fn published_keys(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, String> {
    let read = |path: &Path| std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()));
    let mut keys = Vec::new();
    for path in paths {
        if !path.is_dir() {
            keys.push(read(path)?);
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or(".");
                !name.starts_with('.') && (name.ends_with(".pub") || name.ends_with(".pem")) && p.is_file()
            })
            .collect();
        files.sort();
        for file in files {
            keys.push(read(&file)?);
        }
    }
    Ok(keys)
}

fn admin_password(config: &Config) -> Result<Option<String>, StartupError> {
    if config.admin_username.is_none() {
        return Ok(None);
    }
    if let Some(path) = &config.admin_password_file {
        let text = kit::config::read_secret(path)
            .map_err(|e| StartupError::Config(format!("ADMIN_PASSWORD_FILE {}: {e}", path.display())))?;
        return Ok(Some(text));
    }
    match &config.admin_password {
        Some(p) => Ok(Some(p.clone())),
        None => Err(StartupError::Config(
            "ADMIN_USERNAME is set but neither ADMIN_PASSWORD nor ADMIN_PASSWORD_FILE is".into(),
        )),
    }
}

async fn ensure_admin(state: &AppState, username: &str, password: &str) -> Result<(), StartupError> {
    let username =
        domain::Username::parse(username).map_err(|e| StartupError::Config(format!("ADMIN_USERNAME {e}")))?;
    let password = domain::Password::parse_new(password, state.password_min_chars)
        .map_err(|e| StartupError::Config(format!("ADMIN_PASSWORD {e}")))?;
    let existing = store::find_user(&state.db, username.as_str())
        .await
        .context("cannot read users")?;
    match existing {
        Some(user) => {
            let same = state.hasher.verify(&password, Some(&user.password_hash)).await?;
            let hash = if same {
                user.password_hash.clone()
            } else {
                state.hasher.hash(&password).await?
            };
            if !same || !user.is_admin {
                store::update_admin(&state.db, user.id, &hash, true)
                    .await
                    .context("cannot update administrator")?;
            }
        }
        None => {
            let hash = state.hasher.hash(&password).await?;
            store::insert_user(&state.db, username.as_str(), &hash, true)
                .await
                .context("cannot create administrator")?
                .ok_or_else(|| {
                    StartupError::Config(format!(
                        "ADMIN_USERNAME {username} looks like an existing account's name"
                    ))
                })?;
        }
    }
    tracing::info!(username = %username, "administrator account ensured");
    Ok(())
}

/// Seed aws-lc's random generator on a thread of its own, beside the rest of
/// start-up. Its first use runs a CPU-jitter entropy source, about 40 ms of
/// CPU (issue 13: most of the users service's 80-105 ms to ready, when the
/// dummy hash drew its random bytes from it). Signing a token needs it (RSA
/// blinding), so otherwise the first sign-in would pay those 40 ms; random
/// bytes the service draws itself come from the kernel (`getrandom`).
fn warm_up_crypto_random() {
    let spawned = std::thread::Builder::new().name("rng-warm-up".into()).spawn(|| {
        let mut byte = [0u8; 1];
        if aws_lc_rs::rand::fill(&mut byte).is_err() {
            tracing::warn!("aws-lc's random generator failed to start; signing will retry it");
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the random generator's warm-up thread");
    }
}

impl Application {
    /// Load the key, connect and migrate the database, ensure the
    /// administrator, and bind the listener.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        warm_up_crypto_random();
        let signer = Signer::from_file(&config.private_key_path)
            .map_err(|e| StartupError::Config(format!("PRIVATE_KEY_PATH: {e}")))?
            .with_lifetime(Duration::from_secs(config.token_lifetime_seconds))
            .with_issuer(config.token_issuer.clone());
        let published = published_keys(&config.published_public_key_paths)
            .map_err(|e| StartupError::Config(format!("PUBLISHED_PUBLIC_KEY_PATHS {e}")))?;
        let signer = signer
            .with_published_keys(&published)
            .map_err(|e| StartupError::Config(format!("PUBLISHED_PUBLIC_KEY_PATHS: {e}")))?;
        let admin_password = admin_password(&config)?;
        let url = config.database.url(NAME)?;
        let db = Database::connect_and_migrate(
            NAME,
            &url,
            config.database.database_max_connections,
            store::MIGRATIONS,
            Duration::from_secs(30),
        )
        .await?;
        store::backfill_look_alike_keys(&db)
            .await
            .context("cannot backfill look-alike username keys")?;
        let state = AppState {
            db: db.clone(),
            hasher: hashing::Hasher::new(config.max_concurrent_hashes)?,
            verifier: signer.verifier(),
            signer: Arc::new(signer),
            login_limiter: ratelimit::LoginLimiter::new(config.login_limits()),
            signup_limiter: ratelimit::SignupLimiter::new(config.signups_per_address, config.signups_per_minute),
            trusted_proxies: kit::address::TrustedProxies::parse(&config.trusted_proxies)
                .map_err(|e| StartupError::Config(format!("TRUSTED_PROXIES: {e}")))?,
            password_min_chars: config.password_min_length,
            signup_enabled: config.signup_enabled,
            session_token_lifetime: Duration::from_secs(config.session_token_lifetime_seconds),
            refresh_token_lifetime: Duration::from_secs(config.refresh_token_lifetime_seconds),
        };
        if let (Some(username), Some(password)) = (&config.admin_username, &admin_password) {
            ensure_admin(&state, username, password).await?;
        }
        let _ = kit::metrics::handle(); // describe after the recorder exists
        metrics::describe_counter!(
            "logins_total",
            "Login attempts, by outcome (success, failed, rate_limited)"
        );
        metrics::describe_counter!("signups_total", "Accounts created");
        metrics::describe_counter!(
            "logins_rate_limited_total",
            "Login attempts refused unevaluated, by limit (address, account_and_address, account)"
        );
        metrics::describe_counter!(
            "signups_rate_limited_total",
            "Sign-ups refused, by limit (address, global)"
        );
        let service = Service::with_database(
            NAME,
            config.server.clone(),
            routes::router(state),
            openapi::document(config.password_min_length),
            db,
        );
        Ok(Self {
            server: Server::bind(service).await?,
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

    /// Serve until `shutdown` is cancelled, then drain, close the database
    /// (checkpointing SQLite's WAL into the main file) and return.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        self.server.run(shutdown).await
    }
}
