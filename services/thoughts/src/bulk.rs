//! Bulk loading of synthetic thoughts, for benchmarks and capacity tests at
//! scale (`mythoughts seed --thoughts N`, `bench/scale`).
//!
//! [`load`] writes straight into the thoughts database, on either engine,
//! much faster than posting through the API (which is rate-limited per
//! account and pays a request and a commit per thought):
//!
//! - SQLite: multi-row `insert` statements of [`SQLITE_BATCH_ROWS`] rows,
//!   prepared once, inside transactions of [`CHUNK_ROWS`] rows; the FTS5
//!   triggers keep `thoughts_fts` in step row by row, and the index is
//!   merged (`optimize`) at the end so that searches read one segment.
//! - PostgreSQL: `COPY … FROM STDIN` in chunks of [`CHUNK_ROWS`] rows (the
//!   `(username, id)` B-tree and the trigram and bigram GIN indexes are
//!   maintained by the server), then `VACUUM ANALYZE`, which merges GIN's
//!   pending lists into the indexes and gives the planner fresh statistics.
//!
//! The rows are what the service itself would store: the same columns, the
//! text folded with [`crate::domain::fold`], ids from the table's own
//! sequence (so they follow any existing thoughts), and timestamps that
//! increase with the id, one [`STEP_SECONDS`] apart, the last one about now.
//!
//! What the text looks like (deterministic for a given [`Plan::seed`]):
//! 4–30 words drawn from a built-in list of about 500 words with a Zipf
//! distribution (the first words are very common, the last ones rare),
//! sometimes with punctuation, a number or a non-ASCII word, at most 250
//! characters. One thought in [`RARE_EVERY`] also contains [`RARE_WORD`].
//! Authors are `author1` … `authorK`, the first ones the most prolific
//! (author `i` writes about as much as `1/i` of the first).

use crate::domain::{ThoughtText, fold};
use chrono::NaiveDateTime;
use kit::db::{Database, Pool};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rows per transaction (SQLite) or `COPY` (PostgreSQL): big enough that
/// commits cost nothing next to the rows, small enough that a transaction's
/// write-ahead log stays in tens of megabytes.
pub const CHUNK_ROWS: u64 = 50_000;

/// Rows per multi-row `insert` on SQLite (4 parameters each, well under
/// SQLite's 32,766 parameter limit).
pub const SQLITE_BATCH_ROWS: usize = 250;

/// Seconds between two consecutive thoughts' timestamps.
pub const STEP_SECONDS: i64 = 7;

/// A word that only one thought in [`RARE_EVERY`] contains: a needle with
/// few matches at any size (about 100 in a million thoughts).
pub const RARE_WORD: &str = "zebrafish";

/// How rare [`RARE_WORD`] is.
pub const RARE_EVERY: u64 = 10_000;

/// What to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// How many thoughts.
    pub thoughts: u64,
    /// How many distinct authors (`author1` … `authorK`), at least 1.
    pub authors: u32,
    /// Seed of the text generator: the same seed gives the same texts.
    pub seed: u64,
}

/// What [`load`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loaded {
    /// Thoughts inserted.
    pub thoughts: u64,
    /// Time spent inserting (rows and their indexes).
    pub insert: Duration,
    /// Time spent afterwards making the indexes and statistics ready
    /// (SQLite: FTS5 `optimize`; PostgreSQL: `VACUUM ANALYZE`).
    pub finish: Duration,
}

impl Loaded {
    /// Thoughts per second over the whole load (insert and finish).
    pub fn rows_per_second(&self) -> f64 {
        let secs = (self.insert + self.finish).as_secs_f64();
        if secs > 0.0 { self.thoughts as f64 / secs } else { 0.0 }
    }
}

/// The name of author `i` (1-based), as [`load`] writes it.
pub fn author_name(i: u32) -> String {
    format!("author{i}")
}

/// Insert `plan.thoughts` synthetic thoughts into `db` (a migrated thoughts
/// database), calling `progress` with the running total after each chunk.
///
/// Safe while the service runs against the same database (each chunk is an
/// ordinary transaction), but meant for a database nobody else is writing.
pub async fn load(db: &Database, plan: &Plan, mut progress: impl FnMut(u64) + Send) -> Result<Loaded, sqlx::Error> {
    let mut texts = Generator::new(plan);
    let last = kit::time::now();
    let first = last - chrono::Duration::seconds(STEP_SECONDS.saturating_mul(plan.thoughts as i64));
    let started = Instant::now();
    let mut done = 0_u64;
    match db.pool() {
        Pool::Sqlite(pool) => {
            let mut conn = kit::db::TxConnection::new(kit::db::acquire(db.service(), pool).await?);
            let full = Arc::<str>::from(sqlite_insert(SQLITE_BATCH_ROWS));
            let mut batch = Vec::with_capacity(SQLITE_BATCH_ROWS);
            while done < plan.thoughts {
                let chunk = CHUNK_ROWS.min(plan.thoughts - done);
                let mut tx = conn.begin().await?;
                let mut in_chunk = 0;
                while in_chunk < chunk {
                    let rows = (SQLITE_BATCH_ROWS as u64).min(chunk - in_chunk) as usize;
                    batch.clear();
                    for k in 0..rows {
                        let n = done + in_chunk + k as u64;
                        batch.push(texts.row(n, first));
                    }
                    let sql = if rows == SQLITE_BATCH_ROWS {
                        Arc::clone(&full)
                    } else {
                        Arc::from(sqlite_insert(rows))
                    };
                    let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(rows == SQLITE_BATCH_ROWS);
                    for row in &batch {
                        insert = insert
                            .bind(row.username.as_str())
                            .bind(row.text.as_str())
                            .bind(row.folded.as_str())
                            .bind(row.timestamp);
                    }
                    insert.execute(&mut *tx).await?;
                    in_chunk += rows as u64;
                }
                // Tell a service running on this file that its lists changed
                // (crate::store::versions).
                let count: i64 = sqlx::query_scalar("pragma user_version").fetch_one(&mut *tx).await?;
                let bumped = format!(
                    "pragma {} = {}",
                    crate::store::versions::OUTSIDE_WRITES_PRAGMA,
                    count.wrapping_add(1) & 0x7fff_ffff
                );
                sqlx::query(sqlx::AssertSqlSafe(bumped)).execute(&mut *tx).await?;
                tx.commit().await?;
                done += chunk;
                progress(done);
            }
            let insert = started.elapsed();
            let finishing = Instant::now();
            // One b-tree instead of the many segments the load left behind.
            sqlx::query("insert into thoughts_fts (thoughts_fts) values ('optimize')")
                .execute(&mut *conn)
                .await?;
            // Leave the database in its main file, not in a large WAL.
            sqlx::query("pragma wal_checkpoint(truncate)")
                .fetch_all(&mut *conn)
                .await?;
            Ok(Loaded {
                thoughts: done,
                insert,
                finish: finishing.elapsed(),
            })
        }
        Pool::Postgres(pool) => {
            let mut conn = kit::db::acquire(db.service(), pool).await?;
            let mut data = String::new();
            while done < plan.thoughts {
                let chunk = CHUNK_ROWS.min(plan.thoughts - done);
                let mut copy = conn
                    .copy_in_raw("copy thoughts (username, text, folded, timestamp) from stdin")
                    .await?;
                let mut sent = 0;
                while sent < chunk {
                    let rows = 1000.min(chunk - sent);
                    data.clear();
                    for k in 0..rows {
                        texts.row(done + sent + k, first).write_copy_line(&mut data);
                    }
                    copy.send(data.as_bytes()).await?;
                    sent += rows;
                }
                copy.finish().await?;
                done += chunk;
                progress(done);
            }
            let insert = started.elapsed();
            let finishing = Instant::now();
            sqlx::query("vacuum analyze thoughts").execute(&mut *conn).await?;
            Ok(Loaded {
                thoughts: done,
                insert,
                finish: finishing.elapsed(),
            })
        }
    }
}

/// `insert … values (?, ?, ?, ?), …` for `rows` rows.
fn sqlite_insert(rows: usize) -> String {
    let mut sql = String::from("insert into thoughts (username, text, folded, timestamp) values ");
    for i in 0..rows {
        if i > 0 {
            sql.push(',');
        }
        sql.push_str("(?,?,?,?)");
    }
    sql
}

/// One generated thought.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    username: String,
    text: String,
    folded: String,
    timestamp: NaiveDateTime,
}

impl Row {
    /// The row as one line of `COPY`'s text format (tab-separated, `\`
    /// escapes for backslash, tab, newline and carriage return).
    fn write_copy_line(&self, out: &mut String) {
        for (i, field) in [self.username.as_str(), &self.text, &self.folded]
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                out.push('\t');
            }
            for c in field.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    c => out.push(c),
                }
            }
        }
        let _ = writeln!(out, "\t{}", self.timestamp.format("%Y-%m-%d %H:%M:%S%.6f"));
    }
}

/// The deterministic text generator: splitmix64 draws, Zipf-distributed
/// words and authors.
struct Generator {
    state: u64,
    /// Cumulative Zipf weights of [`WORDS`], scaled to `u64`.
    words: Vec<u64>,
    /// Cumulative Zipf weights of the authors.
    authors: Vec<u64>,
    names: Vec<String>,
}

/// Cumulative weights `1/(rank+1)` of `n` items, the last one `u64::MAX`.
fn zipf(n: usize) -> Vec<u64> {
    let total: f64 = (1..=n).map(|r| 1.0 / r as f64).sum();
    let mut acc = 0.0;
    let mut out: Vec<u64> = (1..=n)
        .map(|r| {
            acc += 1.0 / r as f64 / total;
            (acc * u64::MAX as f64) as u64
        })
        .collect();
    if let Some(last) = out.last_mut() {
        *last = u64::MAX;
    }
    out
}

impl Generator {
    fn new(plan: &Plan) -> Self {
        let authors = plan.authors.max(1);
        Self {
            state: plan.seed ^ 0x9e37_79b9_7f4a_7c15,
            words: zipf(WORDS.len()),
            authors: zipf(authors as usize),
            names: (1..=authors).map(author_name).collect(),
        }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// An index into `cumulative` (Zipf weights), drawn with `x`.
    fn pick(cumulative: &[u64], x: u64) -> usize {
        cumulative
            .partition_point(|&c| c < x)
            .min(cumulative.len().saturating_sub(1))
    }

    /// The `n`-th thought of the load (0-based).
    fn row(&mut self, n: u64, first: NaiveDateTime) -> Row {
        let x = self.next();
        let author = Self::pick(&self.authors, x);
        let words = 4 + self.below(27) as usize;
        let rare = n % RARE_EVERY == RARE_EVERY / 2;
        let rare_at = if rare {
            self.below(words as u64) as usize
        } else {
            usize::MAX
        };
        let mut text = String::with_capacity(160);
        for i in 0..words {
            let word = if i == rare_at {
                RARE_WORD
            } else {
                match self.below(100) {
                    0 => EXTRA[self.below(EXTRA.len() as u64) as usize],
                    _ => {
                        let x = self.next();
                        WORDS[Self::pick(&self.words, x)]
                    }
                }
            };
            let number = self.below(60) == 0;
            let extra = if number { 4 + 3 } else { 0 };
            if text.chars().count() + word.chars().count() + extra + 2 > ThoughtText::MAX_CHARS {
                break;
            }
            if i > 0 {
                text.push(' ');
            }
            if i == 0 {
                let mut chars = word.chars();
                if let Some(c) = chars.next() {
                    text.extend(c.to_uppercase());
                    text.push_str(chars.as_str());
                }
            } else {
                text.push_str(word);
            }
            if number {
                let _ = write!(text, " {}", self.below(10_000));
            }
            match self.below(24) {
                0 => text.push(','),
                1 if i + 1 < words => text.push('.'),
                _ => {}
            }
        }
        text.push(match self.below(6) {
            0 => '!',
            1 => '?',
            _ => '.',
        });
        let folded = fold(&text);
        Row {
            username: self.names[author].clone(),
            text,
            folded,
            timestamp: first + chrono::Duration::seconds(STEP_SECONDS.saturating_mul(n as i64 + 1)),
        }
    }
}

/// The word list, most common first (the order gives the Zipf weights).
const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "is",
    "it",
    "you",
    "that",
    "he",
    "was",
    "for",
    "on",
    "are",
    "with",
    "as",
    "I",
    "his",
    "they",
    "be",
    "at",
    "one",
    "have",
    "this",
    "from",
    "or",
    "had",
    "by",
    "not",
    "word",
    "but",
    "what",
    "some",
    "we",
    "can",
    "out",
    "other",
    "were",
    "all",
    "there",
    "when",
    "up",
    "use",
    "your",
    "how",
    "said",
    "an",
    "each",
    "she",
    "which",
    "do",
    "their",
    "time",
    "if",
    "will",
    "way",
    "about",
    "many",
    "then",
    "them",
    "write",
    "would",
    "like",
    "so",
    "these",
    "her",
    "long",
    "make",
    "thing",
    "see",
    "him",
    "two",
    "has",
    "look",
    "more",
    "day",
    "could",
    "go",
    "come",
    "did",
    "number",
    "sound",
    "no",
    "most",
    "people",
    "my",
    "over",
    "know",
    "water",
    "than",
    "call",
    "first",
    "who",
    "may",
    "down",
    "side",
    "been",
    "now",
    "find",
    "any",
    "new",
    "work",
    "part",
    "take",
    "get",
    "place",
    "made",
    "live",
    "where",
    "after",
    "back",
    "little",
    "only",
    "round",
    "man",
    "year",
    "came",
    "show",
    "every",
    "good",
    "me",
    "give",
    "our",
    "under",
    "name",
    "very",
    "through",
    "just",
    "form",
    "sentence",
    "great",
    "think",
    "say",
    "help",
    "low",
    "line",
    "differ",
    "turn",
    "cause",
    "much",
    "mean",
    "before",
    "move",
    "right",
    "boy",
    "old",
    "too",
    "same",
    "tell",
    "does",
    "set",
    "three",
    "want",
    "air",
    "well",
    "also",
    "play",
    "small",
    "end",
    "put",
    "home",
    "read",
    "hand",
    "port",
    "large",
    "spell",
    "add",
    "even",
    "land",
    "here",
    "must",
    "big",
    "high",
    "such",
    "follow",
    "act",
    "why",
    "ask",
    "men",
    "change",
    "went",
    "light",
    "kind",
    "off",
    "need",
    "house",
    "picture",
    "try",
    "us",
    "again",
    "animal",
    "point",
    "mother",
    "world",
    "near",
    "build",
    "self",
    "earth",
    "father",
    "head",
    "stand",
    "own",
    "page",
    "should",
    "country",
    "found",
    "answer",
    "school",
    "grow",
    "study",
    "still",
    "learn",
    "plant",
    "cover",
    "food",
    "sun",
    "four",
    "between",
    "state",
    "keep",
    "eye",
    "never",
    "last",
    "let",
    "thought",
    "city",
    "tree",
    "cross",
    "farm",
    "hard",
    "start",
    "might",
    "story",
    "saw",
    "far",
    "sea",
    "draw",
    "left",
    "late",
    "run",
    "don't",
    "while",
    "press",
    "close",
    "night",
    "real",
    "life",
    "few",
    "north",
    "open",
    "seem",
    "together",
    "next",
    "white",
    "children",
    "begin",
    "got",
    "walk",
    "example",
    "ease",
    "paper",
    "group",
    "always",
    "music",
    "those",
    "both",
    "mark",
    "often",
    "letter",
    "until",
    "mile",
    "river",
    "car",
    "feet",
    "care",
    "second",
    "book",
    "carry",
    "took",
    "science",
    "eat",
    "room",
    "friend",
    "began",
    "idea",
    "fish",
    "mountain",
    "stop",
    "once",
    "base",
    "hear",
    "horse",
    "cut",
    "sure",
    "watch",
    "colour",
    "face",
    "wood",
    "main",
    "enough",
    "plain",
    "girl",
    "usual",
    "young",
    "ready",
    "above",
    "ever",
    "red",
    "list",
    "though",
    "feel",
    "talk",
    "bird",
    "soon",
    "body",
    "dog",
    "family",
    "direct",
    "pose",
    "leave",
    "song",
    "measure",
    "door",
    "product",
    "black",
    "short",
    "numeral",
    "class",
    "wind",
    "question",
    "happen",
    "complete",
    "ship",
    "area",
    "half",
    "rock",
    "order",
    "fire",
    "south",
    "problem",
    "piece",
    "told",
    "knew",
    "pass",
    "since",
    "top",
    "whole",
    "king",
    "space",
    "heard",
    "best",
    "hour",
    "better",
    "true",
    "during",
    "hundred",
    "five",
    "remember",
    "step",
    "early",
    "hold",
    "west",
    "ground",
    "interest",
    "reach",
    "fast",
    "verb",
    "sing",
    "listen",
    "six",
    "table",
    "travel",
    "less",
    "morning",
    "ten",
    "simple",
    "several",
    "vowel",
    "toward",
    "war",
    "lay",
    "against",
    "pattern",
    "slow",
    "centre",
    "love",
    "person",
    "money",
    "serve",
    "appear",
    "road",
    "map",
    "rain",
    "rule",
    "govern",
    "pull",
    "cold",
    "notice",
    "voice",
    "unit",
    "power",
    "town",
    "fine",
    "certain",
    "fly",
    "fall",
    "lead",
    "cry",
    "dark",
    "machine",
    "note",
    "wait",
    "plan",
    "figure",
    "star",
    "box",
    "noun",
    "field",
    "rest",
    "correct",
    "able",
    "pound",
    "done",
    "beauty",
    "drive",
    "stood",
    "contain",
    "front",
    "teach",
    "week",
    "final",
    "gave",
    "green",
    "oh",
    "quick",
    "develop",
    "ocean",
    "warm",
    "free",
    "minute",
    "strong",
    "special",
    "mind",
    "behind",
    "clear",
    "tail",
    "produce",
    "fact",
    "street",
    "inch",
    "multiply",
    "nothing",
    "course",
    "stay",
    "wheel",
    "full",
    "force",
    "blue",
    "object",
    "decide",
    "surface",
    "deep",
    "moon",
    "island",
    "foot",
    "system",
    "busy",
    "test",
    "record",
    "boat",
    "common",
    "gold",
    "possible",
    "plane",
    "stead",
    "dry",
    "wonder",
    "laugh",
    "thousand",
    "ago",
    "ran",
    "check",
    "game",
    "shape",
    "equate",
    "hot",
    "miss",
    "brought",
    "heat",
    "snow",
    "tire",
    "bring",
    "yes",
    "distant",
    "fill",
    "east",
    "paint",
    "language",
    "among",
    "coffee",
    "rust",
    "compiler",
    "database",
    "search",
    "latency",
    "benchmark",
    "deploy",
    "kubernetes",
    "postgres",
    "sqlite",
    "index",
    "query",
    "thread",
    "async",
    "tokio",
    "server",
    "client",
    "request",
    "response",
    "cache",
    "memory",
    "disk",
    "network",
    "cloud",
];

/// Words one thought in a hundred draws instead of a listed one: non-ASCII
/// letters, other scripts, emoji, tags and numbers, so that folding and the
/// trigram indexes meet more than ASCII.
const EXTRA: &[&str] = &[
    "café",
    "naïve",
    "über",
    "façade",
    "smörgåsbord",
    "jalapeño",
    "déjà",
    "vu",
    "crème",
    "brûlée",
    "straße",
    "fiancée",
    "señor",
    "mañana",
    "αλήθεια",
    "οδός",
    "москва",
    "привет",
    "東京",
    "こんにちは",
    "😀",
    "🎉",
    "🚀",
    "☕",
    "❤️",
    "#rustlang",
    "#til",
    "@grace",
    "@ada",
    "100%",
    "e-mail",
    "o'clock",
    "3.14",
    "2026",
];
