//! SQLite search: the FTS5 `trigram` index `thoughts_fts` over the folded
//! text (migrations/sqlite), and the needle encodings it needs.

use super::{Scope, Search, paged};
use crate::domain::{Order, SearchNeedle};

/// The trigram tokenizer indexes 3-character sequences: a shorter needle
/// cannot be looked up in it.
const TRIGRAM_CHARS: usize = 3;

/// Rows the two-character search scans in id order before it turns to the
/// index (a literal, for `concat!`): a needle in more than one thought in 40
/// fills a 50-item page from these alone, and rarer ones have few enough
/// occurrences for the index.
macro_rules! short_window {
    () => {
        "2000"
    };
}

/// The search statement for `needle` in `scope`, in `order`.
///
/// - Everyone's, 3+ characters: the trigram index answers, in rowid order.
/// - Everyone's, 2 characters: [`TWO_CHARS_DESC`] / [`TWO_CHARS_ASC`], the
///   newest (oldest) [`short_window!`] rows scanned with `instr`, then the
///   index for the rest.
/// - Everyone's, 1 character: a scan in id order with `instr`, stopped by
///   the page limit (a single character is in most thoughts; a rare one
///   runs until the search deadline).
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
        Scope::Everyone if needle.folded().chars().count() == TRIGRAM_CHARS - 1 => (
            match order {
                Order::NewestFirst => TWO_CHARS_DESC,
                Order::OldestFirst => TWO_CHARS_ASC,
            },
            needle.folded().to_owned(),
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

/// Both orders of the two-character search: `$first` the page's
/// direction (`<`/`>`), `$order` its `order by` direction, `$edge` the
/// aggregate giving the far end of the window (`min`/`max`) and `$within`
/// the comparison keeping rows inside it (`>=`/`<=`).
///
/// Two arms, `union all` under one `limit`, so SQLite only starts the second
/// when the first did not fill the page:
///
/// 1. the [`short_window!`] rows next to the cursor, scanned with `instr`;
/// 2. past the window, the union of the rows holding a trigram that starts
///    with the needle (the range of `thoughts_fts_vocab` from the needle, as
///    one FTS5 `OR` query) and the rows whose text ends with it
///    (`thoughts_folded_tail`), each stopped at the page limit. Every
///    occurrence of a two-character needle is one or the other, so the
///    arms together are exactly `instr(folded, $1) > 0`.
///
/// A needle common enough to be in the window costs a scan of its rows; a
/// rarer one, a range of the vocabulary proportional to its occurrences.
macro_rules! two_chars {
    ($first:literal, $order:literal, $edge:literal, $within:literal) => {
        concat!(
            "select * from (select id, username, text, timestamp from thoughts \
             where instr(folded, $1) > 0 and id ",
            $first,
            " $2 and id ",
            $within,
            " (select coalesce(",
            $edge,
            "(id), $2) from (select id from thoughts where id ",
            $first,
            " $2 order by id ",
            $order,
            " limit ",
            short_window!(),
            ")) order by id ",
            $order,
            " limit $3) \
             union all \
             select * from (select id, username, text, timestamp from thoughts where id in (\
             select * from (select rowid from thoughts_fts where thoughts_fts match (\
             select coalesce(group_concat('\"' || replace(term, '\"', '\"\"') || '\"', ' OR '), '\"\"') \
             from thoughts_fts_vocab where term >= $1 and term < $1 || char(1114111)) \
             and rowid ",
            $first,
            " (select coalesce(",
            $edge,
            "(id), $2) from (select id from thoughts where id ",
            $first,
            " $2 order by id ",
            $order,
            " limit ",
            short_window!(),
            ")) order by rowid ",
            $order,
            " limit $3) \
             union all \
             select * from (select id from thoughts where substr(folded, -2) = $1 and id ",
            $first,
            " (select coalesce(",
            $edge,
            "(id), $2) from (select id from thoughts where id ",
            $first,
            " $2 order by id ",
            $order,
            " limit ",
            short_window!(),
            ")) order by id ",
            $order,
            " limit $3)) \
             order by id ",
            $order,
            ") limit $3"
        )
    };
}

/// The two-character search, newest first ([`two_chars!`]).
const TWO_CHARS_DESC: &str = two_chars!("<", "desc", "min", ">=");

/// The two-character search, oldest first ([`two_chars!`]).
const TWO_CHARS_ASC: &str = two_chars!(">", "asc", "max", "<=");

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
    use crate::domain::{Page, ThoughtText, fold};
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
    fn needles_shorter_than_a_trigram_are_not_looked_up_as_a_phrase() {
        for order in [Order::OldestFirst, Order::NewestFirst] {
            let one = search(Scope::Everyone, &needle("Ü"), order);
            assert!(one.sql.contains("instr(folded, $1)"), "{}", one.sql);
            assert!(!one.sql.contains("thoughts_fts"), "{}", one.sql);
            let short = search(Scope::Everyone, &needle("Üb"), order);
            assert!(short.sql.contains("instr(folded, $1)"), "{}", short.sql);
            assert!(
                short.sql.contains("from thoughts_fts_vocab where term >= $1"),
                "{}",
                short.sql
            );
            assert!(short.sql.contains("substr(folded, -2) = $1"), "{}", short.sql);
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

    /// Texts holding the needle `jq` at the start, in the middle, at the
    /// end, alone and next to a quote, and one without it.
    const TWO_CHAR_TEXTS: [&str; 6] = [
        "jq at the start",
        "the jq inside",
        "ends with JQ",
        "jq",
        "\"jq\"",
        "nothing",
    ];

    #[tokio::test]
    async fn two_character_needles_past_the_window_are_found_through_the_index() {
        let tdb = testkit::database(Engine::Sqlite).await;
        let db = Database::connect_and_migrate("thoughts", &tdb.url, 2, MIGRATIONS, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("database: {e}"));
        // Before and after more filler than the window holds: the first
        // ones are only found past the window newest first, the last ones
        // oldest first.
        let mut texts: Vec<String> = TWO_CHAR_TEXTS.iter().map(|t| (*t).to_owned()).collect();
        texts.extend((0..2100).map(|i| format!("filler {i}")));
        texts.extend(TWO_CHAR_TEXTS.iter().map(|t| (*t).to_owned()));
        let mut holding = Vec::new();
        for text in &texts {
            let thought = insert(&db, "bruce", &ThoughtText::parse(text).expect("valid"))
                .await
                .expect("insert");
            if fold(text).contains("jq") {
                holding.push(thought.id);
            }
        }
        assert_eq!(holding.len(), 10);
        let newest_first: Vec<i64> = holding.iter().rev().copied().collect();
        for (order, cursor, want) in [
            (Order::NewestFirst, i64::MAX, newest_first.clone()),
            (Order::OldestFirst, 0, holding.clone()),
            (Order::NewestFirst, newest_first[5], newest_first[6..].to_vec()),
            (Order::OldestFirst, holding[4], holding[5..].to_vec()),
        ] {
            let s = search(Scope::Everyone, &needle("JQ"), order);
            let details = plan(&db, Scope::Everyone, &s, cursor).await;
            assert!(details.iter().any(|d| d.contains("thoughts_fts_vocab")), "{details:?}");
            assert!(
                details.iter().any(|d| d.contains("thoughts_folded_tail")),
                "{details:?}"
            );
            assert!(!details.iter().any(|d| d == "SCAN thoughts"), "{details:?}");
            for limit in [3, 1000] {
                let query = Query {
                    scope: Scope::Everyone,
                    needle: Some(&needle("JQ")),
                    page: Page { limit, cursor, order },
                };
                let found: Vec<i64> = list(&db, &query, Duration::from_secs(30))
                    .await
                    .expect("search")
                    .iter()
                    .map(|t| t.id)
                    .collect();
                let mut expected = want.clone();
                expected.truncate(limit as usize + 1);
                assert_eq!(found, expected, "{order:?} from {cursor}, limit {limit}");
            }
        }
        // A quote in the needle is a plain character in the FTS query too.
        let query = Query {
            scope: Scope::Everyone,
            needle: Some(&needle("\"j")),
            page: Page {
                limit: 10,
                cursor: i64::MAX,
                order: Order::NewestFirst,
            },
        };
        assert_eq!(
            list(&db, &query, Duration::from_secs(30)).await.expect("search").len(),
            2
        );
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
