//! The storage path of issue 13: the id → thought cache never serves a
//! deleted thought, and concurrent posts (queued writers on SQLite) all land.
//! Loopback only, bounded in count and time; no timing is asserted.

use crate::helpers::{Engine, admin_bearer, bearer, spawn, spawn_with};
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;

/// The `thoughts_cache_requests_total{result}` counter, 0 when absent.
fn cache_count(metrics: &str, result: &str) -> u64 {
    let prefix = format!("thoughts_cache_requests_total{{result=\"{result}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

testkit::both_engines! {
    async fn a_deleted_thought_is_never_served_again(engine) {
        let app = spawn(engine).await;
        for admin in [false, true] {
            let thought = app.post_thought("bruce", "soon gone").await;
            let url = app.url(&format!("/api/thoughts/{}/", thought["id"]));
            // Read it twice: once from the database, once (SQLite) from the cache.
            for _ in 0..2 {
                let r = app.client.get(&url).send().await.expect("sent");
                assert_eq!(r.status(), StatusCode::OK);
                assert_eq!(r.json::<Value>().await.expect("json"), thought);
            }
            let delete = if admin {
                app.client
                    .delete(app.url(&format!("/admin/thoughts/{}/", thought["id"])))
                    .header("authorization", admin_bearer("admin"))
            } else {
                app.client
                    .delete(app.url(&format!("/api/me/thoughts/{}/", thought["id"])))
                    .header("authorization", bearer("bruce"))
            };
            assert_eq!(delete.send().await.expect("sent").status(), StatusCode::NO_CONTENT);
            let r = app.client.get(&url).send().await.expect("sent");
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "admin delete: {admin}");
            // Its owner cannot delete it twice either.
            let again = app.client
                .delete(app.url(&format!("/api/me/thoughts/{}/", thought["id"])))
                .header("authorization", bearer("bruce"))
                .send().await.expect("sent");
            assert_eq!(again.status(), StatusCode::NOT_FOUND);
        }
    }

    async fn concurrent_posts_all_land_with_distinct_ids(engine) {
        const CLIENTS: usize = 32;
        const EACH: usize = 10;
        let app = spawn(engine).await;
        let mut posts = tokio::task::JoinSet::new();
        for client in 0..CLIENTS {
            let (http, url, token) = (app.client.clone(), app.url("/api/me/thoughts/"), bearer(&format!("writer{client}")));
            posts.spawn(async move {
                let mut mine = Vec::with_capacity(EACH);
                for i in 0..EACH {
                    let text = format!("post {i} by writer {client}");
                    let r = http.post(&url).header("authorization", &token).form(&[("text", text.as_str())])
                        .send().await.expect("sent");
                    assert_eq!(r.status(), StatusCode::CREATED, "{text}");
                    let thought: Value = r.json().await.expect("json");
                    assert_eq!(thought["text"], text.as_str());
                    mine.push(thought["id"].as_i64().expect("id"));
                }
                mine
            });
        }
        let mut ids = HashSet::new();
        let all = async {
            while let Some(mine) = posts.join_next().await {
                for id in mine.expect("a client panicked") {
                    assert!(ids.insert(id), "id {id} given twice");
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(120), all).await.expect("the posts finished in time");
        assert_eq!(ids.len(), CLIENTS * EACH);
        let listed = app.get_list("/api/thoughts/").await;
        let stored: HashSet<i64> = listed.iter().map(|t| t["id"].as_i64().expect("id")).collect();
        assert_eq!(stored, ids, "every acknowledged post is stored, nothing else");
    }
}

#[tokio::test]
async fn on_sqlite_repeated_reads_are_served_from_the_cache() {
    let app = spawn(Engine::Sqlite).await;
    let thought = app.post_thought("bruce", "read me often").await;
    let before = app.metrics().await;
    let url = app.url(&format!("/api/thoughts/{}/", thought["id"]));
    for _ in 0..5 {
        let r = app.client.get(&url).send().await.expect("sent");
        assert_eq!(r.json::<Value>().await.expect("json"), thought);
    }
    let after = app.metrics().await;
    // The post filled the cache: every read is a hit (other tests in the
    // same process may add theirs).
    assert!(cache_count(&after, "hit") >= cache_count(&before, "hit") + 5, "{after}");
}

/// Delete thought `id` behind the service's back (as another process would).
async fn delete_in_the_database(app: &crate::helpers::TestApp, engine: Engine, id: i64) {
    use sqlx::Connection;
    let url = &app.database().url;
    let done = match engine {
        Engine::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.expect("connected");
            sqlx::query("delete from thoughts where id = $1")
                .bind(id)
                .execute(&mut conn)
                .await
                .map(|d| d.rows_affected())
        }
        Engine::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connected");
            sqlx::query("delete from thoughts where id = $1")
                .bind(id)
                .execute(&mut conn)
                .await
                .map(|d| d.rows_affected())
        }
    };
    assert_eq!(done.expect("deleted"), 1);
}

testkit::both_engines! {
    async fn without_a_cache_every_read_goes_to_the_database(engine) {
        let app = spawn_with(engine, |c| c.thought_cache_entries = 0).await;
        let thought = app.post_thought("bruce", "uncached").await;
        let id = thought["id"].as_i64().expect("id");
        let url = app.url(&format!("/api/thoughts/{id}/"));
        for _ in 0..3 {
            let r = app.client.get(&url).send().await.expect("sent");
            assert_eq!(r.json::<Value>().await.expect("json"), thought);
        }
        delete_in_the_database(&app, engine, id).await;
        let r = app.client.get(&url).send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn on_postgresql_there_is_no_cache_since_replicas_share_the_table() {
    // Two replicas on one database: a delete through one is seen by the other.
    let app = spawn(Engine::Postgres).await;
    let mut config = thoughts::Config::local(&app.database().url, &testkit::keys().public_path);
    config.posts_per_account_per_minute = 0;
    let other = thoughts::Application::build(config).await.expect("second replica");
    let other_base = format!("http://127.0.0.1:{}", other.port());
    let mut running = testkit::Running::spawn(|token| other.run_until_stopped(token));
    testkit::wait_ready(&other_base).await;

    let thought = app.post_thought("bruce", "seen by both").await;
    let path = format!("/api/thoughts/{}/", thought["id"]);
    for _ in 0..2 {
        let r = app
            .client
            .get(format!("{other_base}{path}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = app
        .client
        .delete(app.url(&format!("/api/me/thoughts/{}/", thought["id"])))
        .header("authorization", bearer("bruce"))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .client
        .get(format!("{other_base}{path}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "the other replica must not serve it from memory"
    );
    running.stop().await;
}
