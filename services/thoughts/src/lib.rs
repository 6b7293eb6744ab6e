//! The thoughts service: short posts and their search.
//!
//! It owns the thoughts and their search index. It verifies tokens with
//! public keys only (PEM file or the users service's JWKS); it never sees a
//! password or a private key.

pub mod admission;
pub mod bulk;
pub mod domain;
pub mod error;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod store;

use axum::extract::FromRef;
use clap::Parser;
use kit::config::{DatabaseConfig, OutgoingConfig, ServerConfig, StartupError};
use kit::db::Database;
use kit::openapi::BearerScheme;
use kit::server::{Server, Service};
use std::time::Duration;
use tokens::{Verifier, VerifierConfig};
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

/// The service name, in logs, metrics and file names.
pub const NAME: &str = "thoughts";

/// This service's own version (its `Cargo.toml`; services are released one
/// by one, `deploy/release.sh`): the default of `VERSION_NAME`, which
/// /admin/version/ reports and the frontend's minimum-version checks read.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Configuration, from flags or the environment (the book's names kept).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "thoughts-service",
    version,
    mut_arg("version_name", |arg| arg.default_value(VERSION)),
    about = "MyThoughts thoughts service: short posts and their search"
)]
pub struct Config {
    /// Listen address, logging, version.
    #[command(flatten)]
    pub server: ServerConfig,
    /// Database engine and connection.
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Token verification keys.
    #[command(flatten)]
    pub keys: VerifierConfig,
    /// Retries and circuit breaker of the JWKS fetch.
    #[command(flatten)]
    pub outgoing: OutgoingConfig,
    /// Most items a list answers without paging parameters.
    #[arg(long, env = "LIST_MAX_ITEMS", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub list_max_items: u32,
    /// Thoughts one account may post per minute, after a burst of
    /// POSTS_BURST_PER_ACCOUNT (0 = unlimited).
    #[arg(long, env = "POSTS_PER_ACCOUNT_PER_MINUTE", default_value_t = 10)]
    pub posts_per_account_per_minute: u32,
    /// Thoughts one account may post at once before the per-minute rate applies.
    #[arg(long, env = "POSTS_BURST_PER_ACCOUNT", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub posts_burst_per_account: u32,
    /// Deadline of one search inside the database, in milliseconds.
    #[arg(long, env = "SEARCH_TIMEOUT_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub search_timeout_ms: u64,
    /// Searches one client address may run per minute (a burst of as many).
    #[arg(long, env = "SEARCHES_PER_ADDRESS_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub searches_per_address_per_minute: u32,
    /// Searches running at once; more are refused with 503 (keep it below DATABASE_MAX_CONNECTIONS).
    #[arg(long, env = "SEARCH_CONCURRENCY", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub search_concurrency: u32,
    /// Proxies (addresses or CIDR blocks, comma-separated) whose X-Forwarded-For is believed; empty: none.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Most thoughts kept in memory for GET /api/thoughts/<id>/, the oldest evicted first; SQLite only (PostgreSQL replicas share the table), 0 = none.
    #[arg(long, env = "THOUGHT_CACHE_ENTRIES", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub thought_cache_entries: u32,
}

impl Config {
    /// A configuration built in code, reading nothing from the environment:
    /// loopback, a free port, no drain, readable logs, the database at
    /// `database_url`, tokens verified with the PEM public key at
    /// `public_key_path`; every other setting at its declared default.
    /// Adjust fields afterwards (e.g. `keys.jwks_url`).
    pub fn local(database_url: impl Into<String>, public_key_path: impl Into<std::path::PathBuf>) -> Self {
        let mut config = Self {
            server: ServerConfig {
                version_name: VERSION.to_owned(),
                ..ServerConfig::local(0)
            },
            database: DatabaseConfig::with_url(database_url),
            ..kit::config::defaults()
        };
        config.keys.public_key_path = Some(public_key_path.into());
        config
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    db: Database,
    verifier: Verifier,
    list_max: u32,
    post_limiter: ratelimit::PostLimiter,
    search: admission::SearchAdmission,
    trusted_proxies: kit::address::TrustedProxies,
    cache: store::ThoughtCache,
    versions: store::ListVersions,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

impl FromRef<AppState> for kit::address::TrustedProxies {
    fn from_ref(state: &AppState) -> Self {
        state.trusted_proxies.clone()
    }
}

/// The OpenAPI description of the service.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "MyThoughts thoughts service",
        description = "Short posts and their search (API.md)"
    ),
    paths(
        routes::me::list_my_thoughts,
        routes::me::create_thought,
        routes::me::delete_my_thought,
        routes::thoughts::list_thoughts,
        routes::thoughts::get_thought,
        routes::admin::delete_thought,
    ),
    components(schemas(thoughts_api::Thought, openapi::NewThought, kit::ErrorBody)),
    modifiers(&BearerScheme),
    tags(
        (name = "thoughts", description = "Thoughts: posting, reading, searching"),
        (name = "admin", description = "Moderation (administrator tokens)"),
    )
)]
pub struct ApiDoc;

/// A built, bound thoughts service.
pub struct Application {
    server: Server,
    versions: store::ListVersions,
    pool: kit::db::Pool,
}

impl Application {
    /// Load the verification keys, connect and migrate, bind the listener.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let verifier = config
            .keys
            .build(&config.outgoing)
            .map_err(|e| StartupError::Config(format!("PUBLIC_KEY_PATH / JWKS_URL: {e}")))?;
        let trusted_proxies = kit::address::TrustedProxies::parse(&config.trusted_proxies)
            .map_err(|e| StartupError::Config(format!("TRUSTED_PROXIES: {e}")))?;
        // Searches must leave connections for everything else (issue 9).
        if config.search_concurrency >= config.database.database_max_connections {
            return Err(StartupError::Config(format!(
                "SEARCH_CONCURRENCY ({}) must be lower than DATABASE_MAX_CONNECTIONS ({})",
                config.search_concurrency, config.database.database_max_connections
            )));
        }
        let db = Database::connect_and_migrate(
            NAME,
            &config.database.url(NAME)?,
            config.database.database_max_connections,
            store::MIGRATIONS,
            Duration::from_secs(30),
        )
        .await?;
        let _ = kit::metrics::handle(); // describe after the recorder exists
        let versions = store::ListVersions::for_pool(db.pool());
        let pool = db.pool().clone();
        let state = AppState {
            versions: versions.clone(),
            cache: store::ThoughtCache::for_pool(db.pool(), config.thought_cache_entries as usize),
            db: db.clone(),
            verifier,
            list_max: config.list_max_items,
            post_limiter: ratelimit::PostLimiter::new(
                config.posts_per_account_per_minute,
                config.posts_burst_per_account,
            ),
            search: admission::SearchAdmission::new(
                config.searches_per_address_per_minute,
                config.search_concurrency,
                Duration::from_millis(config.search_timeout_ms),
            ),
            trusted_proxies,
        };
        metrics::describe_counter!("thoughts_created_total", "Thoughts posted");
        metrics::describe_counter!("thoughts_searches_total", "Searches run");
        metrics::describe_counter!(
            routes::NOT_MODIFIED_METRIC,
            "Lists answered 304 Not Modified: the caller's If-None-Match named the list's current ETag"
        );
        metrics::describe_counter!(
            store::cache::REQUESTS_METRIC,
            "Lookups of a thought by id in the in-memory cache, by result: hit, miss (SQLite only: THOUGHT_CACHE_ENTRIES)"
        );
        metrics::describe_counter!(
            "thoughts_rate_limited_total",
            "Posts refused with 429: the account posted faster than POSTS_PER_ACCOUNT_PER_MINUTE"
        );
        metrics::describe_counter!(
            admission::REFUSED_METRIC,
            "Searches refused, by reason: rate_limited (429), busy (503, concurrency full), timed_out (503, past SEARCH_TIMEOUT_MS)"
        );
        let service = Service::with_database(
            NAME,
            config.server.clone(),
            routes::router(state),
            ApiDoc::openapi(),
            db,
        );
        Ok(Self {
            server: Server::bind(service).await?,
            versions,
            pool,
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
    /// On SQLite, meanwhile, watch the file for bulk loads from other
    /// processes (`store::versions`).
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> std::io::Result<()> {
        let watching = shutdown.child_token();
        let watcher = self
            .versions
            .watcher(&self.pool)
            .await
            .map(|watcher| tokio::spawn(watcher.run(watching.clone())));
        let served = self.server.run(shutdown).await;
        watching.cancel();
        if let Some(watcher) = watcher {
            let _ = watcher.await;
        }
        served
    }
}
