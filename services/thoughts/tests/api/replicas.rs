//! Several replicas starting at once against one new PostgreSQL database (a
//! Kubernetes rollout, `docker-compose up --scale`): every one starts, and
//! each migration is applied exactly once (the migrator takes an advisory
//! lock; a start-up that still fails is retried).

use sqlx::Connection;
use testkit::Engine;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_on_a_new_database_apply_each_migration_once() {
    let db = testkit::database(Engine::Postgres).await;
    let starts = (0..4).map(|_| {
        let config = thoughts::Config::local(&db.url, &testkit::keys().public_path);
        tokio::spawn(thoughts::Application::build(config))
    });
    let mut apps = Vec::new();
    for start in starts.collect::<Vec<_>>() {
        match start.await.expect("task") {
            Ok(app) => apps.push(app),
            Err(e) => panic!("a replica failed to start: {e}"),
        }
    }
    assert_eq!(apps.len(), 4);

    let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connected");
    let (applied, distinct, failed): (i64, i64, i64) = sqlx::query_as(
        "select count(*), count(distinct version), count(*) filter (where not success) from _sqlx_migrations",
    )
    .fetch_one(&mut conn)
    .await
    .expect("migration table");
    assert!(applied > 0);
    assert_eq!((applied, failed), (distinct, 0), "each migration once, none failed");
    let (tables,): (i64,) = sqlx::query_as("select count(*) from pg_tables where tablename = 'thoughts'")
        .fetch_one(&mut conn)
        .await
        .expect("catalog");
    assert_eq!(tables, 1);
}
