//! The book's clients as a consumer, `book-client`: the requests its
//! frontend and test suites send to the backends (and that
//! `tests/compat/book_client.py` replays with `requests`) — form bodies,
//! `Authorization: Bearer <JWT>`, trailing slashes, and `/api/login`
//! without one — made here with a plain HTTP client the same way, recorded
//! as `contracts/pacts/book-client-users.json` and
//! `book-client-thoughts.json`.

use contracts::dsl::{each_like, equal, integer, like, term, timestamp};
use contracts::examples::{BEARER, BEARER_REGEX};
use contracts::{PactBuilder, RequestSpec, ResponseSpec};
use serde_json::{Value, json};

/// The password the book's client gives its user `bruce`.
const PASSWORD: &str = "a strong password";
/// An example administrator password (the provider supplies the real one).
const ADMIN_PASSWORD: &str = "the administrator's password";

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.expect("a JSON body")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn book_client_contracts_with_users() {
    let mut pact = PactBuilder::new("book-client", "users");
    let bruce = json!({"username": "bruce", "password": PASSWORD});

    pact.interaction("an administrator signs in at /api/login, without a trailing slash")
        .given("an administrator account exists", json!({"username": "admin"}))
        .request(
            RequestSpec::post("/api/login")
                .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
                .form_field_from_state("password", "${password}"),
        )
        .response(ResponseSpec::status(200).json(json!({"Authorized": term(BEARER_REGEX, BEARER)})))
        .test(|base| async move {
            let r = http()
                .post(format!("{base}/api/login"))
                .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 200);
            let header = json_of(r).await["Authorized"].as_str().map(str::to_owned);
            assert!(header.is_some_and(|h| h.starts_with("Bearer ")));
        })
        .await;

    pact.interaction("an administrator creates an account")
        .given("an administrator is signed in", json!({"username": "admin"}))
        .request(
            RequestSpec::post("/admin/users/")
                .header_from_state("Authorization", "${bearer}", BEARER)
                .form(&[("username", "bruce"), ("password", PASSWORD)]),
        )
        .response(ResponseSpec::status(201).json(json!({
            "id": integer(1),
            "username": "bruce",
            "creation": timestamp("2019-05-07T13:47:34"),
        })))
        .test(|base| async move {
            let r = http()
                .post(format!("{base}/admin/users/"))
                .header("Authorization", BEARER)
                .form(&[("username", "bruce"), ("password", PASSWORD)])
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 201);
            assert_eq!(json_of(r).await["username"], "bruce");
        })
        .await;

    let login =
        |password: &str| RequestSpec::post("/api/login/").form(&[("username", "bruce"), ("password", password)]);
    pact.interaction("a login with a wrong password")
        .given("an account exists", bruce.clone())
        .request(login("wrong"))
        .response(ResponseSpec::status(401))
        .test(|base| async move {
            let r = http()
                .post(format!("{base}/api/login/"))
                .form(&[("username", "bruce"), ("password", "wrong")])
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 401);
        })
        .await;

    pact.interaction("a login with the right password")
        .given("an account exists", bruce.clone())
        .request(login(PASSWORD))
        .response(ResponseSpec::status(200).json(json!({"Authorized": term(BEARER_REGEX, BEARER)})))
        .test(|base| async move {
            let r = http()
                .post(format!("{base}/api/login/"))
                .form(&[("username", "bruce"), ("password", PASSWORD)])
                .send()
                .await
                .expect("sent");
            assert_eq!(json_of(r).await["Authorized"], BEARER);
        })
        .await;

    pact.interaction("the version of the users service")
        .request(RequestSpec::get("/admin/version/"))
        .response(ResponseSpec::status(200).json(json!({"commit": like("abc123"), "version": like("compat")})))
        .test(|base| async move {
            let r = http().get(format!("{base}/admin/version/")).send().await.expect("sent");
            let v = json_of(r).await;
            assert_eq!(
                (v["commit"].as_str(), v["version"].as_str()),
                (Some("abc123"), Some("compat"))
            );
        })
        .await;

    pact.finish();
}

/// A thought as the book's client reads it.
fn thought(username: Value, text: Value) -> Value {
    json!({"id": integer(1), "username": username, "text": text, "timestamp": timestamp("2019-05-07T13:47:34")})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn book_client_contracts_with_thoughts() {
    let mut pact = PactBuilder::new("book-client", "thoughts");
    let bruce = json!({"username": "bruce"});
    let post = |fields: &[(&str, &str)]| {
        RequestSpec::post("/api/me/thoughts/")
            .header_from_state("Authorization", "${bearer}", BEARER)
            .form(fields)
    };

    pact.interaction("posting a thought with a token")
        .given("a user is signed in", bruce.clone())
        .request(post(&[("text", "Hello from the book's client")]))
        .response(ResponseSpec::status(201).json(thought("bruce".into(), "Hello from the book's client".into())))
        .test(|base| async move {
            let r = http()
                .post(format!("{base}/api/me/thoughts/"))
                .header("Authorization", BEARER)
                .form(&[("text", "Hello from the book's client")])
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 201);
            assert_eq!(json_of(r).await["username"], "bruce");
        })
        .await;

    pact.interaction("posting a thought with the text field repeated: the first value counts")
        .given("a user is signed in", bruce.clone())
        .request(post(&[("text", "first value"), ("text", "second")]))
        .response(ResponseSpec::status(201).json(thought("bruce".into(), "first value".into())))
        .test(|base| async move {
            let r = http()
                .post(format!("{base}/api/me/thoughts/"))
                .header("Authorization", BEARER)
                .form(&[("text", "first value"), ("text", "second")])
                .send()
                .await
                .expect("sent");
            assert_eq!(json_of(r).await["text"], "first value");
        })
        .await;

    pact.interaction("posting a thought without a token")
        .request(RequestSpec::post("/api/me/thoughts/").form(&[("text", "no token")]))
        .response(ResponseSpec::status(401))
        .test(|base| async move {
            let r = http()
                .post(format!("{base}/api/me/thoughts/"))
                .form(&[("text", "no token")])
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 401);
        })
        .await;

    pact.interaction("listing one's own thoughts")
        .given("a user is signed in", bruce.clone())
        .given("a user has posted thoughts", bruce.clone())
        .request(RequestSpec::get("/api/me/thoughts/").header_from_state("Authorization", "${bearer}", BEARER))
        .response(ResponseSpec::status(200).json(each_like(thought(equal("bruce"), like("Hello")), 1)))
        .test(|base| async move {
            let r = http()
                .get(format!("{base}/api/me/thoughts/"))
                .header("Authorization", BEARER)
                .send()
                .await
                .expect("sent");
            let list = json_of(r).await;
            assert!(
                list.as_array()
                    .is_some_and(|l| l.iter().all(|t| t["username"] == "bruce"))
            );
        })
        .await;

    pact.interaction("searching thoughts, whatever the case")
        .given("thoughts containing a word exist", json!({"word": "book"}))
        .request(RequestSpec::get("/api/thoughts/").query("search", "BOOK"))
        .response(ResponseSpec::status(200).json(each_like(
            thought(like("bruce"), term("(?i)book", "Hello from the book's client")),
            1,
        )))
        .test(|base| async move {
            let r = http()
                .get(format!("{base}/api/thoughts/"))
                .query(&[("search", "BOOK")])
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 200);
        })
        .await;

    pact.interaction("searching with the search parameter repeated: the first value counts")
        .given("thoughts containing a word exist", json!({"word": "first value"}))
        .request(
            RequestSpec::get("/api/thoughts/")
                .query("search", "first value")
                .query("search", "BOOK"),
        )
        .response(ResponseSpec::status(200).json(each_like(
            thought(like("bruce"), term("(?i)first value", "first value")),
            1,
        )))
        .test(|base| async move {
            let r = http()
                .get(format!("{base}/api/thoughts/"))
                .query(&[("search", "first value"), ("search", "BOOK")])
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 200);
        })
        .await;

    pact.interaction("reading one thought")
        .given("a user has posted a thought", bruce.clone())
        .request(RequestSpec::get("/api/thoughts/1/").path_from_state("/api/thoughts/${id}/"))
        .response(ResponseSpec::status(200).json(thought("bruce".into(), like("Hello"))))
        .test(|base| async move {
            let r = http()
                .get(format!("{base}/api/thoughts/1/"))
                .send()
                .await
                .expect("sent");
            assert_eq!(json_of(r).await["id"], 1);
        })
        .await;

    pact.interaction("reading a thought that does not exist")
        .request(RequestSpec::get("/api/thoughts/999999/"))
        .response(ResponseSpec::status(404).json(json!({"message": like("Thought not found")})))
        .test(|base| async move {
            let r = http()
                .get(format!("{base}/api/thoughts/999999/"))
                .send()
                .await
                .expect("sent");
            assert_eq!(r.status(), 404);
            assert!(json_of(r).await.get("message").is_some());
        })
        .await;

    pact.finish();
}
