//! One signed-in page view is one trace across every service it touched,
//! exported over OTLP to a receiver inside this test, correctly parented:
//! frontend → thoughts (W3C traceparent on the call), and frontend and
//! thoughts → users for the JWKS.

use axum::routing::post;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
struct Span {
    trace: String,
    id: String,
    parent: String,
    name: String,
    attributes: BTreeMap<String, String>,
}

fn spans(bodies: &[Value]) -> Vec<Span> {
    let mut out = Vec::new();
    for body in bodies {
        for rs in body["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for s in ss["spans"].as_array().into_iter().flatten() {
                    let attributes = s["attributes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|a| {
                            let v = &a["value"];
                            let text = v["stringValue"]
                                .as_str()
                                .map(str::to_owned)
                                .or_else(|| v.as_object().and_then(|o| o.values().next()).map(|x| x.to_string()))?;
                            Some((a["key"].as_str()?.to_owned(), text))
                        })
                        .collect();
                    out.push(Span {
                        trace: s["traceId"].as_str().unwrap_or_default().to_owned(),
                        id: s["spanId"].as_str().unwrap_or_default().to_owned(),
                        parent: s["parentSpanId"].as_str().unwrap_or_default().to_owned(),
                        name: s["name"].as_str().unwrap_or_default().to_owned(),
                        attributes,
                    });
                }
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signed_in_page_view_is_one_trace_across_all_services() {
    // The OTLP/HTTP (JSON) receiver.
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let receiver = axum::Router::new().route(
        "/v1/traces",
        post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    sink.lock().expect("lock").push(v);
                }
                "{}"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let mut telemetry = kit::config::ServerConfig::local(0);
    telemetry.otel_exporter_otlp_endpoint = Some(endpoint);
    telemetry.otel_exporter_otlp_protocol = "http/json".into();
    let guard = Arc::new(kit::telemetry::init("mythoughts-test", &telemetry).expect("first telemetry init"));

    // Users signs; thoughts and frontend verify with its JWKS (cold caches).
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = testkit::keys();
    let stop = CancellationToken::new();
    let db = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let users = users::Application::build(users::Config::local(db("users.sqlite3"), &keys.private_path))
        .await
        .unwrap_or_else(|e| panic!("users: {e}"));
    let users_url = format!("http://127.0.0.1:{}", users.port());
    tokio::spawn(users.run_until_stopped(stop.clone()));
    let jwks = format!("{users_url}/.well-known/jwks.json");
    let mut config = thoughts::Config::local(db("thoughts.sqlite3"), &keys.public_path);
    config.keys.public_key_path = None;
    config.keys.jwks_url = Some(jwks.clone());
    let thoughts = thoughts::Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("thoughts: {e}"));
    let thoughts_url = format!("http://127.0.0.1:{}", thoughts.port());
    tokio::spawn(thoughts.run_until_stopped(stop.clone()));
    let mut config = frontend::Config::local(&users_url, &thoughts_url, &keys.public_path);
    config.keys.public_key_path = None;
    config.keys.jwks_url = Some(jwks.clone());
    let frontend = frontend::Application::build(config)
        .await
        .unwrap_or_else(|e| panic!("frontend: {e}"));
    let frontend_url = format!("http://127.0.0.1:{}", frontend.port());
    tokio::spawn(frontend.run_until_stopped(stop.clone()));

    // An account and its token, straight from the users API.
    let http = reqwest::Client::new();
    let form = [("username", "tracy"), ("password", "a long enough password")];
    http.post(format!("{users_url}/api/users/"))
        .form(&form)
        .send()
        .await
        .expect("sign up");
    let login: Value = http
        .post(format!("{users_url}/api/login/"))
        .form(&form)
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let bearer = login["Authorized"].as_str().expect("token");

    // The page view.
    let page = http
        .get(format!("{frontend_url}/"))
        .header("cookie", format!("session=\"{bearer}\""))
        .header("x-request-id", "trace-me")
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), reqwest::StatusCode::OK);

    // Wait (bounded) until the trace of that page view holds all three services.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (root, trace) = loop {
        let g = guard.clone();
        tokio::task::spawn_blocking(move || g.flush()).await.expect("flush");
        let all = spans(&received.lock().expect("lock"));
        let root = all.iter().find(|s| {
            s.attributes.get("request_id").map(String::as_str) == Some("trace-me")
                && s.attributes.get("service").map(String::as_str) == Some("frontend")
        });
        if let Some(root) = root {
            let trace: Vec<Span> = all.iter().filter(|s| s.trace == root.trace).cloned().collect();
            let services: BTreeSet<&str> = trace
                .iter()
                .filter_map(|s| s.attributes.get("service").map(String::as_str))
                .collect();
            if services.len() == 3 {
                break (root.clone(), trace);
            }
        }
        assert!(
            Instant::now() < deadline,
            "trace incomplete: {:#?}",
            spans(&received.lock().expect("lock"))
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let by_id: BTreeMap<&str, &Span> = trace.iter().map(|s| (s.id.as_str(), s)).collect();
    assert!(
        root.parent.is_empty() || root.parent.chars().all(|c| c == '0'),
        "the page view is the root: {root:?}"
    );
    for span in &trace {
        if span.id != root.id {
            assert!(
                by_id.contains_key(span.parent.as_str()),
                "{} has a parent in the trace",
                span.name
            );
        }
    }
    let server_spans = |service: &str| -> Vec<&Span> {
        trace
            .iter()
            .filter(|s| s.attributes.get("service").map(String::as_str) == Some(service) && s.name.starts_with("GET "))
            .collect()
    };
    let parent_of = |s: &Span| by_id.get(s.parent.as_str()).map(|p| (*p).clone()).expect("parent");
    // thoughts' request span is the child of a frontend client span (the call).
    let thoughts_request = server_spans("thoughts")
        .into_iter()
        .next()
        .expect("thoughts served the page's call");
    let call = parent_of(thoughts_request);
    assert_eq!(
        call.attributes.get("target").map(String::as_str),
        Some("thoughts"),
        "{call:?}"
    );
    // users served the JWKS to both verifiers, each call parented to its
    // caller's client span (target `jwks`: the JWKS fetch has its own breaker).
    let users_requests = server_spans("users");
    assert!(!users_requests.is_empty(), "users was reached for the JWKS");
    for r in users_requests {
        let call = parent_of(r);
        assert_eq!(
            call.attributes.get("target").map(String::as_str),
            Some("jwks"),
            "{call:?}"
        );
    }
    stop.cancel();
}
