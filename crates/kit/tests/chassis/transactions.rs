//! A transaction's `begin` cut off while the database answers it (its
//! request abandoned): the connection must not go back to the pool inside a
//! transaction, where later autocommit writes would join it and be lost.

use kit::db::{Database, Migrations, Pool, TxConnection};
use sqlx::pool::PoolConnection;
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;
use testkit::{Engine, both_engines};

/// Poll `f` once and drop it: `true` when it was still waiting (cut off
/// mid-way), `false` when it had already finished.
async fn poll_once_and_drop<F: Future>(f: F) -> bool {
    let mut f = pin!(f);
    std::future::poll_fn(|cx| Poll::Ready(f.as_mut().poll(cx).is_pending())).await
}

/// A one-connection pool on a fresh database with a table `t`, and the URL
/// for a connection outside the pool.
async fn one_connection(engine: Engine) -> (testkit::TestDatabase, Database) {
    let test_db = testkit::database(engine).await;
    let db = Database::connect_and_migrate(
        "kit-test",
        &test_db.url,
        1,
        Migrations {
            sqlite: &[(1, "t", "create table t (x integer not null)")],
            postgres: &[(1, "t", "create table t (x integer not null)")],
        },
        Duration::from_secs(10),
    )
    .await
    .expect("database");
    (test_db, db)
}

/// Cut a `begin` on the pool's connection (raw sqlx, or through
/// [`TxConnection`]), then insert a row through the pool with an autocommit
/// statement and count the rows from a connection outside the pool.
async fn cut_begin_then_insert(engine: Engine, guarded: bool) -> (bool, i64) {
    let (test_db, db) = one_connection(engine).await;
    macro_rules! run {
        ($pool:expr, $Conn:ty, $slow:literal) => {{
            let pool = $pool;
            let mut conn = kit::db::acquire("kit-test", pool).await.expect("connection");
            // Keep the database busy for a while first (a statement sent, its
            // caller gone: the connection answers it before anything else), so
            // that the `begin` sent behind it cannot have its answer within
            // its first poll, however the machine schedules the two sides.
            // Not for long: the closed connection holds the pool's one slot
            // until the statement is done, and the next acquire waits at most
            // 5 s (with 3,000,000 steps on SQLite the test failed at 6 s
            // beside the rest of the workspace's tests).
            let slow_sent = poll_once_and_drop(sqlx::query($slow).execute(&mut *conn)).await;
            assert!(slow_sent, "the slow statement finished within its first poll");
            let cut = if guarded {
                let mut tx = TxConnection::new(conn);
                poll_once_and_drop(tx.begin()).await
            } else {
                #[allow(clippy::disallowed_methods)] // what TxConnection guards against
                let cut = poll_once_and_drop(sqlx::Connection::begin(&mut *conn)).await;
                drop::<PoolConnection<_>>(conn);
                cut
            };
            // The pool's one connection, or a fresh one if it was closed.
            let mut conn = kit::db::acquire("kit-test", pool).await.expect("connection");
            sqlx::query("insert into t (x) values (1)")
                .execute(&mut *conn)
                .await
                .expect("inserted");
            drop(conn);
            let mut outside = <$Conn as sqlx::Connection>::connect(&test_db.url)
                .await
                .expect("outside");
            let n: i64 = sqlx::query_scalar("select count(*) from t")
                .fetch_one(&mut outside)
                .await
                .expect("counted");
            (cut, n)
        }};
    }
    let result = match db.pool() {
        Pool::Sqlite(p) => run!(
            p,
            sqlx::SqliteConnection,
            "with recursive c(x) as (select 1 union all select x + 1 from c where x < 300000) select count(*) from c"
        ),
        Pool::Postgres(p) => run!(p, sqlx::PgConnection, "select pg_sleep(0.5)"),
    };
    db.close().await;
    result
}

both_engines! {
    async fn a_begin_cut_off_loses_no_later_write(engine) {
        // With TxConnection: the connection was closed, the insert ran on
        // a fresh one and committed.
        let (cut, seen) = cut_begin_then_insert(engine, true).await;
        assert!(cut, "the begin finished within its first poll: nothing was cut off");
        assert_eq!(seen, 1, "the write after a cut-off begin was lost");
    }
}

/// What [`TxConnection`] guards against, on PostgreSQL with sqlx alone: the
/// row inserted after the cut sits in the transaction the cut `begin` left
/// open, invisible outside. (sqlx's SQLite worker rolls back a `BEGIN`
/// nobody waits for any more, unless its answer was sent before the wait
/// was dropped: too narrow a window to hit on purpose.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_sqlx_alone_loses_the_write_after_a_cut_off_begin() {
    let (cut, seen) = cut_begin_then_insert(Engine::Postgres, false).await;
    assert!(cut, "the begin finished within its first poll: nothing was cut off");
    assert_eq!(
        seen, 0,
        "sqlx no longer leaves a cut-off begin's transaction open: TxConnection may be unneeded now"
    );
}
