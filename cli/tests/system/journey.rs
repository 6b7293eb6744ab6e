//! The user journey over HTTP: sign up, sign in, post, see it, search, user
//! page, delete, sign out.

use crate::browser_like::{Browser, start_system, start_system_with};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_signs_up_posts_searches_deletes_and_signs_out() {
    let system = start_system().await;
    let mut b = Browser::new(&system.frontend);

    // Signed out, home sends to the sign-in page.
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), Some("/login/"));

    // Sign up: signed in at once, back home.
    let signed_up = b.sign_up("journey", "a long enough password").await;
    assert_eq!(signed_up.status, StatusCode::SEE_OTHER, "{}", signed_up.body);
    assert_eq!(signed_up.location(), Some("/"));
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("@journey"));
    assert!(home.body.contains("You have not shared anything yet"), "empty state");

    // Post, and see it.
    let posted = b.post_thought("Rust microservices are fun").await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    assert_eq!(posted.location(), Some("/thoughts/"));
    let mine = b.get("/thoughts/").await;
    assert!(mine.body.contains("Rust microservices are fun"));
    assert!(mine.body.contains("just now"), "relative time");
    assert!(mine.body.contains("title=\""), "exact time on hover");

    // Search is public and case-insensitive.
    let mut anonymous = Browser::new(&system.frontend);
    let found = anonymous.get("/search?search=MICROSERVICES").await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.body.contains("Rust microservices are fun"));
    assert!(found.body.contains("href=\"/users/journey/\""));
    let none = anonymous.get("/search?search=zzzzzz").await;
    assert!(none.body.contains("No thought contains"));

    // The user's public page.
    let user = anonymous.get("/users/journey/").await;
    assert_eq!(user.status, StatusCode::OK);
    assert!(user.body.contains("Rust microservices are fun"));
    assert!(!user.body.contains("Delete"), "only the author sees delete buttons");

    // Delete it.
    let mine = b.get("/thoughts/").await;
    let end = mine.body.find("/delete\"").expect("delete form") + "/delete".len();
    let start = mine.body[..end].rfind('"').expect("action start") + 1;
    let action = mine.body[start..end].to_owned();
    assert!(action.starts_with("/thoughts/"), "{action}");
    let deleted = b.post(&action, &[("csrf", &mine.csrf())]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert!(!b.get("/thoughts/").await.body.contains("Rust microservices are fun"));
    assert!(
        !anonymous
            .get("/search?search=microservices")
            .await
            .body
            .contains("Rust microservices are fun")
    );

    // Sign out, then home sends to sign-in again.
    let page = b.get("/thoughts/").await;
    let out = b.post("/logout/", &[("csrf", &page.csrf())]).await;
    assert_eq!(out.location(), Some("/login/"));
    assert_eq!(b.get("/").await.location(), Some("/login/"));

    // Sign in again with the form.
    let login = b.get("/login/").await;
    let wrong = b
        .post(
            "/login/",
            &[
                ("username", "journey"),
                ("password", "wrong password!"),
                ("csrf", &login.csrf()),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("Wrong username or password"));
    assert!(wrong.body.contains("value=\"journey\""), "the username is kept");
    let ok = b
        .post(
            "/login/",
            &[
                ("username", "journey"),
                ("password", "a long enough password"),
                ("csrf", &login.csrf()),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/").await.status, StatusCode::OK);

    // GET /logout/ (the book's link) only shows a sign-out button: a GET
    // never signs out. Its form does.
    let confirm = b.get("/logout/").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("<button type=\"submit\">Sign out</button>"));
    assert_eq!(b.get("/").await.status, StatusCode::OK, "still signed in");
    let out = b.post("/logout/", &[("csrf", &confirm.csrf())]).await;
    assert_eq!(out.location(), Some("/login/"));
    assert_eq!(b.get("/").await.location(), Some("/login/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backends_are_reachable_on_their_own_ports_too() {
    let system = start_system().await;
    let client = reqwest::Client::new();
    for base in [&system.urls.users, &system.urls.thoughts, &system.frontend] {
        let ready = client.get(format!("{base}/readyz")).send().await.expect("sent");
        assert_eq!(ready.status(), StatusCode::OK, "{base}");
    }
    // The frontend's readiness names each backend it reached, with its
    // version: each service's own (they are released one by one).
    let body: serde_json::Value = client
        .get(format!("{}/readyz", system.frontend))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    for (backend, version) in [("users", users::VERSION), ("thoughts", thoughts::VERSION)] {
        assert_eq!(body["backends"][backend]["status"], "up", "{body}");
        assert_eq!(body["backends"][backend]["version"], version, "{body}");
    }
    let list = client
        .get(format!("{}/api/thoughts/", system.urls.thoughts))
        .send()
        .await
        .expect("sent");
    assert_eq!(list.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_show_the_newest_thoughts_first_and_link_to_older_ones() {
    // 55 posts at once, far faster than the per-account posting limit allows.
    let system = start_system_with(|s| s.thoughts.posts_per_account_per_minute = 0).await;
    let mut b = Browser::new(&system.frontend);
    b.sign_up("prolific", "a long enough password").await;
    let bearer = b.cookies["session"].trim_matches('"').to_owned();
    let client = reqwest::Client::new();
    for i in 1..=55 {
        let r = client
            .post(format!("{}/api/me/thoughts/", system.urls.thoughts))
            .header("authorization", &bearer)
            .form(&[("text", format!("entry-{i:03}"))])
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    for first_page in ["/thoughts/", "/users/prolific/", "/search?search=entry"] {
        let page = b.get(first_page).await;
        assert_eq!(page.status, StatusCode::OK, "{first_page}");
        let newest = page.body.find("entry-055").expect("newest shown");
        let older = page.body.find("entry-054").expect("next shown");
        assert!(newest < older, "{first_page}: newest first");
        assert!(!page.body.contains("entry-005"), "{first_page}: one page at a time");
        let start = page.body.find("class=\"older\"").expect("an Older link");
        let href_at = page.body[start..].find("href=\"").expect("href") + start + "href=\"".len();
        let href = page.body[href_at..]
            .split('"')
            .next()
            .expect("href")
            .replace("&amp;", "&")
            .replace("&#38;", "&");
        let rest = b.get(&href).await;
        assert_eq!(rest.status, StatusCode::OK, "{href}");
        assert!(
            rest.body.contains("entry-005") && rest.body.contains("entry-001"),
            "{href}"
        );
        assert!(!rest.body.contains("entry-055"), "{href}");
        assert!(!rest.body.contains("class=\"older\""), "{href}: the last page");
    }
}

/// The frontend asks the thoughts service for a page again conditionally
/// (`If-None-Match`): a change made by another client of the API (a phone
/// app posting, an administrator moderating) shows on the next page view
/// all the same, and an unchanged page is the same page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_shows_changes_made_through_the_api_at_once() {
    let system = start_system().await;
    let mut b = Browser::new(&system.frontend);
    let words = "a long enough password";
    assert_eq!(b.sign_up("phone", words).await.status, StatusCode::SEE_OTHER);
    b.post_thought("from the web").await;
    let first = b.get("/thoughts/").await;
    assert!(first.body.contains("from the web"));
    let again = b.get("/thoughts/").await;
    assert!(again.body.contains("from the web"), "an unchanged page is shown again");

    // The same user posts from another client, straight to the API.
    let http = reqwest::Client::new();
    let login: serde_json::Value = http
        .post(format!("{}/api/login/", system.urls.users))
        .form(&[("username", "phone"), ("password", words)])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let bearer = login["Authorized"].as_str().expect("token").to_owned();
    let posted: serde_json::Value = http
        .post(format!("{}/api/me/thoughts/", system.urls.thoughts))
        .header("authorization", &bearer)
        .form(&[("text", "from the phone")])
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let page = b.get("/thoughts/").await;
    assert!(
        page.body.contains("from the phone"),
        "a post through the API shows at once"
    );
    assert!(page.body.contains("from the web"));

    // And its delete, through the API too.
    let r = http
        .delete(format!("{}/api/me/thoughts/{}/", system.urls.thoughts, posted["id"]))
        .header("authorization", &bearer)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let page = b.get("/thoughts/").await;
    assert!(
        !page.body.contains("from the phone"),
        "a delete through the API shows at once"
    );
    assert!(page.body.contains("from the web"));
}
