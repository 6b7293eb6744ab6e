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

pub use kit::client::ClientError;

/// Which thoughts a newest-first page lists.
#[derive(Debug, Clone, Copy)]
pub enum Listing<'a> {
    /// Everyone's.
    All,
    /// Everyone's containing this text.
    Search(&'a str),
    /// One author's.
    ByUser(&'a str),
    /// The caller's, with their `Bearer <JWT>`.
    Mine(&'a str),
}

/// A page of thoughts, newest first.
#[derive(Debug, Clone, Default)]
pub struct ThoughtPage {
    /// The thoughts, newest first.
    pub items: Vec<Thought>,
    /// The cursor of the next (older) page, when there is one.
    pub older: Option<i64>,
}

/// The `before` cursor of a `Link: <...>; rel="next"` header.
fn before_cursor(link: Option<&str>) -> Option<i64> {
    let target = link?.split_once('<')?.1.split_once('>')?.0;
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|kv| kv.strip_prefix("before=")?.parse().ok())
}
use reqwest::Method;

/// A typed client of the thoughts service. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client(kit::client::ApiClient);

impl Client {
    /// A client of the service at `base`, with connect and whole-call
    /// deadlines, retrying and breaking the circuit as `outgoing` says
    /// ([`kit::client`]).
    pub fn new(
        base: &str,
        connect_timeout: Duration,
        timeout: Duration,
        outgoing: &kit::config::OutgoingConfig,
    ) -> Result<Self, ClientError> {
        kit::client::ApiClient::new("thoughts", base, connect_timeout, timeout, outgoing).map(Self)
    }

    /// The same client, forwarding `request_id` on every call.
    pub fn with_request_id(&self, request_id: &str) -> Self {
        Self(self.0.with_request_id(request_id))
    }

    /// *(ext)* A newest-first page of `limit` thoughts, older than `before`.
    pub async fn newest(
        &self,
        listing: Listing<'_>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<ThoughtPage, ClientError> {
        self.newest_for(listing, before, limit, None).await
    }

    /// [`Client::newest`] on behalf of the end user at `forwarded_for`
    /// (sent as `X-Forwarded-For`), whose searches the thoughts service
    /// limits per address when it trusts the caller as a proxy.
    pub async fn newest_for(
        &self,
        listing: Listing<'_>,
        before: Option<i64>,
        limit: u32,
        forwarded_for: Option<&str>,
    ) -> Result<ThoughtPage, ClientError> {
        let (path, filter, bearer) = match listing {
            Listing::All => ("/api/thoughts/", None, None),
            Listing::Search(s) => ("/api/thoughts/", Some(("search", s)), None),
            Listing::ByUser(u) => ("/api/thoughts/", Some(("username", u)), None),
            Listing::Mine(b) => ("/api/me/thoughts/", None, Some(b)),
        };
        let mut query = vec![("order", "desc".to_owned()), ("limit", limit.to_string())];
        if let Some((k, v)) = filter {
            query.push((k, v.to_owned()));
        }
        if let Some(b) = before {
            query.push(("before", b.to_string()));
        }
        let mut req = self.0.request(Method::GET, path).query(&query);
        if let Some(b) = bearer {
            req = req.header("authorization", b);
        }
        if let Some(chain) = forwarded_for {
            req = req.header("x-forwarded-for", chain);
        }
        let response = self.0.send(req).await?;
        let older = before_cursor(response.headers().get("link").and_then(|v| v.to_str().ok()));
        let items = response
            .json()
            .await
            .map_err(|e| ClientError::Unavailable(format!("thoughts: {e}")))?;
        Ok(ThoughtPage { items, older })
    }

    /// `GET /api/me/thoughts/` with the caller's `Bearer <JWT>`.
    pub async fn list_mine(&self, bearer: &str) -> Result<Vec<Thought>, ClientError> {
        self.0
            .json(
                self.0
                    .request(Method::GET, "/api/me/thoughts/")
                    .header("authorization", bearer),
            )
            .await
    }

    /// `POST /api/me/thoughts/`.
    pub async fn create(&self, bearer: &str, text: &str) -> Result<Thought, ClientError> {
        let req = self
            .0
            .request(Method::POST, "/api/me/thoughts/")
            .header("authorization", bearer)
            .form(&NewThought { text: text.to_owned() });
        self.0.json(req).await
    }

    /// `DELETE /api/me/thoughts/<id>/` *(ext)*.
    pub async fn delete_mine(&self, bearer: &str, id: i64) -> Result<(), ClientError> {
        let req = self
            .0
            .request(Method::DELETE, &format!("/api/me/thoughts/{id}/"))
            .header("authorization", bearer);
        self.0.send(req).await.map(|_| ())
    }

    /// `GET /admin/version/`: `(version, commit)`.
    pub async fn version(&self) -> Result<(String, String), ClientError> {
        self.0.version().await
    }
}

#[cfg(test)]
mod tests {
    use super::before_cursor;

    #[test]
    fn the_next_cursor_is_read_from_the_link_header() {
        let link = r#"</api/thoughts/?search=a&limit=50&order=desc&before=42>; rel="next""#;
        assert_eq!(before_cursor(Some(link)), Some(42));
        assert_eq!(before_cursor(Some(r#"</api/thoughts/?after=3>; rel="next""#)), None);
        assert_eq!(before_cursor(None), None);
    }
}
