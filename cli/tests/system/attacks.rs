//! Attacks through the frontend, performed for real against the whole system
//! (bounded in count, loopback only).

use crate::browser_like::{Browser, start_system_with};
use reqwest::StatusCode;

/// Issue 9, finding 3: a browser reaching the frontend sends its own
/// `X-Forwarded-For` to choose an identity for every guess. The users
/// service must still count every guess against the one address that
/// really connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_forwarded_for_headers_through_the_frontend_do_not_escape_the_address_limit() {
    const LIMIT: u32 = 5;
    let system = start_system_with(|s| {
        s.users.login_attempts_per_address = LIMIT;
        // A fresh identity per guess must not help either: no account limit in the way.
        s.users.login_attempts_per_account = 1000;
    })
    .await;
    let mut b = Browser::new(&system.frontend);
    let mut evaluated = 0;
    let mut limited_at = None;
    for i in 0..(LIMIT * 3) {
        let csrf = b.get("/login/").await.csrf();
        let spoofed = format!("203.0.113.{i}");
        let chain = format!("198.51.100.{i}, {spoofed}");
        let username = format!("victim{i}");
        let page = b
            .post_with(
                "/login/",
                &[
                    ("username", &username),
                    ("password", "a wrong password"),
                    ("csrf", &csrf),
                ],
                &[
                    ("sec-fetch-site", "same-origin"),
                    ("x-forwarded-for", &chain),
                    ("x-forwarded-for", &spoofed),
                    ("x-real-ip", &spoofed),
                ],
            )
            .await;
        match page.status {
            StatusCode::TOO_MANY_REQUESTS => {
                limited_at.get_or_insert(i);
            }
            StatusCode::UNAUTHORIZED | StatusCode::OK | StatusCode::BAD_REQUEST => evaluated += 1,
            other => panic!("unexpected {other} for guess {i}: {}", page.body),
        }
    }
    println!(
        "spoofed guesses sent: {}, evaluated: {evaluated}, first 429 at guess {limited_at:?}",
        LIMIT * 3
    );
    assert!(
        evaluated <= LIMIT,
        "{evaluated} guesses were evaluated with spoofed addresses; the limit is {LIMIT}"
    );
    assert_eq!(limited_at, Some(LIMIT), "the guess after the limit is refused");
}

/// Issue 9, finding 6: searches are limited per visitor. The frontend
/// forwards the address it derived for the browser (here it trusts loopback,
/// as behind an ingress), and the thoughts service, trusting the frontend,
/// counts each visitor's searches apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_through_the_frontend_are_limited_per_visitor() {
    const LIMIT: u32 = 3;
    let system = start_system_with(|s| {
        s.thoughts.searches_per_address_per_minute = LIMIT;
        s.frontend.trusted_proxies = "127.0.0.1,::1".into();
    })
    .await;
    let http = reqwest::Client::new();
    let search = |visitor: &'static str| {
        http.get(format!("{}/search?search=hello", system.frontend))
            .header("x-forwarded-for", visitor)
            .timeout(std::time::Duration::from_secs(10))
            .send()
    };
    for _ in 0..LIMIT {
        assert_eq!(search("203.0.113.1").await.expect("sent").status(), StatusCode::OK);
    }
    let refused = search("203.0.113.1").await.expect("sent");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.text().await.expect("body").contains("Too many searches"));
    assert_eq!(
        search("198.51.100.2").await.expect("sent").status(),
        StatusCode::OK,
        "another visitor has their own budget"
    );
}
