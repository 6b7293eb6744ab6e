//! Slow and idle clients over a real socket (issue 9, finding 2): each kind
//! is cut within its timeout, connections are capped, and meanwhile a
//! normal client on a fresh connection keeps getting answers in
//! milliseconds. Timeouts are short here so the suite stays fast; the
//! measured numbers are printed (`--no-capture` shows them).

use crate::helpers::{Readiness, config, service};
use axum::Router;
use kit::config::ServerConfig;
use kit::server::Server;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The short header read timeout of these tests.
const HEADER: Duration = Duration::from_millis(400);
/// The short body read timeout of these tests.
const BODY: Duration = Duration::from_millis(400);
/// The short idle timeout of these tests (whole seconds is the setting's unit).
const IDLE: Duration = Duration::from_secs(1);
/// How late after its timeout a socket may close on a busy machine.
const MARGIN: Duration = Duration::from_millis(1500);
/// A generous failure detector for the normal client's latency.
const FAST: Duration = Duration::from_secs(1);

/// A test service running with slow-client limits.
struct Running {
    port: u16,
    /// The admin application, for reading metrics.
    router: Router,
    shutdown: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn limited(adjust: impl FnOnce(&mut ServerConfig)) -> ServerConfig {
    let mut config = config();
    config.header_read_timeout_ms = HEADER.as_millis() as u64;
    config.body_read_timeout_ms = BODY.as_millis() as u64;
    config.idle_timeout_seconds = IDLE.as_secs();
    adjust(&mut config);
    config
}

async fn start(config: ServerConfig) -> Running {
    let server = Server::bind(service(config, &Readiness::default()))
        .await
        .expect("bound");
    let port = server.port();
    let router = server.admin_router();
    let shutdown = CancellationToken::new();
    tokio::spawn(server.run(shutdown.clone()));
    Running { port, router, shutdown }
}

async fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).await.expect("connected")
}

/// Time until the server closes `stream` (EOF or reset), reading and
/// discarding whatever it sends; fails after `limit`.
async fn time_until_closed(stream: &mut TcpStream, since: Instant, limit: Duration) -> Duration {
    let mut buf = [0_u8; 1024];
    loop {
        let remaining = limit.saturating_sub(since.elapsed());
        match tokio::time::timeout(remaining, stream.read(&mut buf)).await {
            Err(_) => panic!("still open after {limit:?}"),
            Ok(Ok(0) | Err(_)) => return since.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

/// One request from a normal client on a fresh connection: its latency.
async fn normal_request(port: u16) -> Duration {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let started = Instant::now();
    let r = client
        .get(format!("http://127.0.0.1:{port}/api/items/1"))
        .send()
        .await
        .expect("a normal client is answered");
    assert_eq!(r.status(), 200);
    let latency = started.elapsed();
    assert!(latency < FAST, "a normal request took {latency:?}");
    latency
}

/// Read one whole response (head and `Content-Length` body) from `stream`.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    let mut buf = [0_u8; 4096];
    let started = Instant::now();
    loop {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().to_owned())
                })
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            if bytes.len() >= end + 4 + length {
                return text;
            }
        }
        let remaining = Duration::from_secs(5).saturating_sub(started.elapsed());
        let n = tokio::time::timeout(remaining, stream.read(&mut buf))
            .await
            .expect("a response within 5 s")
            .expect("read");
        assert!(n > 0, "closed before a whole response: {text}");
        bytes.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_only_socket_is_closed_after_the_header_timeout() {
    let running = start(limited(|_| {})).await;
    let opened = Instant::now();
    let mut socket = connect(running.port).await;
    let latency = normal_request(running.port).await;
    let closed = time_until_closed(&mut socket, opened, HEADER + MARGIN).await;
    println!("connect-only socket closed after {closed:?} (timeout {HEADER:?}); normal request meanwhile {latency:?}");
    assert!(closed >= HEADER / 2, "closed too early: {closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_with_partial_headers_is_closed_after_the_header_timeout() {
    let running = start(limited(|_| {})).await;
    let mut socket = connect(running.port).await;
    socket
        .write_all(b"GET /api/items/1 HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .expect("written");
    let sent = Instant::now();
    let latency = normal_request(running.port).await;
    let closed = time_until_closed(&mut socket, sent, HEADER + MARGIN).await;
    println!(
        "partial-header socket closed after {closed:?} (timeout {HEADER:?}); normal request meanwhile {latency:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_sent_one_byte_every_100_ms_is_cut_at_the_header_timeout() {
    let running = start(limited(|_| {})).await;
    let socket = connect(running.port).await;
    let (mut reader, mut writer) = socket.into_split();
    let head = format!(
        "GET /api/items/1 HTTP/1.1\r\nHost: localhost\r\nX-Pad: {}\r\n\r\n",
        "a".repeat(60)
    );
    let started = Instant::now();
    let closed = tokio::spawn(async move {
        let mut buf = [0_u8; 256];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return started.elapsed(),
                Ok(_) => {}
            }
        }
    });
    let mut latencies = Vec::new();
    // Bounded: the whole head would take ~9 s at this pace.
    for byte in head.as_bytes() {
        if closed.is_finished() || writer.write_all(&[*byte]).await.is_err() {
            break;
        }
        if latencies.len() < 3 {
            latencies.push(normal_request(running.port).await);
        }
        // The client's pace, not a wait for the server.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let closed = tokio::time::timeout(HEADER + MARGIN, closed)
        .await
        .expect("cut within the header timeout")
        .expect("reader");
    println!(
        "1 byte/100 ms socket closed after {closed:?} (timeout {HEADER:?}); normal requests meanwhile {latencies:?}"
    );
    assert!(closed < HEADER + MARGIN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_stalled_after_10_of_100_bytes_is_answered_408_and_closed() {
    let running = start(limited(|_| {})).await;
    let mut socket = connect(running.port).await;
    socket
        .write_all(
            b"POST /api/echo HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\na=12345678",
        )
        .await
        .expect("written");
    let sent = Instant::now();
    let latency = normal_request(running.port).await;
    let response = read_response(&mut socket).await;
    let answered = sent.elapsed();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("\"message\":\"Request timed out\""), "{response}");
    assert!(
        response.to_ascii_lowercase().contains("connection: close"),
        "{response}"
    );
    let closed = time_until_closed(&mut socket, sent, BODY + MARGIN).await;
    println!(
        "stalled body answered 408 after {answered:?}, closed after {closed:?} (timeout {BODY:?}); normal request meanwhile {latency:?}"
    );
    assert!(answered >= BODY / 2, "answered too early: {answered:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_idle_keep_alive_connections_are_closed_after_the_idle_timeout() {
    const IDLE_CONNECTIONS: usize = 200;
    let running = start(limited(|_| {})).await;
    let mut idle = JoinSet::new();
    for _ in 0..IDLE_CONNECTIONS {
        let mut socket = connect(running.port).await;
        idle.spawn(async move {
            socket
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .await
                .expect("written");
            let response = read_response(&mut socket).await;
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            let answered = Instant::now();
            time_until_closed(&mut socket, answered, IDLE + MARGIN).await
        });
    }
    let latency = normal_request(running.port).await;
    let mut closed = Vec::new();
    while let Some(after) = idle.join_next().await {
        closed.push(after.expect("idle connection task"));
    }
    let (min, max) = (
        closed.iter().min().copied().unwrap_or_default(),
        closed.iter().max().copied().unwrap_or_default(),
    );
    println!(
        "{IDLE_CONNECTIONS} idle keep-alive connections closed between {min:?} and {max:?} after their response (timeout {IDLE:?}); normal request meanwhile {latency:?}"
    );
    assert_eq!(closed.len(), IDLE_CONNECTIONS);
    assert!(min >= IDLE / 2, "an idle connection was closed too early: {min:?}");
    let after = normal_request(running.port).await;
    println!("normal request afterwards {after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keep_alive_connection_in_use_is_not_cut_by_the_idle_timeout() {
    let running = start(limited(|_| {})).await;
    let mut socket = connect(running.port).await;
    let started = Instant::now();
    let mut requests = 0;
    // Requests 300 ms apart for twice the idle timeout: never idle long enough.
    while started.elapsed() < IDLE * 2 && requests < 20 {
        socket
            .write_all(b"GET /api/items/3 HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("written");
        let response = read_response(&mut socket).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        requests += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    println!(
        "{requests} requests on one keep-alive connection over {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_connections_are_refused_and_a_client_is_served_once_they_go() {
    const CAP: usize = 8;
    const EXTRA: usize = 10;
    let running = start(limited(|c| {
        c.max_connections = CAP as u32;
        // Held connections must outlive the checks below.
        c.header_read_timeout_ms = 5_000;
    }))
    .await;
    let mut sockets = Vec::new();
    for _ in 0..CAP + EXTRA {
        sockets.push(connect(running.port).await);
    }
    // A refused connection is closed at once; a served one stays open.
    let mut checks = JoinSet::new();
    for (index, mut socket) in sockets.into_iter().enumerate() {
        checks.spawn(async move {
            let mut buf = [0_u8; 16];
            let open = tokio::time::timeout(Duration::from_millis(700), socket.read(&mut buf))
                .await
                .is_err();
            (index, open.then_some(socket))
        });
    }
    let mut held = Vec::new();
    let mut refused = 0;
    while let Some(check) = checks.join_next().await {
        match check.expect("check task") {
            (index, Some(socket)) => held.push((index, socket)),
            (_, None) => refused += 1,
        }
    }
    println!(
        "{} connections served at once, {refused} refused (cap {CAP})",
        held.len()
    );
    assert_eq!(held.len(), CAP, "exactly the cap is served at once");
    assert_eq!(refused, EXTRA);
    // The held connections are served.
    for (_, socket) in &mut held {
        socket
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("written");
        let response = read_response(socket).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
    drop(held);
    // Served again once they are gone (the server notices the closes promptly).
    let started = Instant::now();
    let latency = loop {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("client");
        let attempt = Instant::now();
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{}/api/items/1", running.port))
            .send()
            .await
            && r.status() == 200
        {
            break attempt.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(5), "never served again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!(
        "normal client served again {:?} after the held connections closed, in {latency:?}",
        started.elapsed()
    );
    let metrics = crate::helpers::get_path(&running.router, "/metrics").await.text();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("http_connections_refused_total{") && l.contains("listener=\"public\""))
        .unwrap_or_else(|| panic!("no refusal counter: {metrics}"));
    println!("{line}");
    let count: usize = line.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    // More when a retry above came before the server noticed the closes.
    assert!(count >= EXTRA, "{line}");
}
