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

/// A typed client of the users service.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the service at `base` (e.g. `http://127.0.0.1:8001`), with
    /// the given connect and whole-call deadlines.
    pub fn new(
        base: &str,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| ClientError::Unavailable(e.to_string()))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return response
                .json()
                .await
                .map_err(|e| ClientError::Unavailable(e.to_string()));
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

    /// `POST /api/login/`: the `Bearer <JWT>` string on success.
    pub async fn login(
        &self,
        credentials: &Credentials,
        request_id: Option<&str>,
    ) -> Result<LoginResponse, ClientError> {
        let mut req = self
            .http
            .post(format!("{}/api/login/", self.base))
            .form(credentials);
        if let Some(id) = request_id {
            req = req.header("x-request-id", id);
        }
        self.send(req).await
    }

    /// `POST /api/users/`: public sign-up.
    pub async fn sign_up(
        &self,
        credentials: &Credentials,
        request_id: Option<&str>,
    ) -> Result<User, ClientError> {
        let mut req = self
            .http
            .post(format!("{}/api/users/", self.base))
            .form(credentials);
        if let Some(id) = request_id {
            req = req.header("x-request-id", id);
        }
        self.send(req).await
    }

    /// `GET /admin/version/`.
    pub async fn version(&self) -> Result<serde_json::Value, ClientError> {
        self.send(self.http.get(format!("{}/admin/version/", self.base)))
            .await
    }
}
