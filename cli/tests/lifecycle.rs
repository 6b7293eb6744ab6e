//! `mythoughts up` as a real process: drain on SIGTERM, request ids and
//! trace ids across services in the logs, and no secret in any log line.

use reqwest::StatusCode;
use std::collections::BTreeSet;
use std::time::Duration;
use testkit::process::{ServiceProcess, hammer_through_shutdown};

fn start_up(data: &tempfile::TempDir, drain: &str) -> ServiceProcess {
    let dir = data.path().display().to_string();
    ServiceProcess::start(
        env!("CARGO_BIN_EXE_mythoughts"),
        &["up"],
        &[
            ("MYTHOUGHTS_PORT", "0"),
            ("MYTHOUGHTS_DATA_DIR", &dir),
            ("SHUTDOWN_DRAIN_SECONDS", drain),
            ("RUST_LOG", "debug"),
            // These tests are about draining and logs: eight clients searching
            // as one address must not meet the search admission limits.
            ("SEARCHES_PER_ADDRESS_PER_MINUTE", "1000000"),
            ("SEARCH_CONCURRENCY", "9"),
        ],
        3,
    )
}

fn lines_with(log: &[String], request_id: &str) -> Vec<serde_json::Value> {
    log.iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["request_id"] == request_id)
        .collect()
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("csrf field") + marker.len();
    html[start..].split('"').next().expect("value").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_drains_on_sigterm_without_failing_a_request_and_exits_0() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut process = start_up(&data, "1");
    let frontend = format!("http://127.0.0.1:{}", process.port("frontend"));
    let thoughts = format!("http://127.0.0.1:{}", process.port("thoughts"));
    let users = format!("http://127.0.0.1:{}", process.port("users"));
    testkit::wait_ready(&frontend).await;
    let urls = vec![
        format!("{frontend}/search?search=drain"),
        format!("{thoughts}/api/thoughts/"),
        format!("{users}/.well-known/jwks.json"),
        format!("{frontend}/login/"),
    ];
    let report = hammer_through_shutdown(&mut process, urls, 8, 200, Duration::from_secs(1)).await;
    println!("drain report: {report:?}");
    assert_eq!(report.failed, 0, "{:?}", report.failures);
    assert_eq!(report.exit_code, Some(0));
    assert!(
        report.time_to_exit >= Duration::from_secs(1) && report.time_to_exit < Duration::from_secs(30),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_and_one_trace_id_follow_a_request_through_every_service_and_no_secret_is_logged() {
    let data = tempfile::tempdir().expect("temp dir");
    let process = start_up(&data, "0");
    let frontend = format!("http://127.0.0.1:{}", process.port("frontend"));
    let users = format!("http://127.0.0.1:{}", process.port("users"));
    testkit::wait_ready(&frontend).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let password = format!("secret-{}", uuid::Uuid::new_v4().simple());

    // Sign up through the frontend, with a request id of ours.
    let form = http.get(format!("{frontend}/signup/")).send().await.expect("sent");
    let csrf_cookie = form.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let csrf = csrf_of(&form.text().await.expect("html"));
    let signup = http
        .post(format!("{frontend}/signup/"))
        .header("x-request-id", "signup-abc")
        .header("cookie", &csrf_cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("username", "carol"),
            ("password", password.as_str()),
            ("csrf", csrf.as_str()),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(signup.status(), StatusCode::SEE_OTHER);
    let session = signup
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("session="))
        .expect("session cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let jwt = session
        .trim_start_matches("session=")
        .trim_matches('"')
        .trim_start_matches("Bearer ")
        .to_owned();

    // A signed-in page view reaches frontend and thoughts.
    let home = http
        .get(format!("{frontend}/"))
        .header("x-request-id", "home-abc")
        .header("cookie", format!("{session}; {csrf_cookie}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(home.status(), StatusCode::OK);
    // Secrets in every place a client may put them.
    http.post(format!("{users}/api/login/?username=carol&password={password}"))
        .send()
        .await
        .expect("sent");
    http.get(format!("{users}/readyz"))
        .header("authorization", format!("Bearer {jwt}"))
        .send()
        .await
        .expect("sent");

    // Logs are asynchronous to the responses: wait (bounded) for the lines.
    let mut log = Vec::new();
    for _ in 0..200 {
        log = process.log();
        if lines_with(&log, "home-abc").len() >= 2 && lines_with(&log, "signup-abc").len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (request_id, expected) in [
        ("signup-abc", ["frontend", "users"]),
        ("home-abc", ["frontend", "thoughts"]),
    ] {
        let lines = lines_with(&log, request_id);
        let services: BTreeSet<&str> = lines.iter().filter_map(|l| l["service"].as_str()).collect();
        assert_eq!(services, expected.into_iter().collect(), "{request_id}: {lines:#?}");
        let traces: BTreeSet<&str> = lines.iter().filter_map(|l| l["trace_id"].as_str()).collect();
        assert_eq!(traces.len(), 1, "one trace id for {request_id}: {traces:?}");
        for line in &lines {
            for field in ["timestamp", "level", "service", "version", "request_id", "trace_id"] {
                assert!(!line[field].is_null(), "{field} missing in {line}");
            }
        }
    }
    let all = log.join("\n");
    assert!(!all.contains(&password), "a password was logged");
    assert!(!all.contains(&jwt), "a token was logged");
    assert!(!all.contains(&csrf), "a CSRF token was logged");
    assert!(
        !all.to_ascii_lowercase().contains("bearer "),
        "an Authorization value was logged"
    );
    assert!(
        all.contains("\"event\":\"login_failed\"") || all.contains("login succeeded"),
        "security events are logged"
    );
}

#[test]
fn a_taken_port_is_refused_with_a_clear_message_and_nothing_keeps_running() {
    let data = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mythoughts"))
        .args(["up", "--port", &port.to_string(), "--data-dir"])
        .arg(data.path())
        .env("LOG_FORMAT", "json")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    // `up` binds users (port + 1) and thoughts (port + 2) before the
    // frontend: another test may hold one of those, and then that one is named.
    let names_a_port = (0..3).any(|offset| stderr.contains(&format!("127.0.0.1:{}", port + offset)));
    assert!(names_a_port && stderr.contains("already in use"), "{stderr}");
    assert!(stderr.contains("--port"), "it says how to fix it: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthcheck_flag_reports_a_running_system_without_a_shell() {
    let data = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    drop(taken);
    let probe = |port: u16| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mythoughts"))
            .args(["--healthcheck", "--port", &port.to_string()])
            .status()
            .expect("runs")
            .code()
    };
    assert_eq!(tokio::task::block_in_place(|| probe(port)), Some(1), "nothing runs yet");
    let dir = data.path().display().to_string();
    let process = ServiceProcess::start(
        env!("CARGO_BIN_EXE_mythoughts"),
        &["up", "--port", &port.to_string()],
        &[("MYTHOUGHTS_DATA_DIR", &dir), ("SHUTDOWN_DRAIN_SECONDS", "0")],
        3,
    );
    testkit::wait_ready(&format!("http://127.0.0.1:{port}")).await;
    assert_eq!(tokio::task::block_in_place(|| probe(port)), Some(0));
    drop(process);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_access_line_of_a_burst_is_written_by_a_graceful_shutdown_and_probes_stay_out_of_the_info_log() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path().display().to_string();
    // The default log level: no RUST_LOG.
    let mut process = ServiceProcess::start(
        env!("CARGO_BIN_EXE_mythoughts"),
        &["up"],
        &[
            ("MYTHOUGHTS_PORT", "0"),
            ("MYTHOUGHTS_DATA_DIR", &dir),
            ("SHUTDOWN_DRAIN_SECONDS", "0"),
        ],
        3,
    );
    let thoughts = format!("http://127.0.0.1:{}", process.port("thoughts"));
    let users = format!("http://127.0.0.1:{}", process.port("users"));
    let admin = format!("http://127.0.0.1:{}", process.admin_port("thoughts"));
    testkit::wait_ready(&thoughts).await;
    let http = reqwest::Client::new();
    // Probes and scrapes, each with an id of its own.
    for (i, url) in [
        format!("{thoughts}/healthz"),
        format!("{thoughts}/readyz/"),
        format!("{users}/admin/version/"),
        format!("{admin}/metrics"),
        format!("{admin}/healthz"),
    ]
    .iter()
    .enumerate()
    {
        let r = http
            .get(url)
            .header("x-request-id", format!("probe-{i}"))
            .send()
            .await
            .expect("sent");
        assert!(r.status().is_success(), "{url}: {}", r.status());
    }
    // A burst of API requests from 16 clients, then SIGTERM at once.
    let burst = 800;
    let mut clients = tokio::task::JoinSet::new();
    for c in 0..16 {
        let (http, thoughts, users) = (http.clone(), thoughts.clone(), users.clone());
        clients.spawn(async move {
            for i in (c..burst).step_by(16) {
                let url = if i % 2 == 0 {
                    format!("{thoughts}/api/thoughts/")
                } else {
                    format!("{users}/.well-known/jwks.json")
                };
                let r = http
                    .get(&url)
                    .header("x-request-id", format!("burst-{i}"))
                    .send()
                    .await
                    .expect("sent");
                assert!(r.status().is_success(), "{url}: {}", r.status());
            }
        });
    }
    while let Some(done) = clients.join_next().await {
        done.expect("client");
    }
    process.terminate();
    let code = tokio::task::block_in_place(|| process.wait(Duration::from_secs(30)));
    assert_eq!(code, Some(0));

    // The process is gone; its output is read to the end (bounded wait).
    let access = |log: &[String], prefix: &str| -> BTreeSet<String> {
        log.iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["message"] == "request finished")
            .filter_map(|v| v["request_id"].as_str().map(str::to_owned))
            .filter(|id| id.starts_with(prefix))
            .collect()
    };
    let mut log = process.log();
    for _ in 0..500 {
        if access(&log, "burst-").len() >= burst || log.iter().any(|l| l.contains("\"message\":\"stopped\"")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        log = process.log();
    }
    let written = access(&log, "burst-");
    let missing: Vec<usize> = (0..burst)
        .filter(|i| !written.contains(&format!("burst-{i}")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} access lines missing: {missing:?}",
        missing.len()
    );
    let probes = access(&log, "probe-");
    assert!(probes.is_empty(), "probes and scrapes are logged at debug: {probes:?}");
}
