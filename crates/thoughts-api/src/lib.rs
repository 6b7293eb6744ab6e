//! Wire types and a typed HTTP client of the thoughts service (API.md,
//! "Thoughts service"). No logic: what the JSON looks like and how to call it.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A thought as the API returns it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Thought {
    /// Positive, increasing id.
    pub id: i64,
    /// Author.
    pub username: String,
    /// 1–250 characters.
    pub text: String,
    /// When it was posted (UTC, ISO 8601 without offset).
    #[serde(with = "kit::time::serde_iso")]
    #[schema(value_type = String, example = "2019-05-07T13:47:34")]
    pub timestamp: NaiveDateTime,
}

/// Input of `POST /api/me/thoughts/`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewThought {
    /// 1–250 characters after trimming.
    pub text: String,
}

/// What went wrong calling the thoughts service.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service could not be reached or did not answer in time.
    #[error("thoughts service unavailable: {0}")]
    Unavailable(String),
    /// The service answered with an error status.
    #[error("thoughts service answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The `message` of the error body.
        message: String,
        /// The `errors` map of a validation error.
        errors: std::collections::BTreeMap<String, String>,
    },
}

/// A typed client of the thoughts service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    request_id: Option<String>,
}

impl Client {
    /// A client of the service at `base`, with connect and whole-call deadlines.
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

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let response = kit::client::send("thoughts", request, self.request_id.as_deref())
            .await
            .map_err(|e| ClientError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
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

    async fn json<T: serde::de::DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, ClientError> {
        self.send(request)
            .await?
            .json()
            .await
            .map_err(|e| ClientError::Unavailable(e.to_string()))
    }

    /// `GET /api/thoughts/?search=`: everyone's thoughts, optionally filtered.
    pub async fn list(&self, search: Option<&str>) -> Result<Vec<Thought>, ClientError> {
        let mut req = self.http.get(format!("{}/api/thoughts/", self.base));
        if let Some(s) = search {
            req = req.query(&[("search", s)]);
        }
        self.json(req).await
    }

    /// `GET /api/thoughts/?username=` *(ext)*: one author's thoughts.
    pub async fn list_by_user(&self, username: &str) -> Result<Vec<Thought>, ClientError> {
        let req = self
            .http
            .get(format!("{}/api/thoughts/", self.base))
            .query(&[("username", username)]);
        self.json(req).await
    }

    /// `GET /api/me/thoughts/` with the caller's `Bearer <JWT>`.
    pub async fn list_mine(&self, bearer: &str) -> Result<Vec<Thought>, ClientError> {
        self.json(
            self.http
                .get(format!("{}/api/me/thoughts/", self.base))
                .header("authorization", bearer),
        )
        .await
    }

    /// `POST /api/me/thoughts/`.
    pub async fn create(&self, bearer: &str, text: &str) -> Result<Thought, ClientError> {
        let req = self
            .http
            .post(format!("{}/api/me/thoughts/", self.base))
            .header("authorization", bearer)
            .form(&NewThought { text: text.to_owned() });
        self.json(req).await
    }

    /// `DELETE /api/me/thoughts/<id>/` *(ext)*.
    pub async fn delete_mine(&self, bearer: &str, id: i64) -> Result<(), ClientError> {
        let req = self
            .http
            .delete(format!("{}/api/me/thoughts/{id}/", self.base))
            .header("authorization", bearer);
        self.send(req).await.map(|_| ())
    }

    /// `GET /admin/version/`: `(version, commit)`.
    pub async fn version(&self) -> Result<(String, String), ClientError> {
        let v: serde_json::Value = self
            .json(self.http.get(format!("{}/admin/version/", self.base)))
            .await?;
        let field = |name: &str| v[name].as_str().unwrap_or_default().to_owned();
        Ok((field("version"), field("commit")))
    }
}
