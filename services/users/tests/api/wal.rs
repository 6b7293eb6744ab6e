//! Issue 9, finding 1: inserts alone must not grow SQLite's write-ahead log
//! without bound, and a clean shutdown leaves no WAL behind. Loopback only,
//! bounded in count and time.

use crate::helpers::{Engine, spawn_with};
use kit::db::Database;
use reqwest::StatusCode;
use sqlx::{Connection, Row};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Accounts inserted through the store: before the fix they grew the WAL to
/// 64 MiB (~13 KB per account, never checkpointed).
const ACCOUNTS: usize = 5_000;
/// The steady WAL is ~4 MiB (1000 pages, then a checkpoint).
const WAL_LIMIT: u64 = 8 * 1024 * 1024;
/// Sign-ups through the API before the shutdown test stops the service.
const SIGN_UPS: usize = 40;

/// Through the store rather than the API: a sign-up costs an argon2id hash
/// (tens of milliseconds even optimised), so thousands of them would take
/// minutes; the insert is the same `store::insert_user` the handler calls.
#[tokio::test]
async fn many_sign_ups_alone_keep_the_wal_small() {
    let tdb = testkit::database(Engine::Sqlite).await;
    let db = Database::connect_and_migrate("users", &tdb.url, 4, users::store::MIGRATIONS, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("database: {e}"));
    // Any PHC string will do: nobody logs in with these accounts.
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$cGxhY2Vob2xkZXJoYXNocGxhY2Vob2xkZXI";
    let started = Instant::now();
    let mut max_wal = 0;
    for i in 0..ACCOUNTS {
        let inserted = users::store::insert_user(&db, &format!("user{i}"), hash, false)
            .await
            .expect("insert");
        assert!(inserted.is_some(), "user{i} is new");
        max_wal = max_wal.max(tdb.sqlite_wal_bytes());
    }
    let elapsed = started.elapsed();
    db.close().await;
    let after = tdb.sqlite_wal_bytes();
    println!(
        "users wal: {ACCOUNTS} accounts through the store in {:.1} s ({:.0} inserts/s); \
         WAL max {:.1} MiB, after close {after} bytes",
        elapsed.as_secs_f64(),
        ACCOUNTS as f64 / elapsed.as_secs_f64(),
        max_wal as f64 / 1048576.0,
    );
    assert!(max_wal < WAL_LIMIT, "the WAL reached {max_wal} bytes");
    assert_eq!(after, 0, "the WAL is truncated (or gone) after close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_truncates_the_wal_and_keeps_every_account() {
    let mut app = spawn_with(Engine::Sqlite, |config| config.signups_per_address = 1000).await;
    let mut created = HashSet::new();
    for i in 0..SIGN_UPS {
        let username = format!("member{i}");
        let response = app.sign_up(&username, "a long enough password").await;
        assert_eq!(response.status(), StatusCode::CREATED, "{username}");
        created.insert(username);
    }
    let before = app.database().sqlite_wal_bytes();
    assert!(before > 0, "the sign-ups are in the WAL while the service runs");

    app.stop().await;
    let after = app.database().sqlite_wal_bytes();
    println!("users wal: {SIGN_UPS} sign-ups; WAL {before} bytes while running, {after} bytes after shutdown");
    assert_eq!(after, 0, "the WAL is truncated (or gone) after shutdown");

    let mut conn = sqlx::SqliteConnection::connect(&app.database().url)
        .await
        .expect("the database file opens");
    let stored: HashSet<String> = sqlx::query("select username from users")
        .fetch_all(&mut conn)
        .await
        .expect("read back")
        .iter()
        .map(|row| row.get::<String, _>("username"))
        .collect();
    assert!(created.is_subset(&stored), "every signed-up account is stored");
    conn.close().await.expect("closed");
}
