//! `/healthz`, `/readyz`, `/admin/version` on the public listener;
//! `/metrics`, `/openapi.json`, `/docs/` on the admin listener only; the
//! security headers on every response of both.

use crate::helpers::{COMMIT, Readiness, VERSION, admin_app, app, apps, config, get_path, service};
use axum::http::StatusCode;
use kit::ops::{Ready, ready_check};
use kit::server::Server;
use serde_json::json;

#[tokio::test]
async fn healthz_answers_200() {
    let (app, _) = app().await;
    let r = get_path(&app, "/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_follows_the_check_and_gives_its_reason_when_it_fails() {
    let (app, readiness) = app().await;
    let r = get_path(&app, "/readyz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!({"status": "ready"}));
    readiness.set(Err("database: unreachable"));
    let r = get_path(&app, "/readyz").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        r.json(),
        json!({"status": "unavailable", "message": "database: unreachable"})
    );
    readiness.set(Ok(()));
    assert_eq!(get_path(&app, "/readyz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_ready_check_can_add_details_to_the_200_body_but_not_change_its_status() {
    let mut test_service = service(config(), &Readiness::default());
    test_service.ready = ready_check(|| async {
        Ok::<_, String>(
            Ready::default()
                .with("backends", json!({"db": {"status": "up"}}))
                .with("status", json!("ignored")),
        )
    });
    let app = Server::bind(test_service).await.expect("bound").router();
    let r = get_path(&app, "/readyz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json(),
        json!({"status": "ready", "backends": {"db": {"status": "up"}}})
    );
}

#[tokio::test]
async fn admin_version_answers_with_and_without_the_trailing_slash() {
    let (app, _) = app().await;
    for path in ["/admin/version/", "/admin/version"] {
        let r = get_path(&app, path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.json(), json!({"version": VERSION, "commit": COMMIT}), "{path}");
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_with_help_lines() {
    let (app, admin) = apps().await;
    assert_eq!(get_path(&app, "/api/items/7").await.status, StatusCode::OK);
    assert_eq!(get_path(&app, "/api/items/8/").await.status, StatusCode::OK);
    let r = get_path(&admin, "/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").starts_with("text/plain"), "{:?}", r.headers);
    let text = r.text();
    assert!(text.contains("# HELP http_requests_total "), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("http_requests_total{") && l.contains("route=\"/api/items/{id}\""))
        .unwrap_or_else(|| panic!("no counter for the route template: {text}"));
    assert!(line.contains("service=\"kit-test\"") && line.ends_with(" 2"), "{line}");
    assert!(text.contains("build_info{"), "{text}");
}

#[tokio::test]
async fn the_openapi_description_carries_the_service_version_with_or_without_slash() {
    let app = admin_app().await;
    for path in ["/openapi.json", "/openapi.json/"] {
        let r = get_path(&app, path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_eq!(r.json()["info"]["version"], VERSION, "{path}");
    }
}

#[tokio::test]
async fn the_docs_ui_keeps_its_trailing_slash_and_its_relative_assets_load() {
    let app = admin_app().await;
    let page = get_path(&app, "/docs/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-type").starts_with("text/html"),
        "{:?}",
        page.headers
    );
    let html = page.text();
    assert!(html.contains("swagger-ui"), "{html}");
    // The page loads its script relative to `/docs/`.
    assert!(html.contains("./swagger-initializer.js"), "{html}");
    let script = get_path(&app, "/docs/swagger-initializer.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.text().contains("/openapi.json"), "{}", script.text());
    let css = get_path(&app, "/docs/swagger-ui.css").await;
    assert_eq!(css.status, StatusCode::OK);
    let bare = get_path(&app, "/docs").await;
    assert!(bare.status.is_redirection(), "{}", bare.status);
    assert_eq!(bare.header("location"), "/docs/");
}

/// The UI's assets are embedded gzipped: a browser (gzip accepted) gets them
/// as they are, a client that does not accept gzip gets the same bytes
/// decompressed, and both answers say they vary on `Accept-Encoding`.
#[tokio::test]
async fn docs_assets_are_gzip_for_browsers_and_plain_for_clients_without_it() {
    use axum::body::Body;
    use axum::http::Request;
    use std::io::Read as _;
    let app = admin_app().await;
    let fetch = |accept: Option<&'static str>| {
        let mut request = Request::get("/docs/swagger-ui.css");
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        crate::helpers::send(&app, request.body(Body::empty()).expect("valid request"))
    };
    let plain = fetch(None).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(
        plain.header("content-encoding"),
        "",
        "no gzip for a client that did not ask"
    );
    assert!(
        plain.header("content-type").starts_with("text/css"),
        "{:?}",
        plain.headers
    );
    assert!(plain.text().contains(".swagger-ui"), "readable CSS");
    assert_eq!(plain.header("vary"), "accept-encoding");
    let browser = fetch(Some("gzip, deflate, br, zstd")).await;
    assert_eq!(browser.status, StatusCode::OK);
    assert_eq!(browser.header("content-encoding"), "gzip");
    assert_eq!(browser.header("vary"), "accept-encoding");
    assert!(
        browser.body.len() * 3 < plain.body.len(),
        "{} vs {} bytes",
        browser.body.len(),
        plain.body.len()
    );
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&browser.body[..])
        .read_to_end(&mut unpacked)
        .expect("valid gzip");
    assert_eq!(unpacked, plain.body, "the same stylesheet either way");
    for refused in ["gzip;q=0", "identity", "gzip;q=0, *"] {
        let reply = fetch(Some(refused)).await;
        assert_eq!(reply.header("content-encoding"), "", "{refused}");
        assert_eq!(reply.body, plain.body, "{refused}");
    }
    for accepted in ["*", "GZIP;q=0.5", "br;q=1, gzip;q=0.1"] {
        assert_eq!(
            fetch(Some(accepted)).await.header("content-encoding"),
            "gzip",
            "{accepted}"
        );
    }
    // The page itself too: decompressed, it is still the UI's page.
    let page = get_path(&app, "/docs/").await;
    assert!(page.text().contains("swagger-ui"), "{}", page.text());
}

#[tokio::test]
async fn the_books_swagger_json_is_the_same_document_as_openapi_json() {
    let app = admin_app().await;
    let openapi = get_path(&app, "/openapi.json").await;
    for path in ["/swagger.json", "/swagger.json/"] {
        let swagger = get_path(&app, path).await;
        assert_eq!(swagger.status, StatusCode::OK, "{path}");
        assert!(
            swagger.header("content-type").starts_with("application/json"),
            "{path}: {:?}",
            swagger.headers
        );
        assert_eq!(swagger.json(), openapi.json(), "{path}");
    }
}

#[tokio::test]
async fn the_books_docs_page_at_the_root_leads_to_the_docs_ui() {
    let app = admin_app().await;
    let root = get_path(&app, "/").await;
    assert!(root.status.is_redirection(), "{}", root.status);
    assert_eq!(root.header("location"), "/docs/");
    let page = get_path(&app, root.header("location")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("swagger-ui"), "{}", page.text());
}

#[tokio::test]
async fn the_public_listener_answers_404_for_metrics_and_api_docs() {
    let (app, _) = app().await;
    for path in [
        "/metrics",
        "/openapi.json",
        "/swagger.json",
        "/docs/",
        "/docs",
        "/docs/swagger-ui.css",
    ] {
        let r = get_path(&app, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.json(), json!({"message": "Not found"}), "{path}");
    }
}

#[tokio::test]
async fn the_admin_listener_serves_health_and_metrics_but_not_the_api() {
    let admin = admin_app().await;
    assert_eq!(get_path(&admin, "/healthz").await.status, StatusCode::OK);
    assert_eq!(get_path(&admin, "/metrics").await.status, StatusCode::OK);
    for path in ["/api/items/1", "/readyz", "/admin/version/"] {
        assert_eq!(get_path(&admin, path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_service_without_an_api_description_has_metrics_but_no_docs() {
    let mut svc = service(config(), &Readiness::default());
    svc.openapi = None;
    let admin = Server::bind(svc).await.expect("bound").admin_router();
    assert_eq!(get_path(&admin, "/metrics").await.status, StatusCode::OK);
    for path in ["/openapi.json", "/swagger.json", "/", "/docs/", "/docs"] {
        assert_eq!(get_path(&admin, path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn every_response_of_both_listeners_carries_the_security_headers() {
    let (app, admin) = apps().await;
    let replies = [
        ("admin /docs/", get_path(&admin, "/docs/").await),
        ("admin /metrics", get_path(&admin, "/metrics").await),
        ("admin 404", get_path(&admin, "/nothing").await),
        ("public /healthz", get_path(&app, "/healthz").await),
        ("public 404", get_path(&app, "/metrics").await),
        ("public 500", get_path(&app, "/api/panic").await),
    ];
    for (what, r) in &replies {
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{what}");
        assert_eq!(r.header("x-frame-options"), "DENY", "{what}");
        assert_eq!(r.header("referrer-policy"), "no-referrer", "{what}");
        let csp = r.header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    }
    assert!(
        replies[0]
            .1
            .header("content-security-policy")
            .contains("script-src 'self'")
    );
    assert!(
        replies[1]
            .1
            .header("content-security-policy")
            .starts_with("default-src 'none'")
    );
}
