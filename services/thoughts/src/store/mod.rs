//! Database access for thoughts: one engine-neutral API, one module per engine.
//!
//! - This module is what routes call ([`insert`], [`get`], [`delete`],
//!   [`list`] with a [`Query`]) and the SQL that is identical on both engines:
//!   the CRUD statements and the unfiltered lists.
//! - [`sqlite`] and [`postgres`] hold what differs: each engine's search SQL and
//!   how it encodes a [`SearchNeedle`] (an FTS5 phrase or a folded needle on
//!   SQLite, an escaped `like` pattern on PostgreSQL). The domain knows no SQL.
//!
//! Every paged statement, whichever engine, takes its parameters in one order:
//! the author (only for [`Scope::Author`]), the encoded needle (only when
//! searching), the cursor, the row limit. [`list`] binds them so; the
//! `placeholders_follow_the_bind_order` test checks every statement.

pub mod cache;
mod postgres;
mod sqlite;
pub mod versions;

pub use cache::ThoughtCache;
pub use versions::ListVersions;

use crate::domain::{Order, Page, SearchNeedle, ThoughtText, fold};
use kit::db::{Database, Migrations, Pool};
use kit::{on_pool, on_writer};
use sqlx::Row;
use sqlx::Sqlite;
use sqlx::pool::PoolConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use thoughts_api::Thought;

/// The embedded migrations, applied at start-up.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[
        (1, "thoughts", include_str!("../../migrations/sqlite/0001_thoughts.sql")),
        (
            2,
            "short needles",
            include_str!("../../migrations/sqlite/0002_short_needles.sql"),
        ),
    ],
    postgres: &[
        (
            1,
            "thoughts",
            include_str!("../../migrations/postgres/0001_thoughts.sql"),
        ),
        (
            2,
            "windowed search",
            include_str!("../../migrations/postgres/0002_windowed_search.sql"),
        ),
    ],
};

/// Whose thoughts a list holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Everyone's.
    Everyone,
    /// One author's (the caller's own, or `username=` on the public list).
    Author(&'a str),
}

/// One page of a list: whose thoughts, optionally only those containing a
/// needle, in which order from which cursor.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Whose thoughts.
    pub scope: Scope<'a>,
    /// Only thoughts whose text contains this (case-insensitive, literal).
    pub needle: Option<&'a SearchNeedle>,
    /// Size, order and cursor.
    pub page: Page,
}

/// One engine's search statement, ready to bind: its SQL, the needle encoded
/// for it, and whether it may be a cached prepared statement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Search {
    sql: &'static str,
    needle: String,
    persistent: bool,
}

/// The database engines a search statement is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite (FTS5 trigram index).
    Sqlite,
    /// PostgreSQL (`pg_trgm` index).
    Postgres,
}

/// The search statement [`list`] runs for `needle` in `scope`, in `order`, on
/// `engine`, and the needle encoded as that statement binds it: an FTS5
/// phrase or the folded needle on SQLite, an escaped `like` pattern on
/// PostgreSQL. No database is touched; this is the per-search work before
/// the query, exposed for the micro-benchmarks (`benches/search.rs`).
pub fn search_statement(
    engine: Engine,
    scope: Scope<'_>,
    needle: &SearchNeedle,
    order: Order,
) -> (&'static str, String) {
    let Search { sql, needle, .. } = match engine {
        Engine::Sqlite => sqlite::search(scope, needle, order),
        Engine::Postgres => postgres::search(scope, needle, order),
    };
    (sql, needle)
}

/// Both orders of one paged query shape, as `&'static str`: `$head` (ending
/// in `where …` or `and`) followed by the page clause on `key`, so the cursor
/// comparison and the direction are written once and cannot disagree
/// (`key > cursor order by key` or `key < cursor order by key desc`).
///
/// Why a macro over `concat!` and a `match` rather than `format!` at run
/// time: every statement stays a static string (sqlx takes `&'static str`
/// without `AssertSqlSafe`, and its statement cache keys on the text), a
/// request allocates no SQL, and the whole table is visible at compile time.
macro_rules! paged {
    ($order:expr, $head:literal, key = $key:literal, cursor = $cursor:literal, limit = $limit:literal) => {
        match $order {
            $crate::domain::Order::OldestFirst => {
                concat!($head, " ", $key, " > ", $cursor, " order by ", $key, " limit ", $limit)
            }
            $crate::domain::Order::NewestFirst => {
                concat!(
                    $head,
                    " ",
                    $key,
                    " < ",
                    $cursor,
                    " order by ",
                    $key,
                    " desc limit ",
                    $limit
                )
            }
        }
    };
}
use paged;

macro_rules! thought_from_row {
    ($row:expr) => {
        Thought {
            id: $row.try_get("id")?,
            username: $row.try_get("username")?,
            text: $row.try_get("text")?,
            timestamp: TimestampColumn::timestamp(&$row)?,
        }
    };
}

/// How a row's `timestamp` column becomes a [`chrono::NaiveDateTime`].
trait TimestampColumn {
    fn timestamp(&self) -> Result<chrono::NaiveDateTime, sqlx::Error>;
}

impl TimestampColumn for sqlx::postgres::PgRow {
    /// PostgreSQL sends a `timestamp` in binary: sqlx decodes it.
    fn timestamp(&self) -> Result<chrono::NaiveDateTime, sqlx::Error> {
        self.try_get("timestamp")
    }
}

impl TimestampColumn for sqlx::sqlite::SqliteRow {
    /// SQLite holds text, as sqlx writes it (`2026-12-03 10:00:00.123456`)
    /// or as the book's service did (a `T` between date and time). sqlx
    /// decodes it by trying up to a dozen chrono format strings, each parsed
    /// again on every call: a quarter of the CPU of listing 100 thoughts.
    /// Those two shapes are read directly; anything else still goes through
    /// sqlx, which gives the same value for them.
    fn timestamp(&self) -> Result<chrono::NaiveDateTime, sqlx::Error> {
        if let Some(parsed) = self
            .try_get::<&str, _>("timestamp")
            .ok()
            .and_then(kit::time::parse_plain)
        {
            return Ok(parsed);
        }
        self.try_get("timestamp")
    }
}

const INSERT: &str = "insert into thoughts (username, text, folded, timestamp) values ($1, $2, $3, $4) \
     returning id, username, text, timestamp";
const GET: &str = "select id, username, text, timestamp from thoughts where id = $1";
const DELETE: &str = "delete from thoughts where id = $1 returning username";

/// The unfiltered lists, the same SQL on both engines (the primary key, or
/// the `(username, id)` index, walked in order and stopped by the limit).
fn list_sql(scope: Scope<'_>, order: Order) -> &'static str {
    match scope {
        Scope::Everyone => paged!(
            order,
            "select id, username, text, timestamp from thoughts where",
            key = "id",
            cursor = "$1",
            limit = "$2"
        ),
        Scope::Author(_) => paged!(
            order,
            "select id, username, text, timestamp from thoughts where username = $1 and",
            key = "id",
            cursor = "$2",
            limit = "$3"
        ),
    }
}

/// Store a new thought by `username`, remember it in `cache` (the newest
/// thoughts are the likeliest to be read) and move the tags of the lists it
/// joins (`versions`), whatever the insert returned.
pub async fn post(
    db: &Database,
    cache: &ThoughtCache,
    versions: &ListVersions,
    username: &str,
    text: &ThoughtText,
) -> Result<Thought, sqlx::Error> {
    let ticket = cache.ticket();
    let inserted = insert(db, username, text).await;
    versions.changed(username);
    let thought = inserted?;
    cache.fill(ticket, &thought);
    Ok(thought)
}

/// Store a new thought by `username`.
pub async fn insert(db: &Database, username: &str, text: &ThoughtText) -> Result<Thought, sqlx::Error> {
    let now = kit::time::now();
    on_writer!(db, |pool| {
        // `fetch_all`, not `fetch_one` (issue 9): `fetch_one` stops at the
        // returned row and resets the statement, which commits, but SQLite
        // runs its WAL autocheckpoint only when a statement steps to
        // SQLITE_DONE. With only inserts running the WAL was never
        // checkpointed: ~42 KB per thought, 800 MiB after 20,000 posts.
        let row = sqlx::query(INSERT)
            .bind(username)
            .bind(text.as_str())
            .bind(fold(text.as_str()))
            .bind(now)
            .fetch_all(pool)
            .await?
            .pop()
            .ok_or(sqlx::Error::RowNotFound)?;
        Ok(thought_from_row!(row))
    })
}

/// One thought by id, from `cache` when it holds it.
pub async fn get(db: &Database, cache: &ThoughtCache, id: i64) -> Result<Option<Thought>, sqlx::Error> {
    if let Some(thought) = cache.get(id) {
        return Ok(Some(thought));
    }
    let ticket = cache.ticket();
    let found = on_pool!(db, |pool| {
        match sqlx::query(GET).bind(id).fetch_optional(pool).await? {
            Some(row) => Ok::<_, sqlx::Error>(Some(thought_from_row!(row))),
            None => Ok(None),
        }
    })?;
    if let Some(thought) = &found {
        cache.fill(ticket, thought);
    }
    Ok(found)
}

/// Delete a thought; true when it existed. It leaves `cache`, and the tags
/// of the lists it was in move (`versions`), once the statement has
/// returned, whatever it returned (every list's when it failed: it may have
/// deleted a thought of an author it did not tell).
pub async fn delete(
    db: &Database,
    cache: &ThoughtCache,
    versions: &ListVersions,
    id: i64,
) -> Result<bool, sqlx::Error> {
    let result = async {
        on_writer!(db, |pool| {
            // `fetch_all`: stepped to the end, as `insert` explains.
            let rows = sqlx::query(DELETE).bind(id).fetch_all(pool).await?;
            rows.first().map(|row| row.try_get::<String, _>("username")).transpose()
        })
    }
    .await;
    cache.invalidate(id);
    match &result {
        Ok(Some(author)) => versions.changed(author),
        Ok(None) => {}
        Err(_) => versions.changed_all(),
    }
    result.map(|author| author.is_some())
}

/// Why [`list`] returned no page.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The search ran past its deadline and the database cancelled it.
    #[error("the search ran past its deadline")]
    TimedOut,
    /// Any other database failure.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// SQLite calls the progress handler every this many virtual machine
/// instructions (a few microseconds of work): often enough to stop a search
/// close to its deadline, rarely enough to cost nothing measurable.
const PROGRESS_OPS: i32 = 1000;

/// SQLSTATE `query_canceled`: PostgreSQL's answer when `statement_timeout`
/// fires.
const PG_QUERY_CANCELED: &str = "57014";

/// Bind a page statement in the module's order (author, needle, cursor,
/// limit), run it on `$conn` and decode the thoughts; `?` on `sqlx::Error`.
macro_rules! fetch_page {
    ($conn:expr, $sql:expr, $persistent:expr, $scope:expr, $search:expr, $page:expr) => {{
        let mut statement = sqlx::query($sql).persistent($persistent);
        if let Scope::Author(author) = $scope {
            statement = statement.bind(author);
        }
        if let Some(s) = $search {
            statement = statement.bind(s.needle.as_str());
        }
        let fetch = i64::from($page.limit) + 1;
        let rows = statement.bind($page.cursor).bind(fetch).fetch_all($conn).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(thought_from_row!(row));
        }
        out
    }};
}

/// Up to `query.page.limit + 1` thoughts of `query.scope` (the extra one
/// tells that more exist), in the page's order from its cursor, only those
/// containing the needle when there is one.
///
/// A search (a query with a needle) is stopped by the database itself once
/// it has run for `deadline` ([`ListError::TimedOut`]): on PostgreSQL by
/// `statement_timeout`, local to the search's transaction; on SQLite by a
/// progress handler that interrupts the statement, removed afterwards.
/// Unfiltered lists walk an index and stop at the limit: no deadline.
pub async fn list(db: &Database, query: &Query<'_>, deadline: Duration) -> Result<Vec<Thought>, ListError> {
    let Query { scope, needle, page } = *query;
    let search = needle.map(|needle| match db.pool() {
        Pool::Sqlite(_) => sqlite::search(scope, needle, page.order),
        Pool::Postgres(_) => postgres::search(scope, needle, page.order),
    });
    let (sql, persistent) = match &search {
        Some(s) => (s.sql, s.persistent),
        None => (list_sql(scope, page.order), true),
    };
    let Some(search) = &search else {
        return Ok(on_pool!(db, |conn| fetch_page!(
            conn,
            sql,
            persistent,
            scope,
            None::<&Search>,
            page
        )));
    };
    let search = Some(search);
    match db.pool() {
        Pool::Sqlite(pool) => {
            let conn = kit::db::acquire(db.service(), pool).await?;
            let mut bounded = Bounded::arm(conn, deadline).await?;
            let result =
                async { Ok::<_, sqlx::Error>(fetch_page!(bounded.conn(), sql, persistent, scope, search, page)) }.await;
            let expired = bounded.finish().await?;
            match result {
                Err(_) if expired => Err(ListError::TimedOut),
                other => Ok(other?),
            }
        }
        Pool::Postgres(pool) => {
            // Begun on a TxConnection (kit::db): a search abandoned while the
            // server answers `BEGIN` must not leave its connection in the pool
            // inside a transaction, where later posts would join it and vanish.
            let mut conn = kit::db::TxConnection::new(kit::db::acquire(db.service(), pool).await?);
            let mut tx = conn.begin().await?;
            // `set local` takes no parameters; `set_config(…, true)` is the
            // same setting, local to this transaction, with a bound value.
            // No parallel workers and no JIT for a search: starting either
            // costs more (10–40 ms) than the indexed searches take, and a
            // planner misjudging a pattern's frequency would pick them. A
            // persistent search statement (store/postgres.rs: the windowed
            // ones, whose plan is the same for any needle) runs its generic
            // plan, made once per connection: planning their four arms costs
            // 2–4 ms, more than running them.
            sqlx::query(
                "select set_config('statement_timeout', $1, true), \
                 set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true), \
                 set_config('plan_cache_mode', $2, true)",
            )
            .bind(format!("{}ms", deadline.as_millis().max(1)))
            .bind(if persistent { "force_generic_plan" } else { "auto" })
            .execute(&mut *tx)
            .await?;
            let result =
                async { Ok::<_, sqlx::Error>(fetch_page!(&mut *tx, sql, persistent, scope, search, page)) }.await;
            match result {
                Ok(found) => {
                    tx.commit().await?;
                    Ok(found)
                }
                // Dropping the transaction rolls it back.
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(PG_QUERY_CANCELED) => {
                    Err(ListError::TimedOut)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// A pooled SQLite connection whose statements are interrupted (by a
/// progress handler) once a deadline has passed, until [`Bounded::finish`]
/// removes the handler.
///
/// Dropped before that — the request was abandoned mid-search — the
/// connection is closed instead of returned to the pool: its worker thread
/// may still be running the search, which the handler keeps bounding, and the
/// close is queued behind it (holding its place in the pool until then), so
/// no later user of the pool meets a leftover handler.
struct Bounded {
    conn: PoolConnection<Sqlite>,
    expired: Arc<AtomicBool>,
    finished: bool,
}

impl Bounded {
    /// Install the handler on `conn`, for `deadline` from now.
    async fn arm(mut conn: PoolConnection<Sqlite>, deadline: Duration) -> Result<Self, sqlx::Error> {
        let expired = Arc::new(AtomicBool::new(false));
        let fired = Arc::clone(&expired);
        let until = Instant::now() + deadline;
        conn.lock_handle().await?.set_progress_handler(PROGRESS_OPS, move || {
            if Instant::now() < until {
                return true;
            }
            fired.store(true, Ordering::Relaxed);
            false // interrupt: the statement fails with SQLITE_INTERRUPT
        });
        Ok(Self {
            conn,
            expired,
            finished: false,
        })
    }

    /// The connection, for the bounded statements.
    fn conn(&mut self) -> &mut sqlx::SqliteConnection {
        &mut self.conn
    }

    /// Remove the handler and give the connection back to the pool; true
    /// when the handler interrupted a statement.
    async fn finish(mut self) -> Result<bool, sqlx::Error> {
        self.conn.lock_handle().await?.remove_progress_handler();
        self.finished = true;
        Ok(self.expired.load(Ordering::Relaxed))
    }
}

impl Drop for Bounded {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `$n` placeholders of `sql`, each once, ascending. Both engines
    /// bind `$n` by its number, wherever it first appears (PostgreSQL's
    /// windowed search names the cursor, `$2`, before the needle).
    fn placeholders(sql: &str) -> Vec<usize> {
        let mut seen = Vec::new();
        for piece in sql.split('$').skip(1) {
            let digits: String = piece.chars().take_while(char::is_ascii_digit).collect();
            let n = digits.parse().expect("a numbered placeholder");
            if !seen.contains(&n) {
                seen.push(n);
            }
        }
        seen.sort_unstable();
        seen
    }

    #[test]
    fn placeholders_follow_the_bind_order() {
        let short = SearchNeedle::parse("ab").expect("valid").expect("non-empty");
        let long = SearchNeedle::parse("abcd").expect("valid").expect("non-empty");
        for order in [Order::OldestFirst, Order::NewestFirst] {
            for scope in [Scope::Everyone, Scope::Author("bruce")] {
                let author = usize::from(scope != Scope::Everyone);
                let mut statements = vec![(list_sql(scope, order), author + 2)];
                for needle in [&short, &long] {
                    statements.push((sqlite::search(scope, needle, order).sql, author + 3));
                    statements.push((postgres::search(scope, needle, order).sql, author + 3));
                }
                for (sql, binds) in statements {
                    // Numbered as bound: author, needle, cursor, limit.
                    assert_eq!(placeholders(sql), (1..=binds).collect::<Vec<_>>(), "{sql}");
                    assert!(sql.ends_with(&format!(" limit ${binds}")), "{sql}");
                }
            }
        }
    }

    #[test]
    fn the_exposed_search_statement_is_the_one_list_runs() {
        let needle = SearchNeedle::parse("100% \"Ünï\"").expect("valid").expect("non-empty");
        let (sql, bound) = search_statement(Engine::Sqlite, Scope::Everyone, &needle, Order::NewestFirst);
        assert_eq!(sql, sqlite::search(Scope::Everyone, &needle, Order::NewestFirst).sql);
        assert_eq!(bound, "\"100% \"\"ünï\"\"\"");
        let (sql, bound) = search_statement(Engine::Postgres, Scope::Author("bruce"), &needle, Order::OldestFirst);
        assert_eq!(
            sql,
            postgres::search(Scope::Author("bruce"), &needle, Order::OldestFirst).sql
        );
        assert_eq!(bound, "%100\\% \"ünï\"%");
    }

    #[test]
    fn both_orders_come_from_one_template() {
        let asc = list_sql(Scope::Author("bruce"), Order::OldestFirst);
        let desc = list_sql(Scope::Author("bruce"), Order::NewestFirst);
        assert_eq!(
            asc,
            "select id, username, text, timestamp from thoughts where username = $1 and id > $2 order by id limit $3"
        );
        assert_eq!(
            desc,
            "select id, username, text, timestamp from thoughts where username = $1 and id < $2 order by id desc limit $3"
        );
    }
}
