//! CSRF refusal, cookie attributes, escaping, security headers, bad
//! sessions. (Moved from `cli/tests/system/security.rs`, on stub backends.)

use crate::helpers::TestApp;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changing_forms_without_a_valid_token_or_from_another_site_are_refused() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("victim", "a long enough password").await;
    let csrf = b.get("/thoughts/").await.csrf();

    let missing = b.post("/thoughts/new", &[("text", "no token")]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.body.contains("another site or has expired"));
    let wrong = b
        .post(
            "/thoughts/new",
            &[("text", "wrong token"), ("csrf", "0123456789abcdef0123456789abcdef")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let cross = b
        .post_with(
            "/thoughts/new",
            &[("text", "cross-site"), ("csrf", &csrf)],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    let foreign = b
        .post_with(
            "/thoughts/new",
            &[("text", "foreign origin"), ("csrf", &csrf)],
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let login = b
        .post(
            "/login/",
            &[("username", "victim"), ("password", "a long enough password")],
        )
        .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN, "login forms are protected too");

    let home = b.get("/thoughts/").await;
    for text in ["no token", "wrong token", "cross-site", "foreign origin"] {
        assert!(!home.body.contains(text), "{text} must not have been posted");
    }
    let ok = b
        .post("/thoughts/new", &[("text", "with the token"), ("csrf", &csrf)])
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookies_are_http_only_lax_and_hold_the_short_bearer_token_and_the_refresh_token() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    let signed_up = b.sign_up("cookie", "a long enough password").await;
    let cookie = signed_up.set_cookie("session").expect("session cookie set");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP by default: {cookie}");
    let value = cookie
        .split(';')
        .next()
        .expect("pair")
        .trim_start_matches("session=")
        .trim_matches('"');
    assert!(value.starts_with("Bearer ey"), "{value}");
    let max_age: i64 = cookie
        .split("Max-Age=")
        .nth(1)
        .and_then(|v| v.split(';').next())
        .expect("max-age")
        .parse()
        .expect("n");
    let lifetime = i64::try_from(crate::stubs::SESSION_SECONDS).expect("small");
    assert!(
        (lifetime - 60..=lifetime).contains(&max_age),
        "lives as long as the short token: {max_age}"
    );
    let refresh = signed_up.set_cookie("refresh").expect("refresh cookie set");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(refresh.contains(attribute), "{attribute} missing: {refresh}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_garbage_session_is_simply_signed_out() {
    let app = TestApp::start().await;
    let forger = tokens::Signer::from_pem(testkit::other_keys().private_pem.as_bytes()).expect("key");
    let forged = format!("\"Bearer {}\"", forger.issue("victim", true).expect("signed"));
    for value in [
        "\"Bearer garbage\"",
        "\"Bearer eyJhbGciOiJub25lIn0.eyJ1c2VybmFtZSI6ImEifQ.\"",
        "x",
        &forged,
    ] {
        let mut b = app.browser();
        b.cookies.insert("session".into(), value.into());
        let home = b.get("/").await;
        assert_eq!(home.status, StatusCode::SEE_OTHER, "{value}");
        assert_eq!(home.location(), Some("/login/"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_text_is_escaped_everywhere_it_is_shown() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("mallory", "a long enough password").await;
    b.post_thought("<script>alert('x')</script> & <b>bold</b>").await;
    for path in ["/thoughts/", "/search?search=script", "/users/mallory/"] {
        let page = b.get(path).await;
        assert!(!page.body.contains("<script>alert"), "{path}");
        assert!(!page.body.contains("<b>bold</b>"), "{path}");
        assert!(
            page.body.contains("alert(") && page.body.contains("bold"),
            "{path} shows the text"
        );
    }
    let reflected = b.get("/search?search=%3Cscript%3Ex").await;
    assert!(!reflected.body.contains("<script>x"), "the query is escaped too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_has_the_security_headers() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    for path in [
        "/login/",
        "/signup/",
        "/search?search=a",
        "/users/nobody/",
        "/no-such-page",
        "/static/style.css",
    ] {
        let page = b.get(path).await;
        let h = |name: &str| {
            page.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = h("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert!(!h("referrer-policy").is_empty(), "{path}");
    }
    let missing = b.get("/no-such-page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("<html"), "a page, not JSON");
    let html = b.get("/login/").await.body;
    assert!(
        !html.contains("<script>") && !html.contains("style=\""),
        "no inline script or style"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing loaded from elsewhere"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_when_the_site_is_served_over_https() {
    let app = TestApp::start_with(|c| c.cookie_secure = true).await;
    let mut b = app.browser();
    let form = b.get("/signup/").await;
    let csrf = form.set_cookie("csrf").expect("a csrf cookie for a new browser");
    assert!(csrf.ends_with("; Secure"), "{csrf}");
    let signed_up = b.sign_up("secure", "a long enough password").await;
    for name in ["session", "refresh"] {
        let set = signed_up.set_cookie(name).expect("cookie set");
        assert!(set.contains("HttpOnly") && set.ends_with("; Secure"), "{set}");
    }
    let page = b.get("/thoughts/").await;
    let out = b.post("/logout/", &[("csrf", &page.csrf())]).await;
    for name in ["session", "refresh"] {
        let cleared = out.set_cookie(name).expect("cookie cleared");
        assert!(
            cleared.contains("Max-Age=0") && cleared.ends_with("; Secure"),
            "{cleared}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_thoughts_service_refuses_ends_with_the_cookie_cleared() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.sign_up("revoked", "a long enough password").await;
    let csrf = b.get("/thoughts/").await.csrf();
    app.thoughts_data.refuse_tokens_of("revoked");
    let posted = b.post("/thoughts/new", &[("text", "too late"), ("csrf", &csrf)]).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    assert_eq!(posted.location(), Some("/login/"));
    let cleared = posted.set_cookie("session").expect("session cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(!b.cookies.contains_key("session"), "signed out");
    let home = b.get("/").await;
    assert_eq!(home.location(), Some("/login/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_visitor_posting_a_form_without_a_token_is_refused_not_redirected() {
    let app = TestApp::start().await;
    let mut b = app.browser();
    b.get("/login/").await;
    for path in ["/thoughts/new", "/thoughts/1/delete"] {
        let refused = b.post(path, &[("text", "no token")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
    let csrf = b.get("/login/").await.csrf();
    let redirected = b.post("/thoughts/new", &[("text", "x"), ("csrf", &csrf)]).await;
    assert_eq!(redirected.status, StatusCode::SEE_OTHER);
    assert_eq!(redirected.location(), Some("/login/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_on_the_admin_port_only_and_the_frontend_serves_no_api_docs() {
    let app = TestApp::start().await;
    let client = reqwest::Client::new();
    let get = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.expect("sent") }
    };
    let metrics = get(format!("{}/metrics", app.frontend.admin)).await;
    assert_eq!(metrics.status(), StatusCode::OK);
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ] {
        assert_eq!(metrics.headers()[name], value, "{name}");
    }
    assert!(metrics.headers().contains_key("content-security-policy"));
    assert!(metrics.text().await.expect("text").contains("http_requests_total"));
    for path in ["/openapi.json", "/docs/"] {
        let r = get(format!("{}{path}", app.frontend.admin)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "admin {path}");
    }
    for path in ["/metrics", "/openapi.json", "/docs/"] {
        let r = get(format!("{}{path}", app.frontend.base)).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "public {path}");
        assert!(r.headers().contains_key("content-security-policy"), "public {path}");
    }
}
