//! What every service shares (kit): request ids, JSON errors, limits,
//! health, readiness, version, metrics, OpenAPI, configuration errors.

use crate::helpers::spawn;
use reqwest::StatusCode;
use serde_json::Value;
use testkit::Engine;

#[tokio::test]
async fn a_request_id_is_echoed_or_generated() {
    let app = spawn(Engine::Sqlite).await;
    let r = app
        .client
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "abc")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.headers()["x-request-id"], "abc");
    let r = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("sent");
    assert!(!r.headers()["x-request-id"].is_empty());
}

#[tokio::test]
async fn errors_are_json_for_unknown_paths_methods_bodies_and_types() {
    let app = spawn(Engine::Sqlite).await;
    let not_found = app.client.get(format!("{}/nope", app.base)).send().await.expect("sent");
    assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
    assert!(not_found.json::<Value>().await.expect("json")["message"].is_string());
    let method = app
        .client
        .get(format!("{}/api/login/", app.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(method.json::<Value>().await.expect("json")["message"].is_string());
    let big = app
        .client
        .post(format!("{}/api/login/", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username=a&password={}", "x".repeat(32 * 1024)))
        .send()
        .await
        .expect("sent");
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(big.json::<Value>().await.expect("json")["message"].is_string());
    let xml = app
        .client
        .post(format!("{}/api/login/", app.base))
        .header("content-type", "text/xml")
        .body("<a/>")
        .send()
        .await
        .expect("sent");
    assert_eq!(xml.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let bad_json = app
        .client
        .post(format!("{}/api/login/", app.base))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .expect("sent");
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    assert!(bad_json.json::<Value>().await.expect("json")["message"].is_string());
}

#[tokio::test]
async fn paths_work_with_and_without_the_trailing_slash() {
    let app = spawn(Engine::Sqlite).await;
    for path in ["/admin/version/", "/admin/version", "/healthz", "/healthz/"] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn operational_endpoints_answer() {
    let app = spawn(Engine::Sqlite).await;
    let version: Value = app
        .client
        .get(format!("{}/admin/version/", app.base))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert!(version["commit"].is_string());
    assert_eq!(
        version["version"],
        users::VERSION,
        "the service's own version, not the workspace's"
    );
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("sent");
    assert_eq!(ready.status(), StatusCode::OK);
    app.login("nobody", "whatever").await;
    let refused = app
        .client
        .post(format!("{}/admin/users/", app.base))
        .header("authorization", "Bearer not-a-token")
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let metrics = app.metrics().await;
    assert!(metrics.contains("http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/api/login\""), "{metrics}");
    // Help texts come from where each metric is recorded (kit, tokens, users).
    for help in [
        "# HELP http_requests_total ",
        "# HELP tokens_rejected_total ",
        "# HELP logins_total ",
    ] {
        assert!(metrics.contains(help), "{help} missing: {metrics}");
    }
    let spec: Value = app
        .client
        .get(format!("{}/openapi.json", app.admin))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert!(spec["openapi"].as_str().expect("version").starts_with("3.1"));
    assert!(spec["paths"]["/api/login/"].is_object());
    let docs = app
        .client
        .get(format!("{}/docs/", app.admin))
        .send()
        .await
        .expect("sent");
    assert_eq!(docs.status(), StatusCode::OK);
    let html = docs.text().await.expect("text");
    assert!(
        !html.contains("cdn") && !html.contains("unpkg"),
        "docs must work offline"
    );
    // The book's paths for the same: `/swagger.json` and the docs page at `/`.
    let swagger: Value = app
        .client
        .get(format!("{}/swagger.json", app.admin))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(swagger, spec);
    let root = app.client.get(format!("{}/", app.admin)).send().await.expect("sent");
    assert_eq!(root.status(), StatusCode::OK);
    assert_eq!(root.url().path(), "/docs/", "followed to the docs page");
    assert!(root.text().await.expect("text").contains("swagger-ui"));
    // Only the admin listener, which no deployment publishes, serves them.
    for path in ["/metrics", "/openapi.json", "/swagger.json", "/docs/"] {
        let public = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("sent");
        assert_eq!(public.status(), StatusCode::NOT_FOUND, "public {path}");
    }
}

fn run_binary(envs: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_users-service"))
        .env_clear()
        .envs(envs.iter().copied())
        .output()
        .expect("binary runs")
}

#[test]
fn a_missing_private_key_is_one_line_and_exit_64() {
    let out = run_binary(&[("PRIVATE_KEY_PATH", "/nonexistent/key.pem"), ("PORT", "0")]);
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("PRIVATE_KEY_PATH"), "{stderr}");
}

#[test]
fn unreadable_secret_files_are_one_line_and_exit_64() {
    let key = testkit::keys().private_path.to_str().expect("utf-8").to_owned();
    for (var, extra) in [
        (
            "PUBLISHED_PUBLIC_KEY_PATHS",
            [("PUBLISHED_PUBLIC_KEY_PATHS", "/nonexistent/previous.pub")],
        ),
        (
            "POSTGRES_PASSWORD_FILE",
            [("POSTGRES_PASSWORD_FILE", "/nonexistent/password")],
        ),
    ] {
        let mut envs = vec![
            ("PRIVATE_KEY_PATH", key.as_str()),
            ("PORT", "0"),
            ("DATABASE_ENGINE", "POSTGRESQL"),
        ];
        envs.extend(extra);
        let out = run_binary(&envs);
        assert_eq!(out.status.code(), Some(64), "{var}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(var), "{stderr}");
    }
}

#[test]
fn an_invalid_setting_is_one_line_and_exit_64() {
    let out = run_binary(&[("PORT", "not-a-port")]);
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("PORT") || stderr.contains("--port"), "{stderr}");
}

#[test]
fn help_lists_the_environment_variables() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_users-service"))
        .arg("--help")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "DATABASE_ENGINE",
        "POSTGRES_HOST",
        "PRIVATE_KEY_PATH",
        "ADMIN_USERNAME",
        "VERSION_NAME",
        "PORT",
    ] {
        assert!(help.contains(var), "{var} missing from --help");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthcheck_flag_probes_the_running_service_without_a_shell() {
    let app = spawn(Engine::Sqlite).await;
    let port = app.base.rsplit(':').next().expect("port").to_owned();
    let probe = |port: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_users-service"))
            .arg("--healthcheck")
            .env_clear()
            .env("PORT", port)
            .status()
            .expect("runs")
            .code()
    };
    assert_eq!(probe(&port), Some(0));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    assert_eq!(probe(&closed.to_string()), Some(1), "nothing listens there");
}
