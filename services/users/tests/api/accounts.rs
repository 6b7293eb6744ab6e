//! Account creation: the book's `POST /admin/users/` and our sign-up.

use crate::helpers::{decode, spawn, spawn_on, spawn_with};
use kit::db::{Database, Migrations};
use reqwest::StatusCode;
use serde_json::Value;
use std::time::Duration;

testkit::both_engines! {
    async fn an_administrator_creates_a_user_who_can_then_log_in(engine) {
        let app = spawn(engine).await;
        let admin = app.admin_bearer().await;
        let (_, claims) = decode(&admin);
        assert_eq!(claims["admin"], true);
        let r = app.post_form("/admin/users/", &[("username", "stephen"), ("password", "a strong password")], Some(&admin)).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let user: Value = r.json().await.expect("json");
        assert_eq!(user["username"], "stephen");
        assert!(user["id"].as_i64().expect("id") > 0);
        let creation = user["creation"].as_str().expect("creation");
        assert!(chrono::NaiveDateTime::parse_from_str(creation, "%Y-%m-%dT%H:%M:%S%.f").is_ok(), "{creation}");
        assert!(user.get("password").is_none() && user.get("password_hash").is_none());
        assert_eq!(app.login("stephen", "a strong password").await.0, StatusCode::OK);
    }

    async fn creating_users_needs_an_administrator_token(engine) {
        let app = spawn(engine).await;
        let form = [("username", "stephen"), ("password", "a strong password")];
        assert_eq!(app.post_form("/admin/users/", &form, None).await.status(), StatusCode::UNAUTHORIZED);
        app.sign_up("bruce", "a strong password").await;
        let (_, body) = app.login("bruce", "a strong password").await;
        let user_token = body["Authorized"].as_str().expect("token");
        assert_eq!(app.post_form("/admin/users/", &form, Some(user_token)).await.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.post_form("/admin/users/", &form, Some("Bearer garbage")).await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn a_taken_username_gets_409(engine) {
        let app = spawn(engine).await;
        assert_eq!(app.sign_up("bruce", "a strong password").await.status(), StatusCode::CREATED);
        let again = app.sign_up("bruce", "another strong password").await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
        let body: Value = again.json().await.expect("json");
        assert!(body["message"].is_string());
        // The first account is untouched.
        assert_eq!(app.login("bruce", "a strong password").await.0, StatusCode::OK);
    }

    async fn ids_increase_in_creation_order(engine) {
        let app = spawn(engine).await;
        let a: Value = app.sign_up("first", "a strong password").await.json().await.expect("json");
        let b: Value = app.sign_up("second", "a strong password").await.json().await.expect("json");
        assert!(b["id"].as_i64() > a["id"].as_i64());
    }

    async fn sign_up_enforces_the_password_policy_and_username_rules(engine) {
        let app = spawn(engine).await;
        let short = app.sign_up("bruce", "short").await;
        assert_eq!(short.status(), StatusCode::BAD_REQUEST);
        let body: Value = short.json().await.expect("json");
        assert_eq!(body["message"], "Input payload validation failed");
        assert!(body["errors"]["password"].as_str().expect("message").contains("12"));
        assert_eq!(app.sign_up(&"x".repeat(51), "a strong password").await.status(), StatusCode::BAD_REQUEST);
        assert_eq!(app.sign_up("tab\there", "a strong password").await.status(), StatusCode::BAD_REQUEST);
        assert_eq!(app.sign_up("Jane Doe", "a strong password").await.status(), StatusCode::CREATED);
        assert_eq!(app.sign_up("ünïcödé", "a strong password").await.status(), StatusCode::CREATED);
        assert_eq!(app.login("ünïcödé", "a strong password").await.0, StatusCode::OK);
    }

    async fn sign_up_can_be_switched_off(engine) {
        let app = spawn_with(engine, |c| c.signup_enabled = false).await;
        assert_eq!(app.sign_up("bruce", "a strong password").await.status(), StatusCode::FORBIDDEN);
        assert_eq!(app.login("bruce", "a strong password").await.0, StatusCode::UNAUTHORIZED);
    }

    async fn the_jwks_publishes_the_key_that_verifies_tokens(engine) {
        let app = spawn(engine).await;
        let jwks: jsonwebtoken::jwk::JwkSet = app.client.get(format!("{}/.well-known/jwks.json", app.base))
            .send().await.expect("sent").json().await.expect("jwks");
        assert_eq!(jwks.keys.len(), 1);
        let jwk = &jwks.keys[0];
        let bearer = app.admin_bearer().await;
        let (header, _) = decode(&bearer);
        assert_eq!(jwk.common.key_id, header.kid);
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("usable key");
        let token = bearer.strip_prefix("Bearer ").expect("prefix");
        let validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        assert!(jsonwebtoken::decode::<Value>(token, &key, &validation).is_ok());
        let raw: Value = app.client.get(format!("{}/.well-known/jwks.json", app.base))
            .send().await.expect("sent").json().await.expect("json");
        for field in ["kid", "kty", "alg", "use", "n", "e"] {
            assert!(raw["keys"][0][field].is_string(), "{field}");
        }
    }

    async fn a_key_rotation_keeps_the_previous_keys_tokens_valid(engine) {
        // The service now signs with testkit's key and still publishes the previous one.
        let (old_private, old_public) = tokens::generate_key_pair().expect("key pair");
        let dir = tempfile::tempdir().expect("dir");
        let old_public_path = dir.path().join("previous.pub");
        std::fs::write(&old_public_path, &old_public).expect("written");
        let old_signer = tokens::Signer::from_pem(old_private.as_bytes()).expect("signer");
        // A directory, like a mounted Kubernetes Secret: other entries are ignored.
        std::fs::write(dir.path().join("..data"), "not a key").expect("written");
        std::fs::write(dir.path().join("notes.txt"), "not a key").expect("written");
        let app = spawn_with(engine, |c| c.published_public_key_paths = vec![dir.path().to_path_buf()]).await;

        let jwks: jsonwebtoken::jwk::JwkSet = app.client.get(format!("{}/.well-known/jwks.json", app.base))
            .send().await.expect("sent").json().await.expect("jwks");
        let kids: Vec<_> = jwks.keys.iter().filter_map(|k| k.common.key_id.clone()).collect();
        let (header, _) = decode(&app.admin_bearer().await);
        assert_eq!(kids, vec![header.kid.expect("kid"), old_signer.kid().to_owned()], "signing key first, then the previous one");

        // An administrator's token signed before the rotation still works.
        let old_admin = format!("Bearer {}", old_signer.issue("admin", true).expect("token"));
        let r = app.post_form("/admin/users/", &[("username", "rotated"), ("password", "a strong password")], Some(&old_admin)).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
}

/// Issue 9, finding 5: sign-ups from many addresses (each under its own
/// limit) stop at the global ceiling (12 attempts at most).
#[tokio::test]
async fn sign_ups_from_many_addresses_stop_at_the_global_ceiling() {
    let app = spawn_with(testkit::Engine::Sqlite, |c| {
        c.trusted_proxies = "127.0.0.1,::1".into();
        c.signups_per_minute = 5;
    })
    .await;
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for i in 0..12 {
        let r = app
            .client
            .post(format!("{}/api/users/", app.base))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .form(&[
                ("username", format!("member{i}").as_str()),
                ("password", "a strong password"),
            ])
            .send()
            .await
            .expect("sent");
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after.get_or_insert(r.headers()["retry-after"].to_str().expect("ascii").to_owned());
        }
        statuses.push(r.status());
    }
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    println!("sign-ups from 12 addresses: {created} created, then 429 (Retry-After {retry_after:?})");
    assert_eq!(created, 5, "{statuses:?}");
    assert!(
        statuses[5..].iter().all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let retry: u64 = retry_after.expect("a Retry-After").parse().expect("seconds");
    assert!((1..=12).contains(&retry), "{retry}");
    let text = app.metrics().await;
    assert!(
        text.lines()
            .any(|l| l.starts_with("signups_rate_limited_total{") && l.contains("limit=\"global\"")),
        "the refusals are counted: {text}"
    );
}

/// Write accounts straight into the `users` table, as a version without
/// look-alike keys (migration 0001 only) did.
async fn insert_old_accounts(db: &Database, names: &[&str], password_hash: &str) -> Result<(), sqlx::Error> {
    for name in names {
        kit::on_pool!(db, |conn| {
            sqlx::query("insert into users (username, password_hash, creation, is_admin) values ($1, $2, $3, false)")
                .bind(*name)
                .bind(password_hash)
                .bind(kit::time::now())
                .execute(conn)
                .await?;
        });
    }
    Ok(())
}

// Issue 9, finding 9: new names are unique case-insensitively and by their
// Unicode confusable skeleton; accounts that already collide keep working.
testkit::both_engines! {
    async fn look_alikes_of_an_existing_name_get_the_duplicates_409(engine) {
        let app = spawn(engine).await; // the administrator is `admin`
        let duplicate: Value = app.sign_up("admin", "a strong password").await.json().await.expect("json");
        // Upper case, Cyrillic а (U+0430), full-width ａ and Ａ (U+FF41, U+FF21).
        for name in ["Admin", "ADMIN", "\u{430}dmin", "\u{FF41}dmin", "\u{FF21}DMIN"] {
            let r = app.sign_up(name, "a strong password").await;
            assert_eq!(r.status(), StatusCode::CONFLICT, "{name}");
            let body: Value = r.json().await.expect("json");
            assert_eq!(body, duplicate, "{name}: the same answer as an exact duplicate");
        }
        let admin = app.admin_bearer().await;
        let r = app.post_form("/admin/users/", &[("username", "Admin"), ("password", "a strong password")], Some(&admin)).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "the administrators' endpoint applies the rule too");

        assert_eq!(app.sign_up("alice", "a strong password").await.status(), StatusCode::CREATED);
        for name in ["\u{430}lice", "\u{FF41}lice", "ALICE", "a1ice"] {
            assert_eq!(app.sign_up(name, "a strong password").await.status(), StatusCode::CONFLICT, "{name}");
        }
        for name in ["alicia", "bob", "Jane Doe"] {
            assert_eq!(app.sign_up(name, "a strong password").await.status(), StatusCode::CREATED, "{name}");
        }
        // Login uses the exact name: a look-alike is not the account.
        assert_eq!(app.login("alice", "a strong password").await.0, StatusCode::OK);
        assert_eq!(app.login("Alice", "a strong password").await.0, StatusCode::UNAUTHORIZED);
    }

    async fn look_alike_accounts_created_before_the_rule_all_keep_signing_in(engine) {
        let tdb = testkit::database(engine).await;
        let before = Migrations {
            sqlite: &users::store::MIGRATIONS.sqlite[..1],
            postgres: &users::store::MIGRATIONS.postgres[..1],
        };
        let old = Database::connect_and_migrate("users", &tdb.url, 1, before, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("database: {e}"));
        let password = users::domain::Password::parse("a strong password").expect("valid");
        let hash = users::hashing::Hasher::new(1).expect("hasher").hash(&password).await.expect("hash");
        let colliding = ["alice", "Alice", "\u{430}lice"];
        insert_old_accounts(&old, &colliding, &hash).await.expect("old accounts");
        old.close().await;

        let app = spawn_on(tdb, |_| {}).await;
        for name in colliding {
            assert_eq!(app.login(name, "a strong password").await.0, StatusCode::OK, "{name} still signs in");
        }
        assert_eq!(app.sign_up("ALICE", "a strong password").await.status(), StatusCode::CONFLICT);
        assert_eq!(app.sign_up("\u{FF41}lice", "a strong password").await.status(), StatusCode::CONFLICT);
        assert_eq!(app.sign_up("bob", "a strong password").await.status(), StatusCode::CREATED);

        // The start-up backfill is idempotent: running it again writes nothing.
        let db = Database::connect_and_migrate("users", &app.database().url, 1, users::store::MIGRATIONS, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("database: {e}"));
        assert_eq!(users::store::backfill_look_alike_keys(&db).await.expect("backfill"), 0);
        db.close().await;
    }
}
