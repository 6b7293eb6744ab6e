//! Wire types and a typed HTTP client of the users service (API.md, "Users
//! service"). No logic: what the JSON looks like and how to call it.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A user as the API returns it (never with a password or hash).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct User {
    /// Positive, increasing id.
    pub id: i64,
    /// The unique username.
    pub username: String,
    /// When the account was created (UTC, ISO 8601 without offset).
    #[serde(with = "kit::time::serde_iso")]
    #[schema(value_type = String, example = "2019-05-07T13:47:34")]
    pub creation: NaiveDateTime,
}

/// Login and account-creation input (form, JSON or query string).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    /// 1–50 characters, no control characters.
    pub username: String,
    /// 1–128 characters (new accounts: at least the policy minimum, default 12).
    pub password: String,
}

/// Successful login: `{"Authorized": "Bearer <JWT>"}`, as the book answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LoginResponse {
    /// `Bearer <JWT>`.
    #[serde(rename = "Authorized")]
    pub authorized: String,
}

/// What went wrong calling the users service.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service could not be reached or did not answer in time.
    #[error("users service unavailable: {0}")]
    Unavailable(String),
    /// The service answered with an error status.
    #[error("users service answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The `message` of the error body.
        message: String,
        /// The `errors` map of a validation error.
        errors: std::collections::BTreeMap<String, String>,
    },
}

/// A typed client of the users service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    request_id: Option<String>,
}

impl Client {
    /// A client of the service at `base` (e.g. `http://127.0.0.1:8001`), with
    /// the given connect and whole-call deadlines.
    pub fn new(base: &str, connect_timeout: Duration, timeout: Duration) -> Result<Self, ClientError> {
        let http = kit::client::build(connect_timeout, timeout).map_err(|e| ClientError::Unavailable(e.to_string()))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
            request_id: None,
        })
    }

    /// The same client, forwarding `request_id` on every call.
    pub fn with_request_id(&self, request_id: &str) -> Self {
        Self {
            request_id: Some(request_id.to_owned()),
            ..self.clone()
        }
    }

    async fn send<T: serde::de::DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, ClientError> {
        let response = kit::client::send("users", request, self.request_id.as_deref())
            .await
            .map_err(|e| ClientError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return response
                .json()
                .await
                .map_err(|e| ClientError::Unavailable(e.to_string()));
        }
        if status.is_server_error() {
            return Err(ClientError::Unavailable(format!("answered {status}")));
        }
        let body: kit::ErrorBody = response.json().await.unwrap_or(kit::ErrorBody {
            message: status.canonical_reason().unwrap_or("error").to_owned(),
            errors: None,
        });
        Err(ClientError::Status {
            status: status.as_u16(),
            message: body.message,
            errors: body.errors.unwrap_or_default(),
        })
    }

    /// `POST /api/login/`: `{"Authorized": "Bearer <JWT>"}` on success.
    pub async fn login(&self, credentials: &Credentials) -> Result<LoginResponse, ClientError> {
        self.send(self.http.post(format!("{}/api/login/", self.base)).form(credentials))
            .await
    }

    /// `POST /api/users/` *(ext)*: public sign-up.
    pub async fn sign_up(&self, credentials: &Credentials) -> Result<User, ClientError> {
        self.send(self.http.post(format!("{}/api/users/", self.base)).form(credentials))
            .await
    }

    /// `GET /admin/version/`: `(version, commit)`.
    pub async fn version(&self) -> Result<(String, String), ClientError> {
        let v: serde_json::Value = self
            .send(self.http.get(format!("{}/admin/version/", self.base)))
            .await?;
        let field = |name: &str| v[name].as_str().unwrap_or_default().to_owned();
        Ok((field("version"), field("commit")))
    }
}
