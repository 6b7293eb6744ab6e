//! Search keeps the book's meaning: case-insensitive, literal substring, on
//! everyone's thoughts and on the caller's own.

use crate::helpers::spawn;
use reqwest::StatusCode;

testkit::both_engines! {
    async fn search_is_a_case_insensitive_substring_match(engine) {
        let app = spawn(engine).await;
        for text in ["Hello World", "say hello", "goodbye", "HELLO again"] {
            app.post_thought("bruce", text).await;
        }
        assert_eq!(app.search("hello").await, ["Hello World", "say hello", "HELLO again"]);
        assert_eq!(app.search("WORLD").await, ["Hello World"]);
        assert_eq!(app.search("lo wo").await, ["Hello World"]);
        assert_eq!(app.search("ood").await, ["goodbye"]);
        assert!(app.search("absent").await.is_empty());
        assert_eq!(app.search("").await.len(), 4, "an empty search filters nothing");
    }

    async fn percent_underscore_and_quotes_are_literal(engine) {
        let app = spawn(engine).await;
        for text in ["100% sure", "1000 sure", "snake_case", "snakeXcase", "say \"hi\" now", "back\\slash"] {
            app.post_thought("bruce", text).await;
        }
        assert_eq!(app.search("100%").await, ["100% sure"]);
        assert_eq!(app.search("%").await, ["100% sure"]);
        assert_eq!(app.search("e_c").await, ["snake_case"]);
        assert_eq!(app.search("_").await, ["snake_case"]);
        assert_eq!(app.search("\"hi\"").await, ["say \"hi\" now"]);
        assert_eq!(app.search("\"").await, ["say \"hi\" now"]);
        assert_eq!(app.search("k\\s").await, ["back\\slash"]);
    }

    async fn short_needles_and_non_ascii_text_match_too(engine) {
        let app = spawn(engine).await;
        for text in ["Über alles", "über", "ubER", "Ωmega", "x"] {
            app.post_thought("bruce", text).await;
        }
        assert_eq!(app.search("ü").await, ["Über alles", "über"]);
        assert_eq!(app.search("Ü").await, ["Über alles", "über"]);
        assert_eq!(app.search("ÜB").await, ["Über alles", "über"]);
        assert_eq!(app.search("ÜBER").await, ["Über alles", "über"]);
        assert_eq!(app.search("ub").await, ["ubER"]);
        assert_eq!(app.search("ωMEGA").await, ["Ωmega"]);
        assert_eq!(app.search("X").await, ["x"]);
        assert_eq!(app.search("s").await, ["Über alles"]);
    }

    async fn search_results_stay_right_after_deletes(engine) {
        let app = spawn(engine).await;
        let gone = app.post_thought("bruce", "ephemeral words").await;
        app.post_thought("bruce", "lasting words").await;
        let r = app.client.delete(app.url(&format!("/api/me/thoughts/{}/", gone["id"])))
            .header("authorization", crate::helpers::bearer("bruce")).send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.search("words").await, ["lasting words"]);
        assert!(app.search("ephemeral").await.is_empty());
    }

    async fn an_overlong_search_is_400(engine) {
        let app = spawn(engine).await;
        let r = app.client.get(app.url("/api/thoughts/")).query(&[("search", "x".repeat(251))]).send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = r.json().await.expect("json");
        assert!(body["errors"]["search"].is_string());
    }

    async fn nul_characters_are_a_400_not_a_500(engine) {
        let app = spawn(engine).await;
        for query in [[("search", "abc\0def")], [("username", "a\0")]] {
            let r = app.client.get(app.url("/api/thoughts/")).query(&query).send().await.expect("sent");
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{query:?}");
        }
        let r = app.post_thought_with(&crate::helpers::bearer("bruce"), "a\0b").await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }

    async fn greek_final_sigma_matches_any_sigma(engine) {
        let app = spawn(engine).await;
        app.post_thought("bruce", "ΟΣΜΗ ΚΑΦΕ").await;
        assert_eq!(app.search("ος").await, ["ΟΣΜΗ ΚΑΦΕ"]);
        assert_eq!(app.search("όσμη").await.len(), 0, "accents still count");
    }

    async fn searching_mine_returns_only_my_matching_thoughts(engine) {
        let app = spawn(engine).await;
        app.post_thought("bruce", "Hello World").await;
        app.post_thought("stephen", "hello from stephen").await;
        app.post_thought("bruce", "goodbye").await;
        app.post_thought("bruce", "say HELLO").await;
        assert_eq!(app.search_mine("bruce", "hello").await, ["Hello World", "say HELLO"]);
        assert_eq!(app.search_mine("stephen", "HELLO").await, ["hello from stephen"]);
        assert!(app.search_mine("stephen", "goodbye").await.is_empty(), "not someone else's");
        assert_eq!(app.search_mine("bruce", "").await.len(), 3, "an empty search filters nothing");
        assert_eq!(app.search("hello").await.len(), 3, "the public search still sees everyone's");
    }

    async fn wildcards_are_literal_when_searching_mine(engine) {
        let app = spawn(engine).await;
        for text in ["100% sure", "1000 sure", "snake_case", "snakeXcase", "back\\slash"] {
            app.post_thought("bruce", text).await;
        }
        app.post_thought("stephen", "50% theirs").await;
        assert_eq!(app.search_mine("bruce", "%").await, ["100% sure"]);
        assert_eq!(app.search_mine("bruce", "100%").await, ["100% sure"]);
        assert_eq!(app.search_mine("bruce", "_").await, ["snake_case"]);
        assert_eq!(app.search_mine("bruce", "e_c").await, ["snake_case"]);
        assert_eq!(app.search_mine("bruce", "k\\s").await, ["back\\slash"]);
        assert_eq!(app.search_mine("stephen", "%").await, ["50% theirs"]);
    }

    async fn short_needles_work_when_searching_mine(engine) {
        let app = spawn(engine).await;
        for text in ["Über alles", "ubER", "x", "Ωmega"] {
            app.post_thought("bruce", text).await;
        }
        app.post_thought("stephen", "über").await;
        assert_eq!(app.search_mine("bruce", "Ü").await, ["Über alles"]);
        assert_eq!(app.search_mine("bruce", "üB").await, ["Über alles"]);
        assert_eq!(app.search_mine("bruce", "ub").await, ["ubER"]);
        assert_eq!(app.search_mine("bruce", "X").await, ["x"]);
        assert_eq!(app.search_mine("bruce", "ω").await, ["Ωmega"]);
        assert_eq!(app.search_mine("bruce", "ÜBER").await, ["Über alles"]);
        assert_eq!(app.search_mine("stephen", "ü").await, ["über"]);
    }

    async fn an_overlong_search_on_mine_is_400(engine) {
        let app = spawn(engine).await;
        let r = app.client.get(app.url("/api/me/thoughts/")).header("authorization", crate::helpers::bearer("bruce"))
            .query(&[("search", "x".repeat(251))]).send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = r.json().await.expect("json");
        assert!(body["errors"]["search"].is_string());
    }
}
