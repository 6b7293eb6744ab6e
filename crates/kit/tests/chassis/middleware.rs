//! Request ids, trailing slashes, JSON error bodies, body limits, panics.

use crate::helpers::{BODY_LIMIT, app, get_path, post, send};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_request_id_is_generated_when_absent_and_echoed_when_sent() {
    let (app, _) = app().await;
    let generated = get_path(&app, "/healthz").await;
    let id = generated.header("x-request-id");
    assert!(uuid::Uuid::parse_str(id).is_ok(), "not a UUID: {id:?}");
    let other = get_path(&app, "/healthz").await;
    assert_ne!(other.header("x-request-id"), id, "each request gets its own");
    let request = Request::get("/healthz")
        .header("x-request-id", "caller-chose-this")
        .body(Body::empty())
        .expect("valid request");
    let echoed = send(&app, request).await;
    assert_eq!(echoed.header("x-request-id"), "caller-chose-this");
}

#[tokio::test]
async fn service_routes_answer_with_and_without_the_trailing_slash() {
    let (app, _) = app().await;
    for path in ["/api/items/3", "/api/items/3/", "/healthz/"] {
        assert_eq!(get_path(&app, path).await.status, StatusCode::OK, "{path}");
    }
    assert_eq!(get_path(&app, "/api/items/3/").await.json(), json!({"id": 3}));
}

#[tokio::test]
async fn an_unknown_path_gets_a_json_404() {
    let (app, _) = app().await;
    for path in ["/nope", "/nope/", "/api/items"] {
        let r = get_path(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.header("content-type"), "application/json", "{path}");
        assert_eq!(r.json(), json!({"message": "Not found"}), "{path}");
    }
}

#[tokio::test]
async fn a_wrong_method_gets_a_json_405() {
    let (app, _) = app().await;
    let r = post(&app, "/api/items/3", "application/json", "{}").await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.json(), json!({"message": "Method not allowed"}));
}

#[tokio::test]
async fn a_body_over_the_limit_gets_a_json_413() {
    let (app, _) = app().await;
    let fits = post(
        &app,
        "/api/echo",
        "application/x-www-form-urlencoded",
        format!("a={}", "x".repeat(BODY_LIMIT - 2)),
    )
    .await;
    assert_eq!(fits.status, StatusCode::OK);
    let big = post(
        &app,
        "/api/echo",
        "application/x-www-form-urlencoded",
        format!("a={}", "x".repeat(BODY_LIMIT)),
    )
    .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(big.json(), json!({"message": "Request body too large"}));
}

#[tokio::test]
async fn a_panicking_handler_gets_a_json_500_that_says_nothing_internal() {
    let (app, _) = app().await;
    let r = get_path(&app, "/api/panic").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.json(), json!({"message": "Internal server error"}));
    let text = r.text();
    assert!(!text.contains("secret") && !text.contains("hunter2"), "{text}");
    // The service keeps serving.
    assert_eq!(get_path(&app, "/healthz").await.status, StatusCode::OK);
}
