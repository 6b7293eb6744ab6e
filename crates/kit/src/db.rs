//! Database connection for both engines: SQLite (embedded default) and
//! PostgreSQL, chosen from the URL scheme. Services bring their own SQL and
//! migrations; [`on_pool!`](crate::on_pool) runs the same code on either pool.

use crate::config::StartupError;
use anyhow::Context;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlSafeStr, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod checkpoint;

/// A connection pool on one of the two supported engines.
#[derive(Debug, Clone)]
pub enum Pool {
    /// Embedded SQLite (WAL mode).
    Sqlite(SqlitePool),
    /// PostgreSQL.
    Postgres(PgPool),
}

/// A service's database: its pool, the service name for metrics and, on
/// SQLite, the turn writers take and the task that keeps the write-ahead log
/// short.
///
/// SQLite lets one writer at a time into the file; writers that collide wait
/// in its busy handler, which polls with sleeps of up to 100 ms, so under 32
/// concurrent posts some waited more than a second while others went by
/// (issue 13: a POST p99 of 700 ms on an idle machine). Writes therefore take
/// turns on a first-come, first-served lock ([`Database::write_turn`],
/// [`on_writer!`](crate::on_writer)), each waiting only for the ones ahead of
/// it, and a commit's autocheckpoint finishes before the next write starts,
/// so the log can restart instead of growing.
#[derive(Debug, Clone)]
pub struct Database {
    pool: Pool,
    service: &'static str,
    writes: Arc<tokio::sync::Mutex<()>>,
    checkpointer: Option<Arc<checkpoint::Checkpointer>>,
}

/// Run the same expression with `$conn` bound to a connection taken from
/// whichever pool `$db` holds (the wait is measured). The expression is
/// compiled once per engine, so it may use engine-typed queries and rows;
/// the enclosing function's error type must convert from `sqlx::Error`.
///
/// For statements that write, use [`on_writer!`](crate::on_writer).
#[macro_export]
macro_rules! on_pool {
    ($db:expr, |$conn:ident| $body:expr) => {{
        let db: &$crate::db::Database = $db;
        match db.pool() {
            $crate::db::Pool::Sqlite(p) => {
                let mut c = $crate::db::acquire(db.service(), p).await?;
                let $conn = &mut *c;
                $body
            }
            $crate::db::Pool::Postgres(p) => {
                let mut c = $crate::db::acquire(db.service(), p).await?;
                let $conn = &mut *c;
                $body
            }
        }
    }};
}

/// [`on_pool!`](crate::on_pool) for statements that write (a transaction
/// that may write included): on SQLite the expression runs in this process's
/// write turn ([`Database::write_turn`]), taken before the connection so
/// that writers queueing for it hold no connection that readers need.
/// Never nest it: the turn is not reentrant.
#[macro_export]
macro_rules! on_writer {
    ($db:expr, |$conn:ident| $body:expr) => {{
        let db: &$crate::db::Database = $db;
        let _turn = db.write_turn().await;
        $crate::on_pool!(db, |$conn| $body)
    }};
}

/// Take a connection from `pool`, recording the wait in
/// `db_pool_acquire_duration_seconds{service}`.
pub async fn acquire<DB: sqlx::Database>(
    service: &'static str,
    pool: &sqlx::Pool<DB>,
) -> Result<sqlx::pool::PoolConnection<DB>, sqlx::Error> {
    let started = Instant::now();
    let conn = pool.acquire().await;
    metrics::histogram!("db_pool_acquire_duration_seconds", "service" => service)
        .record(started.elapsed().as_secs_f64());
    conn
}

/// [`on_writer!`](crate::on_writer) for work in one transaction: `$tx` is a
/// begun [`sqlx::Transaction`] on a [`TxConnection`], which the expression
/// commits (dropping it rolls back, as sqlx does). Use it instead of calling
/// `begin` on the connection `on_writer!` gives: see [`TxConnection`] for
/// what a cancelled `begin` does otherwise.
#[macro_export]
macro_rules! in_transaction {
    ($db:expr, |$tx:ident| $body:expr) => {{
        let db: &$crate::db::Database = $db;
        let _turn = db.write_turn().await;
        match db.pool() {
            $crate::db::Pool::Sqlite(p) => {
                let mut c = $crate::db::TxConnection::new($crate::db::acquire(db.service(), p).await?);
                let mut $tx = c.begin().await?;
                $body
            }
            $crate::db::Pool::Postgres(p) => {
                let mut c = $crate::db::TxConnection::new($crate::db::acquire(db.service(), p).await?);
                let mut $tx = c.begin().await?;
                $body
            }
        }
    }};
}

/// A pooled connection to begin transactions on, closed instead of given
/// back to the pool when it is dropped while a [`TxConnection::begin`] on it
/// had not returned: the request it served was abandoned (its client gone,
/// a deadline cut it) while the database was answering `BEGIN`.
///
/// sqlx 0.9's `begin` is not safe to cancel there. On PostgreSQL its guard
/// queues a `ROLLBACK` only when the transaction depth is above zero, and the
/// depth is raised only after the server's answer has been read; so the
/// connection went back to the pool inside a transaction nobody would end,
/// and every statement later run on it joined that transaction: posts
/// answered `201` were visible on that connection only, and vanished when a
/// later rollback there discarded them (a `bench/run` on PostgreSQL lost
/// about 800 of 24,000 acknowledged posts this way, seen as `404`s when it
/// deleted the ones it had listed). On SQLite sqlx's worker thread rolls back a `BEGIN`
/// whose caller has stopped waiting, but not one whose answer it sent just
/// before the caller stopped. Closed, the connection takes its transaction
/// with it (PostgreSQL rolls back when the session ends, SQLite when the
/// connection closes) and the pool opens a fresh one in its place.
pub struct TxConnection<DB: sqlx::Database> {
    conn: sqlx::pool::PoolConnection<DB>,
    beginning: bool,
}

impl<DB: sqlx::Database> TxConnection<DB> {
    /// Wrap a connection taken from the pool.
    pub fn new(conn: sqlx::pool::PoolConnection<DB>) -> Self {
        Self { conn, beginning: false }
    }

    /// Begin a transaction (sqlx's [`sqlx::Connection::begin`]); if this
    /// future is dropped before it returns, or it fails, the connection is
    /// closed when `self` is dropped.
    pub async fn begin(&mut self) -> Result<sqlx::Transaction<'_, DB>, sqlx::Error> {
        self.beginning = true;
        #[allow(clippy::disallowed_methods)] // the one guarded call (clippy.toml)
        let tx = sqlx::Connection::begin(&mut *self.conn).await?;
        self.beginning = false;
        Ok(tx)
    }
}

/// Statements outside a transaction run on the connection itself.
impl<DB: sqlx::Database> std::ops::Deref for TxConnection<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl<DB: sqlx::Database> std::ops::DerefMut for TxConnection<DB> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

impl<DB: sqlx::Database> Drop for TxConnection<DB> {
    fn drop(&mut self) {
        if self.beginning {
            self.conn.close_on_drop();
        }
    }
}

/// One embedded migration: version, description and SQL text.
pub type MigrationSource = (i64, &'static str, &'static str);

/// A service's migrations for each engine (SQL dialects differ).
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// Applied on SQLite.
    pub sqlite: &'static [MigrationSource],
    /// Applied on PostgreSQL.
    pub postgres: &'static [MigrationSource],
}

fn migrator(sources: &'static [MigrationSource]) -> Migrator {
    let migrations = sources
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                (*description).into(),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    // Expand/contract: the previous release of a service must start against
    // a schema the next release has already migrated (a rollback, or N-1 and
    // N side by side during a rolling update). Migrations it does not know are
    // newer ones, additive by rule (docs/independent-releases.md); the ones it
    // knows are still checked against their checksums.
    migrator.set_ignore_missing(true);
    migrator
}

/// SQLite checkpoints the WAL into the database after a commit leaves it
/// this many pages long (4 MiB with 4 KiB pages).
const WAL_AUTOCHECKPOINT_PAGES: u32 = 1000;

/// The WAL is truncated to this size when a checkpoint lets it restart.
const JOURNAL_SIZE_LIMIT_BYTES: u64 = 16 * 1024 * 1024;

/// A PostgreSQL connection idle for longer than this is pinged before use.
const PG_PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// How long [`Database::close`] waits for connections still in use.
const CLOSE_PATIENCE: Duration = Duration::from_secs(10);

/// Parsed connection settings for one engine.
#[derive(Debug, Clone)]
enum Options {
    Sqlite(SqliteConnectOptions, bool),
    Postgres(PgConnectOptions),
}

/// Rows a SQLite query may have in flight between the connection's worker
/// thread and the task reading them (see [`parse_url`]).
const ROW_CHANNEL_ROWS: usize = 1024;

fn parse_url(url: &str) -> Result<Options, String> {
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| format!("DATABASE_URL is not a valid SQLite URL: {e}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Bounds on the write-ahead log (issue 9): checkpoint once it
            // holds 1000 pages (SQLite's default, stated so nobody turns it
            // off), and truncate it back to 16 MiB whenever a checkpoint lets
            // it restart; the checkpointer task empties it should readers
            // keep it from restarting. A write must be stepped to
            // SQLITE_DONE for SQLite to run its autocheckpoint, so `insert …
            // returning` is read with `fetch_all`, never `fetch_one` (see the
            // services' stores).
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string())
            .pragma("journal_size_limit", JOURNAL_SIZE_LIMIT_BYTES.to_string())
            // Rows travel from the connection's worker thread to the query
            // through a bounded channel (sqlx's default: 50 rows). A list
            // page bigger than that made the worker stop and wait for the
            // handler to drain it, a thread hand-off each way; with room for
            // the largest page (1000 rows, and the one that says more
            // follow) it never waits. The channel grows only as rows arrive.
            .row_buffer_size(ROW_CHANNEL_ROWS);
        Ok(Options::Sqlite(options, url.contains(":memory:")))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        PgConnectOptions::from_str(url)
            .map(Options::Postgres)
            .map_err(|e| format!("database settings (DATABASE_URL or POSTGRES_*) are not valid: {e}"))
    } else {
        Err("DATABASE_URL must start with sqlite: or postgres:".to_owned())
    }
}

impl Database {
    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Wait for this process's turn to write on SQLite (first come, first
    /// served) and hold the guard until the write is done; `None` at once on
    /// PostgreSQL, whose row locks let writers run side by side.
    pub async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.pool {
            Pool::Sqlite(_) => Some(self.writes.lock().await),
            Pool::Postgres(_) => None,
        }
    }

    /// The owning service's name.
    pub fn service(&self) -> &'static str {
        self.service
    }

    async fn connect_with(options: Options, max_connections: u32) -> anyhow::Result<Pool> {
        match options {
            Options::Sqlite(options, in_memory) => {
                let path = options.get_filename().to_path_buf();
                if !in_memory {
                    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                        create_private_dir_all(parent)
                            .with_context(|| format!("cannot create data directory {}", parent.display()))?;
                    }
                    // The file holds password hashes (issue 9): create it
                    // owner-only before SQLite does (SQLite would honour the
                    // umask, typically 0644). SQLite gives its `-wal` and
                    // `-shm` files the database file's mode.
                    create_private_file(&path)
                        .with_context(|| format!("cannot create SQLite database {}", path.display()))?;
                }
                // Each in-memory connection would be its own database: keep one.
                let max = if in_memory { 1 } else { max_connections };
                let pool = SqlitePoolOptions::new()
                    .max_connections(max)
                    // No `ping` before each use (issue 13): sqlx's default
                    // costs a round trip to the connection's worker thread
                    // per query, and a connection to a file in this process
                    // cannot have been dropped by a server. (sqlx still pings
                    // each connection it takes back.)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await
                    .with_context(|| format!("cannot open SQLite database {}", path.display()))?;
                Ok(Pool::Sqlite(pool))
            }
            Options::Postgres(options) => {
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections)
                    // sqlx's default pings every connection before each use:
                    // one more round trip to the server per query (issue 13).
                    // Under load a connection is back in use within
                    // milliseconds and cannot have gone stale unnoticed (sqlx
                    // pings it when it is given back); only one that sat idle
                    // a while, which a restart or a proxy may have cut, is
                    // checked first.
                    .test_before_acquire(false)
                    .before_acquire(|conn, meta| {
                        Box::pin(async move {
                            if meta.idle_for > PG_PING_IDLE_AFTER {
                                sqlx::Connection::ping(conn).await?;
                            }
                            Ok(true)
                        })
                    })
                    .acquire_timeout(Duration::from_secs(5))
                    .connect_with(options)
                    .await
                    .context("cannot connect to PostgreSQL")?;
                Ok(Pool::Postgres(pool))
            }
        }
    }

    /// Connect to `url` (`sqlite://path`, `sqlite::memory:` or
    /// `postgres://…`) and apply migrations, retrying for up to `patience` while the
    /// database is not reachable yet (it may start after us). A malformed
    /// URL is a configuration error at once.
    pub async fn connect_and_migrate(
        service: &'static str,
        url: &str,
        max_connections: u32,
        migrations: Migrations,
        patience: Duration,
    ) -> Result<Self, StartupError> {
        let options = parse_url(url).map_err(StartupError::Config)?;
        let started = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            let attempt = async {
                let pool = Self::connect_with(options.clone(), max_connections).await?;
                let mut db = Self {
                    pool,
                    service,
                    writes: Arc::default(),
                    checkpointer: None,
                };
                db.migrate(migrations).await?;
                if let Options::Sqlite(options, false) = &options {
                    let checkpointer = checkpoint::Checkpointer::start(service, options, db.writes.clone())
                        .await
                        .context("cannot start the WAL checkpointer")?;
                    db.checkpointer = Some(Arc::new(checkpointer));
                }
                anyhow::Ok(db)
            }
            .await;
            match attempt {
                Ok(db) => return Ok(db),
                Err(e) if started.elapsed() + delay < patience => {
                    tracing::warn!(error = %format!("{e:#}"), "database not ready, retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(StartupError::Other(e)),
            }
        }
    }

    /// Apply the embedded migrations for this engine (forward only). On
    /// PostgreSQL the migrator holds an advisory lock, so replicas starting
    /// at once apply each migration exactly once.
    pub async fn migrate(&self, migrations: Migrations) -> anyhow::Result<()> {
        match &self.pool {
            Pool::Sqlite(pool) => migrator(migrations.sqlite).run(pool).await,
            Pool::Postgres(pool) => migrator(migrations.postgres).run(pool).await,
        }
        .context("cannot apply database migrations")
    }

    /// Close the pool at shutdown, waiting (bounded) for connections in use.
    /// On SQLite the WAL is first checkpointed and truncated to zero bytes,
    /// so a clean shutdown leaves the whole database in its main file and no
    /// large `-wal` file behind, even when another process still has the
    /// file open (the last connection to close would otherwise do it).
    /// Failures are logged, not returned: the service is stopping anyway.
    pub async fn close(&self) {
        let closed = async {
            match &self.pool {
                Pool::Sqlite(pool) => {
                    if let Some(checkpointer) = &self.checkpointer {
                        checkpointer.stop().await;
                    }
                    let checkpoint = sqlx::query_as::<_, (i64, i64, i64)>("pragma wal_checkpoint(truncate)")
                        .fetch_all(pool)
                        .await;
                    match checkpoint.as_deref() {
                        Ok([(0, log, checkpointed)]) => {
                            tracing::info!(
                                service = self.service,
                                log,
                                checkpointed,
                                "database WAL checkpointed and truncated"
                            );
                        }
                        Ok(rows) => {
                            tracing::warn!(service = self.service, ?rows, "database WAL checkpoint was blocked");
                        }
                        Err(e) => tracing::warn!(service = self.service, error = %e, "database WAL checkpoint failed"),
                    }
                    pool.close().await;
                }
                Pool::Postgres(pool) => pool.close().await,
            }
        };
        if tokio::time::timeout(CLOSE_PATIENCE, closed).await.is_err() {
            tracing::warn!(service = self.service, "database connections still in use at shutdown");
        }
    }

    /// Check that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), String> {
        let result = match &self.pool {
            Pool::Sqlite(p) => sqlx::query("select 1").execute(p).await.map(|_| ()),
            Pool::Postgres(p) => sqlx::query("select 1").execute(p).await.map(|_| ()),
        };
        result.map_err(|e| format!("database: {e}"))
    }

    /// Publish the pool's state: `db_pool_connections{service,state}` (idle,
    /// in_use) and `db_pool_max_connections{service}`.
    pub fn record_pool_metrics(&self) {
        let (size, idle, max) = match &self.pool {
            Pool::Sqlite(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
            Pool::Postgres(p) => (p.size(), p.num_idle(), p.options().get_max_connections()),
        };
        let idle = idle as f64;
        let service = self.service;
        metrics::gauge!("db_pool_connections", "service" => service, "state" => "idle").set(idle);
        metrics::gauge!("db_pool_connections", "service" => service, "state" => "in_use")
            .set((f64::from(size) - idle).max(0.0));
        metrics::gauge!("db_pool_max_connections", "service" => service).set(f64::from(max));
    }
}

/// Create `dir` and its missing parents owner-only (mode 0700): data
/// directories hold databases with password hashes, keys and secrets.
/// Directories that already exist are left as they are, since they belong
/// to whoever made them, but one readable or writable by group or others is
/// logged as a warning.
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    dir = %dir.display(),
                    mode = format!("{mode:o}"),
                    "data directory is accessible to group or others; consider chmod 700"
                );
            }
            Ok(())
        }
        _ => std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir),
    }
}

/// Create `path` empty and owner-only (mode 0600) unless it exists; an
/// existing file is left as it is.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// True when the error is a unique-constraint violation on either engine.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// SQLite's primary result code for "database or disk is full".
const SQLITE_FULL: i64 = 13;
/// SQLite's primary result codes for a database still locked by another
/// writer after the busy timeout.
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// The code of a database error, per engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode<'a> {
    /// A SQLite (extended) result code.
    Sqlite(i64),
    /// A PostgreSQL SQLSTATE.
    Postgres(&'a str),
}

impl ErrorCode<'_> {
    /// True when the disk is full: SQLite's `SQLITE_FULL` (13, or one of its
    /// extended codes), PostgreSQL's `53100 disk_full`.
    pub fn is_disk_full(self) -> bool {
        match self {
            Self::Sqlite(code) => code & 0xff == SQLITE_FULL,
            Self::Postgres(state) => state == "53100",
        }
    }

    /// True when the database is there but cannot serve right now: SQLite's
    /// `SQLITE_BUSY` / `SQLITE_LOCKED` after the busy timeout; PostgreSQL's
    /// connection exceptions (class `08`), `57P01`–`57P03` (shutting down,
    /// crashed, not accepting connections yet) and `53300` (too many
    /// connections).
    pub fn is_unavailable(self) -> bool {
        match self {
            Self::Sqlite(code) => matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED),
            Self::Postgres(state) => state.starts_with("08") || matches!(state, "57P01" | "57P02" | "57P03" | "53300"),
        }
    }
}

/// Apply `f` to the engine's code of a database error (false without one).
fn with_code(db: &dyn sqlx::error::DatabaseError, f: impl FnOnce(ErrorCode<'_>) -> bool) -> bool {
    let Some(code) = db.code() else {
        return false;
    };
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        code.parse().is_ok_and(|c| f(ErrorCode::Sqlite(c)))
    } else {
        f(ErrorCode::Postgres(&code))
    }
}

/// True when the database refused a write because its disk is full (see
/// [`ErrorCode::is_disk_full`]): the client should hear a clear "storage
/// full" (507, [`crate::error::storage_full_response`]), not an internal error.
pub fn is_disk_full(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if with_code(db.as_ref(), |c| c.is_disk_full()))
}

/// True when the error means the database is unreachable or shutting down,
/// not that the request or the code is wrong: no connection could be had
/// in time (the pool's acquire timeout), the connection broke (I/O, TLS),
/// or the server said so ([`ErrorCode::is_unavailable`]). Such requests
/// answer 503 with `Retry-After` ([`crate::error::database_unavailable_response`])
/// while readiness reports the outage.
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => with_code(db.as_ref(), |c| c.is_unavailable()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    }

    const EXPANDED: &[MigrationSource] = &[
        (
            1,
            "accounts",
            "create table accounts (id integer primary key, name text not null)",
        ),
        (2, "add email", "alter table accounts add column email text"),
    ];

    #[tokio::test]
    async fn the_previous_release_starts_on_a_schema_the_next_release_migrated() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", tmp.path().join("kit.sqlite3").display());
        let next = Migrations {
            sqlite: EXPANDED,
            postgres: &[],
        };
        let db = Database::connect_and_migrate("kit", &url, 1, next, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("next release migrates: {e}"));
        db.close().await;
        let previous = Migrations {
            sqlite: &EXPANDED[..1],
            postgres: &[],
        };
        let db = Database::connect_and_migrate("kit", &url, 1, previous, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("previous release starts on the expanded schema: {e}"));
        let Pool::Sqlite(pool) = db.pool() else {
            unreachable!("a sqlite: URL")
        };
        sqlx::query("insert into accounts (name) values ('alice')")
            .execute(pool)
            .await
            .expect("the previous release writes through the columns it knows");
        db.close().await;
        // A migration the previous release knows, but changed, is still refused.
        let tampered: &'static [MigrationSource] = &[(
            1,
            "accounts",
            "create table accounts (id integer primary key, name text)",
        )];
        let refused = Database::connect_and_migrate(
            "kit",
            &url,
            1,
            Migrations {
                sqlite: tampered,
                postgres: &[],
            },
            Duration::from_millis(200),
        )
        .await;
        assert!(refused.is_err(), "a changed migration is refused");
    }

    #[tokio::test]
    async fn a_new_sqlite_database_is_owner_only_in_an_owner_only_directory() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("data").join("nested");
        let file = dir.join("kit.sqlite3");
        let none = Migrations {
            sqlite: &[],
            postgres: &[],
        };
        let url = format!("sqlite://{}", file.display());
        let db = Database::connect_and_migrate("kit", &url, 2, none, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        let Pool::Sqlite(pool) = db.pool() else {
            unreachable!("a sqlite: URL")
        };
        sqlx::query("create table t (x text)")
            .execute(pool)
            .await
            .expect("create");
        assert_eq!(mode(&dir), 0o700, "the data directory");
        assert_eq!(mode(&tmp.path().join("data")), 0o700, "its created parent");
        assert_eq!(mode(&file), 0o600, "the database");
        for suffix in ["-wal", "-shm"] {
            let side = dir.join(format!("kit.sqlite3{suffix}"));
            assert_eq!(mode(&side), 0o600, "{suffix}");
        }
        db.close().await;
    }

    #[test]
    fn existing_directories_and_files_keep_their_modes() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("shared");
        std::fs::create_dir(&dir).expect("dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let file = dir.join("db");
        std::fs::write(&file, "").expect("file");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        create_private_dir_all(&dir).expect("exists");
        create_private_file(&file).expect("exists");
        assert_eq!(mode(&dir), 0o755, "the user's directory is not changed");
        assert_eq!(mode(&file), 0o640, "the user's file is not changed");
    }

    #[tokio::test]
    async fn sqlite_connections_bound_the_wal_and_close_truncates_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("kit.sqlite3");
        let none = Migrations {
            sqlite: &[],
            postgres: &[],
        };
        let url = format!("sqlite://{}", file.display());
        let db = Database::connect_and_migrate("kit", &url, 2, none, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        let Pool::Sqlite(pool) = db.pool() else {
            unreachable!("a sqlite: URL")
        };
        let pragma = |name: &'static str| async move {
            sqlx::query_scalar::<_, i64>(name)
                .fetch_all(pool)
                .await
                .expect("pragma")[0]
        };
        assert_eq!(pragma("pragma wal_autocheckpoint").await, 1000);
        assert_eq!(pragma("pragma journal_size_limit").await, 16 * 1024 * 1024);
        sqlx::query("create table t (x text)")
            .execute(pool)
            .await
            .expect("create");
        for _ in 0..50 {
            sqlx::query("insert into t values (randomblob(1000))")
                .execute(pool)
                .await
                .expect("insert");
        }
        let wal = dir.path().join("kit.sqlite3-wal");
        let wal_len = || std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert!(wal_len() > 0, "the writes are in the WAL");

        db.close().await;
        assert_eq!(wal_len(), 0, "the WAL is truncated (or gone) after close");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_sqlite_writers_all_land() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("kit.sqlite3").display());
        let schema = Migrations {
            sqlite: &[(
                1,
                "t",
                "create table t (id integer primary key autoincrement, x text not null)",
            )],
            postgres: &[],
        };
        let db = Database::connect_and_migrate("kit", &url, 8, schema, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        let Pool::Sqlite(pool) = db.pool() else {
            unreachable!("a sqlite: URL")
        };
        // Connections are not pinged before each use (documented above).
        assert!(!pool.options().get_test_before_acquire());

        let mut writers = tokio::task::JoinSet::new();
        for w in 0..32 {
            let db = db.clone();
            writers.spawn(async move {
                let mut ids = Vec::new();
                for i in 0..20 {
                    let id: i64 = crate::on_pool!(&db, |conn| {
                        sqlx::query_scalar("insert into t (x) values ($1) returning id")
                            .bind(format!("{w}-{i}"))
                            .fetch_all(conn)
                            .await
                            .map(|mut rows| rows.pop().unwrap_or_default())
                    })?;
                    ids.push(id);
                }
                Ok::<_, sqlx::Error>(ids)
            });
        }
        let mut ids = std::collections::HashSet::new();
        while let Some(done) = writers.join_next().await {
            for id in done.expect("a writer panicked").expect("every write lands") {
                assert!(ids.insert(id), "id {id} twice");
            }
        }
        assert_eq!(ids.len(), 32 * 20);
        assert!(!ids.contains(&0));
        db.close().await;
    }

    /// Writers that never pause and readers that are always in the log: a
    /// passive checkpoint can copy the log but never restart it, so without
    /// the checkpointer the log grows with every write (288 MiB after 24,000
    /// of these writes when it was switched off). Bounded: a fixed number of
    /// writes, 120 s at most.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_bounds_the_wal_while_readers_never_leave_it() {
        const WRITES: usize = 12_000; // 4 KB each: ~50 MB through the log
        const LIMIT: u64 = 3 * checkpoint::RESTART_AFTER_BYTES;
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("kit.sqlite3");
        let url = format!("sqlite://{}", file.display());
        let schema = Migrations {
            sqlite: &[(1, "t", "create table t (id integer primary key, x blob not null)")],
            postgres: &[],
        };
        let db = Database::connect_and_migrate("kit", &url, 8, schema, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("connect: {e}"));
        let Pool::Sqlite(pool) = db.pool().clone() else {
            unreachable!("a sqlite: URL")
        };
        let wal = dir.path().join("kit.sqlite3-wal");
        let wal_len = move || std::fs::metadata(&wal).map_or(0, |m| m.len());
        let done = CancellationToken::new();
        let mut readers = tokio::task::JoinSet::new();
        for _ in 0..4 {
            let (pool, done) = (pool.clone(), done.clone());
            readers.spawn(async move {
                let mut reads = 0_u64;
                while !done.is_cancelled() {
                    // A read of a few milliseconds (a search, say): with four
                    // of them back to back, one is always in the log.
                    sqlx::query(
                        "with recursive c(n) as (select 1 union all select n + 1 from c where n < 20000) \
                         select count(*), (select max(id) from t) from c",
                    )
                    .fetch_all(&pool)
                    .await
                    .expect("read");
                    reads += 1;
                }
                reads
            });
        }
        let mut writers = tokio::task::JoinSet::new();
        for w in 0..4 {
            let (db, wal_len) = (db.clone(), wal_len.clone());
            writers.spawn(async move {
                let mut max = 0;
                for _ in 0..WRITES / 4 {
                    let write = async {
                        crate::on_writer!(&db, |conn| {
                            sqlx::query("insert into t (x) values (randomblob(4000)) returning id")
                                .fetch_all(conn)
                                .await
                                .map(|_| ())
                        })
                    };
                    write.await.unwrap_or_else(|e: sqlx::Error| panic!("writer {w}: {e}"));
                    max = max.max(wal_len());
                }
                max
            });
        }
        let mut max_wal = 0;
        let all = async {
            while let Some(max) = writers.join_next().await {
                max_wal = max_wal.max(max.expect("a writer panicked"));
            }
        };
        tokio::time::timeout(Duration::from_secs(120), all)
            .await
            .expect("the writes finished in time");
        done.cancel();
        let mut reads = 0;
        while let Some(n) = readers.join_next().await {
            reads += n.expect("a reader panicked");
        }
        println!(
            "{WRITES} writes beside {reads} reads: WAL at most {:.1} MiB",
            max_wal as f64 / 1048576.0
        );
        assert!(reads > 0);
        assert!(max_wal < LIMIT, "the WAL reached {max_wal} bytes (limit {LIMIT})");
        db.close().await;
        assert_eq!(wal_len(), 0, "the WAL is truncated (or gone) after close");
    }

    #[test]
    fn disk_full_and_unavailable_codes_of_both_engines_are_recognised() {
        use ErrorCode::{Postgres, Sqlite};
        for code in [Sqlite(13), Postgres("53100")] {
            assert!(code.is_disk_full(), "{code:?}");
            assert!(!code.is_unavailable(), "{code:?}");
        }
        // SQLite busy/locked (and an extended code: SQLITE_BUSY_SNAPSHOT 517),
        // PostgreSQL connection failures, shutdown, start-up, too many clients.
        for code in [
            Sqlite(5),
            Sqlite(517),
            Sqlite(6),
            Postgres("08006"),
            Postgres("08001"),
            Postgres("57P01"),
            Postgres("57P02"),
            Postgres("57P03"),
            Postgres("53300"),
        ] {
            assert!(code.is_unavailable(), "{code:?}");
            assert!(!code.is_disk_full(), "{code:?}");
        }
        // Not outages: unique violations (2067, 23505), SQLITE_IOERR_WRITE
        // (778), a syntax error, and SQLSTATEs that look like SQLite codes.
        for code in [
            Sqlite(2067),
            Sqlite(778),
            Sqlite(1),
            Postgres("23505"),
            Postgres("42601"),
            Postgres("13"),
            Postgres("5"),
        ] {
            assert!(!code.is_disk_full() && !code.is_unavailable(), "{code:?}");
        }
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
        assert!(!is_disk_full(&sqlx::Error::PoolTimedOut));
    }

    #[tokio::test]
    async fn a_full_sqlite_database_is_recognised_as_disk_full() {
        // `max_page_count` makes SQLite answer SQLITE_FULL as a full disk would.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect("sqlite::memory:")
            .await
            .expect("memory database");
        sqlx::query("create table t (x blob)")
            .execute(&pool)
            .await
            .expect("create");
        let pages: i64 = sqlx::query_scalar("pragma page_count")
            .fetch_one(&pool)
            .await
            .expect("page count");
        sqlx::query(sqlx::AssertSqlSafe(format!("pragma max_page_count = {pages}")))
            .execute(&pool)
            .await
            .expect("limit");
        let err = sqlx::query("insert into t values (randomblob(100000))")
            .execute(&pool)
            .await
            .expect_err("the database is full");
        assert!(is_disk_full(&err), "{err:?}");
        assert!(!is_unavailable(&err), "{err:?}");
    }
}
