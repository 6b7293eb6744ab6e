//! Database access for thoughts. CRUD SQL is shared by both engines; search
//! differs: FTS5 trigram on SQLite, `like` + `pg_trgm` GIN on PostgreSQL.

use crate::domain::{Page, SearchNeedle, ThoughtText, fold};
use kit::db::{Database, Migrations, Pool};
use kit::on_pool;
use sqlx::Row;
use thoughts_api::Thought;

/// The embedded migrations, applied at start-up.
pub const MIGRATIONS: Migrations = Migrations {
    sqlite: &[(1, "thoughts", include_str!("../migrations/sqlite/0001_thoughts.sql"))],
    postgres: &[(1, "thoughts", include_str!("../migrations/postgres/0001_thoughts.sql"))],
};

macro_rules! thought_from_row {
    ($row:expr) => {
        Thought {
            id: $row.try_get("id")?,
            username: $row.try_get("username")?,
            text: $row.try_get("text")?,
            timestamp: $row.try_get("timestamp")?,
        }
    };
}

/// Run `$sql` with the binds, collecting thoughts.
macro_rules! fetch_thoughts {
    ($db:expr, $sql:expr $(, $bind:expr)*) => {
        fetch_thoughts!(@persistent true, $db, $sql $(, $bind)*)
    };
    (@persistent $persistent:expr, $db:expr, $sql:expr $(, $bind:expr)*) => {
        on_pool!($db, |pool| {
            let rows = sqlx::query($sql)$(.bind($bind))*.persistent($persistent).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(thought_from_row!(row));
            }
            Ok::<_, sqlx::Error>(out)
        })
    };
}

const INSERT: &str = "insert into thoughts (username, text, folded, timestamp) values ($1, $2, $3, $4) \
     returning id, username, text, timestamp";
const GET: &str = "select id, username, text, timestamp from thoughts where id = $1";
const DELETE: &str = "delete from thoughts where id = $1";
const LIST_ALL: &str = "select id, username, text, timestamp from thoughts where id > $1 order by id limit $2";
const LIST_BY_USER: &str =
    "select id, username, text, timestamp from thoughts where username = $1 and id > $2 order by id limit $3";
/// SQLite, needles of 3+ characters: the trigram index answers, in id order.
const SEARCH_SQLITE_FTS: &str = "select t.id, t.username, t.text, t.timestamp \
     from thoughts_fts f join thoughts t on t.id = f.rowid \
     where thoughts_fts match $1 and f.rowid > $2 order by f.rowid limit $3";
/// SQLite, 1–2 character needles (shorter than a trigram): a scan in id
/// order, stopped by the page limit.
const SEARCH_SQLITE_SHORT: &str = "select id, username, text, timestamp from thoughts \
     where id > $2 and instr(folded, $1) > 0 order by id limit $3";
/// PostgreSQL: `like` on the folded text, served by the trigram GIN index.
const SEARCH_POSTGRES: &str = "select id, username, text, timestamp from thoughts \
     where folded like $1 escape '\\' and id > $2 order by id limit $3";

// Newest first (*ext* `order=desc`): the same queries, descending, below a cursor.
const LIST_ALL_DESC: &str =
    "select id, username, text, timestamp from thoughts where id < $1 order by id desc limit $2";
const LIST_BY_USER_DESC: &str =
    "select id, username, text, timestamp from thoughts where username = $1 and id < $2 order by id desc limit $3";
const SEARCH_SQLITE_FTS_DESC: &str = "select t.id, t.username, t.text, t.timestamp \
     from thoughts_fts f join thoughts t on t.id = f.rowid \
     where thoughts_fts match $1 and f.rowid < $2 order by f.rowid desc limit $3";
const SEARCH_SQLITE_SHORT_DESC: &str = "select id, username, text, timestamp from thoughts \
     where id < $2 and instr(folded, $1) > 0 order by id desc limit $3";
const SEARCH_POSTGRES_DESC: &str = "select id, username, text, timestamp from thoughts \
     where folded like $1 escape '\\' and id < $2 order by id desc limit $3";

/// Store a new thought by `username`.
pub async fn insert(db: &Database, username: &str, text: &ThoughtText) -> Result<Thought, sqlx::Error> {
    let now = kit::time::now();
    on_pool!(db, |pool| {
        let row = sqlx::query(INSERT)
            .bind(username)
            .bind(text.as_str())
            .bind(fold(text.as_str()))
            .bind(now)
            .fetch_one(pool)
            .await?;
        Ok(thought_from_row!(row))
    })
}

/// One thought by id.
pub async fn get(db: &Database, id: i64) -> Result<Option<Thought>, sqlx::Error> {
    on_pool!(db, |pool| {
        match sqlx::query(GET).bind(id).fetch_optional(pool).await? {
            Some(row) => Ok(Some(thought_from_row!(row))),
            None => Ok(None),
        }
    })
}

/// Delete a thought; true when it existed.
pub async fn delete(db: &Database, id: i64) -> Result<bool, sqlx::Error> {
    on_pool!(db, |pool| {
        let done = sqlx::query(DELETE).bind(id).execute(pool).await?;
        Ok(done.rows_affected() > 0)
    })
}

/// Up to `page.limit + 1` thoughts (the extra one tells that more exist),
/// by ascending id (or newest first), optionally only `username`'s or
/// matching `needle`.
pub async fn list(
    db: &Database,
    username: Option<&str>,
    needle: Option<&SearchNeedle>,
    page: Page,
) -> Result<Vec<Thought>, sqlx::Error> {
    let fetch = i64::from(page.limit) + 1;
    let cursor = page.cursor;
    let pick = |asc: &'static str, desc: &'static str| if page.newest_first { desc } else { asc };
    match (username, needle, db.pool()) {
        (Some(user), _, _) => fetch_thoughts!(db, pick(LIST_BY_USER, LIST_BY_USER_DESC), user, cursor, fetch),
        (None, None, _) => fetch_thoughts!(db, pick(LIST_ALL, LIST_ALL_DESC), cursor, fetch),
        (None, Some(n), Pool::Sqlite(_)) if n.chars() >= 3 => {
            fetch_thoughts!(
                db,
                pick(SEARCH_SQLITE_FTS, SEARCH_SQLITE_FTS_DESC),
                n.fts_phrase(),
                cursor,
                fetch
            )
        }
        (None, Some(n), Pool::Sqlite(_)) => {
            let sql = pick(SEARCH_SQLITE_SHORT, SEARCH_SQLITE_SHORT_DESC);
            fetch_thoughts!(db, sql, n.folded().to_owned(), cursor, fetch)
        }
        (None, Some(n), Pool::Postgres(_)) => {
            // Not a cached prepared statement: a generic plan cannot see the
            // pattern, and would scan by id instead of using the trigram index.
            let sql = pick(SEARCH_POSTGRES, SEARCH_POSTGRES_DESC);
            fetch_thoughts!(@persistent false, db, sql, n.like_pattern(), cursor, fetch)
        }
    }
}

#[cfg(test)]
mod tests {
    //! The search queries are served by their indexes, not by a table scan.
    use super::*;
    use std::time::Duration;
    use testkit::Engine;

    async fn seeded(engine: Engine) -> (testkit::TestDatabase, Database) {
        let tdb = testkit::database(engine).await;
        let db = Database::connect_and_migrate("thoughts", &tdb.url, 2, MIGRATIONS, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("database: {e}"));
        for i in 0..2000 {
            let text = ThoughtText::parse(&format!("thought number {i} about things")).expect("valid");
            insert(&db, &format!("user{}", i % 7), &text).await.expect("insert");
        }
        (tdb, db)
    }

    #[tokio::test]
    async fn sqlite_search_uses_the_trigram_index() {
        let (_tdb, db) = seeded(Engine::Sqlite).await;
        let Pool::Sqlite(pool) = db.pool() else {
            unreachable!("sqlite")
        };
        let needle = SearchNeedle::parse("number 1234").expect("valid").expect("non-empty");
        let plan: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!("explain query plan {SEARCH_SQLITE_FTS}")))
            .bind(needle.fts_phrase())
            .bind(0_i64)
            .bind(10_i64)
            .fetch_all(pool)
            .await
            .expect("explain")
            .iter()
            .map(|r| r.get::<String, _>("detail"))
            .collect();
        assert!(plan.iter().any(|d| d.contains("VIRTUAL TABLE INDEX")), "{plan:?}");
        assert!(
            !plan.iter().any(|d| d.starts_with("SCAN t") || d == "SCAN thoughts"),
            "{plan:?}"
        );
        let found = list(
            &db,
            None,
            Some(&needle),
            Page {
                limit: 10,
                cursor: 0,
                newest_first: false,
                explicit: true,
            },
        )
        .await
        .expect("search");
        assert_eq!(found.len(), 1);
    }

    #[tokio::test]
    async fn postgres_search_uses_the_trigram_gin_index() {
        let tdb = testkit::database(Engine::Postgres).await;
        let db = Database::connect_and_migrate("thoughts", &tdb.url, 2, MIGRATIONS, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("database: {e}"));
        let Pool::Postgres(pool) = db.pool() else {
            unreachable!("postgres")
        };
        // Enough varied rows for the planner to prefer an index (ASCII text,
        // so lower() folds exactly like the service). md5(12345) starts with
        // 827ccb0eea8a.
        sqlx::query(
            "insert into thoughts (username, text, folded, timestamp) \
             select 'user' || (i % 7), 'Note ' || md5(i::text), 'note ' || md5(i::text), now() \
             from generate_series(1, 50000) as i",
        )
        .execute(pool)
        .await
        .expect("seed");
        // A bulk insert lands in GIN's pending list, which autovacuum merges
        // into the index in production; do it now so the plan is the steady one.
        sqlx::query("vacuum analyze thoughts")
            .execute(pool)
            .await
            .expect("analyze");
        let needle = SearchNeedle::parse("827CCB0EEA").expect("valid").expect("non-empty");
        let plan: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!("explain {SEARCH_POSTGRES}")))
            .bind(needle.like_pattern())
            .bind(0_i64)
            .bind(1001_i64)
            .fetch_all(pool)
            .await
            .expect("explain")
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
        assert!(plan.iter().any(|l| l.contains("thoughts_folded_trgm")), "{plan:#?}");
        let page = Page {
            limit: 10,
            cursor: 0,
            newest_first: false,
            explicit: true,
        };
        let found = list(&db, None, Some(&needle), page).await.expect("search");
        assert_eq!(found.len(), 1);
        assert!(found[0].text.starts_with("Note 827ccb0eea8a"));
    }
}
