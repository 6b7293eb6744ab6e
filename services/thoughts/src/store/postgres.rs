//! PostgreSQL search: `folded like '%…%'` served by the `pg_trgm` GIN index
//! `thoughts_folded_trgm_bucket`, two-character needles by the bigram index
//! `thoughts_folded_bigrams_bucket` (migrations/postgres), and the pattern
//! encoding.

use super::{Scope, Search, paged};
use crate::domain::{Order, SearchNeedle};

/// A trigram is three characters: a shorter needle has none to look up.
const TRIGRAM_CHARS: usize = 3;

/// The search statement for `needle` in `scope`, in `order`.
///
/// - Everyone's, 2+ characters: [`windowed!`], nearest thoughts first, the
///   trigram index (3+ characters) or the bigram index (2) for the rest.
/// - Everyone's, 1 character: `like`, the planner's choice (a single
///   character is in most thoughts: a scan in id order stops at the limit).
/// - One author's: the planner picks the `(username, id)` index or the
///   trigram one, whichever the author and the pattern make cheaper.
///
/// The windowed statements are cached prepared statements, run with their
/// generic plan ([`super::list`] sets `plan_cache_mode`): their shape fixes
/// which index each arm reads, whatever the needle, and planning the four
/// arms afresh costs more than running them. The others never are: a
/// generic plan cannot see the pattern, and would scan by id instead of
/// using the trigram index.
pub(super) fn search(scope: Scope<'_>, needle: &SearchNeedle, order: Order) -> Search {
    let chars = needle.folded().chars().count();
    let windowed = scope == Scope::Everyone && chars >= TRIGRAM_CHARS - 1;
    let (sql, needle) = match scope {
        Scope::Everyone if chars >= TRIGRAM_CHARS => (
            match order {
                Order::NewestFirst => TRIGRAMS_DESC,
                Order::OldestFirst => TRIGRAMS_ASC,
            },
            like_pattern(needle),
        ),
        Scope::Everyone if chars == TRIGRAM_CHARS - 1 => (
            match order {
                Order::NewestFirst => BIGRAMS_DESC,
                Order::OldestFirst => BIGRAMS_ASC,
            },
            needle.folded().to_owned(),
        ),
        Scope::Everyone => (
            paged!(
                order,
                "select id, username, text, timestamp from thoughts where folded like $1 escape '\\' and",
                key = "id",
                cursor = "$2",
                limit = "$3"
            ),
            like_pattern(needle),
        ),
        Scope::Author(_) => (
            paged!(
                order,
                "select id, username, text, timestamp from thoughts \
                 where username = $1 and folded like $2 escape '\\' and",
                key = "id",
                cursor = "$3",
                limit = "$4"
            ),
            like_pattern(needle),
        ),
    };
    Search {
        sql,
        needle,
        persistent: windowed,
    }
}

/// Everyone's search in id windows from the cursor, as four arms under one
/// `limit`, each run only when the ones before it did not fill the page
/// (PostgreSQL's `Append` pulls its arms in order):
///
/// 1. the 2000 thoughts next to the cursor, read in id order and filtered:
///    a needle in more than one thought in 40 fills the page here, without
///    visiting its other matches (a common word is in thousands);
/// 2. past them, the matches in the two id buckets (`id / 16384`) nearest
///    the cursor, from the index (`$index`), which intersects the needle's
///    entries with the buckets' so only those rows are visited;
/// 3. the same in the next eight buckets;
/// 4. the index for everything beyond.
///
/// A needle in one thought in 40 to one in 300 costs its matches in 2–3
/// buckets, a rarer one those in 10 buckets, a very rare one all its matches:
/// a few hundred row visits at most at any frequency (the plain index visits
/// every match before it can keep the nearest 50). The arms cover disjoint id
/// ranges in the page's order, so their concatenation is the page.
///
/// `$first`/`$order`: the page's direction (`<`/`desc` or `>`/`asc`);
/// `$edge`: the aggregate giving the far end of arm 1 (`min`/`max`) and
/// `$end` the one giving the nearest thought past the cursor (`max`/`min`);
/// `$near`/`$mid`: the bucket ranges of arms 2 and 3 from that thought's
/// bucket `b`; `$far`: arm 4's bound. `id + 0` keeps the planner from
/// answering a range with the primary key (a bitmap of every id past it).
/// Binds: `$1` the needle as `$exact` and `$index` take it, `$2` the
/// cursor, `$3` the limit.
macro_rules! windowed {
    (
        first = $first:literal,
        order = $order:literal,
        edge = $edge:literal,
        end = $end:literal,
        near = $near:literal,
        mid = $mid:literal,
        far = $far:literal,
        exact = $exact:literal,
        index = $index:literal $(,)?
    ) => {
        concat!(
            "with bounds as materialized (select \
             (select coalesce(",
            $edge,
            "(id), $2) from (select id from thoughts where id ",
            $first,
            " $2 order by id ",
            $order,
            " limit 2000) w) as edge, \
             (select coalesce(",
            $end,
            "(id), 0) / 16384 from thoughts where id ",
            $first,
            " $2) as b) \
             select * from (\
             select * from (select id, username, text, timestamp from (\
             select id, username, text, timestamp, folded from thoughts where id ",
            $first,
            " $2 order by id ",
            $order,
            " limit 2000) w where ",
            $exact,
            " order by id ",
            $order,
            " limit $3) nearest \
             union all \
             select * from (select id, username, text, timestamp from thoughts where ",
            $index,
            " and id + 0 ",
            $first,
            " (select edge from bounds) \
             and id / 16384 = any(array(select generate_series(",
            $near,
            ") from bounds)) order by id + 0 ",
            $order,
            " limit $3) b2 \
             union all \
             select * from (select id, username, text, timestamp from thoughts where ",
            $index,
            " and id + 0 ",
            $first,
            " (select edge from bounds) \
             and id / 16384 = any(array(select generate_series(",
            $mid,
            ") from bounds)) order by id + 0 ",
            $order,
            " limit $3) b10 \
             union all \
             select * from (select id, username, text, timestamp from thoughts where ",
            $index,
            " and id + 0 ",
            $first,
            " (select edge from bounds) \
             and id + 0 ",
            $far,
            " order by id + 0 ",
            $order,
            " limit $3) rest\
             ) arms limit $3"
        )
    };
}

/// [`windowed!`] newest first: buckets `b-1..=b`, then `b-9..=b-2`.
macro_rules! windowed_desc {
    ($exact:literal, $index:literal) => {
        windowed!(
            first = "<",
            order = "desc",
            edge = "min",
            end = "max",
            near = "b - 1, b",
            mid = "b - 9, b - 2",
            far = "< (select (b - 9) * 16384 from bounds)",
            exact = $exact,
            index = $index,
        )
    };
}

/// [`windowed!`] oldest first: buckets `b..=b+1`, then `b+2..=b+9`.
macro_rules! windowed_asc {
    ($exact:literal, $index:literal) => {
        windowed!(
            first = ">",
            order = "asc",
            edge = "max",
            end = "min",
            near = "b, b + 1",
            mid = "b + 2, b + 9",
            far = ">= (select (b + 10) * 16384 from bounds)",
            exact = $exact,
            index = $index,
        )
    };
}

/// Three or more characters: `$1` is a [`like_pattern`], the trigram index's.
macro_rules! trigrams {
    ($windowed:ident) => {
        $windowed!("folded like $1 escape '\\'", "folded like $1 escape '\\'")
    };
}

/// Two characters: `$1` is the folded needle, looked up in the bigram index.
macro_rules! bigrams {
    ($windowed:ident) => {
        $windowed!(
            "strpos(folded, $1) > 0",
            "thoughts_bigrams(folded) @> array[$1] and strpos(folded, $1) > 0"
        )
    };
}

/// Everyone's search for 3+ characters, newest first.
const TRIGRAMS_DESC: &str = trigrams!(windowed_desc);
/// Everyone's search for 3+ characters, oldest first.
const TRIGRAMS_ASC: &str = trigrams!(windowed_asc);
/// Everyone's search for 2 characters, newest first.
const BIGRAMS_DESC: &str = bigrams!(windowed_desc);
/// Everyone's search for 2 characters, oldest first.
const BIGRAMS_ASC: &str = bigrams!(windowed_asc);

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
    /// The plan `list` runs: a persistent statement's generic plan (made
    /// with `plan_cache_mode` as `list` sets it), another's custom plan.
    async fn plan(db: &Database, scope: Scope<'_>, s: &Search, cursor: i64) -> Vec<String> {
        let Pool::Postgres(pool) = db.pool() else {
            unreachable!("postgres")
        };
        let mut conn = pool.acquire().await.expect("connection");
        let rows = if s.persistent {
            // `explain execute` takes no bound parameters: literals (the
            // tests' needles), into a statement prepared with its types.
            let sql = format!(
                "set plan_cache_mode = force_generic_plan; \
                 prepare windowed (text, bigint, bigint) as {}; \
                 explain execute windowed('{}', {cursor}, 1001); \
                 deallocate windowed; reset plan_cache_mode",
                s.sql,
                s.needle.replace('\'', "''")
            );
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *conn)
                .await
                .expect("explain")
        } else {
            let mut explain = sqlx::query(sqlx::AssertSqlSafe(format!("explain {}", s.sql)));
            if let Scope::Author(author) = scope {
                explain = explain.bind(author);
            }
            explain
                .bind(s.needle.as_str())
                .bind(cursor)
                .bind(1001_i64)
                .fetch_all(&mut *conn)
                .await
                .expect("explain")
        };
        rows.iter().map(|r| r.get::<String, _>(0)).collect()
    }

    #[tokio::test]
    async fn postgres_search_uses_the_trigram_gin_index() {
        let (_tdb, db) = seeded().await;
        let needle = needle("827CCB0EEA");
        for (order, cursor) in [(Order::OldestFirst, 0), (Order::NewestFirst, i64::MAX)] {
            let plan = plan(&db, Scope::Everyone, &search(Scope::Everyone, &needle, order), cursor).await;
            assert!(
                plan.iter().any(|l| l.contains("thoughts_folded_trgm_bucket")),
                "{plan:#?}"
            );
            assert!(!plan.iter().any(|l| l.contains("Seq Scan")), "{plan:#?}");
            // A two-character needle has no trigram: the bigram index.
            let short = search(
                Scope::Everyone,
                &SearchNeedle::parse("8a").expect("valid").expect("non-empty"),
                order,
            );
            let plan = self::plan(&db, Scope::Everyone, &short, cursor).await;
            assert!(
                plan.iter().any(|l| l.contains("thoughts_folded_bigrams_bucket")),
                "{plan:#?}"
            );
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

    /// The windowed statements return exactly what a scan returns, for
    /// needles from common to absent, in both orders, from cursors anywhere
    /// (bucket edges included): ids dense at both ends and sparse (every
    /// 37th) between, so windows straddle buckets, arms come up empty and
    /// every arm serves some page.
    #[tokio::test]
    async fn windowed_search_returns_what_a_scan_returns() {
        let tdb = testkit::database(Engine::Postgres).await;
        let db = Database::connect_and_migrate("thoughts", &tdb.url, 2, MIGRATIONS, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("database: {e}"));
        let Pool::Postgres(pool) = db.pool() else {
            unreachable!("postgres")
        };
        sqlx::query(
            "insert into thoughts (id, username, text, folded, timestamp) \
             select id, 'user' || (id % 7), t, t, now() from (\
               select id, 'n' || id || ' ' \
                 || case when id % 3 = 0 then 'common ' else '' end \
                 || case when id % 97 = 0 then 'centi qz ' else '' end \
                 || case when id % 1009 = 0 then 'milli ' else '' end \
                 || case when id % 7919 = 0 then 'rare ' else '' end as t \
               from (select generate_series(1, 3000) as id \
                     union all select 3000 + 37 * generate_series(1, 20000) \
                     union all select generate_series(800000, 806000)) ids) rows",
        )
        .execute(pool)
        .await
        .expect("seed");
        sqlx::query("vacuum analyze thoughts")
            .execute(pool)
            .await
            .expect("analyze");
        let mut cursors = vec![0, i64::MAX, 1, 3000, 400_000, 740_003, 800_000, 803_000, 806_001];
        for bucket in [1_i64, 2, 10, 20, 45, 48, 49] {
            cursors.extend([bucket * 16384 - 1, bucket * 16384, bucket * 16384 + 1]);
        }
        let mut pages = 0;
        for text in ["common", "centi", "milli", "rare", "absent", "qz", "xq", "n8"] {
            let needle = needle(text);
            for order in [Order::OldestFirst, Order::NewestFirst] {
                for &cursor in &cursors {
                    for limit in [10_u32, 50, 1000] {
                        let page = Page { limit, cursor, order };
                        let query = Query {
                            scope: Scope::Everyone,
                            needle: Some(&needle),
                            page,
                        };
                        let found: Vec<i64> = list(&db, &query, Duration::from_secs(30))
                            .await
                            .expect("search")
                            .iter()
                            .map(|t| t.id)
                            .collect();
                        let scan = match order {
                            Order::OldestFirst => {
                                "select id from thoughts where strpos(folded, $1) > 0 and id > $2 order by id limit $3"
                            }
                            Order::NewestFirst => {
                                "select id from thoughts where strpos(folded, $1) > 0 and id < $2 order by id desc limit $3"
                            }
                        };
                        let expected: Vec<i64> = sqlx::query_scalar(scan)
                            .bind(text)
                            .bind(cursor)
                            .bind(i64::from(limit) + 1)
                            .fetch_all(pool)
                            .await
                            .expect("scan");
                        assert_eq!(found, expected, "{text:?} {order:?} from {cursor}, limit {limit}");
                        pages += usize::from(!expected.is_empty());
                    }
                }
            }
        }
        assert!(pages > 300, "only {pages} non-empty pages compared");
    }
}
