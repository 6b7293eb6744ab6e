//! Over a real socket: serving, the health check, readiness through a
//! graceful shutdown (503 at once, requests still served while draining,
//! then the server stops).

use crate::helpers::{Readiness, config, service};
use kit::server::Server;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Poll `url` until `accept` likes the answer, for at most `patience`.
async fn poll_until(
    client: &reqwest::Client,
    url: &str,
    patience: Duration,
    accept: impl Fn(StatusCode, &Value) -> bool,
) -> (StatusCode, Value) {
    let started = Instant::now();
    loop {
        if let Ok(r) = client.get(url).send().await {
            let status = r.status();
            let body = r.json::<Value>().await.unwrap_or(Value::Null);
            if accept(status, &body) {
                return (status, body);
            }
        }
        assert!(started.elapsed() < patience, "{url} never answered as expected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_flips_to_503_on_shutdown_while_requests_are_still_served_during_the_drain() {
    let mut config = config();
    // Long enough to poll within on a busy machine; the test waits for it once.
    config.shutdown_drain_seconds = 3;
    let readiness = Readiness::default();
    let server = Server::bind(service(config, &readiness)).await.expect("bound");
    let port = server.port();
    let base = format!("http://127.0.0.1:{port}");
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(server.run(shutdown.clone()));
    let client = reqwest::Client::new();
    let patience = Duration::from_secs(10);
    poll_until(&client, &format!("{base}/readyz"), patience, |s, _| s == StatusCode::OK).await;
    assert!(
        kit::lifecycle::healthcheck(port).await,
        "the container health check passes"
    );

    readiness.set(Err("backend unavailable"));
    let r = client.get(format!("{base}/readyz")).send().await.expect("sent");
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.json::<Value>().await.expect("json"),
        json!({"status": "unavailable", "message": "backend unavailable"})
    );
    readiness.set(Ok(()));

    shutdown.cancel();
    let (_, body) = poll_until(&client, &format!("{base}/readyz"), patience, |s, _| {
        s == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    assert_eq!(body, json!({"status": "unavailable", "message": "shutting down"}));
    // A new connection (the 503 said `Connection: close`): still accepted.
    let during = client
        .get(format!("{base}/api/items/5"))
        .send()
        .await
        .expect("served while draining");
    assert_eq!(during.status(), StatusCode::OK);
    assert_eq!(
        during.headers()["connection"],
        "close",
        "clients are told to reconnect elsewhere"
    );
    assert_eq!(during.json::<Value>().await.expect("json"), json!({"id": 5}));

    let stopped = tokio::time::timeout(Duration::from_secs(30), running)
        .await
        .expect("the server stops after the drain")
        .expect("the server task did not panic");
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(
        client.get(format!("{base}/healthz")).send().await.is_err(),
        "nothing listens after the stop"
    );
}

#[tokio::test]
async fn the_healthcheck_fails_when_nothing_listens() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    assert!(!kit::lifecycle::healthcheck(closed).await);
}
