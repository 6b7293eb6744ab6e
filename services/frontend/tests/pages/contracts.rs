//! The frontend's contracts with the users and thoughts services (Pact v3,
//! `contracts/pacts/frontend-users.json` and `frontend-thoughts.json`):
//! every call the frontend makes, made by the same typed clients and
//! token verifier the frontend uses, with the arguments its pages pass,
//! against a mock provider that answers what the frontend relies on.
//! The providers verify these files in their own suites.

use contracts::dsl::{each_like, equal, integer, like, term, timestamp};
use contracts::examples::{BASE64URL_REGEX, BEARER, BEARER_REGEX, JWK_KID, jwk_set};
use contracts::{PactBuilder, RequestSpec, ResponseSpec};
use frontend::pages::PAGE_SIZE;
use kit::config::OutgoingConfig;
use serde_json::{Value, json};
use std::time::Duration;
use thoughts_api::Listing;
use users_api::{ClientError, Credentials};

/// An example password (long enough for the default policy of 12).
const PASSWORD: &str = "an example passphrase";
/// The end user's address the frontend forwards (documentation range).
const CLIENT: &str = "203.0.113.7";
const REFRESH: &str = "an-example-refresh-token";

fn users(base: &str) -> users_api::Client {
    users_api::Client::new(
        base,
        Duration::from_secs(2),
        Duration::from_secs(10),
        &OutgoingConfig::direct(),
    )
    .expect("client")
}

fn thoughts(base: &str) -> thoughts_api::Client {
    thoughts_api::Client::new(
        base,
        Duration::from_secs(2),
        Duration::from_secs(10),
        &OutgoingConfig::direct(),
    )
    .expect("client")
}

fn alice(password: &str) -> Credentials {
    Credentials {
        username: "alice".into(),
        password: password.into(),
    }
}

/// What a session answer must hold for the frontend to set its cookies.
fn session_body() -> Value {
    json!({
        "Authorized": term(BEARER_REGEX, BEARER),
        "refresh": term(BASE64URL_REGEX, REFRESH),
        "expires_in": integer(900),
        "refresh_expires_in": integer(2_592_000),
    })
}

/// The JSON error body; the frontend shows `message` when it has nothing better.
fn error_body() -> Value {
    json!({"message": like("what went wrong")})
}

fn status_of<T: std::fmt::Debug>(result: Result<T, ClientError>) -> u16 {
    match result {
        Err(ClientError::Status { status, .. }) => status,
        other => panic!("expected a refusal with a status, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frontend_contract_with_users() {
    let mut pact = PactBuilder::new("frontend", "users");
    let account = json!({"username": "alice", "password": PASSWORD});
    let sign_in = |password: &str| {
        RequestSpec::post("/api/sessions/")
            .header("X-Forwarded-For", CLIENT)
            .form(&[("username", "alice"), ("password", password)])
    };

    pact.interaction("a sign-in with the right password")
        .given("an account exists", account.clone())
        .request(sign_in(PASSWORD))
        .response(ResponseSpec::status(200).json(session_body()))
        .test(|base| async move {
            let session = users(&base)
                .create_session(&alice(PASSWORD), Some(CLIENT))
                .await
                .expect("signed in");
            assert_eq!(session.authorized, BEARER);
            assert_eq!(session.refresh, REFRESH);
        })
        .await;

    pact.interaction("a sign-in with a wrong password")
        .given("an account exists", account.clone())
        .request(sign_in("not the password"))
        .response(ResponseSpec::status(401).json(error_body()))
        .test(|base| async move {
            let refused = users(&base)
                .create_session(&alice("not the password"), Some(CLIENT))
                .await;
            assert_eq!(status_of(refused), 401, "the page says: wrong username or password");
        })
        .await;

    let sign_up = |password: &str| {
        RequestSpec::post("/api/users/")
            .header("X-Forwarded-For", CLIENT)
            .form(&[("username", "alice"), ("password", password)])
    };
    pact.interaction("a sign-up with a free username")
        .given("the username is free", json!({"username": "alice"}))
        .request(sign_up(PASSWORD))
        .response(ResponseSpec::status(201).json(json!({
            "id": integer(1),
            "username": "alice",
            "creation": timestamp("2019-05-07T13:47:34"),
        })))
        .test(|base| async move {
            let user = users(&base)
                .sign_up(&alice(PASSWORD), Some(CLIENT))
                .await
                .expect("signed up");
            assert_eq!(user.username, "alice");
        })
        .await;

    pact.interaction("a sign-up with a taken username")
        .given("an account exists", account.clone())
        .request(sign_up(PASSWORD))
        .response(ResponseSpec::status(409).json(error_body()))
        .test(|base| async move {
            let refused = users(&base).sign_up(&alice(PASSWORD), Some(CLIENT)).await;
            assert_eq!(status_of(refused), 409, "the page says: this username is taken");
        })
        .await;

    pact.interaction("a sign-up with a too short password")
        .given("the username is free", json!({"username": "alice"}))
        .request(sign_up("short"))
        .response(ResponseSpec::status(400).json(json!({
            "message": like("Input payload validation failed"),
            "errors": {"password": like("must be at least 12 characters")},
        })))
        .test(|base| async move {
            match users(&base).sign_up(&alice("short"), Some(CLIENT)).await {
                Err(ClientError::Status {
                    status: 400, errors, ..
                }) => {
                    assert!(errors.contains_key("password"), "shown beside the field: {errors:?}");
                }
                other => panic!("expected a 400 naming the password, got {other:?}"),
            }
        })
        .await;

    pact.interaction("a session renewal with a live refresh token")
        .given("a user has a session", account.clone())
        .request(
            RequestSpec::post("/api/sessions/refresh")
                .form(&[("refresh", REFRESH)])
                .form_field_from_state("refresh", "${refresh}"),
        )
        .response(ResponseSpec::status(200).json(session_body()))
        .test(|base| async move {
            let renewed = users(&base).refresh_session(REFRESH).await.expect("renewed");
            assert_eq!(renewed.authorized, BEARER);
        })
        .await;

    pact.interaction("a session renewal with a refresh token that is not live")
        .request(RequestSpec::post("/api/sessions/refresh").form(&[("refresh", "a-token-never-issued")]))
        .response(ResponseSpec::status(401).json(error_body()))
        .test(|base| async move {
            let refused = users(&base).refresh_session("a-token-never-issued").await;
            assert_eq!(status_of(refused), 401, "the frontend signs the browser out");
        })
        .await;

    pact.interaction("the end of a session")
        .given("a user has a session", account.clone())
        .request(
            RequestSpec::post("/api/sessions/revoke")
                .form(&[("refresh", REFRESH)])
                .form_field_from_state("refresh", "${refresh}"),
        )
        .response(ResponseSpec::status(204))
        .test(|base| async move {
            users(&base).revoke_session(REFRESH).await.expect("revoked");
        })
        .await;

    pact.interaction("the public keys that verify tokens")
        .request(RequestSpec::get("/.well-known/jwks.json"))
        .response(ResponseSpec::status(200).json(jwk_set()))
        .test(|base| async move {
            // The frontend's verifier, configured with JWKS_URL only.
            let mut config = frontend::Config::local(&base, &base, "unused");
            config.keys.public_key_path = None;
            config.keys.jwks_url = Some(format!("{base}/.well-known/jwks.json"));
            let verifier = config.keys.build(&config.outgoing).expect("verifier");
            let rejection = verifier
                .verify(&token_with_kid(JWK_KID))
                .await
                .expect_err("the example key did not sign it");
            // Not `KeysUnavailable`: the key set was read and the key of that kid tried.
            assert_eq!(rejection, tokens::Rejection::Signature);
        })
        .await;

    pact.interaction("the version of the users service")
        .request(RequestSpec::get("/admin/version/"))
        .response(ResponseSpec::status(200).json(json!({"version": like("0.1.0"), "commit": like("0123abc")})))
        .test(|base| async move {
            let (version, commit) = users(&base).version().await.expect("version");
            assert_eq!((version.as_str(), commit.as_str()), ("0.1.0", "0123abc"));
        })
        .await;

    pact.finish();
}

/// A token whose header names `kid`, signed with the test key (which is
/// not the example key of that kid).
fn token_with_kid(kid: &str) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(testkit::keys().private_pem.as_bytes()).expect("test key");
    jsonwebtoken::encode(
        &header,
        &json!({"username": "alice", "iat": now, "exp": now + 60}),
        &key,
    )
    .expect("signed")
}

/// A thought as the frontend's pages read it.
fn thought(username: Value, text: Value) -> Value {
    json!({"id": integer(1), "username": username, "text": text, "timestamp": timestamp("2019-05-07T13:47:34")})
}

fn newest(path: &str) -> RequestSpec {
    RequestSpec::get(path)
        .query("order", "desc")
        .query("limit", &PAGE_SIZE.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frontend_contract_with_thoughts() {
    let mut pact = PactBuilder::new("frontend", "thoughts");
    let anyone = || thought(like("alice"), like("Hello"));
    let alice_signed_in = json!({"username": "alice"});

    pact.interaction("the newest page of everyone's thoughts, with older ones to follow")
        .given(
            "more thoughts exist than fit in a page",
            json!({"count": PAGE_SIZE + 1}),
        )
        .request(newest("/api/thoughts/"))
        .response(
            ResponseSpec::status(200)
                .header_matching(
                    "Link",
                    r#"^<[^>]*[?&]before=[0-9]+(&[^>]*)?>; rel="next"$"#,
                    r#"</api/thoughts/?limit=50&order=desc&before=2>; rel="next""#,
                )
                .json(each_like(anyone(), 1)),
        )
        .test(|base| async move {
            let page = thoughts(&base)
                .newest(Listing::All, None, PAGE_SIZE)
                .await
                .expect("page");
            assert_eq!(page.items.len(), 1);
            assert_eq!(page.older, Some(2), "the link to older thoughts is read from Link");
        })
        .await;

    pact.interaction("an older page of everyone's thoughts")
        .given(
            "more thoughts exist than fit in a page",
            json!({"count": PAGE_SIZE + 1}),
        )
        .request(newest("/api/thoughts/").query_from_state("before", "${before}", "2"))
        .response(ResponseSpec::status(200).json(each_like(anyone(), 1)))
        .test(|base| async move {
            let page = thoughts(&base)
                .newest(Listing::All, Some(2), PAGE_SIZE)
                .await
                .expect("page");
            assert_eq!(page.items.len(), 1);
        })
        .await;

    pact.interaction("the newest page of one user's thoughts")
        .given("a user has posted thoughts", json!({"username": "alice"}))
        .request(newest("/api/thoughts/").query("username", "alice"))
        .response(ResponseSpec::status(200).json(each_like(thought(equal("alice"), like("Hello")), 1)))
        .test(|base| async move {
            let page = thoughts(&base)
                .newest(Listing::ByUser("alice"), None, PAGE_SIZE)
                .await
                .expect("page");
            assert!(page.items.iter().all(|t| t.username == "alice"));
        })
        .await;

    pact.interaction("the newest page of thoughts containing a word")
        .given("thoughts containing a word exist", json!({"word": "docker"}))
        .request(
            newest("/api/thoughts/")
                .query("search", "docker")
                .header("X-Forwarded-For", CLIENT),
        )
        .response(ResponseSpec::status(200).json(each_like(
            thought(like("alice"), term("(?i)docker", "Learning Docker today")),
            1,
        )))
        .test(|base| async move {
            let page = thoughts(&base)
                .newest_for(Listing::Search("docker"), None, PAGE_SIZE, Some(CLIENT))
                .await
                .expect("page");
            assert_eq!(page.items[0].text, "Learning Docker today");
        })
        .await;

    let too_long = "x".repeat(251);
    pact.interaction("a search longer than 250 characters")
        .request(
            newest("/api/thoughts/")
                .query("search", &too_long)
                .header("X-Forwarded-For", CLIENT),
        )
        .response(ResponseSpec::status(400).json(error_body()))
        .test(|base| async move {
            let refused = thoughts(&base)
                .newest_for(Listing::Search(&too_long), None, PAGE_SIZE, Some(CLIENT))
                .await;
            assert_eq!(status_of(refused), 400, "the page says the search cannot run");
        })
        .await;

    pact.interaction("the newest page of the signed-in user's thoughts")
        .given("a user is signed in", alice_signed_in.clone())
        .given("a user has posted thoughts", json!({"username": "alice"}))
        .request(newest("/api/me/thoughts/").header_from_state("Authorization", "${bearer}", BEARER))
        .response(ResponseSpec::status(200).json(each_like(thought(equal("alice"), like("Hello")), 1)))
        .test(|base| async move {
            let page = thoughts(&base)
                .newest(Listing::Mine(BEARER), None, PAGE_SIZE)
                .await
                .expect("page");
            assert_eq!(page.items[0].username, "alice");
        })
        .await;

    let post = |text: &str| {
        RequestSpec::post("/api/me/thoughts/")
            .header_from_state("Authorization", "${bearer}", BEARER)
            .form(&[("text", text)])
    };
    pact.interaction("sharing a thought")
        .given("a user is signed in", alice_signed_in.clone())
        .request(post("Hello from the frontend"))
        .response(ResponseSpec::status(201).json(thought("alice".into(), "Hello from the frontend".into())))
        .test(|base| async move {
            let created = thoughts(&base)
                .create(BEARER, "Hello from the frontend")
                .await
                .expect("created");
            assert_eq!(created.text, "Hello from the frontend");
        })
        .await;

    pact.interaction("sharing a blank thought")
        .given("a user is signed in", alice_signed_in.clone())
        .request(post("   "))
        .response(ResponseSpec::status(400).json(json!({
            "message": like("Input payload validation failed"),
            "errors": {"text": like("must not be blank")},
        })))
        .test(|base| async move {
            match thoughts(&base).create(BEARER, "   ").await {
                Err(ClientError::Status {
                    status: 400, errors, ..
                }) => {
                    assert!(errors.contains_key("text"), "shown above the form: {errors:?}");
                }
                other => panic!("expected a 400 naming the text, got {other:?}"),
            }
        })
        .await;

    pact.interaction("sharing a thought faster than allowed")
        .given("a user is signed in", alice_signed_in.clone())
        .given("the user has posted as often as allowed", json!({"username": "alice"}))
        .request(post("One more"))
        .response(ResponseSpec::status(429).json(error_body()))
        .test(|base| async move {
            let refused = thoughts(&base).create(BEARER, "One more").await;
            assert_eq!(status_of(refused), 429, "the page asks to slow down, keeping the draft");
        })
        .await;

    let delete = |example: &str| {
        RequestSpec::delete(example)
            .path_from_state("/api/me/thoughts/${id}/")
            .header_from_state("Authorization", "${bearer}", BEARER)
    };
    pact.interaction("deleting one's own thought")
        .given("a user is signed in", alice_signed_in.clone())
        .given("a user has posted a thought", json!({"username": "alice"}))
        .request(delete("/api/me/thoughts/1/"))
        .response(ResponseSpec::status(204))
        .test(|base| async move {
            thoughts(&base).delete_mine(BEARER, 1).await.expect("deleted");
        })
        .await;

    pact.interaction("deleting someone else's thought")
        .given("a user is signed in", alice_signed_in.clone())
        .given("a user has posted a thought", json!({"username": "bob"}))
        .request(delete("/api/me/thoughts/1/"))
        .response(ResponseSpec::status(403).json(error_body()))
        .test(|base| async move {
            let refused = thoughts(&base).delete_mine(BEARER, 1).await;
            assert_eq!(status_of(refused), 403, "the page says: only your own thoughts");
        })
        .await;

    pact.interaction("deleting a thought that does not exist")
        .given("a user is signed in", alice_signed_in.clone())
        .request(RequestSpec::delete("/api/me/thoughts/999999/").header_from_state(
            "Authorization",
            "${bearer}",
            BEARER,
        ))
        .response(ResponseSpec::status(404).json(error_body()))
        .test(|base| async move {
            let refused = thoughts(&base).delete_mine(BEARER, 999_999).await;
            assert_eq!(status_of(refused), 404);
        })
        .await;

    pact.interaction("the version of the thoughts service")
        .request(RequestSpec::get("/admin/version/"))
        .response(ResponseSpec::status(200).json(json!({"version": like("0.1.0"), "commit": like("0123abc")})))
        .test(|base| async move {
            let (version, _) = thoughts(&base).version().await.expect("version");
            assert_eq!(version, "0.1.0");
        })
        .await;

    pact.finish();
}
