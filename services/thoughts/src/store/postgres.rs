//! PostgreSQL search: `folded like '%…%'` served by the `pg_trgm` GIN index
//! `thoughts_folded_trgm` (migrations/postgres), and the pattern encoding.

use super::{Scope, Search, paged};
use crate::domain::{Order, SearchNeedle};

/// The search statement for `needle` in `scope`, in `order`: one shape per
/// scope whatever the needle's length, the planner choosing the index.
///
/// Never a cached prepared statement: a generic plan cannot see the pattern,
/// and would scan by id instead of using the trigram index.
pub(super) fn search(scope: Scope<'_>, needle: &SearchNeedle, order: Order) -> Search {
    let sql = match scope {
        Scope::Everyone => paged!(
            order,
            "select id, username, text, timestamp from thoughts where folded like $1 escape '\\' and",
            key = "id",
            cursor = "$2",
            limit = "$3"
        ),
        // The planner picks the `(username, id)` index or the trigram one,
        // whichever the author and the pattern make cheaper.
        Scope::Author(_) => paged!(
            order,
            "select id, username, text, timestamp from thoughts \
             where username = $1 and folded like $2 escape '\\' and",
            key = "id",
            cursor = "$3",
            limit = "$4"
        ),
    };
    Search {
        sql,
        needle: like_pattern(needle),
        persistent: false,
    }
}

/// A `like` pattern matching the needle as a substring, with `\` as the
/// escape character so that `%` and `_` are literal.
fn like_pattern(needle: &SearchNeedle) -> String {
    let folded = needle.folded();
    let mut out = String::with_capacity(folded.len() + 2);
    out.push('%');
    for c in folded.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    //! The pattern encoding, and the search query served by the trigram
    //! index, not by a scan.
    use super::*;
    use crate::domain::Page;
    use crate::store::{MIGRATIONS, Query, list};
    use kit::db::{Database, Pool};
    use proptest::prelude::*;
    use sqlx::Row;
    use std::time::Duration;
    use testkit::Engine;

    fn needle(s: &str) -> SearchNeedle {
        SearchNeedle::parse(s).expect("valid").expect("non-empty")
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(&needle("100%_a\\b")), "%100\\%\\_a\\\\b%");
    }

    proptest! {
        #[test]
        fn a_like_pattern_has_no_unescaped_wildcards(s in "[a-z%_\\\\]{1,20}") {
            let pattern = like_pattern(&needle(&s));
            let inner = &pattern[1..pattern.len() - 1];
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    prop_assert!(matches!(chars.next(), Some('\\' | '%' | '_')));
                } else {
                    prop_assert!(c != '%' && c != '_');
                }
            }
        }
    }

    /// A PostgreSQL database with 50 000 thoughts by seven authors, analysed.
    async fn seeded() -> (testkit::TestDatabase, Database) {
        let tdb = testkit::database(Engine::Postgres).await;
        let db = Database::connect_and_migrate("thoughts", &tdb.url, 2, MIGRATIONS, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("database: {e}"));
        let Pool::Postgres(pool) = db.pool() else {
            unreachable!("postgres")
        };
        // Enough varied rows for the planner to prefer an index (ASCII text,
        // so lower() folds exactly like the service). md5(12345) starts with
        // 827ccb0eea8a; 12345 % 7 == 4.
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
        (tdb, db)
    }

    /// The `explain` lines of `s` in `scope`, bound with `cursor`.
    async fn plan(db: &Database, scope: Scope<'_>, s: &Search, cursor: i64) -> Vec<String> {
        let Pool::Postgres(pool) = db.pool() else {
            unreachable!("postgres")
        };
        let mut explain = sqlx::query(sqlx::AssertSqlSafe(format!("explain {}", s.sql)));
        if let Scope::Author(author) = scope {
            explain = explain.bind(author);
        }
        explain
            .bind(s.needle.as_str())
            .bind(cursor)
            .bind(1001_i64)
            .fetch_all(pool)
            .await
            .expect("explain")
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect()
    }

    #[tokio::test]
    async fn postgres_search_uses_the_trigram_gin_index() {
        let (_tdb, db) = seeded().await;
        let needle = needle("827CCB0EEA");
        for (order, cursor) in [(Order::OldestFirst, 0), (Order::NewestFirst, i64::MAX)] {
            let plan = plan(&db, Scope::Everyone, &search(Scope::Everyone, &needle, order), cursor).await;
            assert!(plan.iter().any(|l| l.contains("thoughts_folded_trgm")), "{plan:#?}");
            let query = Query {
                scope: Scope::Everyone,
                needle: Some(&needle),
                page: Page {
                    limit: 10,
                    cursor,
                    order,
                },
            };
            let found = list(&db, &query, Duration::from_secs(30)).await.expect("search");
            assert_eq!(found.len(), 1);
            assert!(found[0].text.starts_with("Note 827ccb0eea8a"));
        }
    }

    #[tokio::test]
    async fn postgres_search_in_one_authors_thoughts_uses_the_cheaper_index() {
        let (_tdb, db) = seeded().await;
        for (author, found) in [("user4", 1), ("user3", 0)] {
            let scope = Scope::Author(author);
            // A selective needle goes through the trigram index; one too short
            // to hold a trigram walks the author's thoughts instead.
            for (needle, index) in [
                (needle("827CCB0EEA"), "thoughts_folded_trgm"),
                (needle("82"), "thoughts_username_id"),
            ] {
                for (order, cursor) in [(Order::OldestFirst, 0), (Order::NewestFirst, i64::MAX)] {
                    let plan = plan(&db, scope, &search(scope, &needle, order), cursor).await;
                    assert!(plan.iter().any(|l| l.contains(index)), "{plan:#?}");
                    assert!(!plan.iter().any(|l| l.contains("Seq Scan")), "{plan:#?}");
                    let query = Query {
                        scope,
                        needle: Some(&needle),
                        page: Page {
                            limit: 1000,
                            cursor,
                            order,
                        },
                    };
                    let rows = list(&db, &query, Duration::from_secs(30)).await.expect("search");
                    assert!(rows.iter().all(|t| t.username == author), "{rows:?}");
                    if needle.folded().len() > 2 {
                        assert_eq!(rows.len(), found, "{rows:?}");
                    }
                }
            }
        }
    }
}
