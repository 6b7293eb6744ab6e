//! Outgoing calls that fail well (`kit::client::ApiClient`), against a stub
//! HTTP server on 127.0.0.1:0 that counts the requests it gets and whose
//! answers the test switches while it runs: retries of idempotent calls
//! only, within the budget and the whole-call deadline, and a circuit
//! breaker per target that opens, fails fast without touching the network,
//! probes when half-open and closes or reopens.
//!
//! Each test uses its own target name: the metrics are process-wide.

use axum::Router;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use kit::client::{ApiClient, CircuitState, ClientError};
use kit::config::OutgoingConfig;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the stub answers once its queued failures are used up.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// 200 with a version body.
    Ok,
    /// This status, with a JSON error body.
    Status(u16),
    /// Wait this long, then 200.
    Slow(Duration),
}

#[derive(Debug)]
struct Behaviour {
    answer: Mutex<Answer>,
    /// Answer this many requests first with `fail_status`.
    failures_left: AtomicU32,
    fail_status: Mutex<u16>,
    seen: AtomicUsize,
}

/// A stub target on loopback.
struct Stub {
    url: String,
    behaviour: Arc<Behaviour>,
}

impl Stub {
    async fn start(answer: Answer) -> Self {
        let behaviour = Arc::new(Behaviour {
            answer: Mutex::new(answer),
            failures_left: AtomicU32::new(0),
            fail_status: Mutex::new(503),
            seen: AtomicUsize::new(0),
        });
        let state = behaviour.clone();
        let app = Router::new().fallback(move || {
            let state = state.clone();
            async move { reply(&state).await }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("stub binds");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, behaviour }
    }

    /// Requests received so far.
    fn seen(&self) -> usize {
        self.behaviour.seen.load(Ordering::SeqCst)
    }

    fn answer(&self, answer: Answer) {
        *self.behaviour.answer.lock().expect("lock") = answer;
    }

    /// Answer the next `n` requests with `status`, then as before.
    fn fail_next(&self, n: u32, status: u16) {
        *self.behaviour.fail_status.lock().expect("lock") = status;
        self.behaviour.failures_left.store(n, Ordering::SeqCst);
    }
}

async fn reply(state: &Behaviour) -> Response {
    state.seen.fetch_add(1, Ordering::SeqCst);
    let failing = state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let answer = if failing {
        Answer::Status(*state.fail_status.lock().expect("lock"))
    } else {
        *state.answer.lock().expect("lock")
    };
    let ok = || axum::Json(serde_json::json!({"version": "1.0.0", "commit": "stub"})).into_response();
    match answer {
        Answer::Ok => ok(),
        Answer::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, axum::Json(serde_json::json!({"message": "stub failure"}))).into_response()
        }
        Answer::Slow(wait) => {
            tokio::time::sleep(wait).await;
            ok()
        }
    }
}

/// Settings for a test: no breaker unless the test sets one, short backoff.
fn outgoing() -> OutgoingConfig {
    OutgoingConfig {
        outgoing_retries: 2,
        outgoing_retry_backoff_ms: 5,
        outgoing_retry_budget_percent: 20,
        outgoing_retry_min_per_second: 1,
        outgoing_attempt_timeout_ms: 2500,
        breaker_failures: 0,
        breaker_open_ms: 2000,
    }
}

fn client(target: &'static str, url: &str, timeout: Duration, outgoing: &OutgoingConfig) -> ApiClient {
    ApiClient::new(target, url, Duration::from_secs(1), timeout, outgoing).expect("client")
}

/// The value of `metric{target="<target>"[,outcome="<outcome>"]}` in this
/// process's exposition (0 when absent).
fn metric(name: &str, target: &str, outcome: Option<&str>) -> f64 {
    let labels = match outcome {
        Some(o) => format!("{name}{{target=\"{target}\",outcome=\"{o}\"}} "),
        None => format!("{name}{{target=\"{target}\"}} "),
    };
    let text = kit::metrics::handle().render();
    text.lines()
        .find_map(|l| l.strip_prefix(&labels))
        .map(|v| v.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

fn retries(target: &str) -> f64 {
    metric("outgoing_retries_total", target, None)
}

async fn post(client: &ApiClient) -> Result<reqwest::Response, ClientError> {
    client
        .send(client.request(Method::POST, "/api/things/").form(&[("a", "b")]))
        .await
}

#[tokio::test]
async fn a_get_that_fails_once_is_retried_and_succeeds() {
    let stub = Stub::start(Answer::Ok).await;
    let api = client("retry-once", &stub.url, Duration::from_secs(3), &outgoing());
    for status in [503, 502, 504] {
        stub.fail_next(1, status);
        let before = stub.seen();
        let (version, _) = api
            .version()
            .await
            .unwrap_or_else(|e| panic!("retried after {status}: {e}"));
        assert_eq!(version, "1.0.0");
        assert_eq!(stub.seen() - before, 2, "one failed attempt, one retry after {status}");
    }
    assert_eq!(retries("retry-once"), 3.0);

    // A 500 is a bug, not a passing fault; a 4xx is an answer: neither is retried.
    for status in [500, 404] {
        stub.fail_next(1, status);
        let before = stub.seen();
        assert!(api.version().await.is_err());
        assert_eq!(stub.seen() - before, 1, "{status} sent once");
    }
    assert_eq!(retries("retry-once"), 3.0);
}

#[tokio::test]
async fn a_post_or_delete_that_fails_is_not_retried() {
    let stub = Stub::start(Answer::Status(503)).await;
    let api = client("no-retry-post", &stub.url, Duration::from_secs(3), &outgoing());
    match post(&api).await {
        Err(ClientError::Unavailable(message)) => assert!(message.contains("503"), "{message}"),
        other => panic!("expected unavailable, got {other:?}"),
    }
    assert_eq!(stub.seen(), 1, "a POST answered 503 is sent once");
    let delete = api.request(Method::DELETE, "/api/things/1/");
    assert!(api.send(delete).await.is_err());
    assert_eq!(stub.seen(), 2, "a DELETE answered 503 is sent once");

    // Timed out: it may have been processed, so not sent again either.
    stub.answer(Answer::Slow(Duration::from_secs(5)));
    let slow = client(
        "no-retry-post",
        &stub.url,
        Duration::from_millis(300),
        &OutgoingConfig {
            outgoing_attempt_timeout_ms: 100,
            ..outgoing()
        },
    );
    assert!(post(&slow).await.is_err());
    assert_eq!(stub.seen(), 3, "a POST that timed out is sent once");
    assert_eq!(retries("no-retry-post"), 0.0);
}

#[tokio::test]
async fn a_post_whose_connection_is_refused_is_retried_as_nothing_was_sent() {
    // A port nobody listens on: connecting is refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let api = client("refused-post", &url, Duration::from_secs(3), &outgoing());
    assert!(matches!(post(&api).await, Err(ClientError::Unavailable(_))));
    assert_eq!(retries("refused-post"), 2.0, "both retries spent");
    assert_eq!(
        metric("outgoing_requests_total", "refused-post", Some("connect_error")),
        3.0
    );
}

#[tokio::test]
async fn under_sustained_failure_retries_stay_within_the_budget() {
    let stub = Stub::start(Answer::Status(503)).await;
    let settings = OutgoingConfig {
        outgoing_retry_backoff_ms: 1,
        ..outgoing()
    };
    let api = client("budget", &stub.url, Duration::from_secs(3), &settings);
    let calls = 200;
    let started = Instant::now();
    for _ in 0..calls {
        assert!(api.version().await.is_err());
    }
    let elapsed = started.elapsed();
    let sent = stub.seen();
    let retried = sent - calls;
    // The budget weighs the last 10 s: 20 % of the calls, plus 1 per second
    // of each 10-s window begun.
    let windows = elapsed.as_secs() / 10 + 1;
    let allowed = calls / 5 + (settings.outgoing_retry_min_per_second as usize) * 10 * windows as usize;
    println!(
        "{calls} calls failing with 503 in {elapsed:?}: {sent} requests sent, {retried} retries (allowed {allowed}; without a budget {})",
        calls * 2
    );
    assert!(retried <= allowed, "{retried} retries for {calls} calls");
    assert!(retried >= calls / 5, "the budget is used: {retried}");
    assert_eq!(retries("budget"), retried as f64, "every retry counted");
    assert!(metric("outgoing_retries_refused_total", "budget", None) > 0.0);
}

#[tokio::test]
async fn a_slow_target_is_cut_at_the_whole_call_deadline_even_with_retries() {
    let stub = Stub::start(Answer::Slow(Duration::from_secs(5))).await;
    let deadline = Duration::from_millis(600);
    let settings = OutgoingConfig {
        outgoing_attempt_timeout_ms: 250,
        ..outgoing()
    };
    let api = client("slow", &stub.url, deadline, &settings);
    let started = Instant::now();
    assert!(matches!(api.version().await, Err(ClientError::Unavailable(_))));
    let elapsed = started.elapsed();
    println!(
        "slow target: {} attempts, call ended after {elapsed:?} (deadline {deadline:?})",
        stub.seen()
    );
    assert!(elapsed < deadline + Duration::from_millis(150), "{elapsed:?}");
    assert!(stub.seen() >= 2, "the attempt timeout left room for a retry");

    // The stub answers within an attempt again: the same client succeeds.
    stub.answer(Answer::Slow(Duration::from_millis(10)));
    assert!(api.version().await.is_ok());
}

/// Poll the breaker gauge of `target` until it reads `state`, for at most `limit`.
async fn wait_for_state(target: &str, state: CircuitState, limit: Duration) {
    let deadline = Instant::now() + limit;
    while metric("outgoing_breaker_state", target, None) != state.gauge() {
        assert!(
            Instant::now() < deadline,
            "{target}: breaker not {state:?} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn breaking(failures: u32, open: Duration) -> OutgoingConfig {
    OutgoingConfig {
        breaker_failures: failures,
        breaker_open_ms: open.as_millis() as u64,
        ..outgoing()
    }
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_probes_when_half_open_and_closes() {
    let target = "breaker-close";
    let stub = Stub::start(Answer::Status(503)).await;
    // Long enough that the calls below all fall inside it on a loaded
    // machine (400 ms did not, beside the rest of the workspace's tests).
    let open = Duration::from_millis(1500);
    let api = client(target, &stub.url, Duration::from_secs(3), &breaking(3, open));
    assert_eq!(
        metric("outgoing_breaker_state", target, None),
        0.0,
        "closed from the start"
    );

    // One GET: the attempt and its two retries fail, the third opens the circuit.
    assert!(api.version().await.is_err());
    assert_eq!(stub.seen(), 3);
    assert_eq!(api.circuit(), CircuitState::Open);
    assert_eq!(metric("outgoing_breaker_state", target, None), 2.0);
    let opened = Instant::now();

    // Open: calls fail without being sent (the stub sees none), from every
    // clone.
    let other = api.with_request_id("another-request");
    for client in [&api, &other, &api, &other] {
        match client.version().await {
            Err(ClientError::Unavailable(message)) => assert!(message.contains("circuit open"), "{message}"),
            reply => panic!("expected a fast failure, got {reply:?}"),
        }
    }
    assert!(post(&api).await.is_err());
    assert_eq!(stub.seen(), 3, "nothing reached the target while open");
    assert_eq!(metric("outgoing_requests_total", target, Some("breaker_open")), 5.0);

    // Half-open once the period is over, not before.
    wait_for_state(target, CircuitState::HalfOpen, open + Duration::from_secs(2)).await;
    assert!(opened.elapsed() >= open, "half-open after {:?}", opened.elapsed());

    // The target recovered: the probe succeeds and closes the circuit.
    stub.answer(Answer::Ok);
    assert!(other.version().await.is_ok(), "the probe goes through");
    assert_eq!(stub.seen(), 4);
    assert_eq!(api.circuit(), CircuitState::Closed);
    assert_eq!(metric("outgoing_breaker_state", target, None), 0.0);
    assert!(api.version().await.is_ok());
    assert_eq!(stub.seen(), 5);
}

#[tokio::test]
async fn a_failed_probe_opens_the_circuit_again() {
    let target = "breaker-reopen";
    let stub = Stub::start(Answer::Status(503)).await;
    let open = Duration::from_millis(300);
    let api = client(target, &stub.url, Duration::from_secs(3), &breaking(2, open));
    assert!(api.version().await.is_err());
    let sent = stub.seen();
    assert_eq!(api.circuit(), CircuitState::Open, "after {sent} failed attempts");
    wait_for_state(target, CircuitState::HalfOpen, open + Duration::from_secs(2)).await;

    // Still failing: the probe is sent, fails, and the circuit opens again
    // (its retries are not sent: the circuit would refuse them).
    assert!(api.version().await.is_err());
    assert_eq!(stub.seen(), sent + 1, "only the probe was sent");
    assert_eq!(metric("outgoing_breaker_state", target, None), 2.0);
    let reopened = Instant::now();
    assert!(api.version().await.is_err());
    assert_eq!(stub.seen(), sent + 1, "open again: nothing sent");

    // And the cycle goes on: half-open after a whole new period.
    wait_for_state(target, CircuitState::HalfOpen, open + Duration::from_secs(2)).await;
    assert!(
        reopened.elapsed() >= open - Duration::from_millis(20),
        "{:?}",
        reopened.elapsed()
    );
}

#[tokio::test]
async fn client_errors_are_answers_and_keep_the_circuit_closed() {
    let target = "breaker-4xx";
    let stub = Stub::start(Answer::Status(404)).await;
    let api = client(
        target,
        &stub.url,
        Duration::from_secs(3),
        &breaking(2, Duration::from_secs(60)),
    );
    for _ in 0..5 {
        assert!(matches!(
            api.version().await,
            Err(ClientError::Status { status: 404, .. })
        ));
    }
    assert_eq!(stub.seen(), 5);
    assert_eq!(api.circuit(), CircuitState::Closed);
}
