//! An in-process cache of thoughts by id (issue 13): a thought never
//! changes once posted, it can only be deleted, so a copy is good until the
//! delete, and `GET /api/thoughts/<id>/` can skip the database.
//!
//! Safe only while this process is the only one that deletes thoughts, which
//! is the case on SQLite (one process owns the file) and not on PostgreSQL,
//! where several replicas share the table: a delete through one replica
//! would leave the thought in the others' caches. [`ThoughtCache::for_pool`]
//! therefore turns the cache off on PostgreSQL.
//!
//! Deletes never race a fill into serving a deleted thought: a reader takes
//! a [`Ticket`] (the count of deletes so far) before it reads the database
//! and fills the cache only if no delete completed since; a delete removes
//! the entry and bumps the count after its statement returned, under the
//! same lock. Either the fill lands first and the delete removes it, or the
//! delete lands first and the fill is refused. (A fill whose read began
//! after the delete committed found no row, and an absent thought is never
//! cached.)
//!
//! Bounded: at most `capacity` entries, the oldest filled evicted first.
//! Hits and misses are counted in `thoughts_cache_requests_total{result}`.

use kit::db::Pool;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use thoughts_api::Thought;

/// The metric counting lookups by result (`hit`, `miss`).
pub const REQUESTS_METRIC: &str = "thoughts_cache_requests_total";

/// A bounded id → thought cache; cheap to clone (shared). Disabled, it
/// remembers nothing and every lookup misses.
#[derive(Clone, Debug)]
pub struct ThoughtCache {
    inner: Option<Arc<Inner>>,
}

#[derive(Debug)]
struct Inner {
    capacity: usize,
    state: Mutex<State>,
    hits: metrics::Counter,
    misses: metrics::Counter,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<i64, Thought>,
    /// Ids in fill order, oldest first; may hold ids already removed by a
    /// delete (skipped on eviction, dropped by compaction).
    order: VecDeque<i64>,
    /// Deletes completed so far.
    deletes: u64,
}

/// Taken before a database read whose result may fill the cache: the
/// deletes completed until then.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(Option<u64>);

impl ThoughtCache {
    /// A cache of at most `capacity` thoughts (0: disabled).
    pub fn new(capacity: usize) -> Self {
        let inner = (capacity > 0).then(|| {
            Arc::new(Inner {
                capacity,
                state: Mutex::new(State::default()),
                hits: metrics::counter!(REQUESTS_METRIC, "result" => "hit"),
                misses: metrics::counter!(REQUESTS_METRIC, "result" => "miss"),
            })
        });
        Self { inner }
    }

    /// The cache this engine allows: `capacity` entries on SQLite, none on
    /// PostgreSQL (other replicas delete too; see the module docs).
    pub fn for_pool(pool: &Pool, capacity: usize) -> Self {
        match pool {
            Pool::Sqlite(_) => Self::new(capacity),
            Pool::Postgres(_) => Self::new(0),
        }
    }

    /// A cache that remembers nothing.
    pub fn disabled() -> Self {
        Self::new(0)
    }

    /// Whether the cache keeps anything at all.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The thought with `id`, if cached (counted as a hit or a miss).
    pub fn get(&self, id: i64) -> Option<Thought> {
        let inner = self.inner.as_ref()?;
        let found = lock(&inner.state).entries.get(&id).cloned();
        match found {
            Some(_) => inner.hits.increment(1),
            None => inner.misses.increment(1),
        }
        found
    }

    /// Take before reading the database for a later [`ThoughtCache::fill`].
    pub fn ticket(&self) -> Ticket {
        Ticket(self.inner.as_ref().map(|inner| lock(&inner.state).deletes))
    }

    /// Remember `thought`, read from the database after `ticket` was
    /// taken, unless a delete completed in between.
    pub fn fill(&self, ticket: Ticket, thought: &Thought) {
        let (Some(inner), Some(taken)) = (self.inner.as_ref(), ticket.0) else {
            return;
        };
        let mut state = lock(&inner.state);
        if state.deletes != taken || state.entries.contains_key(&thought.id) {
            return;
        }
        state.entries.insert(thought.id, thought.clone());
        state.order.push_back(thought.id);
        while state.entries.len() > inner.capacity {
            match state.order.pop_front() {
                Some(oldest) => {
                    state.entries.remove(&oldest);
                }
                None => break,
            }
        }
        // Deleted ids linger in `order`; keep it within twice the bound.
        if state.order.len() > 2 * inner.capacity {
            let State { entries, order, .. } = &mut *state;
            order.retain(|id| entries.contains_key(id));
        }
    }

    /// Forget `id`: call once its delete statement has returned (whether it
    /// succeeded or failed, since a failure may still have deleted it).
    pub fn invalidate(&self, id: i64) {
        if let Some(inner) = &self.inner {
            let mut state = lock(&inner.state);
            state.deletes += 1;
            state.entries.remove(&id);
        }
    }

    /// Thoughts cached now.
    pub fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |inner| lock(&inner.state).entries.len())
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The state, even if a panic elsewhere poisoned the lock (every update
/// leaves it consistent before anything that could panic).
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thought(id: i64) -> Thought {
        Thought {
            id,
            username: "bruce".into(),
            text: format!("thought {id}"),
            timestamp: chrono::DateTime::UNIX_EPOCH.naive_utc(),
        }
    }

    #[test]
    fn a_filled_thought_is_served_until_it_is_deleted() {
        let cache = ThoughtCache::new(10);
        assert!(cache.get(1).is_none());
        cache.fill(cache.ticket(), &thought(1));
        assert_eq!(cache.get(1), Some(thought(1)));
        cache.invalidate(1);
        assert!(cache.get(1).is_none());
    }

    #[test]
    fn a_read_that_raced_a_delete_does_not_fill_the_cache() {
        let cache = ThoughtCache::new(10);
        // The reader takes its ticket and reads the row; meanwhile the
        // thought is deleted; then the reader tries to fill.
        let ticket = cache.ticket();
        cache.invalidate(1);
        cache.fill(ticket, &thought(1));
        assert!(cache.get(1).is_none(), "a deleted thought must never be cached");
        // A later read (its own ticket) may fill again; ids are never reused,
        // so only a row still in the database can be read then.
        cache.fill(cache.ticket(), &thought(2));
        assert_eq!(cache.get(2), Some(thought(2)));
    }

    #[test]
    fn the_cache_is_bounded_and_evicts_the_oldest() {
        let cache = ThoughtCache::new(3);
        for id in 1..=5 {
            cache.fill(cache.ticket(), &thought(id));
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get(1).is_none() && cache.get(2).is_none());
        assert!((3..=5).all(|id| cache.get(id).is_some()));
    }

    #[test]
    fn deletes_of_cached_thoughts_keep_the_fill_order_bounded() {
        let cache = ThoughtCache::new(4);
        for id in 1..=1000 {
            cache.fill(cache.ticket(), &thought(id));
            cache.invalidate(id);
        }
        let inner = cache.inner.as_ref().expect("enabled");
        let state = lock(&inner.state);
        assert!(state.entries.is_empty());
        assert!(state.order.len() <= 8, "{}", state.order.len());
    }

    #[test]
    fn a_disabled_cache_keeps_nothing() {
        let cache = ThoughtCache::disabled();
        assert!(!cache.is_enabled());
        cache.fill(cache.ticket(), &thought(1));
        assert!(cache.get(1).is_none());
        assert!(cache.is_empty());
    }
}
