//! Contracts (Pact v3, `contracts/pacts/`). As a **consumer**, the thoughts
//! service records what it relies on from users: the JWK Set its verifier
//! fetches (`thoughts-users.json`). As a **provider**, it keeps the
//! contracts its consumers recorded (`*-thoughts.json`: the frontend, the
//! book's clients): each interaction runs against a fresh thoughts service
//! started alone on port 0, with its provider states set up through the
//! service's own API (thoughts are posted through it; tokens are minted
//! with the test key, as the users service or the book's tests would).

use crate::helpers::{self, Engine, TestApp};
use contracts::examples::{JWK_KID, jwk_set};
use contracts::{PactBuilder, ProviderState, RequestSpec, ResponseSpec, Target, verify_provider};
use serde_json::{Map, Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thoughts_contract_with_users() {
    let mut pact = PactBuilder::new("thoughts", "users");
    pact.interaction("the public keys that verify tokens")
        .request(RequestSpec::get("/.well-known/jwks.json"))
        .response(ResponseSpec::status(200).json(jwk_set()))
        .test(|base| async move {
            // The service's own verifier, configured with JWKS_URL only.
            let mut config = thoughts::Config::local("sqlite://unused", "unused");
            config.keys.public_key_path = None;
            config.keys.jwks_url = Some(format!("{base}/.well-known/jwks.json"));
            let verifier = config.keys.build(&config.outgoing).expect("verifier");
            let now = chrono::Utc::now().timestamp();
            let token = helpers::sign_with(
                &json!({"username": "alice", "iat": now, "exp": now + 60}),
                jsonwebtoken::Algorithm::RS256,
                &testkit::keys().private_pem,
                Some(JWK_KID),
            );
            let rejection = verifier
                .verify(&token)
                .await
                .expect_err("the example key did not sign it");
            // Not `KeysUnavailable`: the key set was read and the key of that kid tried.
            assert_eq!(rejection, tokens::Rejection::Signature);
        })
        .await;
    pact.finish();
}

fn param<'a>(state: &'a ProviderState, name: &str) -> Result<&'a str, String> {
    state
        .params
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("provider state {:?} needs the parameter {name:?}", state.name))
}

async fn post(app: &TestApp, username: &str, text: &str) -> Result<i64, String> {
    app.api
        .create(&helpers::bearer(username), text)
        .await
        .map(|t| t.id)
        .map_err(|e| format!("posting as {username} failed: {e}"))
}

/// A fresh thoughts service with `states` set up, and the values the
/// interaction's request needs (`${bearer}`, `${id}`, `${before}`).
async fn set_up(engine: Engine, states: Vec<ProviderState>) -> Result<Target<TestApp>, String> {
    // Posting is limited only where a state is about that limit: one post, then 429.
    let limited = states
        .iter()
        .any(|s| s.name == "the user has posted as often as allowed");
    let app = helpers::spawn_with(engine, |config| {
        if limited {
            config.posts_per_account_per_minute = 1;
            config.posts_burst_per_account = 1;
        }
    })
    .await;
    let mut values = Map::new();
    for state in &states {
        match state.name.as_str() {
            "a user is signed in" => {
                values.insert("bearer".into(), helpers::bearer(param(state, "username")?).into());
            }
            "a user has posted thoughts" => {
                let username = param(state, "username")?;
                post(&app, username, "A first thought").await?;
                post(&app, username, "A second thought").await?;
                post(&app, "someone-else", "Not theirs").await?;
            }
            "a user has posted a thought" => {
                let id = post(&app, param(state, "username")?, "A thought to delete").await?;
                values.insert("id".into(), id.into());
            }
            "more thoughts exist than fit in a page" => {
                let count = state
                    .params
                    .get("count")
                    .and_then(Value::as_u64)
                    .ok_or("\"more thoughts exist than fit in a page\" needs a numeric \"count\"")?;
                let mut ids = Vec::new();
                for i in 0..count {
                    let author = if i % 2 == 0 { "alice" } else { "bob" };
                    ids.push(post(&app, author, &format!("Thought number {i}")).await?);
                }
                // A cursor with one thought older than it.
                let before = ids.get(1).ok_or("\"count\" must be at least 2")?;
                values.insert("before".into(), (*before).into());
            }
            "thoughts containing a word exist" => {
                let word = param(state, "word")?;
                post(&app, "alice", &format!("Learning {word} today")).await?;
                post(&app, "bob", "Nothing to see here").await?;
            }
            "the user has posted as often as allowed" => {
                post(&app, param(state, "username")?, "The one allowed now").await?;
            }
            other => {
                return Err(format!(
                    "the thoughts service has no set-up for the provider state {other:?}"
                ));
            }
        }
    }
    let mut target = Target::new(app.base.clone(), app);
    target.values = values;
    Ok(target)
}

testkit::both_engines! {
    async fn thoughts_keeps_the_contracts_of_its_consumers(engine) {
        verify_provider("thoughts", |states| set_up(engine, states)).await;
    }
}
