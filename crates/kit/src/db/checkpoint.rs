//! The SQLite WAL checkpointer: one background task per database file that
//! empties the write-ahead log when readers kept it from restarting.
//!
//! A commit that leaves the log 1000 pages long runs a PASSIVE checkpoint,
//! and since writers take turns ([`super::Database::write_turn`]) the next
//! write finds the log copied and starts it over from the beginning. Unless a
//! reader is still in the log at that moment: then the log cannot restart and
//! keeps growing, and with reads always under way (a busy site) it grew
//! without bound (76 MiB in a CI run of the 20,000-post flood, issue 9's
//! attack). This task looks at the log's size every [`TICK`]; once it
//! exceeds [`RESTART_AFTER_BYTES`] it takes the write turn and runs a
//! TRUNCATE checkpoint, which waits for the readers to leave the log (new
//! readers read the database file) and then empties it. Writers queue for
//! the turn meanwhile; a reader that stays longer than
//! [`TRUNCATE_PATIENCE`] makes the checkpoint give up, and it is tried again
//! after a growing pause, so that a stuck reader cannot stall writes.

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often the checkpointer looks at the log's size (one `stat`; nothing
/// else while the log is short, so an idle service stays idle).
const TICK: Duration = Duration::from_millis(100);

/// A log longer than this is emptied (the connections' `journal_size_limit`,
/// the size a restarted log is cut back to).
pub(super) const RESTART_AFTER_BYTES: u64 = super::JOURNAL_SIZE_LIMIT_BYTES;

/// How long a TRUNCATE checkpoint waits for readers to leave the log; writers
/// wait behind it for at most this long.
const TRUNCATE_PATIENCE: Duration = Duration::from_millis(1000);

/// The longest pause between two attempts a reader has blocked.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// A running checkpointer; [`Checkpointer::stop`] ends it.
#[derive(Debug)]
pub(super) struct Checkpointer {
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Open the checkpointer's own connection to the database `options`
    /// point at and start the task; it writes in `writes`' turns.
    pub(super) async fn start(
        service: &'static str,
        options: &SqliteConnectOptions,
        writes: Arc<tokio::sync::Mutex<()>>,
    ) -> Result<Self, sqlx::Error> {
        let wal = {
            let mut path = options.get_filename().to_path_buf().into_os_string();
            path.push("-wal");
            PathBuf::from(path)
        };
        let conn = options.clone().busy_timeout(TRUNCATE_PATIENCE).connect().await?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(service, conn, wal, writes, stop.clone()));
        Ok(Self {
            stop,
            task: Mutex::new(Some(task)),
        })
    }

    /// End the task (after the checkpoint in progress, if any) and close its
    /// connection.
    pub(super) async fn stop(&self) {
        self.stop.cancel();
        let task = self.task.lock().ok().and_then(|mut task| task.take());
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "the WAL checkpointer ended abnormally");
        }
    }
}

impl Drop for Checkpointer {
    /// The last clone of a [`Database`](super::Database) dropped without
    /// `close` still ends the task (and so its connection).
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn run(
    service: &'static str,
    mut conn: SqliteConnection,
    wal: PathBuf,
    writes: Arc<tokio::sync::Mutex<()>>,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut backoff = TICK;
    let mut next_try = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            now = tick.tick() => if now < next_try { continue },
        }
        if std::fs::metadata(&wal).map_or(0, |m| m.len()) <= RESTART_AFTER_BYTES {
            continue;
        }
        let outcome = {
            let _turn = writes.lock().await;
            sqlx::query_as::<_, (i64, i64, i64)>("pragma wal_checkpoint(truncate)")
                .fetch_one(&mut conn)
                .await
        };
        let label = match outcome {
            Ok((0, log, done)) => {
                tracing::debug!(service, log, done, "WAL emptied after readers kept it from restarting");
                backoff = TICK;
                "done"
            }
            Ok((_, log, done)) => {
                tracing::warn!(
                    service,
                    log,
                    done,
                    "a reader kept the WAL from being emptied; trying again later"
                );
                "blocked"
            }
            Err(e) => {
                tracing::warn!(service, error = %e, "WAL checkpoint failed; trying again later");
                "failed"
            }
        };
        metrics::counter!("db_wal_truncations_total", "service" => service, "outcome" => label).increment(1);
        if label != "done" {
            next_try = tokio::time::Instant::now() + backoff;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
    if let Err(e) = conn.close().await {
        tracing::debug!(service, error = %e, "closing the checkpointer's connection");
    }
}
