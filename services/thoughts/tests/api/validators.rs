//! List validators (issue 13): every list carries an `ETag`; the same
//! request with `If-None-Match` naming it is answered `304 Not Modified`
//! with no body until the list changes, and never after a change the caller
//! was told about (a post, a delete, a moderation, a bulk load).

use crate::helpers::{admin_bearer, bearer, spawn};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::{Duration, Instant};
use testkit::Engine;

/// GET `url` (with `token`, and `If-None-Match: tag` when given): the
/// status, the ETag and the body.
async fn get(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    tag: Option<&str>,
) -> (StatusCode, Option<String>, String) {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.header("authorization", token);
    }
    if let Some(tag) = tag {
        request = request.header("if-none-match", tag);
    }
    let r = request.send().await.expect("sent");
    let status = r.status();
    let etag = r.headers().get("etag").map(|v| v.to_str().expect("ascii").to_owned());
    (status, etag, r.text().await.expect("body"))
}

fn texts(body: &str) -> Vec<String> {
    let items: Vec<Value> = serde_json::from_str(body).expect("a JSON list");
    items
        .iter()
        .map(|t| t["text"].as_str().expect("text").to_owned())
        .collect()
}

/// `thoughts_lists_not_modified_total` on the admin listener.
async fn not_modified_count(app: &crate::helpers::TestApp) -> u64 {
    app.metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix("thoughts_lists_not_modified_total "))
        .map_or(0, |v| v.trim().parse().expect("a count"))
}

testkit::both_engines! {
    async fn an_unchanged_list_is_not_sent_again(engine) {
        let app = spawn(engine).await;
        app.post_thought("bruce", "first").await;
        for (url, token) in [
            (app.url("/api/thoughts/"), None),
            (app.url("/api/thoughts/?username=bruce&order=desc&limit=5"), None),
            (app.url("/api/thoughts/?search=firs"), None),
            (app.url("/api/me/thoughts/?order=desc&limit=50"), Some(bearer("bruce"))),
        ] {
            let token = token.as_deref();
            let (status, tag, body) = get(&app.client, &url, token, None).await;
            assert_eq!(status, StatusCode::OK, "{url}");
            assert_eq!(texts(&body), ["first"], "{url}");
            let tag = tag.unwrap_or_else(|| panic!("{url}: a list carries an ETag"));
            let (status, again, body) = get(&app.client, &url, token, Some(&tag)).await;
            assert_eq!(status, StatusCode::NOT_MODIFIED, "{url}");
            assert_eq!(again.as_deref(), Some(tag.as_str()), "{url}: a 304 names the tag");
            assert!(body.is_empty(), "{url}: a 304 has no body");
            // A weak comparison, a list of tags, and a tag that is not the list's.
            let weak = format!("W/{tag}, \"other\"");
            assert_eq!(get(&app.client, &url, token, Some(&weak)).await.0, StatusCode::NOT_MODIFIED, "{url}");
            let (status, _, body) = get(&app.client, &url, token, Some("\"not-this-one\"")).await;
            assert_eq!(status, StatusCode::OK, "{url}");
            assert_eq!(texts(&body), ["first"], "{url}");
        }
        assert_eq!(not_modified_count(&app).await, 8);
    }

    async fn a_list_is_sent_again_after_every_change_to_it(engine) {
        let app = spawn(engine).await;
        let first = app.post_thought("bruce", "first").await;
        let mine = app.url("/api/me/thoughts/?order=desc&limit=50");
        let everyone = app.url("/api/thoughts/");
        let token = bearer("bruce");
        let tags = |body: (StatusCode, Option<String>, String)| {
            assert_eq!(body.0, StatusCode::OK);
            (body.1.expect("an ETag"), texts(&body.2))
        };
        let (mine_tag, _) = tags(get(&app.client, &mine, Some(&token), None).await);
        let (everyone_tag, _) = tags(get(&app.client, &everyone, None, None).await);

        // A post through the API: both lists are sent again, with it.
        app.post_thought("bruce", "second").await;
        let (mine_tag, seen) = tags(get(&app.client, &mine, Some(&token), Some(&mine_tag)).await);
        assert_eq!(seen, ["second", "first"]);
        let (everyone_tag, seen) = tags(get(&app.client, &everyone, None, Some(&everyone_tag)).await);
        assert_eq!(seen, ["first", "second"]);

        // The author deletes one.
        let second_id = texts_ids(&app.client, &everyone).await[1];
        let r = app.client.delete(app.url(&format!("/api/me/thoughts/{second_id}/")))
            .header("authorization", &token).send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let (mine_tag, seen) = tags(get(&app.client, &mine, Some(&token), Some(&mine_tag)).await);
        assert_eq!(seen, ["first"]);
        let (everyone_tag, seen) = tags(get(&app.client, &everyone, None, Some(&everyone_tag)).await);
        assert_eq!(seen, ["first"]);

        // An administrator deletes the other (the route knows only the id).
        let r = app.client.delete(app.url(&format!("/admin/thoughts/{}/", first["id"])))
            .header("authorization", admin_bearer("admin")).send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let (_, seen) = tags(get(&app.client, &mine, Some(&token), Some(&mine_tag)).await);
        assert!(seen.is_empty());
        let (_, seen) = tags(get(&app.client, &everyone, None, Some(&everyone_tag)).await);
        assert!(seen.is_empty());
    }

    async fn lists_say_how_caches_may_keep_them(engine) {
        let app = spawn(engine).await;
        let r = app.client.get(app.url("/api/me/thoughts/")).header("authorization", bearer("bruce"))
            .send().await.expect("sent");
        assert_eq!(r.headers()["cache-control"], "private, no-cache");
        assert_eq!(r.headers()["vary"], "authorization");
        let r = app.client.get(app.url("/api/thoughts/")).send().await.expect("sent");
        assert_eq!(r.headers()["cache-control"], "no-cache");
        // A conditional request still needs a valid token for the caller's own.
        let (status, _, _) = get(&app.client, &app.url("/api/me/thoughts/"), None, Some("*")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    async fn the_typed_client_asks_again_conditionally(engine) {
        let app = spawn(engine).await;
        app.post_thought("bruce", "first").await;
        let client = app.api.clone().with_page_cache(8);
        let token = bearer("bruce");
        let mine = thoughts_api::Listing::Mine(&token);
        let page = client.newest(mine, None, 50).await.expect("page");
        assert_eq!(client.cached_pages(), 1);
        let again = client.newest(mine, None, 50).await.expect("page");
        assert_eq!(again.items, page.items);
        assert_eq!(not_modified_count(&app).await, 1, "the second call was answered 304");
        app.post_thought("bruce", "second").await;
        let after = client.newest(mine, None, 50).await.expect("page");
        let seen: Vec<&str> = after.items.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(seen, ["second", "first"]);
        // Another token for the same path is another page.
        let alice = bearer("alice");
        let hers = client.newest(thoughts_api::Listing::Mine(&alice), None, 50).await.expect("page");
        assert!(hers.items.is_empty());
        assert_eq!(not_modified_count(&app).await, 1);
    }
}

async fn texts_ids(client: &reqwest::Client, url: &str) -> Vec<i64> {
    let items: Vec<Value> = client.get(url).send().await.expect("sent").json().await.expect("json");
    items.iter().map(|t| t["id"].as_i64().expect("id")).collect()
}

/// On SQLite the tags are counts kept in memory, so a bulk load into the
/// running service's file (another process writing) must still reach them:
/// the service notices the file changed within a second or so.
#[tokio::test]
async fn a_bulk_load_into_the_running_services_file_reaches_conditional_requests() {
    let app = spawn(Engine::Sqlite).await;
    app.post_thought("bruce", "first").await;
    let url = app.url("/api/thoughts/?order=desc&limit=5");
    let (_, tag, _) = get(&app.client, &url, None, None).await;
    let tag = tag.expect("an ETag");

    let loader = kit::db::Database::connect_and_migrate(
        thoughts::NAME,
        &app.database().url,
        2,
        thoughts::store::MIGRATIONS,
        Duration::from_secs(30),
    )
    .await
    .expect("a second connection to the file");
    let plan = thoughts::bulk::Plan {
        thoughts: 10,
        authors: 2,
        seed: 1,
    };
    thoughts::bulk::load(&loader, &plan, |_| {}).await.expect("bulk load");
    loader.close().await;

    // Bounded: the watcher looks every second; ten seconds is plenty.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, body) = get(&app.client, &url, None, Some(&tag)).await;
        if status == StatusCode::OK {
            assert_eq!(texts(&body).len(), 5);
            assert!(
                !texts(&body).contains(&"first".to_owned()),
                "the newest are the loaded ones"
            );
            break;
        }
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(Instant::now() < deadline, "the bulk load never reached the list's tag");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
