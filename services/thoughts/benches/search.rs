//! What a search costs before it reaches the database: parsing and folding
//! the needle (`SearchNeedle::parse`), and encoding it for each engine's
//! statement (the FTS5 phrase or folded needle on SQLite, the escaped
//! `like` pattern on PostgreSQL).
//!
//! `cargo bench -p thoughts`

#![allow(missing_docs)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use thoughts::domain::{Order, SearchNeedle};
use thoughts::store::{Engine, Scope, search_statement};

/// Needles as people type them: a word, a phrase with a quote and
/// wildcards, non-ASCII (Greek final sigma, accents), and the longest allowed.
fn needles() -> Vec<(&'static str, String)> {
    vec![
        ("word", "rust".to_owned()),
        ("phrase", "say \"100% done\" with_care".to_owned()),
        ("non-ascii", "ΟΔΥΣΣΕΥΣ über Ünïcode".to_owned()),
        (
            "250 chars",
            "Lorem ipsum dolor sit amet, ".repeat(9).chars().take(250).collect(),
        ),
    ]
}

fn parse(s: &str) -> SearchNeedle {
    match SearchNeedle::parse(s) {
        Ok(Some(needle)) => needle,
        other => panic!("{s:?} is no needle: {other:?}"),
    }
}

fn search(c: &mut Criterion) {
    let mut group = c.benchmark_group("search needle");
    for (name, text) in needles() {
        group.bench_with_input(BenchmarkId::new("parse and fold", name), &text, |b, text| {
            b.iter(|| SearchNeedle::parse(black_box(text)))
        });
        let needle = parse(&text);
        for (engine, label) in [(Engine::Sqlite, "encode sqlite"), (Engine::Postgres, "encode postgres")] {
            group.bench_with_input(BenchmarkId::new(label, name), &needle, |b, needle| {
                b.iter(|| search_statement(engine, Scope::Everyone, black_box(needle), Order::NewestFirst))
            });
        }
        group.bench_with_input(BenchmarkId::new("parse and encode both", name), &text, |b, text| {
            b.iter(|| {
                let needle = parse(black_box(text));
                (
                    search_statement(Engine::Sqlite, Scope::Everyone, &needle, Order::NewestFirst),
                    search_statement(Engine::Postgres, Scope::Everyone, &needle, Order::NewestFirst),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
