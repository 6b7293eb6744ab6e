//! Bulk-loaded thoughts (`thoughts::bulk`, `mythoughts seed --thoughts N`)
//! are found through the API exactly as posted ones are: search through the
//! trigram indexes, the public list, one author's list and the caller's own.

use crate::helpers::{bearer, spawn};
use kit::db::{Database, Pool};
use serde_json::Value;
use std::time::Duration;
use thoughts::bulk::{self, Plan, RARE_WORD};

/// Rows loaded: more than one transaction / COPY chunk, and past the one
/// row in 10,000 that holds the rare word.
const ROWS: u64 = bulk::CHUNK_ROWS + 7_123;

/// Ids of the thoughts whose folded text contains `needle`, newest first,
/// found by the database without any index (`instr` / `strpos`).
async fn matching_ids(db: &Database, needle: &str, author: Option<&str>) -> Vec<i64> {
    let author = author.unwrap_or("");
    match db.pool() {
        Pool::Sqlite(pool) => sqlx::query_scalar(
            "select id from thoughts not indexed where instr(folded, $1) > 0 \
             and ($2 = '' or username = $2) order by id desc",
        )
        .bind(needle)
        .bind(author)
        .fetch_all(pool)
        .await
        .expect("scan"),
        Pool::Postgres(pool) => sqlx::query_scalar(
            "select id from thoughts where strpos(folded, $1) > 0 \
             and ($2 = '' or username = $2) order by id desc",
        )
        .bind(needle)
        .bind(author)
        .fetch_all(pool)
        .await
        .expect("scan"),
    }
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|t| t["id"].as_i64().expect("id")).collect()
}

testkit::both_engines! {
    async fn bulk_loaded_thoughts_are_searched_listed_and_owned(engine) {
        let app = spawn(engine).await;
        let posted = app.post_thought("ada", "posted before the bulk load").await;
        let db = Database::connect_and_migrate(
            "thoughts",
            &app.database().url,
            2,
            thoughts::store::MIGRATIONS,
            Duration::from_secs(10),
        )
        .await
        .unwrap_or_else(|e| panic!("database: {e}"));
        let plan = Plan { thoughts: ROWS, authors: 7, seed: 3 };
        let mut reported = Vec::new();
        let loaded = bulk::load(&db, &plan, |done| reported.push(done)).await.expect("bulk load");
        assert_eq!(loaded.thoughts, ROWS);
        assert_eq!(reported, [bulk::CHUNK_ROWS, ROWS], "progress after each chunk");

        // Everyone's list: every thought, ids after the posted one, increasing
        // timestamps, newest first on request.
        let newest = app.get_list("/api/thoughts/?order=desc&limit=1000").await;
        assert_eq!(newest.len(), 1000);
        let last_id = posted["id"].as_i64().expect("id") + i64::try_from(ROWS).expect("fits");
        assert_eq!(newest[0]["id"].as_i64(), Some(last_id));
        let stamps: Vec<&str> = newest.iter().map(|t| t["timestamp"].as_str().expect("timestamp")).collect();
        assert!(stamps.windows(2).all(|w| w[0] > w[1]), "timestamps increase with the id");
        let oldest = app.get_list("/api/thoughts/?limit=2").await;
        assert_eq!(oldest[0]["text"], "posted before the bulk load");
        assert_eq!(oldest[1]["id"].as_i64(), posted["id"].as_i64().map(|id| id + 1));

        // Search agrees with a scan of the table, in both orders: through the
        // trigram index (3+ characters: a rare word, common words, non-ASCII
        // text, a miss), the two-character path (common, rare past the
        // newest rows, absent) and single characters.
        for needle in [RARE_WORD, "people", "the", "café", "th", "ze", "jq", "q", "é", "no such text"] {
            let expected = matching_ids(&db, &bulk_fold(needle), None).await;
            if needle == RARE_WORD {
                assert_eq!(expected.len(), 6, "one thought in 10,000 holds the rare word");
            }
            let query = |order: &str| {
                format!("/api/thoughts/?search={}&order={order}&limit=1000", urlencode(needle))
            };
            let found = ids(&app.get_list(&query("desc")).await);
            let want: Vec<i64> = expected.iter().copied().take(1000).collect();
            assert_eq!(found, want, "search {needle:?}, newest first");
            let found = ids(&app.get_list(&query("asc")).await);
            let mut want: Vec<i64> = expected.iter().rev().copied().take(1000).collect();
            want.truncate(1000);
            assert_eq!(found, want, "search {needle:?}, oldest first");
        }

        // One author's thoughts, on the public list and as the author.
        for author in ["author1", "author7"] {
            let expected = matching_ids(&db, "", Some(author)).await;
            assert!(!expected.is_empty(), "{author} wrote something");
            let want: Vec<i64> = expected.iter().copied().take(50).collect();
            let public = app.get_list(&format!("/api/thoughts/?username={author}&order=desc&limit=50")).await;
            assert_eq!(ids(&public), want, "{author}'s public list");
            assert!(public.iter().all(|t| t["username"] == author));
            let r = app.client.get(app.url("/api/me/thoughts/?order=desc&limit=50"))
                .header("authorization", bearer(author)).send().await.expect("sent");
            let mine: Vec<Value> = r.json().await.expect("json");
            assert_eq!(ids(&mine), want, "{author}'s own list");
        }
        let counts = [matching_ids(&db, "", Some("author1")).await.len(),
                      matching_ids(&db, "", Some("author7")).await.len()];
        assert!(counts[0] > 3 * counts[1], "author1 is the most prolific: {counts:?}");
        db.close().await;
    }
}

fn bulk_fold(s: &str) -> String {
    thoughts::domain::fold(s)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
