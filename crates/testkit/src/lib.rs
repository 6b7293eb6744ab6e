//! Test support shared by the services' test suites (dev-dependency only):
//! key pairs generated at run time, a fresh database per test on SQLite or
//! PostgreSQL (a throwaway cluster started from the installed binaries, or
//! the server named by `TEST_DATABASE_URL`), [`both_engines!`] to write a
//! test once for both, readiness polling, the services' logs on demand
//! (`TEST_LOG`, see [`init_logs`]), a cookie-keeping [`browser::Browser`]
//! for the web pages, real service processes ([`process`]), a PostgreSQL
//! cluster a test may stop and start ([`PrivateCluster`]), the README
//! variables-table check ([`readme`]), the OpenAPI completeness check
//! ([`openapi`]) and committed generated files such as the OpenAPI documents
//! ([`golden`]).
//!
//! It knows no service: each suite starts its own application.

pub mod browser;
pub mod golden;
pub mod openapi;
mod private_pg;
pub mod process;
pub mod readme;

pub use private_pg::PrivateCluster;

use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A generated RSA key pair, also written to PEM files.
#[derive(Debug)]
pub struct Keys {
    /// PKCS#8 PEM private key.
    pub private_pem: String,
    /// SPKI PEM public key.
    pub public_pem: String,
    /// File holding `private_pem`.
    pub private_path: PathBuf,
    /// File holding `public_pem`.
    pub public_path: PathBuf,
    _dir: tempfile::TempDir,
}

fn generate() -> Keys {
    let (private_pem, public_pem) = tokens::generate_key_pair().expect("key generation works");
    let dir = tempfile::tempdir().expect("temp dir");
    let private_path = dir.path().join("private_key.pem");
    let public_path = dir.path().join("public_key.pub");
    std::fs::write(&private_path, &private_pem).expect("write private key");
    std::fs::write(&public_path, &public_pem).expect("write public key");
    Keys {
        private_pem,
        public_pem,
        private_path,
        public_path,
        _dir: dir,
    }
}

/// The key pair the services under test use (one per test process).
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(generate)
}

/// An unrelated key pair, for forged tokens.
pub fn other_keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(generate)
}

/// Which database engine a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh database on a PostgreSQL server.
    Postgres,
}

/// A fresh, empty database for one test; dropping it removes it (the
/// SQLite file, or the PostgreSQL database with its connections).
#[derive(Debug)]
pub struct TestDatabase {
    /// Connection URL for the service under test.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database to drop, and the server URL to drop it from.
    postgres: Option<(String, String)>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.postgres.take() else {
            return;
        };
        // Drop may run inside the test's runtime, which cannot be blocked
        // on: a short-lived thread with its own runtime does the work.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .map_err(std::io::Error::other)?;
                // `with (force)` ends the connections a stopping service still holds.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "drop database if exists \"{name}\" with (force)"
                )))
                .execute(&mut conn)
                .await
                .map_err(std::io::Error::other)?;
                Ok::<_, std::io::Error>(())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("testkit: the test database was not dropped: {e}");
        }
    }
}

impl TestDatabase {
    /// The SQLite database file, `None` on PostgreSQL.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.url.strip_prefix("sqlite://").map(PathBuf::from)
    }

    /// The size in bytes of the SQLite write-ahead log beside the database
    /// file (`<file>-wal`), 0 when there is none (it is deleted when the
    /// last connection closes cleanly) or on PostgreSQL.
    pub fn sqlite_wal_bytes(&self) -> u64 {
        self.sqlite_path()
            .map(|path| {
                let mut wal = path.into_os_string();
                wal.push("-wal");
                wal
            })
            .and_then(|wal| std::fs::metadata(wal).ok())
            .map_or(0, |m| m.len())
    }
}

/// A fresh database on `engine`.
pub async fn database(engine: Engine) -> TestDatabase {
    init_logs();
    match engine {
        Engine::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("test.sqlite3").display());
            TestDatabase {
                url,
                _dir: Some(dir),
                postgres: None,
            }
        }
        Engine::Postgres => {
            let admin = postgres_admin_url();
            let name = format!("t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL server: {e}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("create database \"{name}\"")))
                .execute(&mut conn)
                .await
                .expect("create test database");
            TestDatabase {
                url: with_database(&admin, &name),
                _dir: None,
                postgres: Some((admin, name)),
            }
        }
    }
}

/// Replace the database name in a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Where the throwaway cluster lives (shared by the test processes of one user).
pub fn cluster_dir() -> PathBuf {
    std::env::temp_dir().join("mythoughts-test-pg")
}

/// The URL of a PostgreSQL server where tests may create databases:
/// `TEST_DATABASE_URL` if set, else a throwaway cluster started (once, and
/// reused by later test processes) from the installed PostgreSQL binaries.
pub fn postgres_admin_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("TEST_DATABASE_URL") {
            return url;
        }
        start_cluster(&cluster_dir()).unwrap_or_else(|e| panic!("cannot start a test PostgreSQL cluster: {e}"))
    })
    .clone()
}

fn pg_bin(name: &str) -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Ok(Path::new(&dir).join(name));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin").join(name))
                .filter(|p| p.exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
        .pop()
        .ok_or_else(|| format!("{name} not found: install PostgreSQL or set TEST_DATABASE_URL"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// Run a PostgreSQL tool, as the `postgres` user when we are root (the
/// server refuses to run as root).
fn run_pg(tool: &str, args: &[&str]) -> Result<(), String> {
    let bin = pg_bin(tool)?;
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let out = cmd.args(args).output().map_err(|e| format!("{tool}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn start_cluster(dir: &Path) -> Result<String, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let url = format!(
        "postgres://postgres@localhost/postgres?host={}&port=5432",
        dir.display()
    );
    // One process at a time initialises or starts the cluster.
    let lock = std::fs::File::create(dir.join("lock")).map_err(|e| e.to_string())?;
    lock.lock().map_err(|e| e.to_string())?;
    let data = dir.join("data");
    let data_s = data.display().to_string();
    // Already running (started by an earlier test process)? `pg_ctl status`
    // also sees through a stale pid file left by a crash or reboot.
    if data.join("PG_VERSION").exists() && run_pg("pg_ctl", &["-D", &data_s, "status"]).is_ok() {
        return Ok(url);
    }
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .map_err(|e| e.to_string())?;
        if !ok.success() {
            return Err("cannot chown the cluster directory to postgres".into());
        }
    }
    if !data.join("PG_VERSION").exists() {
        run_pg(
            "initdb",
            &[
                "-D",
                &data_s,
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        )?;
    }
    let opts = format!(
        "-c listen_addresses='' -k {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
        dir.display()
    );
    let log = dir.join("server.log").display().to_string();
    run_pg(
        "pg_ctl",
        &["-D", &data_s, "-o", &opts, "-l", &log, "-w", "-t", "60", "start"],
    )?;
    Ok(url)
}

/// The error SQLite really gives when the disk is full (`SQLITE_FULL`),
/// provoked on an in-memory database capped with `max_page_count`: for unit
/// tests of how a service answers a full disk.
pub async fn sqlite_full_error() -> sqlx::Error {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .expect("in-memory SQLite");
    sqlx::query("create table t (x blob)")
        .execute(&pool)
        .await
        .expect("create");
    sqlx::query("pragma max_page_count = 2")
        .execute(&pool)
        .await
        .expect("cap");
    sqlx::query("insert into t values (randomblob(100000))")
        .execute(&pool)
        .await
        .expect_err("a capped database is full")
}

/// With `TEST_LOG` set, the services' logs of this test process go to the
/// test's output (shown for failing tests; `TEST_LOG=debug` or any
/// `RUST_LOG`-style filter picks the level, any other value means `info`).
/// Without it, nothing is printed. Idempotent; called by [`database`] and
/// [`wait_ready`], so suites need not call it themselves.
pub fn init_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let Ok(value) = std::env::var("TEST_LOG") else {
            return;
        };
        let directives = match value.as_str() {
            "" | "1" | "true" | "yes" | "on" => "info",
            filter => filter,
        };
        let filter = tracing_subscriber::EnvFilter::try_new(directives)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        // Another subscriber may be installed already (a test of telemetry).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// Poll `GET {base}/readyz` until it answers 200, for at most 20 seconds.
pub async fn wait_ready(base: &str) {
    init_logs();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = client.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{base} did not become ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A service running in a task of the test's runtime: cancelled when
/// dropped, or stopped and awaited with [`Running::stop`].
#[derive(Debug)]
pub struct Running {
    shutdown: tokio_util::sync::CancellationToken,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// Run `serve(token)` (an application's `run_until_stopped`) in a task.
    pub fn spawn<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(tokio_util::sync::CancellationToken) -> Fut,
        Fut: std::future::Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let shutdown = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(serve(shutdown.clone()));
        Self {
            shutdown,
            task: Some(task),
        }
    }

    /// Shut the service down as SIGTERM would (cancel its token) and wait,
    /// at most 30 s, until it has returned; panics if it failed.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        let task = self.task.take().expect("the service is stopped once");
        match tokio::time::timeout(Duration::from_secs(30), task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("the service stopped with an error: {e}"),
            Ok(Err(e)) => panic!("the service task failed: {e}"),
            Err(_) => panic!("the service did not stop within 30 s"),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Generate a module with one test per engine:
/// `both_engines!(async fn name(engine) { ... })` gives `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! both_engines {
    ($(async fn $name:ident($engine:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                async fn run($engine: $crate::Engine) $body
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() { run($crate::Engine::Sqlite).await }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() { run($crate::Engine::Postgres).await }
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_postgres_test_database_is_gone_even_with_open_connections() {
        let db = database(Engine::Postgres).await;
        let name = db
            .url
            .rsplit('/')
            .next()
            .and_then(|n| n.split('?').next())
            .expect("name")
            .to_owned();
        let _held = sqlx::PgConnection::connect(&db.url).await.expect("connected");
        drop(db);
        let mut admin = sqlx::PgConnection::connect(&postgres_admin_url()).await.expect("admin");
        let left: i64 = sqlx::query_scalar("select count(*) from pg_database where datname = $1")
            .bind(&name)
            .fetch_one(&mut admin)
            .await
            .expect("counted");
        assert_eq!(left, 0, "{name} still exists");
    }

    #[test]
    fn the_database_name_is_replaced_in_urls() {
        assert_eq!(with_database("postgres://u@h:1/postgres", "t"), "postgres://u@h:1/t");
        assert_eq!(
            with_database("postgres://u@h/postgres?host=/tmp/x", "t"),
            "postgres://u@h/t?host=/tmp/x"
        );
        assert_eq!(with_database("postgres://u@h", "t"), "postgres://u@h/t");
    }
}
