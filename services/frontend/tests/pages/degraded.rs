//! A backend down or slow: the page still renders, with a message and 503,
//! and works again when the backend is back, without restarting anything.
//! (Moved from `cli/tests/system/degraded.rs`, on stub backends.)

use crate::helpers::{Frontend, TestApp, config, start_frontend};
use crate::stubs;
use reqwest::StatusCode;
use std::time::{Duration, Instant};

async fn readiness(base: &str) -> (StatusCode, serde_json::Value) {
    let response = reqwest::get(format!("{base}/readyz")).await.expect("sent");
    let status = response.status();
    (status, response.json().await.expect("json"))
}

/// Poll (`/readyz`, which checks the backends, then the admin listener's
/// `/metrics`) until the exposition has `line`, for at most 5 seconds: a
/// periodic check started before the change may land after a probe.
async fn wait_for_metric(frontend: &Frontend, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        readiness(&frontend.base).await;
        let metrics = reqwest::get(format!("{}/metrics", frontend.admin))
            .await
            .expect("sent")
            .text()
            .await
            .expect("text");
        if metrics.lines().any(|l| l == line) {
            return;
        }
        assert!(Instant::now() < deadline, "no {line:?} in\n{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thoughts_down_gives_a_503_page_and_back_up_works_again() {
    let mut app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("resilient", "a long enough password").await;
    b.post_thought("before the outage").await;
    assert_eq!(b.get("/").await.status, StatusCode::OK);

    // Thoughts goes down.
    app.thoughts.stop().await;
    let down = b.get("/").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.body.contains("not answering right now"), "{}", down.body);
    assert!(down.body.contains("<form"), "the page still renders");
    assert_eq!(down.headers["retry-after"], "5");
    let search = b.get("/search?search=outage").await;
    assert_eq!(search.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(search.body.contains("value=\"outage\""), "the query is kept");
    let user = b.get("/users/resilient/").await;
    assert_eq!(user.status, StatusCode::SERVICE_UNAVAILABLE);
    // The frontend itself stays ready (an orchestrator keeps it in its
    // Service, so visitors get this page, not the Ingress's 503); its body
    // and the gauge the alert reads say which backend is missing.
    let (status, body) = readiness(&app.frontend.base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(
        body["backends"]["thoughts"],
        serde_json::json!({"status": "unavailable", "message": "thoughts backend unavailable"})
    );
    assert_eq!(body["backends"]["users"]["status"], "up", "{body}");
    wait_for_metric(&app.frontend, "frontend_backend_up{backend=\"thoughts\"} 0").await;
    // Its calls failed often enough to open the circuit: they now fail at
    // once, without waiting for a connection.
    wait_for_metric(&app.frontend, "outgoing_breaker_state{target=\"thoughts\"} 2").await;

    // Back up on the same port: the frontend recovers by itself, at the
    // latest when the open circuit lets its next probe through.
    app.thoughts.restart().await;
    let restarted = Instant::now();
    let open = Duration::from_millis(kit::config::OutgoingConfig::default().breaker_open_ms);
    let back = loop {
        let page = b.get("/").await;
        if page.status == StatusCode::OK || restarted.elapsed() > open + Duration::from_secs(2) {
            break page;
        }
        assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "{}", page.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!("normal pages again {:?} after the restart", restarted.elapsed());
    assert_eq!(
        back.status,
        StatusCode::OK,
        "normal pages within {open:?} of the restart"
    );
    assert!(back.body.contains("before the outage"), "the list is shown again");
    let (status, body) = readiness(&app.frontend.base).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["backends"]["thoughts"]["status"], "up", "{body}");
    wait_for_metric(&app.frontend, "frontend_backend_up{backend=\"thoughts\"} 1").await;
    wait_for_metric(&app.frontend, "outgoing_breaker_state{target=\"thoughts\"} 0").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_failing_once_is_retried_and_the_visitor_sees_the_page() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("patient", "a long enough password").await;
    b.post_thought("still here").await;
    app.thoughts.fail_next(1);
    let page = b.get("/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("still here"));
    app.thoughts.fail_next(1);
    let search = b.get("/search?search=still").await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.body);

    // Without retries the same failure reaches the visitor.
    let direct = TestApp::start_with(|c| c.outgoing.outgoing_retries = 0).await;
    let mut b = direct.browser();
    b.sign_up("impatient", "a long enough password").await;
    direct.thoughts.fail_next(1);
    assert_eq!(b.get("/").await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(b.get("/").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_while_thoughts_is_down_keeps_the_draft_on_a_503_page() {
    let mut app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("drafter", "a long enough password").await;
    let csrf = b.get("/thoughts/").await.csrf();
    app.thoughts.stop().await;
    let failed = b
        .post("/thoughts/new", &[("text", "written in the dark"), ("csrf", &csrf)])
        .await;
    assert_eq!(failed.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(failed.body.contains("not answering right now"), "{}", failed.body);
    assert!(failed.body.contains("written in the dark"), "the draft is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_down_makes_signing_in_a_503_with_a_message() {
    let mut app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("resilient", "a long enough password").await;
    app.users.stop().await;
    let mut other = app.browser();
    let login = other.get("/login/").await;
    assert_eq!(login.status, StatusCode::OK, "the form needs no backend");
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
    assert!(failed.body.contains("value=\"resilient\""), "the username is kept");
    assert_eq!(failed.headers["retry-after"], "5");
    assert_eq!(
        b.get("/").await.status,
        StatusCode::OK,
        "signed-in pages need no users service"
    );
    let (status, body) = readiness(&app.frontend.base).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["backends"]["users"]["status"], "unavailable", "{body}");
    assert_eq!(body["backends"]["thoughts"]["status"], "up", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_backend_is_cut_off_at_the_deadline() {
    let app = TestApp::start_with(|c| c.backend_timeout_ms = 300).await;
    app.thoughts.stall();
    let mut b = app.browser();
    let started = Instant::now();
    let page = b.get("/search?search=anything").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("not answering right now"), "{}", page.body);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "deadline respected: {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reports_each_backend_against_its_minimum_version() {
    let users = stubs::users().await;
    let (thoughts, _) = stubs::thoughts("0.1.0").await;
    let mut ok = config(&users.url(), &thoughts.url());
    ok.thoughts_backend_min_version = Some("0.0.9".into());
    let ok = start_frontend(ok).await;
    let (status, body) = readiness(&ok.base).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["backends"]["thoughts"],
        serde_json::json!({"status": "up", "version": "0.1.0"})
    );

    let mut too_new = config(&users.url(), &thoughts.url());
    too_new.thoughts_backend_min_version = Some("0.10.0".into());
    let too_new = start_frontend(too_new).await;
    let (status, body) = readiness(&too_new.base).await;
    assert_eq!(status, StatusCode::OK, "the frontend itself can serve: {body}");
    assert_eq!(
        body["backends"]["thoughts"],
        serde_json::json!({
            "status": "outdated",
            "version": "0.1.0",
            "message": "thoughts backend version 0.1.0 is older than the minimum 0.10.0"
        }),
        "0.1.0 < 0.10.0 as versions (not as strings)"
    );
    assert_eq!(body["backends"]["users"]["status"], "up", "{body}");
}
