//! `Params`: form body, JSON body or query string, as the book's parser.

use crate::helpers::{app, get_path, post};
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn params_come_from_a_form_body_a_json_body_or_the_query_string() {
    let (app, _) = app().await;
    let form = post(&app, "/api/echo", "application/x-www-form-urlencoded", "a=1+2&b=%C3%BC").await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.json(), json!({"a": "1 2", "b": "ü"}));
    let body = post(
        &app,
        "/api/echo",
        "application/json; charset=utf-8",
        r#"{"a":"x","b":3}"#,
    )
    .await;
    assert_eq!(body.json(), json!({"a": "x", "b": "3"}));
    let query = get_path(&app, "/api/echo?a=q&b=r%20s").await;
    assert_eq!(query.json(), json!({"a": "q", "b": "r s"}));
}

#[tokio::test]
async fn the_query_string_survives_the_trailing_slash_being_trimmed() {
    let (app, _) = app().await;
    let r = get_path(&app, "/api/echo/?a=kept").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"a": "kept", "b": null}));
}

#[tokio::test]
async fn the_body_wins_over_the_query_string() {
    let (app, _) = app().await;
    let r = post(
        &app,
        "/api/echo?a=query&b=query",
        "application/x-www-form-urlencoded",
        "a=body",
    )
    .await;
    assert_eq!(r.json(), json!({"a": "body", "b": "query"}));
}

#[tokio::test]
async fn a_repeated_form_or_query_parameter_keeps_its_first_value() {
    let (app, _) = app().await;
    let form = post(&app, "/api/echo", "application/x-www-form-urlencoded", "a=first&a=last").await;
    assert_eq!(form.json()["a"], "first");
    let query = get_path(&app, "/api/echo?a=first&a=last").await;
    assert_eq!(query.json()["a"], "first");
    // The body still wins over the query string, with its own first value.
    let both = post(
        &app,
        "/api/echo?a=query&b=q1&b=q2",
        "application/x-www-form-urlencoded",
        "a=first&a=last",
    )
    .await;
    assert_eq!(both.json(), json!({"a": "first", "b": "q1"}));
}

#[tokio::test]
async fn a_json_object_with_a_repeated_key_keeps_its_last_value_as_python_does() {
    let (app, _) = app().await;
    let r = post(&app, "/api/echo", "application/json", r#"{"a": "first", "a": "last"}"#).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["a"], "last");
}

#[tokio::test]
async fn malformed_json_is_a_json_400_and_another_body_type_a_json_415() {
    let (app, _) = app().await;
    let bad = post(&app, "/api/echo", "application/json", "{\"a\": ").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["message"].is_string(), "{}", bad.text());
    let nested = post(&app, "/api/echo", "application/json", r#"{"a": {"b": 1}}"#).await;
    assert_eq!(nested.status, StatusCode::BAD_REQUEST);
    assert_eq!(nested.json()["errors"], json!({"a": "must be a string"}));
    let xml = post(&app, "/api/echo", "text/xml", "<a/>").await;
    assert_eq!(xml.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(xml.json()["message"].is_string(), "{}", xml.text());
}
