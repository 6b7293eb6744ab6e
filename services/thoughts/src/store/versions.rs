//! Validators of the lists (issue 13): the `ETag` of a list response, and
//! whether a conditional request (`If-None-Match`) can be answered `304 Not
//! Modified` without running its query.
//!
//! - **SQLite** (one process owns the file): this process counts the changes
//!   it makes, so a list's tag is known before its query runs. A list of one
//!   author's thoughts is tagged with the count of that author's changes (a
//!   post, a delete), any other list (everyone's, a search of everyone's)
//!   with the count of all changes. The counts live in memory: a tag names
//!   this process (`instance`, random at start) so that none survives a
//!   restart, and an epoch that a [`Watcher`] bumps when a bulk load
//!   (`mythoughts seed --thoughts`, another process) wrote into the file
//!   while the service runs, so that its rows reach the tags within
//!   [`WATCH_INTERVAL`]. Other writers into a running service's file are
//!   not noticed (as for the thought cache: restart the service after them).
//! - **PostgreSQL** (several replicas share the table; none sees the others'
//!   writes): the tag is a digest of the response body, computed after the
//!   query. A 304 then saves the transfer and the caller's decoding, not the
//!   query.
//!
//! Why a stale 304 cannot follow a write the caller saw: a write bumps its
//! counts after its statement returned and before the service answers it,
//! and a list takes its tag before its query. A tag taken after the bump
//! belongs to a query that sees the write; a tag taken before it differs
//! from every tag taken after, so a client holding it gets the new list.
//! Counts are per slot (authors hashed into [`SLOTS`]): two authors sharing
//! a slot only revalidate each other's lists more often.

use kit::db::Pool;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Author slots: enough that two active authors rarely share one.
pub const SLOTS: usize = 4096;

/// How often a [`Watcher`] asks SQLite whether a bulk load wrote.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// Whose list a tag is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// Everyone's thoughts (all of them, or a search of them).
    Everyone,
    /// One author's.
    Author(&'a str),
}

/// The change counts of the lists on SQLite; on PostgreSQL nothing (tags
/// are digests of the body). Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct ListVersions {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    instance: u64,
    epoch: AtomicU64,
    everyone: AtomicU64,
    authors: Box<[AtomicU64]>,
    slot_of: RandomState,
}

impl ListVersions {
    /// Counts on SQLite, none on PostgreSQL (see the module docs).
    pub fn for_pool(pool: &Pool) -> Self {
        match pool {
            Pool::Sqlite(_) => Self::counting(),
            Pool::Postgres(_) => Self { inner: None },
        }
    }

    /// Counts kept in this process, whatever the engine.
    pub fn counting() -> Self {
        let mut seed = [0u8; 8];
        // Without the system's random source, the start time names the
        // process well enough: only a restart within the same nanosecond
        // could reuse a tag.
        let instance = match getrandom::fill(&mut seed) {
            Ok(()) => u64::from_le_bytes(seed),
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
        };
        Self {
            inner: Some(Arc::new(Inner {
                instance,
                epoch: AtomicU64::new(0),
                everyone: AtomicU64::new(0),
                authors: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
                slot_of: RandomState::new(),
            })),
        }
    }

    /// Whether tags are known before the query (SQLite).
    pub fn is_counting(&self) -> bool {
        self.inner.is_some()
    }

    /// The tag of `subject`'s lists now, if known before the query: take it
    /// before running the query whose response it tags.
    pub fn tag(&self, subject: Subject<'_>) -> Option<String> {
        let inner = self.inner.as_ref()?;
        let epoch = inner.epoch.load(Ordering::SeqCst);
        let instance = inner.instance;
        Some(match subject {
            Subject::Everyone => {
                let count = inner.everyone.load(Ordering::SeqCst);
                format!("\"{instance:016x}-{epoch:x}-e-{count:x}\"")
            }
            Subject::Author(author) => {
                let slot = inner.slot_index(author);
                let count = inner.authors[slot].load(Ordering::SeqCst);
                format!("\"{instance:016x}-{epoch:x}-a{slot:x}-{count:x}\"")
            }
        })
    }

    /// `author` changed their thoughts (a post or a delete): call once the
    /// statement has returned, whether it succeeded or failed (a failure may
    /// still have committed), and before answering the request.
    pub fn changed(&self, author: &str) {
        if let Some(inner) = &self.inner {
            inner.slot(author).fetch_add(1, Ordering::SeqCst);
            inner.everyone.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Anything may have changed (the file, under another connection).
    pub fn changed_all(&self) {
        if let Some(inner) = &self.inner {
            inner.epoch.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// What watches the file for bulk loads (SQLite; `None` on PostgreSQL):
    /// reads [`OUTSIDE_WRITES_PRAGMA`] now, so that a load from this moment
    /// on moves the tags once [`Watcher::run`] notices it.
    pub async fn watcher(&self, pool: &Pool) -> Option<Watcher> {
        let (Some(_), Pool::Sqlite(pool)) = (&self.inner, pool) else {
            return None;
        };
        let last = outside_writes(pool).await.ok();
        Some(Watcher {
            versions: self.clone(),
            pool: pool.clone(),
            last,
        })
    }
}

/// `PRAGMA user_version`, which nothing else in this service uses: a bulk
/// load into the file (`crate::bulk`, from another process) adds one to it
/// in each of its transactions, so that a running service can tell its
/// rows from the service's own (which never touch it).
pub const OUTSIDE_WRITES_PRAGMA: &str = "user_version";

async fn outside_writes(pool: &sqlx::SqlitePool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>("pragma user_version")
        .fetch_one(pool)
        .await
}

/// Notices bulk loads into a running service's SQLite file.
#[derive(Debug)]
pub struct Watcher {
    versions: ListVersions,
    pool: sqlx::SqlitePool,
    last: Option<i64>,
}

impl Watcher {
    /// Until `stop`: every [`WATCH_INTERVAL`], read [`OUTSIDE_WRITES_PRAGMA`]
    /// and bump the epoch of every tag when it moved (or cannot be read).
    pub async fn run(mut self, stop: tokio_util::sync::CancellationToken) {
        let mut every = tokio::time::interval(WATCH_INTERVAL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await; // the first tick is now: `last` was just read
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = every.tick() => {}
            }
            match outside_writes(&self.pool).await {
                Ok(now) => {
                    if self.last != Some(now) {
                        self.versions.changed_all();
                    }
                    self.last = Some(now);
                }
                Err(e) => {
                    // Not knowing is taken as a change: the tags move on.
                    tracing::warn!(error = %e, "cannot read the database's count of bulk loads");
                    self.versions.changed_all();
                    self.last = None;
                }
            }
        }
    }
}

impl Inner {
    fn slot_index(&self, author: &str) -> usize {
        self.slot_of.hash_one(author) as usize % self.authors.len()
    }

    fn slot(&self, author: &str) -> &AtomicU64 {
        &self.authors[self.slot_index(author)]
    }
}

/// The tag of a list answered with `body`, when it was not known before the
/// query (PostgreSQL): the first 128 bits of its SHA-256, the same on every
/// replica running this code.
pub fn digest_tag(body: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, body);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for byte in &digest.as_ref()[..16] {
        use std::fmt::Write as _;
        let _ = write!(tag, "{byte:02x}");
    }
    tag.push('"');
    tag
}

/// Whether `if_none_match` (an `If-None-Match` header's value) names `tag`,
/// compared weakly (a `W/` prefix is ignored), or is `*`.
pub fn matches(if_none_match: &str, tag: &str) -> bool {
    let trimmed = if_none_match.trim();
    if trimmed == "*" {
        return true;
    }
    trimmed
        .split(',')
        .map(|candidate| {
            let candidate = candidate.trim();
            candidate.strip_prefix("W/").unwrap_or(candidate)
        })
        .any(|candidate| candidate == tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_moves_its_authors_tag_and_everyones_but_not_another_authors() {
        let versions = ListVersions::counting();
        let (bruce, alice) = (Subject::Author("bruce"), Subject::Author("alice"));
        let before = [bruce, alice, Subject::Everyone].map(|s| versions.tag(s).expect("counting"));
        versions.changed("bruce");
        let after = [bruce, alice, Subject::Everyone].map(|s| versions.tag(s).expect("counting"));
        assert_ne!(before[0], after[0], "bruce's lists changed");
        assert_ne!(before[2], after[2], "everyone's lists changed");
        // alice's slot may be bruce's (1 in SLOTS); if not, her tag stays.
        let inner = versions.inner.as_ref().expect("counting");
        if inner.slot_index("bruce") != inner.slot_index("alice") {
            assert_eq!(before[1], after[1], "alice's lists did not change");
            assert_ne!(before[0], before[1], "authors in different slots never share a tag");
        }
    }

    #[test]
    fn an_outside_change_moves_every_tag() {
        let versions = ListVersions::counting();
        let before = [Subject::Author("bruce"), Subject::Everyone].map(|s| versions.tag(s));
        versions.changed_all();
        let after = [Subject::Author("bruce"), Subject::Everyone].map(|s| versions.tag(s));
        assert_ne!(before[0], after[0]);
        assert_ne!(before[1], after[1]);
    }

    #[test]
    fn two_processes_never_share_a_tag() {
        let (a, b) = (ListVersions::counting(), ListVersions::counting());
        assert_ne!(a.tag(Subject::Everyone), b.tag(Subject::Everyone));
    }

    #[test]
    fn tags_are_quoted_entity_tags_and_compare_weakly() {
        let tag = ListVersions::counting().tag(Subject::Everyone).expect("counting");
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() > 2, "{tag}");
        assert!(matches(&tag, &tag));
        assert!(matches(&format!("W/{tag}"), &tag));
        assert!(matches(&format!("\"other\", {tag}"), &tag));
        assert!(matches("*", &tag));
        assert!(!matches("\"other\"", &tag));
        assert!(!matches("", &tag));
        // An unquoted value is not the tag.
        assert!(!matches(tag.trim_matches('"'), &tag));
    }

    #[test]
    fn digests_tag_bodies_stably() {
        assert_eq!(digest_tag(b"[]"), digest_tag(b"[]"));
        assert_ne!(digest_tag(b"[]"), digest_tag(b"[{}]"));
        assert_eq!(digest_tag(b"").len(), 34);
    }

    #[test]
    fn postgresql_tags_are_not_known_before_the_query() {
        let versions = ListVersions { inner: None };
        assert!(versions.tag(Subject::Everyone).is_none());
        versions.changed("bruce"); // nothing to count
        versions.changed_all();
        assert!(!versions.is_counting());
    }
}
