//! The OpenAPI document tells the truth (issue 11): every status the
//! chassis gives is in it, and the requests it calls invalid are refused
//! (these were accepted, or answered differently, before the document said
//! what the code does).

use crate::helpers::{Engine, admin_bearer, bearer, spawn};
use reqwest::StatusCode;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_states_the_chassis_statuses_and_the_bearer_scheme() {
    let app = spawn(Engine::Sqlite).await;
    let r = app
        .client
        .get(format!("{}/openapi.json", app.admin))
        .send()
        .await
        .expect("sent");
    let spec: Value = r.json().await.expect("json");
    let exceptions = testkit::openapi::Exceptions {
        reads_params: &["list_thoughts", "list_my_thoughts"],
        ..Default::default()
    };
    let problems = testkit::openapi::problems(&spec, exceptions);
    assert!(problems.is_empty(), "{problems:#?}");
    let query = &spec["paths"]["/api/thoughts/"]["get"]["parameters"][0];
    assert_eq!(
        (&query["style"], &query["explode"]),
        (&Value::from("form"), &Value::from(true))
    );
    assert_eq!(query["schema"]["properties"]["limit"]["minimum"], 1);
    assert_eq!(query["schema"]["properties"]["limit"]["maximum"], 1000);
}

testkit::both_engines! {
    async fn moderating_a_path_that_holds_no_thought_id_is_404_and_deletes_nothing(engine) {
        let app = spawn(engine).await;
        let t = app.post_thought("bruce", "keep me").await;
        for id in ["abc", "0", "+1", "-1", "%201", "9223372036854775808"] {
            let path = app.url(&format!("/admin/thoughts/{id}/"));
            let r = app.client.delete(&path).header("authorization", admin_bearer("root")).send().await.expect("sent");
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{id}");
            assert!(r.json::<Value>().await.expect("json")["message"].is_string());
        }
        let path = app.url(&format!("/api/thoughts/+{}/", t["id"]));
        let signed = app.client.get(&path).send().await.expect("sent");
        assert_eq!(signed.status(), StatusCode::NOT_FOUND, "an id is digits only, as the book's <int:> routes");
        assert_eq!(app.get_list("/api/thoughts/").await.len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_numbers_are_plain_digits_and_orders_plain_words() {
    let app = spawn(Engine::Sqlite).await;
    app.post_thought("bruce", "one").await;
    for (query, field) in [
        ("limit=%2B2", "limit"),
        ("limit=%202", "limit"),
        ("limit=0", "limit"),
        ("after=%2B1", "after"),
        ("order=desc&before=1%20", "before"),
        ("order=%20desc", "order"),
    ] {
        for path in ["/api/thoughts/", "/api/me/thoughts/"] {
            let r = app
                .client
                .get(app.url(&format!("{path}?{query}")))
                .header("authorization", bearer("bruce"))
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}?{query}");
            let body: Value = r.json().await.expect("json");
            assert!(body["errors"][field].is_string(), "{path}?{query}: {body}");
        }
    }
    let ok = app
        .client
        .get(app.url("/api/thoughts/?limit=1&order=desc&before=9"))
        .send()
        .await
        .expect("sent");
    assert_eq!(ok.status(), StatusCode::OK);
}
