//! The book's thoughts scenarios: create, list mine, list all, get, 404, unauthorized.

use crate::helpers::{bearer, spawn};
use reqwest::StatusCode;
use serde_json::Value;

testkit::both_engines! {
    async fn creating_a_thought_returns_201_with_the_author_from_the_token(engine) {
        let app = spawn(engine).await;
        let thought = app.post_thought("bruce", "Testing is not optional").await;
        assert_eq!(thought["username"], "bruce");
        assert_eq!(thought["text"], "Testing is not optional");
        assert!(thought["id"].as_i64().expect("id") > 0);
        let ts = thought["timestamp"].as_str().expect("timestamp");
        assert!(chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.f").is_ok(), "{ts}");
        assert!(!ts.ends_with('Z') && !ts.contains('+'), "no offset: {ts}");
        let fetched: Value = app.client.get(app.url(&format!("/api/thoughts/{}/", thought["id"])))
            .send().await.expect("sent").json().await.expect("json");
        assert_eq!(fetched, thought);
    }

    async fn creating_without_a_token_is_401(engine) {
        let app = spawn(engine).await;
        let r = app.client.post(app.url("/api/me/thoughts/")).form(&[("text", "hi")]).send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.json::<Value>().await.expect("json")["message"].is_string());
        assert!(app.get_list("/api/thoughts/").await.is_empty(), "nothing was stored");
    }

    async fn listing_mine_shows_only_mine_in_ascending_order(engine) {
        let app = spawn(engine).await;
        app.post_thought("bruce", "one").await;
        app.post_thought("stephen", "not bruce's").await;
        app.post_thought("bruce", "two").await;
        let r = app.client.get(app.url("/api/me/thoughts/")).header("authorization", bearer("bruce")).send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::OK);
        let mine: Vec<Value> = r.json().await.expect("json");
        let texts: Vec<&str> = mine.iter().map(|t| t["text"].as_str().expect("text")).collect();
        assert_eq!(texts, ["one", "two"]);
        assert!(mine[0]["id"].as_i64() < mine[1]["id"].as_i64());
    }

    async fn listing_mine_without_a_token_is_401(engine) {
        let app = spawn(engine).await;
        let r = app.client.get(app.url("/api/me/thoughts/")).send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }

    async fn listing_all_is_ascending_by_id(engine) {
        let app = spawn(engine).await;
        for (user, text) in [("a", "first"), ("b", "second"), ("a", "third")] {
            app.post_thought(user, text).await;
        }
        let all = app.get_list("/api/thoughts/").await;
        let texts: Vec<&str> = all.iter().map(|t| t["text"].as_str().expect("text")).collect();
        assert_eq!(texts, ["first", "second", "third"]);
        let ids: Vec<i64> = all.iter().map(|t| t["id"].as_i64().expect("id")).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    async fn getting_an_unknown_thought_is_404(engine) {
        let app = spawn(engine).await;
        for path in ["/api/thoughts/123456/", "/api/thoughts/123456", "/api/thoughts/abc/", "/api/thoughts/-1/"] {
            let r = app.client.get(app.url(path)).send().await.expect("sent");
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
            assert!(r.json::<Value>().await.expect("json")["message"].is_string());
        }
    }

    async fn text_is_stored_as_sent_and_limited_to_250_characters(engine) {
        let app = spawn(engine).await;
        // API.md: "stored exactly as sent" (it was trimmed before issue 9).
        let t = app.post_thought("bruce", "  padded  ").await;
        assert_eq!(t["text"], "  padded  ");
        let fetched: Value = app.client.get(app.url(&format!("/api/thoughts/{}/", t["id"])))
            .send().await.expect("sent").json().await.expect("json");
        assert_eq!(fetched["text"], "  padded  ", "persisted as sent");
        let max = "ü".repeat(250);
        assert_eq!(app.post_thought("bruce", &max).await["text"], max.as_str());
        for bad in ["", "   ", " \n \n", &"x".repeat(251)] {
            let r = app.post_thought_with(&bearer("bruce"), bad).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST);
            let body: Value = r.json().await.expect("json");
            assert_eq!(body["message"], "Input payload validation failed");
            assert!(body["errors"]["text"].is_string());
        }
        let missing = app.client.post(app.url("/api/me/thoughts/")).header("authorization", bearer("bruce"))
            .send().await.expect("sent");
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
        assert_eq!(app.get_list("/api/thoughts/").await.len(), 2, "bad input stored nothing");
    }

    async fn a_repeated_parameter_counts_with_its_first_value_as_in_the_book(engine) {
        let app = spawn(engine).await;
        // API.md: "When a form or query parameter is repeated, the first value counts".
        let r = app.client.post(app.url("/api/me/thoughts/"))
            .header("authorization", bearer("bruce"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("text=first+thought&text=second+thought")
            .send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::CREATED);
        let posted: Value = r.json().await.expect("json");
        assert_eq!(posted["text"], "first thought");
        app.post_thought("bruce", "only the second").await;
        let r = app.client.get(app.url("/api/thoughts/?search=first&search=second"))
            .send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::OK);
        let found: Vec<Value> = r.json().await.expect("json");
        let texts: Vec<&str> = found.iter().map(|t| t["text"].as_str().expect("text")).collect();
        assert_eq!(texts, ["first thought"]);
    }

    async fn thoughts_can_be_posted_as_json_too(engine) {
        let app = spawn(engine).await;
        let r = app.client.post(app.url("/api/me/thoughts"))
            .header("authorization", bearer("bruce"))
            .json(&serde_json::json!({"text": "from json"}))
            .send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::CREATED);
    }

    async fn owners_delete_their_own_thoughts_only(engine) {
        let app = spawn(engine).await;
        let mine = app.post_thought("bruce", "mine").await;
        let theirs = app.post_thought("stephen", "theirs").await;
        let delete = |id: &Value, who: &str| {
            app.client.delete(app.url(&format!("/api/me/thoughts/{id}/"))).header("authorization", bearer(who)).send()
        };
        assert_eq!(delete(&theirs["id"], "bruce").await.expect("sent").status(), StatusCode::FORBIDDEN);
        assert_eq!(delete(&mine["id"], "bruce").await.expect("sent").status(), StatusCode::NO_CONTENT);
        assert_eq!(delete(&mine["id"], "bruce").await.expect("sent").status(), StatusCode::NOT_FOUND);
        let anonymous = app.client.delete(app.url(&format!("/api/me/thoughts/{}/", theirs["id"]))).send().await.expect("sent");
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let left = app.get_list("/api/thoughts/").await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0]["text"], "theirs");
    }

    async fn listing_by_username_shows_one_authors_thoughts(engine) {
        let app = spawn(engine).await;
        app.post_thought("bruce", "b1").await;
        app.post_thought("stephen", "s1").await;
        app.post_thought("bruce", "b2").await;
        let texts: Vec<String> = app.get_list("/api/thoughts/?username=bruce").await.iter()
            .map(|t| t["text"].as_str().expect("text").to_owned()).collect();
        assert_eq!(texts, ["b1", "b2"]);
        assert!(app.get_list("/api/thoughts/?username=nobody").await.is_empty());
        let both = app.client.get(app.url("/api/thoughts/?username=bruce&search=b")).send().await.expect("sent");
        assert_eq!(both.status(), StatusCode::BAD_REQUEST);
    }

    async fn hostile_characters_are_refused_with_a_field_error_and_nothing_stored(engine) {
        let app = spawn(engine).await;
        // ESC (a terminal colour sequence), BEL, CR, TAB, RLO, LRI.
        for bad in ["\u{1b}[31mred", "ding\u{7}", "over\rwritten", "tab\there", "\u{202E}gpj.exe", "\u{2066}isolated\u{2069}"] {
            let r = app.post_thought_with(&bearer("bruce"), bad).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad:?}");
            let body: Value = r.json().await.expect("json");
            assert_eq!(body["message"], "Input payload validation failed", "{bad:?}");
            assert!(body["errors"]["text"].as_str().expect("a field error on text").contains("U+"), "{bad:?}: {body}");
        }
        assert!(app.get_list("/api/thoughts/").await.is_empty(), "nothing was stored");
        let multi_line = app.post_thought("bruce", "first line\nsecond line").await;
        assert_eq!(multi_line["text"], "first line\nsecond line", "newlines are kept");
    }
}
