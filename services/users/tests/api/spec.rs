//! The OpenAPI document tells the truth (issue 11): every status the
//! chassis gives is in it, it states the password policy in force, and the
//! requests it calls invalid are refused.

use crate::helpers::{Engine, spawn, spawn_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn document(app: &crate::helpers::TestApp) -> Value {
    let r = app
        .client
        .get(format!("{}/openapi.json", app.admin))
        .send()
        .await
        .expect("sent");
    r.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_states_the_chassis_statuses_and_the_bearer_scheme() {
    let app = spawn(Engine::Sqlite).await;
    let spec = document(&app).await;
    let exceptions = testkit::openapi::Exceptions {
        infallible: &["jwks"],
        ..Default::default()
    };
    let problems = testkit::openapi::problems(&spec, exceptions);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        spec["paths"]["/admin/users/"]["post"]["security"],
        json!([{"bearer": []}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_states_the_password_length_in_force() {
    let app = spawn_with(Engine::Sqlite, |c| c.password_min_length = 20).await;
    let spec = document(&app).await;
    let password = &spec["components"]["schemas"]["NewAccount"]["properties"]["password"];
    assert_eq!(password["minLength"], 20);
    let short = app.sign_up("bruce", "nineteen characters").await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.sign_up("bruce", "twenty characters ok").await.status(),
        StatusCode::CREATED
    );
}

testkit::both_engines! {
    async fn a_new_password_is_text_while_other_json_scalars_count_as_their_text(engine) {
        let app = spawn(engine).await;
        let post = |body: Value| {
            let request = app.client.post(format!("{}/api/users/", app.base)).json(&body);
            async move { request.send().await.expect("sent") }
        };
        // A number has no one text (1e12 or 1000000000000): refused, not counted.
        let number = post(json!({"username": "bruce", "password": 123_456_789_012_345_u64})).await;
        assert_eq!(number.status(), StatusCode::BAD_REQUEST);
        let body: Value = number.json().await.expect("json");
        assert_eq!(body["errors"]["password"], "must be a string", "{body}");
        let boolean = post(json!({"username": "bruce", "password": true})).await;
        assert_eq!(boolean.status(), StatusCode::BAD_REQUEST);
        // A username may still come as a number, as the book's parser takes it.
        let strong = "a strong password";
        let created = post(json!({"username": 1234, "password": strong})).await;
        assert_eq!(created.status(), StatusCode::CREATED);
        assert_eq!(created.json::<Value>().await.expect("json")["username"], "1234");
        let login = app.client.post(format!("{}/api/login/", app.base))
            .json(&json!({"username": 1234, "password": strong})).send().await.expect("sent");
        assert_eq!(login.status(), StatusCode::OK);
    }
}
