//! Wire types and a typed HTTP client of the thoughts service (API.md,
//! "Thoughts service"). No logic: what the JSON looks like and how to call it.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
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

/// Input of `POST /api/me/thoughts/`. The service's OpenAPI document states
/// the rules (`thoughts::openapi`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewThought {
    /// 1–250 characters, not blank, stored as sent.
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
pub struct Client(kit::client::ApiClient, PageCache);

/// Pages fetched before, with their `ETag`, so that asking for one again is
/// a conditional request (`If-None-Match`) that the service answers `304
/// Not Modified` while the page is unchanged: no body sent, none decoded.
/// Keyed by the request (path, parameters and token: a caller's own page is
/// never served to another token), at most `capacity` pages, the oldest
/// stored evicted first. Disabled (`None`), every call is unconditional.
#[derive(Debug, Clone, Default)]
struct PageCache(Option<Arc<Mutex<Pages>>>);

#[derive(Debug, Default)]
struct Pages {
    capacity: usize,
    entries: HashMap<PageKey, (String, ThoughtPage)>,
    /// Keys in the order stored, oldest first (each key once).
    order: VecDeque<PageKey>,
}

/// What a page's content depends on: the path with its parameters, and the
/// token for the caller's own thoughts.
type PageKey = (String, Option<String>);

impl PageCache {
    fn new(capacity: usize) -> Self {
        Self((capacity > 0).then(|| {
            Arc::new(Mutex::new(Pages {
                capacity,
                ..Pages::default()
            }))
        }))
    }

    fn lock(pages: &Mutex<Pages>) -> MutexGuard<'_, Pages> {
        // Every update leaves the map and the order consistent before
        // anything that could panic.
        pages.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The tag of the page stored under `key`.
    fn tag(&self, key: &PageKey) -> Option<String> {
        let pages = self.0.as_ref()?;
        Self::lock(pages).entries.get(key).map(|(tag, _)| tag.clone())
    }

    /// The page stored under `key` with `tag` (a 304 for that tag).
    fn page(&self, key: &PageKey, tag: &str) -> Option<ThoughtPage> {
        let pages = self.0.as_ref()?;
        match Self::lock(pages).entries.get(key) {
            Some((stored, page)) if stored == tag => Some(page.clone()),
            _ => None,
        }
    }

    fn store(&self, key: PageKey, tag: String, page: &ThoughtPage) {
        let Some(pages) = &self.0 else { return };
        let mut pages = Self::lock(pages);
        if pages.entries.insert(key.clone(), (tag, page.clone())).is_none() {
            pages.order.push_back(key);
        }
        while pages.entries.len() > pages.capacity {
            match pages.order.pop_front() {
                Some(oldest) => {
                    pages.entries.remove(&oldest);
                }
                None => break,
            }
        }
    }

    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |pages| Self::lock(pages).entries.len())
    }
}

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
        kit::client::ApiClient::new("thoughts", base, connect_timeout, timeout, outgoing)
            .map(|api| Self(api, PageCache::default()))
    }

    /// The same client, remembering up to `pages` pages of
    /// [`Client::newest`] to ask for them again conditionally (0: none); its
    /// clones share them.
    pub fn with_page_cache(self, pages: usize) -> Self {
        Self(self.0, PageCache::new(pages))
    }

    /// Pages remembered now (see [`Client::with_page_cache`]).
    pub fn cached_pages(&self) -> usize {
        self.1.len()
    }

    /// The same client, forwarding `request_id` on every call.
    pub fn with_request_id(&self, request_id: &str) -> Self {
        Self(self.0.with_request_id(request_id), self.1.clone())
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
        let key = self.1.0.is_some().then(|| {
            let mut target = path.to_owned();
            for (k, v) in &query {
                target.push_str(&format!("&{k}={v:?}"));
            }
            (target, bearer.map(str::to_owned))
        });
        // At most twice: a 304 for a page evicted meanwhile is asked again
        // without condition.
        let mut conditional = true;
        loop {
            let mut req = self.0.request(Method::GET, path).query(&query);
            if let Some(b) = bearer {
                req = req.header("authorization", b);
            }
            if let Some(chain) = forwarded_for {
                req = req.header("x-forwarded-for", chain);
            }
            let known = key.as_ref().filter(|_| conditional).and_then(|k| self.1.tag(k));
            if let Some(tag) = &known {
                req = req.header("if-none-match", tag);
            }
            let response = self.0.send(req).await?;
            if response.status() == reqwest::StatusCode::NOT_MODIFIED {
                if let Some(page) = known.zip(key.as_ref()).and_then(|(tag, k)| self.1.page(k, &tag)) {
                    return Ok(page);
                }
                if !conditional {
                    return Err(ClientError::Unavailable(
                        "thoughts: answered 304 to an unconditional request".to_owned(),
                    ));
                }
                conditional = false;
                continue;
            }
            let tag = response
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let older = before_cursor(response.headers().get("link").and_then(|v| v.to_str().ok()));
            let items = response
                .json()
                .await
                .map_err(|e| ClientError::Unavailable(format!("thoughts: {e}")))?;
            let page = ThoughtPage { items, older };
            if let (Some(k), Some(tag)) = (key, tag) {
                self.1.store(k, tag, &page);
            }
            return Ok(page);
        }
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
    use super::*;

    fn page(n: i64) -> ThoughtPage {
        ThoughtPage {
            items: vec![Thought {
                id: n,
                username: "bruce".into(),
                text: format!("thought {n}"),
                timestamp: chrono::DateTime::UNIX_EPOCH.naive_utc(),
            }],
            older: None,
        }
    }

    fn key(n: usize, bearer: Option<&str>) -> PageKey {
        (format!("/api/me/thoughts/&limit={n}"), bearer.map(str::to_owned))
    }

    #[test]
    fn a_page_is_served_again_only_for_its_own_tag_and_token() {
        let cache = PageCache::new(4);
        cache.store(key(1, Some("Bearer a")), "\"t1\"".into(), &page(1));
        assert_eq!(cache.tag(&key(1, Some("Bearer a"))).as_deref(), Some("\"t1\""));
        assert_eq!(
            cache.page(&key(1, Some("Bearer a")), "\"t1\"").map(|p| p.items[0].id),
            Some(1)
        );
        assert!(cache.page(&key(1, Some("Bearer a")), "\"t2\"").is_none(), "another tag");
        assert!(cache.tag(&key(1, Some("Bearer b"))).is_none(), "another token");
        assert!(cache.tag(&key(1, None)).is_none(), "no token");
    }

    #[test]
    fn the_cache_is_bounded_and_a_new_tag_replaces_the_old() {
        let cache = PageCache::new(2);
        for n in 1..=3 {
            cache.store(key(n, None), format!("\"t{n}\""), &page(n as i64));
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.tag(&key(1, None)).is_none(), "the oldest was evicted");
        cache.store(key(3, None), "\"new\"".into(), &page(30));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.page(&key(3, None), "\"new\"").map(|p| p.items[0].id), Some(30));
        let order = cache.0.as_ref().map(|p| PageCache::lock(p).order.len());
        assert_eq!(order, Some(2), "a key is in the order once");
    }

    #[test]
    fn a_disabled_cache_remembers_nothing() {
        let cache = PageCache::default();
        cache.store(key(1, None), "\"t\"".into(), &page(1));
        assert_eq!(cache.len(), 0);
        assert!(cache.tag(&key(1, None)).is_none());
    }

    #[test]
    fn the_next_cursor_is_read_from_the_link_header() {
        let link = r#"</api/thoughts/?search=a&limit=50&order=desc&before=42>; rel="next""#;
        assert_eq!(before_cursor(Some(link)), Some(42));
        assert_eq!(before_cursor(Some(r#"</api/thoughts/?after=3>; rel="next""#)), None);
        assert_eq!(before_cursor(None), None);
    }
}
