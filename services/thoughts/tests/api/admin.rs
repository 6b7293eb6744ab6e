//! Moderation: `DELETE /admin/thoughts/<id>/`.

use crate::helpers::{admin_bearer, bearer, spawn};
use reqwest::StatusCode;

testkit::both_engines! {
    async fn administrators_delete_any_thought_and_204_when_absent(engine) {
        let app = spawn(engine).await;
        let t = app.post_thought("bruce", "spam").await;
        let path = app.url(&format!("/admin/thoughts/{}/", t["id"]));
        let r = app.client.delete(&path).header("authorization", admin_bearer("root")).send().await.expect("sent");
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert!(app.get_list("/api/thoughts/").await.is_empty());
        let again = app.client.delete(&path).header("authorization", admin_bearer("root")).send().await.expect("sent");
        assert_eq!(again.status(), StatusCode::NO_CONTENT);
    }

    async fn moderation_needs_an_administrator_token(engine) {
        let app = spawn(engine).await;
        let t = app.post_thought("bruce", "keep me").await;
        let path = app.url(&format!("/admin/thoughts/{}/", t["id"]));
        let anonymous = app.client.delete(&path).send().await.expect("sent");
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
        let user = app.client.delete(&path).header("authorization", bearer("bruce")).send().await.expect("sent");
        assert_eq!(user.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.get_list("/api/thoughts/").await.len(), 1);
    }
}
