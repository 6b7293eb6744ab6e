//! Configuration helpers: settings shared by every service and the
//! "one line, exit 64" rule for bad configuration.

use clap::{Args, Parser};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Exit code for a missing or invalid configuration value: 64, which
/// `sysexits.h` calls `EX_USAGE` (not `EX_CONFIG`, which is 78), as
/// linkerd2-proxy and API.md use it.
pub const EXIT_CONFIG: i32 = 64;

/// What stays unescaped in a user, password or database name of a
/// PostgreSQL URL: the RFC 3986 unreserved characters.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Parse a service's configuration from arguments and the environment.
///
/// `--help` and `--version` print and exit 0; any error prints one line naming
/// the offending flag or variable and exits with [`EXIT_CONFIG`].
pub fn parse_or_exit<T: Parser>() -> T {
    match T::try_parse() {
        Ok(config) => config,
        Err(err) => match err.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                // Printing help to a closed stdout is not worth a panic.
                let _ = err.print();
                std::process::exit(0)
            }
            _ => {
                let text = err.to_string();
                let line = text
                    .lines()
                    .find(|l| l.starts_with("error:"))
                    .unwrap_or("error: invalid configuration");
                eprintln!("{line}");
                std::process::exit(EXIT_CONFIG)
            }
        },
    }
}

/// Where [`assemble`] takes a configuration's values from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The declared defaults only: nothing is read from the environment, so
    /// tests and embedding code get the same values on every machine.
    Defaults,
    /// The environment, then the declared defaults (what a service binary
    /// reads, minus its command line).
    Environment,
}

/// Build a service's configuration without a command line: every value from
/// `source`, to be adjusted field by field in code afterwards.
///
/// A setting that is required and has no default (a backend URL) comes back
/// empty: the caller sets it. Values are checked as the binary would check
/// them, so a bad environment variable is the same one-line error.
pub fn assemble<T: Parser>(source: Source) -> Result<T, clap::Error> {
    let command = T::command();
    let name = command.get_name().to_owned();
    let command = command.mut_args(|arg| {
        let arg = match source {
            Source::Defaults => arg.env(None),
            Source::Environment => arg,
        };
        if arg.is_required_set() {
            arg.required(false).default_value("")
        } else {
            arg
        }
    });
    let mut matches = command.try_get_matches_from([name])?;
    T::from_arg_matches_mut(&mut matches)
}

/// [`assemble`] from the declared defaults, for code that builds a
/// configuration it knows to be valid (tests, the all-in-one launcher).
pub fn defaults<T: Parser>() -> T {
    match assemble(Source::Defaults) {
        Ok(config) => config,
        // Only a default that does not parse as its own type gets here: a
        // programming error in the declaration, found by every test.
        Err(e) => panic!(
            "the declared defaults of {} do not parse: {e}",
            std::any::type_name::<T>()
        ),
    }
}

/// The first line of a clap error, for the "one line, exit 64" rule.
pub fn first_line(err: &clap::Error) -> String {
    let text = err.to_string();
    text.lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or("error: invalid configuration")
        .to_owned()
}

/// Print one line naming the configuration problem and exit with [`EXIT_CONFIG`].
pub fn exit_config(message: impl std::fmt::Display) -> ! {
    eprintln!("configuration error: {message}");
    std::process::exit(EXIT_CONFIG)
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (containers, log shippers).
    Json,
    /// Human readable, for a terminal.
    Pretty,
}

/// Settings every service shares: where to listen, how to log, what version it is.
#[derive(Debug, Clone, Args)]
pub struct ServerConfig {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 8000)]
    pub port: u16,
    /// Address of the admin listener (metrics, API docs).
    #[arg(long, env = "ADMIN_HOST", default_value = "0.0.0.0")]
    pub admin_host: IpAddr,
    /// Port of the admin listener, never published outside the cluster (0
    /// picks a free one).
    #[arg(long, env = "ADMIN_PORT", default_value_t = 9000)]
    pub admin_port: u16,
    /// Log format: json or pretty.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "json")]
    pub log_format: LogFormat,
    /// Version name reported by /admin/version/.
    #[arg(long, env = "VERSION_NAME", default_value = env!("CARGO_PKG_VERSION"))]
    pub version_name: String,
    /// Commit reported by /admin/version/.
    #[arg(long, env = "VERSION_SHA", default_value = "unknown")]
    pub version_sha: String,
    /// Largest accepted request body, in bytes (larger ones get 413).
    #[arg(long, env = "BODY_LIMIT_BYTES", default_value_t = 16 * 1024)]
    pub body_limit_bytes: usize,
    /// Seconds to keep serving after SIGTERM, with readiness already 503, so
    /// load balancers stop sending traffic before the listener closes.
    #[arg(long, env = "SHUTDOWN_DRAIN_SECONDS", default_value_t = 5)]
    pub shutdown_drain_seconds: u64,
    /// Milliseconds a client has to send a complete request head, counted
    /// from the connection's first byte (or from accepting it, for a
    /// connection's first request); slower connections are closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_MS", default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,
    /// Milliseconds a request's whole body may take to arrive after its
    /// head; a slower body is answered 408 and its connection closed.
    #[arg(long, env = "BODY_READ_TIMEOUT_MS", default_value_t = 10_000)]
    pub body_read_timeout_ms: u64,
    /// Seconds a keep-alive connection may wait for its next request
    /// before it is closed; longer than the keep-alive of the proxies and
    /// clients in front (60 s), so they always close first.
    #[arg(long, env = "IDLE_TIMEOUT_SECONDS", default_value_t = 75)]
    pub idle_timeout_seconds: u64,
    /// Most connections served at once per listener; further connections
    /// are closed at once (counted in `http_connections_refused_total`).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// OTLP/HTTP collector base URL (e.g. http://otel-collector:4318); traces
    /// are exported only when it is set.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otel_exporter_otlp_endpoint: Option<String>,
    /// OTLP protocol: http/protobuf or http/json.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_PROTOCOL", default_value = "http/protobuf")]
    pub otel_exporter_otlp_protocol: String,
    /// Service name in exported traces (default: the service's own name).
    #[arg(long, env = "OTEL_SERVICE_NAME")]
    pub otel_service_name: Option<String>,
    /// Probe this service's /healthz on 127.0.0.1:PORT and exit 0 when it
    /// answers 200, 1 otherwise (container health checks need no shell).
    #[arg(long)]
    pub healthcheck: bool,
}

impl ServerConfig {
    /// The socket address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The admin listener's socket address.
    pub fn admin_addr(&self) -> SocketAddr {
        SocketAddr::new(self.admin_host, self.admin_port)
    }

    /// A configuration built in code (tests, each service's `Config::local`;
    /// `mythoughts up` adjusts the declared defaults instead): listen on
    /// 127.0.0.1:`port` (0 picks a free one), the admin listener on
    /// 127.0.0.1 port 0, pretty logs, this crate's
    /// version and commit `unknown`, 16 KiB bodies, no drain period, the
    /// declared slow-client timeouts and connection cap, no trace export,
    /// not a health-check run. Change fields as needed.
    pub fn local(port: u16) -> Self {
        let declared = Self::declared();
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port,
            admin_host: IpAddr::from([127, 0, 0, 1]),
            admin_port: 0,
            log_format: LogFormat::Pretty,
            version_name: env!("CARGO_PKG_VERSION").to_owned(),
            version_sha: "unknown".to_owned(),
            body_limit_bytes: 16 * 1024,
            shutdown_drain_seconds: 0,
            header_read_timeout_ms: declared.header_read_timeout_ms,
            body_read_timeout_ms: declared.body_read_timeout_ms,
            idle_timeout_seconds: declared.idle_timeout_seconds,
            max_connections: declared.max_connections,
            otel_exporter_otlp_endpoint: None,
            otel_exporter_otlp_protocol: "http/protobuf".to_owned(),
            otel_service_name: None,
            healthcheck: false,
        }
    }
}

impl ServerConfig {
    /// The declared defaults of every setting, from the `#[arg]` attributes.
    fn declared() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            server: ServerConfig,
        }
        defaults::<Only>().server
    }

    /// How long a client may take to send a request head.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    /// How long a request body may take to arrive.
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_millis(self.body_read_timeout_ms)
    }

    /// How long a keep-alive connection may wait for its next request.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_seconds)
    }
}

/// How every outgoing call fails (`kit::client`): retries of idempotent
/// requests within a budget, and a circuit breaker per target. The
/// deadlines themselves belong to each caller (the frontend's
/// `BACKEND_TIMEOUT_MS`); attempts and backoff always fit inside them.
/// Flatten it into a service's configuration (`#[command(flatten)]`) so
/// every service that calls another has the same names.
#[derive(Debug, Clone, Args)]
pub struct OutgoingConfig {
    /// Extra attempts after a failed one, for GET/HEAD calls that were
    /// refused, timed out, cut or answered 502/503/504 (any method when the
    /// connection was refused before anything was sent); 0 = never retry.
    #[arg(long, env = "OUTGOING_RETRIES", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub outgoing_retries: u32,
    /// Backoff before the first retry, in milliseconds; each further retry
    /// waits twice as long, plus up to as much again of random jitter.
    #[arg(long, env = "OUTGOING_RETRY_BACKOFF_MS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub outgoing_retry_backoff_ms: u64,
    /// Retries per target may add at most this percentage of its calls (over
    /// the last 10 s) on top of OUTGOING_RETRY_MIN_PER_SECOND; further
    /// retries are refused (counted in `outgoing_retries_refused_total`).
    #[arg(long, env = "OUTGOING_RETRY_BUDGET_PERCENT", default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub outgoing_retry_budget_percent: u32,
    /// Retries per second per target allowed whatever the budget, so a
    /// quiet service can still retry a rare failure.
    #[arg(long, env = "OUTGOING_RETRY_MIN_PER_SECOND", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub outgoing_retry_min_per_second: u32,
    /// Longest one attempt of a retriable call may take before it is given
    /// up for a retry, in milliseconds (the last attempt gets whatever is
    /// left of the whole-call deadline). Keep it above the slowest normal
    /// answer (thoughts' SEARCH_TIMEOUT_MS).
    #[arg(long, env = "OUTGOING_ATTEMPT_TIMEOUT_MS", default_value_t = 2500, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub outgoing_attempt_timeout_ms: u64,
    /// Consecutive failed attempts (refused, timed out, 5xx) that open a
    /// target's circuit: calls then fail at once without being sent; 0 =
    /// never open.
    #[arg(long, env = "BREAKER_FAILURES", default_value_t = 5)]
    pub breaker_failures: u32,
    /// How long an open circuit refuses calls, in milliseconds; then one
    /// probe call is let through: success closes it, failure opens it again.
    #[arg(long, env = "BREAKER_OPEN_MS", default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub breaker_open_ms: u64,
}

impl Default for OutgoingConfig {
    /// The declared defaults, from the `#[arg]` attributes.
    fn default() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            outgoing: OutgoingConfig,
        }
        defaults::<Only>().outgoing
    }
}

impl OutgoingConfig {
    /// Every call sent once, and no circuit breaker: for tests that exercise a
    /// service through its client and must see each answer as it is.
    pub fn direct() -> Self {
        Self {
            outgoing_retries: 0,
            breaker_failures: 0,
            ..Self::default()
        }
    }
}

/// Database engine names, as the book spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[clap(rename_all = "UPPER")]
pub enum DatabaseEngine {
    /// Embedded SQLite file under `DATA_DIR`.
    Sqlite,
    /// PostgreSQL via `POSTGRES_*`.
    Postgresql,
}

/// Database settings with the book's variable names.
#[derive(Debug, Clone, Args)]
pub struct DatabaseConfig {
    /// SQLITE (default) or POSTGRESQL.
    #[arg(
        long,
        env = "DATABASE_ENGINE",
        value_enum,
        ignore_case = true,
        default_value = "SQLITE"
    )]
    pub database_engine: DatabaseEngine,
    /// PostgreSQL host.
    #[arg(long, env = "POSTGRES_HOST", default_value = "localhost")]
    pub postgres_host: String,
    /// PostgreSQL port.
    #[arg(long, env = "POSTGRES_PORT", default_value_t = 5432)]
    pub postgres_port: u16,
    /// PostgreSQL database name.
    #[arg(long, env = "POSTGRES_DB")]
    pub postgres_db: Option<String>,
    /// PostgreSQL user.
    #[arg(long, env = "POSTGRES_USER", default_value = "postgres")]
    pub postgres_user: String,
    /// PostgreSQL password.
    #[arg(long, env = "POSTGRES_PASSWORD", hide_env_values = true)]
    pub postgres_password: Option<String>,
    /// A file holding the PostgreSQL password (a Compose or Kubernetes
    /// secret); one trailing newline is ignored. Exclusive with
    /// `POSTGRES_PASSWORD`.
    #[arg(long, env = "POSTGRES_PASSWORD_FILE", conflicts_with = "postgres_password")]
    pub postgres_password_file: Option<PathBuf>,
    /// `sqlite://<path>` or `postgres://...`; overrides the variables above.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory of the default SQLite file.
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Largest number of pooled database connections.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,
}

impl DatabaseConfig {
    /// A configuration built in code (tests, each service's `Config::local`;
    /// `mythoughts up` sets `database_url` on the declared defaults) that
    /// connects to `url` (`sqlite://…` or `postgres://…`; [`DatabaseConfig::url`]
    /// returns it as is), with the variables' defaults for everything else
    /// (10 pooled connections, `./data`).
    pub fn with_url(url: impl Into<String>) -> Self {
        Self {
            database_engine: DatabaseEngine::Sqlite,
            postgres_host: "localhost".into(),
            postgres_port: 5432,
            postgres_db: None,
            postgres_user: "postgres".into(),
            postgres_password: None,
            postgres_password_file: None,
            database_url: Some(url.into()),
            data_dir: PathBuf::from("./data"),
            database_max_connections: 10,
        }
    }

    /// The connection URL: `DATABASE_URL` if given, else one built from the
    /// engine variables. `default_name` is the SQLite file stem and the
    /// PostgreSQL database when `POSTGRES_DB` is unset. Fails (a
    /// configuration error) when `POSTGRES_PASSWORD_FILE` cannot be read.
    pub fn url(&self, default_name: &str) -> Result<String, StartupError> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        Ok(match self.database_engine {
            DatabaseEngine::Sqlite => {
                let path = self.data_dir.join(format!("{default_name}.sqlite3"));
                format!("sqlite://{}", path.display())
            }
            DatabaseEngine::Postgresql => {
                let enc = |s: &str| utf8_percent_encode(s, URL_COMPONENT).to_string();
                let from_file = match &self.postgres_password_file {
                    Some(path) => Some(read_secret(path).map_err(|e| {
                        StartupError::Config(format!("POSTGRES_PASSWORD_FILE {}: {e}", path.display()))
                    })?),
                    None => None,
                };
                let password = from_file
                    .as_deref()
                    .or(self.postgres_password.as_deref())
                    .map(|p| format!(":{}", enc(p)))
                    .unwrap_or_default();
                let db = self.postgres_db.as_deref().unwrap_or(default_name);
                let (user, port) = (enc(&self.postgres_user), self.postgres_port);
                if self.postgres_host.starts_with('/') {
                    // A host starting with `/` is a Unix socket directory, as in libpq.
                    format!(
                        "postgres://{user}{password}@localhost:{port}/{}?host={}",
                        enc(db),
                        self.postgres_host
                    )
                } else {
                    format!("postgres://{user}{password}@{}:{port}/{}", self.postgres_host, enc(db))
                }
            }
        })
    }
}

/// Read a secret from a file (`*_FILE` settings, mounted Compose or
/// Kubernetes secrets): the content with trailing line breaks removed.
pub fn read_secret(path: &std::path::Path) -> std::io::Result<String> {
    let text = std::fs::read_to_string(path)?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

/// Why a service could not start: bad configuration (exit 64) or anything else (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A missing or invalid setting; the message names it.
    #[error("{0}")]
    Config(String),
    /// Any other start-up failure (database unreachable, port taken, ...).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl StartupError {
    /// Print one line and exit: 64 for configuration errors, 1 otherwise.
    pub fn exit(self) -> ! {
        match self {
            Self::Config(message) => exit_config(message),
            Self::Other(e) => {
                eprintln!("error: {e:#}");
                std::process::exit(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A configuration reading `PATH`, which every test process has.
    #[derive(Debug, Parser)]
    struct Probe {
        #[arg(long, env = "PATH", default_value = "declared")]
        path: String,
        #[arg(long, env = "MYTHOUGHTS_PROBE_URL_NEVER_SET")]
        url: String,
        #[arg(long, default_value_t = 7)]
        count: u32,
    }

    #[test]
    fn defaults_ignore_the_environment_and_leave_required_values_empty() {
        let probe: Probe = defaults();
        assert_eq!(probe.path, "declared");
        assert_eq!(probe.url, "", "a required setting has no default: the caller sets it");
        assert_eq!(probe.count, 7);
    }

    #[test]
    fn the_environment_source_reads_variables_like_the_binary_does() {
        let probe: Probe = assemble(Source::Environment).expect("parsed");
        assert_eq!(probe.path, std::env::var("PATH").expect("PATH is set"));
        assert_eq!(probe.count, 7);
    }

    fn postgres(host: &str, password: Option<&str>) -> DatabaseConfig {
        DatabaseConfig {
            database_engine: DatabaseEngine::Postgresql,
            postgres_host: host.into(),
            postgres_db: Some("thoughts".into()),
            postgres_user: "svc user".into(),
            postgres_password: password.map(str::to_owned),
            database_url: None,
            ..DatabaseConfig::with_url("unused")
        }
    }

    #[test]
    fn the_books_postgres_variables_make_a_url_with_escaped_credentials() {
        let url = postgres("db.internal", Some("p@ss:w/rd")).url("x").expect("url");
        assert_eq!(url, "postgres://svc%20user:p%40ss%3Aw%2Frd@db.internal:5432/thoughts");
    }

    #[test]
    fn a_socket_directory_host_becomes_a_host_parameter() {
        let url = postgres("/run/postgresql", None).url("x").expect("url");
        assert_eq!(
            url,
            "postgres://svc%20user@localhost:5432/thoughts?host=/run/postgresql"
        );
    }

    #[test]
    fn sqlite_files_live_under_the_data_dir_and_database_url_wins() {
        let mut c = DatabaseConfig::with_url("sqlite://elsewhere.db");
        assert_eq!(c.url("users").expect("url"), "sqlite://elsewhere.db");
        c.database_url = None;
        c.data_dir = PathBuf::from("/var/lib/mt");
        assert_eq!(c.url("users").expect("url"), "sqlite:///var/lib/mt/users.sqlite3");
    }

    #[test]
    fn the_password_can_come_from_a_secret_file_and_a_missing_file_is_a_config_error() {
        let dir = std::env::temp_dir().join(format!("kit-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("db_password");
        std::fs::write(&file, "s3cr3t/+\n").expect("written");
        let mut c = postgres("db", None);
        c.postgres_password_file = Some(file.clone());
        assert_eq!(
            c.url("x").expect("url"),
            "postgres://svc%20user:s3cr3t%2F%2B@db:5432/thoughts"
        );
        c.postgres_password_file = Some(dir.join("absent"));
        match c.url("x") {
            Err(StartupError::Config(message)) => assert!(message.starts_with("POSTGRES_PASSWORD_FILE"), "{message}"),
            other => panic!("expected a configuration error, got {other:?}"),
        }
        std::fs::remove_dir_all(&dir).expect("cleaned");
    }
}
