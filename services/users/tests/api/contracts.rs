//! The users service keeps the contracts its consumers recorded
//! (`contracts/pacts/*-users.json`: the frontend, the thoughts service,
//! the book's clients). Each interaction runs against a fresh users
//! service started alone on port 0; its provider states are set up through
//! the service's own public API.

use crate::helpers::{self, Engine, TestApp};
use contracts::{ProviderState, Target, verify_provider};
use serde_json::{Map, Value};
use users_api::Credentials;

fn param<'a>(state: &'a ProviderState, name: &str) -> Result<&'a str, String> {
    state
        .params
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("provider state {:?} needs the parameter {name:?}", state.name))
}

fn credentials(state: &ProviderState) -> Result<Credentials, String> {
    Ok(Credentials {
        username: param(state, "username")?.to_owned(),
        password: param(state, "password")?.to_owned(),
    })
}

async fn sign_up(app: &TestApp, credentials: &Credentials) -> Result<(), String> {
    app.api
        .sign_up(credentials, None)
        .await
        .map(|_| ())
        .map_err(|e| format!("signing up {:?} failed: {e}", credentials.username))
}

/// A fresh users service with `states` set up, and the values the
/// interaction's request needs (`${refresh}`, `${password}`, `${bearer}`).
async fn set_up(engine: Engine, states: Vec<ProviderState>) -> Result<Target<TestApp>, String> {
    let app = helpers::spawn(engine).await;
    let mut values = Map::new();
    for state in &states {
        match state.name.as_str() {
            "an account exists" => sign_up(&app, &credentials(state)?).await?,
            // A fresh service has no account but its administrator.
            "the username is free" => {
                let username = param(state, "username")?;
                if username == app.admin_username {
                    return Err(format!("{username:?} is the administrator's name here"));
                }
            }
            "a user has a session" => {
                let credentials = credentials(state)?;
                sign_up(&app, &credentials).await?;
                let session = app
                    .api
                    .create_session(&credentials, None)
                    .await
                    .map_err(|e| format!("starting a session failed: {e}"))?;
                values.insert("refresh".into(), session.refresh.into());
            }
            "an administrator account exists" => {
                if param(state, "username")? != app.admin_username {
                    return Err(format!("the administrator here is {:?}", app.admin_username));
                }
                values.insert("password".into(), app.admin_password.clone().into());
            }
            "an administrator is signed in" => {
                values.insert("bearer".into(), app.admin_bearer().await.into());
            }
            other => {
                return Err(format!(
                    "the users service has no set-up for the provider state {other:?}"
                ));
            }
        }
    }
    let base = app.base.clone();
    let mut target = Target::new(base, app);
    target.values = values;
    Ok(target)
}

testkit::both_engines! {
    async fn users_keeps_the_contracts_of_its_consumers(engine) {
        verify_provider("users", |states| set_up(engine, states)).await;
    }
}
