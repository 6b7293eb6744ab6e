//! The mechanism end to end, on a provider written here: a consumer records
//! a contract against the mock, the contract is written, and a provider
//! that keeps it passes while one that renames a field fails, naming the
//! consumer, the interaction and the field.

use axum::Json;
use axum::extract::Form;
use axum::routing::{get, post};
use contracts::dsl::{each_like, integer, like, term, timestamp};
use contracts::provider::{PactFile, load_pacts_from};
use contracts::{PactBuilder, RequestSpec, ResponseSpec, Target, verify};
use serde_json::{Value, json};
use std::collections::HashMap;

const TOKEN: &str = r"^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$";

/// What the consumer code under test does: log in with a form, read `token`.
async fn consumer_logs_in(base: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/login/"))
        .form(&[("username", "alice"), ("password", "an example passphrase")])
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.expect("json");
    body["token"].as_str().expect("a token").to_owned()
}

fn login_interaction(pact: &mut PactBuilder) -> contracts::consumer::InteractionBuilder<'_> {
    pact.interaction("a login with the right password")
        .given("an account exists", json!({"username": "alice"}))
        .request(RequestSpec::post("/login/").form(&[("username", "alice"), ("password", "an example passphrase")]))
        .response(ResponseSpec::status(200).json(json!({
            "token": term(TOKEN, "Bearer header.payload.signature"),
            "expires_in": integer(3600),
        })))
}

/// A contract recorded by a consumer test, written to a temporary folder.
async fn recorded() -> (tempfile::TempDir, Vec<PactFile>) {
    let mut pact = PactBuilder::new("web", "accounts");
    login_interaction(&mut pact)
        .test(|base| async move {
            assert_eq!(consumer_logs_in(&base).await, "Bearer header.payload.signature");
        })
        .await;
    pact.interaction("everyone's posts")
        .request(RequestSpec::get("/posts/").query("limit", "2"))
        .response(ResponseSpec::status(200).json(each_like(
            json!({"id": integer(1), "by": like("alice"), "at": timestamp("2019-05-07T13:47:34")}),
            1,
        )))
        .test(|base| async move {
            let posts: Vec<Value> = reqwest::get(format!("{base}/posts/?limit=2"))
                .await
                .expect("sent")
                .json()
                .await
                .expect("json");
            assert_eq!(posts.len(), 1);
        })
        .await;
    let dir = tempfile::tempdir().expect("temp dir");
    pact.finish_in(dir.path(), true).expect("written");
    let pacts = load_pacts_from(dir.path(), "accounts").expect("readable");
    (dir, pacts)
}

/// A provider answering the login with `login` and two posts.
async fn provider(login: Value) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new()
        .route(
            "/login/",
            post(move |Form(form): Form<HashMap<String, String>>| async move {
                if form.get("password").map(String::as_str) == Some("an example passphrase") {
                    (axum::http::StatusCode::OK, Json(login))
                } else {
                    (axum::http::StatusCode::UNAUTHORIZED, Json(json!({"message": "no"})))
                }
            }),
        )
        .route(
            "/posts/",
            get(|| async {
                Json(json!([
                    {"id": 7, "by": "bob", "at": "2024-01-01T10:00:00.250000"},
                    {"id": 8, "by": "carol", "at": "2024-01-02T10:00:00"}
                ]))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (base, task)
}

async fn verify_against(login: Value) -> contracts::Report {
    let (_dir, pacts) = recorded().await;
    verify("accounts", &pacts, |states| {
        let login = login.clone();
        async move {
            let known = ["an account exists"];
            if let Some(s) = states.iter().find(|s| !known.contains(&s.name.as_str())) {
                return Err(format!("unknown state {:?}", s.name));
            }
            let (base, task) = provider(login).await;
            Ok(Target::new(base, AbortOnDrop(task)))
        }
    })
    .await
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[tokio::test]
async fn a_recorded_contract_is_a_pact_v3_file() {
    let (_dir, pacts) = recorded().await;
    let text = std::fs::read_to_string(&pacts[0].path).expect("file");
    let file: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(file["consumer"]["name"], "web");
    assert_eq!(file["provider"]["name"], "accounts");
    assert_eq!(file["metadata"]["pactSpecification"]["version"], "3.0.0");
    let login = &file["interactions"][0];
    assert_eq!(login["providerStates"][0]["name"], "an account exists");
    assert_eq!(
        login["request"]["body"],
        "username=alice&password=an+example+passphrase"
    );
    assert_eq!(
        login["response"]["matchingRules"]["body"]["$.token"]["matchers"][0],
        json!({"match": "regex", "regex": TOKEN})
    );
    let posts = &file["interactions"][1];
    assert_eq!(posts["request"]["query"], json!({"limit": ["2"]}));
    assert_eq!(
        posts["response"]["matchingRules"]["body"]["$"]["matchers"][0],
        json!({"match": "type", "min": 1})
    );
}

#[tokio::test]
async fn a_provider_that_keeps_the_contract_passes_even_with_added_fields() {
    let report = verify_against(json!({"token": "Bearer a.b.c", "expires_in": 900, "refresh": "new"})).await;
    assert!(report.failures.is_empty(), "{report}");
    assert_eq!(report.total(), 2);
}

#[tokio::test]
async fn a_provider_that_renames_a_field_fails_naming_the_consumer_the_interaction_and_the_field() {
    let report = verify_against(json!({"access_token": "Bearer a.b.c", "expires_in": "soon"})).await;
    let text = report.to_string();
    assert_eq!(report.failures.len(), 1, "{text}");
    assert!(
        text.contains(
            r#"consumer "web", interaction "a login with the right password" (contracts/pacts/web-accounts.json)"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"given "an account exists" {"username":"alice"}"#),
        "{text}"
    );
    assert!(text.contains("POST /login/ answered 200"), "{text}");
    assert!(
        text.contains("- body $.token: missing; the consumer relies on it"),
        "{text}"
    );
    assert!(
        text.contains("- body $.expires_in: expected an integer, got \"soon\""),
        "{text}"
    );
}

#[tokio::test]
async fn a_provider_answering_another_status_fails_with_it() {
    let (_dir, mut pacts) = recorded().await;
    // The provider refuses this password: the contract's example sent is what the provider gets.
    let body = &mut pacts[0].pact.interactions[0].request.body;
    *body = Some(Value::String("username=alice&password=other".into()));
    let report = verify("accounts", &pacts, |_| async {
        let (base, task) = provider(json!({})).await;
        Ok::<_, String>(Target::new(base, AbortOnDrop(task)))
    })
    .await;
    let text = report.to_string();
    assert!(text.contains("- status: expected 200, got 401"), "{text}");
}

#[tokio::test]
async fn an_unknown_provider_state_fails_the_interaction_that_needs_it() {
    let (_dir, pacts) = recorded().await;
    let report = verify("accounts", &pacts, |states| async move {
        if states.is_empty() {
            let (base, task) = provider(json!({"token": "Bearer a.b.c", "expires_in": 1})).await;
            Ok(Target::new(base, Some(AbortOnDrop(task))))
        } else {
            Err(format!("no set-up for {:?}", states[0].name))
        }
    })
    .await;
    let text = report.to_string();
    assert_eq!(report.failures.len(), 1, "{text}");
    assert!(
        text.contains("the provider state could not be set up: no set-up for \"an account exists\""),
        "{text}"
    );
}

#[tokio::test]
#[should_panic(expected = "sent a request that matches no interaction of its contract: POST /login/")]
async fn a_consumer_request_that_matches_no_interaction_fails_its_test() {
    let mut pact = PactBuilder::new("web", "accounts");
    login_interaction(&mut pact)
        .test(|base| async move {
            // Not what was declared: another field name.
            let _ = reqwest::Client::new()
                .post(format!("{base}/login/"))
                .form(&[("user", "alice"), ("password", "an example passphrase")])
                .send()
                .await;
        })
        .await;
}

#[tokio::test]
#[should_panic(expected = "body $.username: missing")]
async fn the_mismatch_names_the_field_that_differs() {
    let mut pact = PactBuilder::new("web", "accounts");
    login_interaction(&mut pact)
        .test(|base| async move {
            consumer_logs_in(&base).await;
            // A second request, with another field name.
            let _ = reqwest::Client::new()
                .post(format!("{base}/login/"))
                .form(&[("name", "alice"), ("password", "an example passphrase")])
                .send()
                .await;
        })
        .await;
}

#[tokio::test]
#[should_panic(expected = "never sent the declared request POST /login/")]
async fn a_declared_interaction_the_consumer_never_uses_fails_its_test() {
    let mut pact = PactBuilder::new("web", "accounts");
    login_interaction(&mut pact).test(|_| async {}).await;
}

#[tokio::test]
#[should_panic(expected = "the response's examples break its own rules")]
async fn an_example_that_breaks_its_own_rule_is_refused() {
    let mut pact = PactBuilder::new("web", "accounts");
    pact.interaction("a bad example")
        .request(RequestSpec::get("/x"))
        .response(ResponseSpec::status(200).json(json!({"token": term(TOKEN, "not a token")})))
        .test(|_| async {})
        .await;
}

#[tokio::test]
async fn a_contract_that_differs_from_the_committed_file_fails_with_the_update_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut first = PactBuilder::new("web", "accounts");
    login_interaction(&mut first)
        .test(|base| async move {
            consumer_logs_in(&base).await;
        })
        .await;
    first.finish_in(dir.path(), true).expect("written");
    let mut second = PactBuilder::new("web", "accounts");
    second
        .interaction("a login with the right password")
        .given("an account exists", json!({"username": "alice"}))
        .request(RequestSpec::post("/login/").form(&[("username", "alice"), ("password", "an example passphrase")]))
        .response(ResponseSpec::status(200).json(json!({"token": like("Bearer header.payload.signature")})))
        .test(|base| async move {
            consumer_logs_in(&base).await;
        })
        .await;
    let err = second.finish_in(dir.path(), false).expect_err("differs");
    assert!(
        err.contains("the web's tests now record a different contract with accounts than the committed contracts/pacts/web-accounts.json"),
        "{err}"
    );
    assert!(
        err.contains("interactions changed \"a login with the right password\""),
        "{err}"
    );
    assert!(
        err.contains("UPDATE_PACTS=1 cargo nextest run -p contracts contracts"),
        "{err}"
    );
}
