//! Capped lists with cursor paging and `Link: rel="next"`.

use crate::helpers::{bearer, spawn, spawn_with};
use reqwest::StatusCode;
use serde_json::Value;

/// The target of a `Link: <...>; rel="next"` header, if any.
fn next_link(r: &reqwest::Response) -> Option<String> {
    let value = r.headers().get("link")?.to_str().ok()?;
    assert!(value.ends_with("; rel=\"next\""), "{value}");
    Some(value.split_once('<')?.1.split_once('>')?.0.to_owned())
}

async fn texts(r: reqwest::Response) -> Vec<String> {
    let items: Vec<Value> = r.json().await.expect("json");
    items
        .iter()
        .map(|t| t["text"].as_str().expect("text").to_owned())
        .collect()
}

testkit::both_engines! {
    async fn pages_follow_the_link_header_to_the_end(engine) {
        let app = spawn(engine).await;
        for i in 1..=5 {
            app.post_thought("bruce", &format!("thought {i}")).await;
        }
        let mut url = app.url("/api/thoughts/?limit=2");
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let r = app.client.get(&url).send().await.expect("sent");
            assert_eq!(r.status(), StatusCode::OK);
            let link = next_link(&r);
            seen.extend(texts(r).await);
            pages += 1;
            match link {
                Some(next) => url = app.url(&next),
                None => break,
            }
            assert!(pages < 10, "paging must end");
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, (1..=5).map(|i| format!("thought {i}")).collect::<Vec<_>>());
    }

    async fn an_unpaged_list_is_capped_and_links_to_the_rest(engine) {
        let app = spawn_with(engine, |c| c.list_max_items = 3).await;
        for i in 1..=5 {
            app.post_thought("bruce", &format!("t{i}")).await;
        }
        let r = app.client.get(app.url("/api/thoughts/")).send().await.expect("sent");
        let next = next_link(&r).expect("a Link header when the cap cuts the list");
        assert_eq!(texts(r).await, ["t1", "t2", "t3"]);
        let rest = app.client.get(app.url(&next)).send().await.expect("sent");
        assert!(next_link(&rest).is_none());
        assert_eq!(texts(rest).await, ["t4", "t5"]);
        let mine = app.client.get(app.url("/api/me/thoughts/")).header("authorization", bearer("bruce")).send().await.expect("sent");
        assert!(next_link(&mine).expect("mine is capped too").starts_with("/api/me/thoughts/"));
    }

    async fn search_pages_keep_the_search(engine) {
        let app = spawn(engine).await;
        for i in 1..=4 {
            app.post_thought("bruce", &format!("match {i}")).await;
            app.post_thought("bruce", &format!("other {i}")).await;
        }
        let r = app.client.get(app.url("/api/thoughts/?search=MATCH&limit=3")).send().await.expect("sent");
        let next = next_link(&r).expect("next");
        assert_eq!(texts(r).await, ["match 1", "match 2", "match 3"]);
        assert_eq!(texts(app.client.get(app.url(&next)).send().await.expect("sent")).await, ["match 4"]);
    }

    async fn bad_paging_parameters_are_400(engine) {
        let app = spawn(engine).await;
        for q in ["limit=0", "limit=1001", "limit=abc", "after=abc", "after=-5"] {
            let r = app.client.get(app.url(&format!("/api/thoughts/?{q}"))).send().await.expect("sent");
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
            let body: Value = r.json().await.expect("json");
            assert_eq!(body["message"], "Input payload validation failed", "{q}");
        }
    }

    async fn newest_first_pages_walk_back_with_before(engine) {
        let app = spawn(engine).await;
        for i in 1..=5 {
            app.post_thought("bruce", &format!("n{i}")).await;
        }
        let first = app.client.get(app.url("/api/thoughts/?order=desc&limit=2")).send().await.expect("sent");
        let next = next_link(&first).expect("more");
        assert!(next.contains("order=desc") && next.contains("before="), "{next}");
        assert_eq!(texts(first).await, ["n5", "n4"]);
        let second = app.client.get(app.url(&next)).send().await.expect("sent");
        let next = next_link(&second).expect("more");
        assert_eq!(texts(second).await, ["n3", "n2"]);
        let last = app.client.get(app.url(&next)).send().await.expect("sent");
        assert!(next_link(&last).is_none());
        assert_eq!(texts(last).await, ["n1"]);
        let found = app.client.get(app.url("/api/thoughts/?search=N&order=desc&limit=3")).send().await.expect("sent");
        assert_eq!(texts(found).await, ["n5", "n4", "n3"]);
        let mine = app.client.get(app.url("/api/me/thoughts/?order=desc&limit=1"))
            .header("authorization", crate::helpers::bearer("bruce")).send().await.expect("sent");
        assert_eq!(texts(mine).await, ["n5"]);
    }

    async fn searching_mine_pages_in_both_orders_and_keeps_the_search(engine) {
        let app = spawn(engine).await;
        for i in 1..=4 {
            app.post_thought("bruce", &format!("match {i}")).await;
            app.post_thought("stephen", &format!("match s{i}")).await;
            app.post_thought("bruce", &format!("other {i}")).await;
        }
        let get = |url: String| app.client.get(url).header("authorization", bearer("bruce")).send();
        let r = get(app.url("/api/me/thoughts/?search=MATCH&limit=3")).await.expect("sent");
        let next = next_link(&r).expect("next");
        assert!(next.starts_with("/api/me/thoughts/?") && next.contains("search=MATCH"), "{next}");
        assert_eq!(texts(r).await, ["match 1", "match 2", "match 3"]);
        let rest = get(app.url(&next)).await.expect("sent");
        assert!(next_link(&rest).is_none());
        assert_eq!(texts(rest).await, ["match 4"]);

        let r = get(app.url("/api/me/thoughts/?search=match&order=desc&limit=2")).await.expect("sent");
        let next = next_link(&r).expect("next");
        assert!(next.contains("search=match") && next.contains("order=desc") && next.contains("before="), "{next}");
        assert_eq!(texts(r).await, ["match 4", "match 3"]);
        let rest = get(app.url(&next)).await.expect("sent");
        assert!(next_link(&rest).is_none());
        assert_eq!(texts(rest).await, ["match 2", "match 1"]);

        // A needle shorter than a trigram pages the same way.
        let r = get(app.url("/api/me/thoughts/?search=2&limit=1")).await.expect("sent");
        let next = next_link(&r).expect("next");
        assert_eq!(texts(r).await, ["match 2"]);
        let rest = get(app.url(&next)).await.expect("sent");
        assert!(next_link(&rest).is_none());
        assert_eq!(texts(rest).await, ["other 2"]);
    }
}
