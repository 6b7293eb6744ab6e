//! `mythoughts up`: users, thoughts and frontend in one process.
//!
//! Each service is the same library the separate binaries run, configured
//! in code and bound to its own port; they still talk HTTP over loopback.
//! If one service stops on its own, the others are stopped and `up` fails.

use crate::keys;
use clap::{Args, ValueEnum};
use kit::config::{LogFormat, ServerConfig, StartupError};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use tokio::task::JoinSet;
use tracing::Instrument;

fn service_span(name: &'static str) -> tracing::Span {
    kit::telemetry::service_span(name, env!("CARGO_PKG_VERSION"))
}
use tokio_util::sync::CancellationToken;

/// One of the services `up` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Component {
    /// Web pages, on the base port.
    Frontend,
    /// Accounts and tokens, on base port + 1.
    Users,
    /// Thoughts and search, on base port + 2.
    Thoughts,
}

/// Each service's configuration before `up` sets its address, files and
/// backend URLs: the settings `up` does not own (ADMIN_USERNAME,
/// SIGNUP_ENABLED, LIST_MAX_ITEMS, ...).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The users service's.
    pub users: users::Config,
    /// The thoughts service's.
    pub thoughts: thoughts::Config,
    /// The frontend's.
    pub frontend: frontend::Config,
}

impl Settings {
    /// Every service's declared defaults; nothing is read from the
    /// environment (tests, embedding).
    pub fn defaults() -> Self {
        Self {
            users: kit::config::defaults(),
            thoughts: kit::config::defaults(),
            frontend: kit::config::defaults(),
        }
    }

    /// Each service's variables as its own binary would read them, parsed
    /// once when `mythoughts` starts. An invalid value is a configuration
    /// error naming it.
    pub fn from_environment() -> Result<Self, StartupError> {
        use kit::config::{Source, assemble, first_line};
        let config = |e: clap::Error| StartupError::Config(first_line(&e).trim_start_matches("error: ").to_owned());
        Ok(Self {
            users: assemble(Source::Environment).map_err(config)?,
            thoughts: assemble(Source::Environment).map_err(config)?,
            frontend: assemble(Source::Environment).map_err(config)?,
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::defaults()
    }
}

/// Flags of `mythoughts up`.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// Base port: the frontend listens on it, users on +1, thoughts on +2.
    /// 0 picks free ports for all three.
    #[arg(long, env = "MYTHOUGHTS_PORT", default_value_t = 8000)]
    pub port: u16,
    /// Address to listen on (use 0.0.0.0 to be reachable from other machines).
    #[arg(long, env = "MYTHOUGHTS_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Holds each service's SQLite file and the development key pair (keys/).
    #[arg(long, env = "MYTHOUGHTS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Run only these services (comma-separated); the others are expected at
    /// their usual ports.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub only: Vec<Component>,
    /// Load demo users and thoughts once the services are up (idempotent).
    #[arg(long)]
    pub demo: bool,
    /// Log format (default: pretty on a terminal, JSON otherwise).
    #[arg(long, env = "LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Probe /healthz of every selected service on 127.0.0.1 at their usual
    /// ports and exit 0 when all answer (container health checks need no shell).
    #[arg(long)]
    pub healthcheck: bool,
    /// The services' other settings (defaults unless the caller reads the
    /// environment into them, as the `mythoughts` binary does).
    #[arg(skip)]
    pub settings: std::sync::Arc<Settings>,
}

impl UpArgs {
    /// Defaults with the given base port and data directory (tests, embedding).
    pub fn new(port: u16, data_dir: PathBuf) -> Self {
        Self {
            port,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            data_dir,
            only: Vec::new(),
            demo: false,
            log_format: None,
            healthcheck: false,
            settings: std::sync::Arc::new(Settings::defaults()),
        }
    }

    /// True when every selected service answers `/healthz` at its usual port.
    pub async fn healthy(&self) -> bool {
        let mut ok = true;
        for (c, offset) in [
            (Component::Frontend, 0),
            (Component::Users, 1),
            (Component::Thoughts, 2),
        ] {
            if self.runs(c) {
                ok &= kit::lifecycle::healthcheck(self.port.saturating_add(offset)).await;
            }
        }
        ok
    }

    fn runs(&self, c: Component) -> bool {
        self.only.is_empty() || self.only.contains(&c)
    }

    /// The log format to use: the flag, else pretty on a terminal.
    pub fn log_format(&self) -> LogFormat {
        use std::io::IsTerminal;
        self.log_format.unwrap_or(if std::io::stdout().is_terminal() {
            LogFormat::Pretty
        } else {
            LogFormat::Json
        })
    }
}

/// Where the running services listen.
#[derive(Debug, Clone, Default)]
pub struct Urls {
    /// Frontend base URL, if it runs here.
    pub frontend: Option<String>,
    /// Users service base URL (here or expected).
    pub users: String,
    /// Thoughts service base URL (here or expected).
    pub thoughts: String,
    /// Admin listener (metrics, API docs) base URL of each service run here.
    pub admin: Vec<(&'static str, String)>,
}

/// A started system: bound and serving until the shutdown token is cancelled.
pub struct System {
    /// Where each service is.
    pub urls: Urls,
    tasks: JoinSet<(&'static str, std::io::Result<()>)>,
    shutdown: CancellationToken,
}

/// Build, bind and start every selected service. If one cannot start, the
/// ones already started are stopped before the error is returned.
pub async fn start(args: &UpArgs, shutdown: CancellationToken) -> Result<System, StartupError> {
    let mut tasks = JoinSet::new();
    match start_all(args, shutdown.clone(), &mut tasks).await {
        Ok(urls) => Ok(System { urls, tasks, shutdown }),
        Err(e) => {
            shutdown.cancel();
            while tasks.join_next().await.is_some() {}
            Err(e)
        }
    }
}

async fn start_all(
    args: &UpArgs,
    shutdown: CancellationToken,
    tasks: &mut JoinSet<(&'static str, std::io::Result<()>)>,
) -> Result<Urls, StartupError> {
    let data = &args.data_dir;
    // Owner-only when we create it (issue 9): it holds databases, keys and the demo password.
    kit::db::create_private_dir_all(data)
        .map_err(|e| StartupError::Config(format!("--data-dir {}: {e}", data.display())))?;
    let key_dir = data.join("keys");
    let (private_key, public_key) = if args.runs(Component::Users) {
        keys::ensure_pair(&key_dir).map_err(|e| StartupError::Config(format!("{e:#}")))?
    } else {
        keys::paths(&key_dir)
    };
    let port = |offset: u16| {
        if args.port == 0 {
            0
        } else {
            args.port.saturating_add(offset)
        }
    };
    // Services reach each other over loopback when bound to every address.
    let local = if args.bind.is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        args.bind.to_string()
    };
    let local = if local.contains(':') {
        format!("[{local}]")
    } else {
        local
    };
    // Each service's admin listener (metrics, API docs) sits 10 above its
    // public port: 8010 frontend, 8011 users, 8012 thoughts by default.
    let server = |base: &ServerConfig, offset: u16| ServerConfig {
        host: args.bind,
        port: port(offset),
        admin_host: args.bind,
        admin_port: if args.port == 0 {
            0
        } else {
            port(offset).saturating_add(10)
        },
        log_format: args.log_format(),
        ..base.clone()
    };
    let sqlite = |name: &str| Some(format!("sqlite://{}", data.join(format!("{name}.sqlite3")).display()));
    let mut urls = Urls {
        users: format!("http://{local}:{}", port(1)),
        thoughts: format!("http://{local}:{}", port(2)),
        frontend: None,
        admin: Vec::new(),
    };
    // Shut down in dependency order: the frontend drains first, the backends
    // it calls keep serving until it has stopped, then drain in turn.
    let backends_shutdown = CancellationToken::new();
    let frontend_done = CancellationToken::new();
    // Until a frontend task owns it, `frontend_done` is cancelled when this
    // function returns (no frontend, or a start-up error), so that the
    // backends are never left waiting for a frontend that does not run.
    let frontend_guard = frontend_done.clone().drop_guard();
    {
        let (shutdown, backends, done) = (shutdown.clone(), backends_shutdown.clone(), frontend_done.clone());
        tokio::spawn(async move {
            shutdown.cancelled().await;
            done.cancelled().await;
            backends.cancel();
        });
    }

    if args.runs(Component::Users) {
        let mut config = args.settings.users.clone();
        config.server = server(&config.server, 1);
        config.database.database_url = sqlite("users");
        config.private_key_path = private_key;
        // The frontend calls over loopback and forwards the browser's address.
        config.trusted_proxies = "127.0.0.1,::1".into();
        let app = users::Application::build(config)
            .instrument(service_span("users"))
            .await?;
        urls.users = format!("http://{local}:{}", app.port());
        urls.admin
            .push(("users", format!("http://{local}:{}", app.admin_port())));
        let token = backends_shutdown.clone();
        tasks.spawn(async move { ("users", app.run_until_stopped(token).await) });
    }
    if args.runs(Component::Thoughts) {
        let mut config = args.settings.thoughts.clone();
        config.server = server(&config.server, 2);
        config.database.database_url = sqlite("thoughts");
        config.keys.public_key_path = Some(public_key.clone());
        // The frontend forwards each visitor's address for the search limit.
        config.trusted_proxies = "127.0.0.1,::1".into();
        let app = thoughts::Application::build(config)
            .instrument(service_span("thoughts"))
            .await?;
        urls.thoughts = format!("http://{local}:{}", app.port());
        urls.admin
            .push(("thoughts", format!("http://{local}:{}", app.admin_port())));
        let token = backends_shutdown.clone();
        tasks.spawn(async move { ("thoughts", app.run_until_stopped(token).await) });
    }
    if args.runs(Component::Frontend) {
        let mut config = args.settings.frontend.clone();
        config.server = server(&config.server, 0);
        config.user_backend_url = urls.users.clone();
        config.thoughts_backend_url = urls.thoughts.clone();
        config.keys.public_key_path = Some(public_key.clone());
        let app = frontend::Application::build(config)
            .instrument(service_span("frontend"))
            .await?;
        urls.frontend = Some(format!("http://{local}:{}", app.port()));
        urls.admin
            .push(("frontend", format!("http://{local}:{}", app.admin_port())));
        let token = shutdown.clone();
        // The guard moves into the task: however it ends (even by a panic),
        // the backends are then released.
        tasks.spawn(async move {
            let _done = frontend_guard;
            ("frontend", app.run_until_stopped(token).await)
        });
    }
    Ok(urls)
}

impl System {
    /// Wait until every service has stopped. A service that stops before
    /// shutdown was asked for is a failure: the others are stopped too.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let mut failure: Option<anyhow::Error> = None;
        while let Some(joined) = self.tasks.join_next().await {
            let early = !self.shutdown.is_cancelled();
            let problem = match joined {
                Ok((name, Err(e))) => Some(anyhow::anyhow!("{name} failed: {e}")),
                Ok((name, Ok(()))) if early => Some(anyhow::anyhow!("{name} stopped unexpectedly")),
                Ok(_) => None,
                Err(e) => Some(anyhow::anyhow!("a service crashed: {e}")),
            };
            if let Some(p) = problem {
                tracing::error!(error = %p, "stopping the other services");
                self.shutdown.cancel();
                failure.get_or_insert(p);
            }
        }
        failure.map_or(Ok(()), Err)
    }
}
