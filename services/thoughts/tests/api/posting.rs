//! Issue 9, finding 5: the per-account posting limit, at its real default.

use crate::helpers::{bearer, spawn_with};
use reqwest::StatusCode;
use serde_json::Value;

testkit::both_engines! {
    async fn posting_faster_than_a_person_gets_429_with_retry_after_and_spares_other_accounts(engine) {
        let defaults = thoughts::Config::local("sqlite::memory:", "unused.pem");
        let (rate, burst) = (defaults.posts_per_account_per_minute, defaults.posts_burst_per_account);
        assert_eq!((rate, burst), (10, 5), "the documented defaults");
        let app = spawn_with(engine, |c| {
            c.posts_per_account_per_minute = rate;
            c.posts_burst_per_account = burst;
        })
        .await;
        let bruce = bearer("bruce");
        // A script posting as fast as it can: 20 tries, bounded.
        let mut statuses = Vec::new();
        let mut refusal = None;
        for i in 0..20 {
            let r = app.post_thought_with(&bruce, &format!("flood {i}")).await;
            statuses.push(r.status());
            if r.status() == StatusCode::TOO_MANY_REQUESTS && refusal.is_none() {
                let retry = r.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_owned());
                let body: Value = r.json().await.expect("json error body");
                refusal = Some((retry, body));
            }
        }
        let acknowledged = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        println!("20 posts at once: {acknowledged} acknowledged, {refused} refused with 429: {refusal:?}");
        assert_eq!(acknowledged + refused, 20, "{statuses:?}");
        assert!(statuses[..5].iter().all(|s| *s == StatusCode::CREATED), "the burst is accepted: {statuses:?}");
        assert!((5..=6).contains(&acknowledged), "then about one per 6 s: {statuses:?}");
        let (retry, body) = refusal.expect("a 429");
        let retry: u64 = retry.expect("Retry-After").parse().expect("seconds");
        assert!((1..=6).contains(&retry), "{retry}");
        assert!(body["message"].is_string(), "{body}");
        let stephen = app.post_thought_with(&bearer("stephen"), "unaffected").await;
        assert_eq!(stephen.status(), StatusCode::CREATED, "another account is not limited");
        let stored = app
            .client
            .get(app.url("/api/me/thoughts/"))
            .header("authorization", &bruce)
            .send()
            .await
            .expect("sent")
            .json::<Vec<Value>>()
            .await
            .expect("json");
        assert_eq!(stored.len(), acknowledged, "every acknowledged post is stored, no refused one");
        let metrics = app.metrics().await;
        assert!(
            metrics.lines().any(|l| l.starts_with("thoughts_rate_limited_total") && !l.ends_with(" 0")),
            "refusals are counted: {metrics}"
        );
    }
}
