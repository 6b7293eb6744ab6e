//! A backend down or slow: the page still renders, with a message and 503,
//! and works again when the backend is back, without restarting anything.

use crate::browser_like::Browser;
use clap::Parser;
use reqwest::StatusCode;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

struct Keys {
    private: String,
    public: String,
}

async fn start_thoughts(
    dir: &std::path::Path,
    keys: &Keys,
    port: u16,
) -> (u16, CancellationToken, tokio::task::JoinHandle<()>) {
    let db = format!("sqlite://{}", dir.join("thoughts.sqlite3").display());
    let config = thoughts::Config::try_parse_from([
        "thoughts-service",
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--log-format",
        "pretty",
        "--database-url",
        &db,
        "--public-key-path",
        &keys.public,
        "--shutdown-drain-seconds",
        "0",
    ])
    .expect("config");
    let app = thoughts::Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("thoughts: {e}"));
    let port = app.port();
    let token = CancellationToken::new();
    let t = token.clone();
    let handle = tokio::spawn(async move {
        let _ = app.run_until_stopped(t).await;
    });
    (port, token, handle)
}

async fn start_frontend(users: &str, thoughts: &str, keys: &Keys, extra: &[&str]) -> (String, CancellationToken) {
    let mut args = vec![
        "frontend-service",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--log-format",
        "pretty",
        "--user-backend-url",
        users,
        "--thoughts-backend-url",
        thoughts,
        "--public-key-path",
        &keys.public,
    ];
    args.extend_from_slice(extra);
    let config = frontend::Config::try_parse_from(args).expect("config");
    let app = frontend::Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("frontend: {e}"));
    let base = format!("http://127.0.0.1:{}", app.port());
    let token = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(token.clone()));
    (base, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thoughts_down_gives_a_503_page_and_back_up_works_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = Keys {
        private: testkit::keys().private_path.display().to_string(),
        public: testkit::keys().public_path.display().to_string(),
    };
    let users_db = format!("sqlite://{}", dir.path().join("users.sqlite3").display());
    let users_config = users::Config::try_parse_from([
        "users-service",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--log-format",
        "pretty",
        "--database-url",
        &users_db,
        "--private-key-path",
        &keys.private,
        "--shutdown-drain-seconds",
        "0",
    ])
    .expect("config");
    let users_app = users::Application::build(users_config)
        .await
        .unwrap_or_else(|e| panic!("users: {e}"));
    let users_url = format!("http://127.0.0.1:{}", users_app.port());
    let users_token = CancellationToken::new();
    tokio::spawn(users_app.run_until_stopped(users_token.clone()));

    let (port, thoughts_token, handle) = start_thoughts(dir.path(), &keys, 0).await;
    let thoughts_url = format!("http://127.0.0.1:{port}");
    let (frontend, frontend_token) = start_frontend(&users_url, &thoughts_url, &keys, &[]).await;
    testkit::wait_ready(&frontend).await;

    let mut b = Browser::new(&frontend);
    b.sign_up("resilient", "a long enough password").await;
    b.post_thought("before the outage").await;
    assert_eq!(b.get("/").await.status, StatusCode::OK);

    // Thoughts goes down.
    thoughts_token.cancel();
    handle.await.expect("stopped");
    let down = b.get("/").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.body.contains("not answering right now"), "{}", down.body);
    assert!(down.body.contains("<form"), "the page still renders");
    let search = b.get("/search?search=outage").await;
    assert_eq!(search.status, StatusCode::SERVICE_UNAVAILABLE);
    let ready = reqwest::get(format!("{frontend}/readyz")).await.expect("sent");
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let reason: serde_json::Value = ready.json().await.expect("json");
    assert!(
        reason["message"].as_str().expect("reason").contains("thoughts"),
        "{reason}"
    );

    // Back up on the same port: the frontend recovers by itself.
    let (_, thoughts_token, _) = start_thoughts(dir.path(), &keys, port).await;
    let back = b.get("/").await;
    assert_eq!(back.status, StatusCode::OK);
    assert!(back.body.contains("before the outage"), "data survived");
    testkit::wait_ready(&frontend).await;

    // Users down: signing in shows a message, 503.
    users_token.cancel();
    let mut other = Browser::new(&frontend);
    let login = other.get("/login/").await;
    let failed = other
        .post(
            "/login/",
            &[
                ("username", "resilient"),
                ("password", "a long enough password"),
                ("csrf", &login.csrf()),
            ],
        )
        .await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(failed.body.contains("not answering"), "{}", failed.body);
    thoughts_token.cancel();
    frontend_token.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_backend_is_cut_off_at_the_deadline() {
    // A thoughts stand-in that accepts connections and never answers in time.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let stall = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let keys = Keys {
        private: testkit::keys().private_path.display().to_string(),
        public: testkit::keys().public_path.display().to_string(),
    };
    let (frontend, token) = start_frontend(
        "http://127.0.0.1:9",
        &format!("http://{addr}"),
        &keys,
        &["--backend-timeout-ms", "300"],
    )
    .await;
    let mut b = Browser::new(&frontend);
    let started = Instant::now();
    let page = b.get("/search?search=anything").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "deadline respected: {:?}",
        started.elapsed()
    );
    token.cancel();
    stall.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_requires_the_minimum_backend_versions() {
    let system = crate::browser_like::start_system().await;
    let keys = Keys {
        private: testkit::keys().private_path.display().to_string(),
        public: testkit::keys().public_path.display().to_string(),
    };
    let (ok, t1) = start_frontend(
        &system.urls.users,
        &system.urls.thoughts,
        &keys,
        &["--thoughts-backend-min-version", "0.0.9"],
    )
    .await;
    testkit::wait_ready(&ok).await;
    let (too_new, t2) = start_frontend(
        &system.urls.users,
        &system.urls.thoughts,
        &keys,
        &["--thoughts-backend-min-version", "0.10.0"],
    )
    .await;
    let r = reqwest::get(format!("{too_new}/readyz")).await.expect("sent");
    assert_eq!(
        r.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "0.1.0 < 0.10.0 as versions (not as strings)"
    );
    let body: serde_json::Value = r.json().await.expect("json");
    assert!(
        body["message"]
            .as_str()
            .expect("reason")
            .contains("older than the minimum"),
        "{body}"
    );
    t1.cancel();
    t2.cancel();
}
