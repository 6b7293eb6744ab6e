//! SQLite search: the FTS5 `trigram` index `thoughts_fts` over the folded
//! text (migrations/sqlite), and the needle encodings it needs.

use super::{Scope, Search, paged};
use crate::domain::{Order, SearchNeedle};

/// The trigram tokenizer indexes 3-character sequences: a shorter needle
/// cannot be looked up in it.
const TRIGRAM_CHARS: usize = 3;

/// The search statement for `needle` in `scope`, in `order`.
///
/// - Everyone's, 3+ characters: the trigram index answers, in rowid order.
/// - Everyone's, 1–2 characters: a scan in id order with `instr`, stopped by
///   the page limit.
/// - One author's: the `(username, id)` index walks only that author's
///   thoughts in id order, `instr` keeps the matches. An author's thoughts
///   are few next to everyone's (posting is rate-limited), so this is bounded
///   for any needle length, where the trigram index would also walk every
///   other author's matches.
pub(super) fn search(scope: Scope<'_>, needle: &SearchNeedle, order: Order) -> Search {
    let (sql, needle) = match scope {
        Scope::Everyone if needle.folded().chars().count() >= TRIGRAM_CHARS => (
            paged!(
                order,
                "select t.id, t.username, t.text, t.timestamp \
                 from thoughts_fts f join thoughts t on t.id = f.rowid \
                 where thoughts_fts match $1 and",
                key = "f.rowid",
                cursor = "$2",
                limit = "$3"
            ),
            fts_phrase(needle),
        ),
        Scope::Everyone => (
            paged!(
                order,
                "select id, username, text, timestamp from thoughts where instr(folded, $1) > 0 and",
                key = "id",
                cursor = "$2",
                limit = "$3"
            ),
            needle.folded().to_owned(),
        ),
        Scope::Author(_) => (
            paged!(
                order,
                "select id, username, text, timestamp from thoughts \
                 where username = $1 and instr(folded, $2) > 0 and",
                key = "id",
                cursor = "$3",
                limit = "$4"
            ),
            needle.folded().to_owned(),
        ),
    };
    Search {
        sql,
        needle,
        persistent: true,
    }
}

/// An FTS5 phrase matching the needle literally: one quoted string, `"`
/// doubled, so FTS operators, `%` and `_` are plain characters.
fn fts_phrase(needle: &SearchNeedle) -> String {
    format!("\"{}\"", needle.folded().replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    //! The needle encodings, and the search queries served by their indexes,
    //! not by a table scan.
    use super::*;
    use crate::domain::{Page, ThoughtText};
    use crate::store::{MIGRATIONS, Query, insert, list};
    use kit::db::{Database, Pool};
    use sqlx::Row;
    use std::time::Duration;
    use testkit::Engine;

    fn needle(s: &str) -> SearchNeedle {
        SearchNeedle::parse(s).expect("valid").expect("non-empty")
    }

    #[test]
    fn fts_phrases_double_quotes() {
        assert_eq!(fts_phrase(&needle("say \"Hi\"")), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn needles_shorter_than_a_trigram_are_not_looked_up_in_the_index() {
        for order in [Order::OldestFirst, Order::NewestFirst] {
            let short = search(Scope::Everyone, &needle("Üb"), order);
            assert!(short.sql.contains("instr(folded, $1)"), "{}", short.sql);
            assert_eq!(short.needle, "üb");
            let long = search(Scope::Everyone, &needle("Übe"), order);
            assert!(long.sql.contains("thoughts_fts match $1"), "{}", long.sql);
            assert_eq!(long.needle, "\"übe\"");
        }
    }

    async fn seeded() -> (testkit::TestDatabase, Database) {
        let tdb = testkit::database(Engine::Sqlite).await;
        let db = Database::connect_and_migrate("thoughts", &tdb.url, 2, MIGRATIONS, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("database: {e}"));
        for i in 0..2000 {
            let text = ThoughtText::parse(&format!("thought number {i} about things")).expect("valid");
            insert(&db, &format!("user{}", i % 7), &text).await.expect("insert");
        }
        (tdb, db)
    }

    /// The `explain query plan` details of `s`, bound with a zero cursor.
    async fn plan(db: &Database, scope: Scope<'_>, s: &Search, cursor: i64) -> Vec<String> {
        let Pool::Sqlite(pool) = db.pool() else {
            unreachable!("sqlite")
        };
        let mut explain = sqlx::query(sqlx::AssertSqlSafe(format!("explain query plan {}", s.sql)));
        if let Scope::Author(author) = scope {
            explain = explain.bind(author);
        }
        explain
            .bind(s.needle.as_str())
            .bind(cursor)
            .bind(10_i64)
            .fetch_all(pool)
            .await
            .expect("explain")
            .iter()
            .map(|r| r.get::<String, _>("detail"))
            .collect()
    }

    #[tokio::test]
    async fn sqlite_search_uses_the_trigram_index() {
        let (_tdb, db) = seeded().await;
        let needle = needle("number 1234");
        for (order, cursor) in [(Order::OldestFirst, 0), (Order::NewestFirst, i64::MAX)] {
            let plan = plan(&db, Scope::Everyone, &search(Scope::Everyone, &needle, order), cursor).await;
            assert!(plan.iter().any(|d| d.contains("VIRTUAL TABLE INDEX")), "{plan:?}");
            assert!(
                !plan.iter().any(|d| d.starts_with("SCAN t") || d == "SCAN thoughts"),
                "{plan:?}"
            );
            let page = Page {
                limit: 10,
                cursor,
                order,
            };
            let query = Query {
                scope: Scope::Everyone,
                needle: Some(&needle),
                page,
            };
            let found = list(&db, &query, Duration::from_secs(30)).await.expect("search");
            assert_eq!(found.len(), 1);
        }
    }

    #[tokio::test]
    async fn sqlite_search_in_one_authors_thoughts_uses_the_author_index() {
        let (_tdb, db) = seeded().await;
        let scope = Scope::Author("user2");
        // 1234 % 7 == 2: user2 wrote "thought number 1234 about things".
        for needle in [needle("number 1234"), needle("34")] {
            for (order, cursor) in [(Order::OldestFirst, 0), (Order::NewestFirst, i64::MAX)] {
                let plan = plan(&db, scope, &search(scope, &needle, order), cursor).await;
                assert!(
                    plan.iter().any(|d| d.contains("USING INDEX thoughts_username_id")),
                    "{plan:?}"
                );
                let query = Query {
                    scope,
                    needle: Some(&needle),
                    page: Page {
                        limit: 1000,
                        cursor,
                        order,
                    },
                };
                let found = list(&db, &query, Duration::from_secs(30)).await.expect("search");
                assert!(found.iter().all(|t| t.username == "user2"), "{found:?}");
                assert!(found.iter().any(|t| t.text.contains("1234")), "{found:?}");
            }
        }
    }
}
