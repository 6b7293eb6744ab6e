//! Issue 9, finding 1: a flood of posts must not exhaust the disk through
//! SQLite's write-ahead log. Loopback only, bounded in count and time.

use crate::helpers::{Engine, bearer, spawn};
use reqwest::StatusCode;
use sqlx::{Connection, Row};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Thoughts posted by the flood.
const THOUGHTS: usize = 20_000;
/// Concurrent clients, each with its own author and token.
const CLIENTS: usize = 8;
/// The WAL must stay below this throughout the flood.
const WAL_LIMIT: u64 = 64 * 1024 * 1024;
/// The whole flood must finish within this, or the test fails rather than hang.
const FLOOD_DEADLINE: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_posts_keeps_the_wal_small_and_shutdown_truncates_it() {
    let mut app = spawn(Engine::Sqlite).await;
    let url = app.url("/api/me/thoughts/");
    let max_wal = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (http, url, max_wal) = (app.client.clone(), url.clone(), max_wal.clone());
        let wal = app.database().sqlite_path().expect("a SQLite database");
        let token = bearer(&format!("flooder{client}"));
        clients.spawn(async move {
            let mut wal_path = wal.into_os_string();
            wal_path.push("-wal");
            let mut acknowledged = Vec::with_capacity(THOUGHTS / CLIENTS);
            for i in 0..THOUGHTS / CLIENTS {
                let text = format!("flood {client}-{i}: the same few words, over and over");
                let response = http
                    .post(&url)
                    .header("authorization", &token)
                    .form(&[("text", text.as_str())])
                    .send()
                    .await
                    .expect("sent");
                assert_eq!(response.status(), StatusCode::CREATED, "post {i} of client {client}");
                let thought: serde_json::Value = response.json().await.expect("a thought");
                acknowledged.push(thought["id"].as_i64().expect("an id"));
                // Sampled after every acknowledged post: "throughout".
                let len = std::fs::metadata(&wal_path).map_or(0, |m| m.len());
                max_wal.fetch_max(len, Ordering::Relaxed);
            }
            acknowledged
        });
    }
    let mut acknowledged = HashSet::with_capacity(THOUGHTS);
    let all = async {
        while let Some(ids) = clients.join_next().await {
            acknowledged.extend(ids.expect("a client panicked"));
        }
    };
    tokio::time::timeout(FLOOD_DEADLINE, all)
        .await
        .expect("the flood finished in time");
    let elapsed = started.elapsed();
    let during = app.database().sqlite_wal_bytes();
    let max_wal = max_wal.load(Ordering::Relaxed);

    app.stop().await;
    let after = app.database().sqlite_wal_bytes();
    println!(
        "wal flood: {THOUGHTS} thoughts by {CLIENTS} clients in {:.1} s ({:.0} inserts/s); \
         WAL max {:.1} MiB, at the end {:.1} MiB, after shutdown {} bytes",
        elapsed.as_secs_f64(),
        THOUGHTS as f64 / elapsed.as_secs_f64(),
        max_wal as f64 / 1048576.0,
        during as f64 / 1048576.0,
        after,
    );
    assert!(max_wal < WAL_LIMIT, "the WAL reached {max_wal} bytes during the flood");
    assert_eq!(after, 0, "the WAL is truncated (or gone) after shutdown");

    // Every acknowledged thought is stored (read back from the file itself).
    assert_eq!(acknowledged.len(), THOUGHTS, "ids are unique");
    let mut conn = sqlx::SqliteConnection::connect(&app.database().url)
        .await
        .expect("the database file opens");
    let stored: HashSet<i64> = sqlx::query("select id from thoughts")
        .fetch_all(&mut conn)
        .await
        .expect("read back")
        .iter()
        .map(|row| row.get::<i64, _>("id"))
        .collect();
    let missing = acknowledged.difference(&stored).count();
    assert_eq!(missing, 0, "{missing} acknowledged thoughts are not stored");
    conn.close().await.expect("closed");
}
