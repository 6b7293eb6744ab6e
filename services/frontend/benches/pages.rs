//! What the frontend spends on a page once the backend has answered:
//! decoding the thoughts' JSON, turning them into views (relative and exact
//! times) and rendering the askama templates. A 1000-item list page (the
//! most the thoughts API returns at once) and the signed-in home page.
//!
//! `cargo bench -p frontend`

#![allow(missing_docs)]

use askama::Template;
use chrono::{Duration, Utc};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use frontend::pages::PAGE_SIZE;
use frontend::views::{HomePage, Layout, ThoughtView, UserPage};
use std::hint::black_box;
use thoughts_api::Thought;

/// `n` thoughts by `username`, newest first, a minute apart, each with a
/// character or two that the templates must escape.
fn thoughts(n: usize, username: &str) -> Vec<Thought> {
    let now = Utc::now().naive_utc();
    (0..n)
        .map(|i| Thought {
            id: i64::try_from(n - i).unwrap_or(i64::MAX),
            username: username.to_owned(),
            text: format!("Thought number {i}: <words> & \"quotes\" — {}", "words ".repeat(20)),
            timestamp: now - Duration::minutes(i64::try_from(i).unwrap_or(0)),
        })
        .collect()
}

fn layout(user: &str) -> Layout {
    Layout {
        user: Some(user.to_owned()),
        csrf: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".to_owned(),
        search: String::new(),
        notice: None,
    }
}

fn home(thoughts: Vec<Thought>) -> HomePage {
    HomePage {
        layout: layout("alice"),
        older_href: Some("/thoughts/?before=51".to_owned()),
        thoughts: ThoughtView::list(thoughts, Some("alice")),
        draft: String::new(),
        error: None,
        loaded: true,
    }
}

fn user_page(thoughts: Vec<Thought>) -> UserPage {
    UserPage {
        layout: layout("alice"),
        older_href: None,
        username: "bob".to_owned(),
        thoughts: ThoughtView::list(thoughts, Some("alice")),
        loaded: true,
    }
}

fn render(page: &impl Template) -> String {
    page.render().unwrap_or_else(|e| panic!("render: {e}"))
}

fn pages(c: &mut Criterion) {
    let mut group = c.benchmark_group("pages");

    // The home page of a user with 100 thoughts shows the newest page of
    // them (PAGE_SIZE); 100 is the same page twice as long.
    let page = usize::try_from(PAGE_SIZE).unwrap_or(50);
    for n in [page, 100] {
        let mine = thoughts(n, "alice");
        let json = serde_json::to_string(&mine).unwrap_or_else(|e| panic!("json: {e}"));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("home: decode JSON", n), &json, |b, json| {
            b.iter(|| serde_json::from_str::<Vec<Thought>>(black_box(json)))
        });
        group.bench_with_input(BenchmarkId::new("home: views", n), &mine, |b, mine| {
            b.iter_batched(
                || mine.clone(),
                |t| ThoughtView::list(t, Some("alice")),
                BatchSize::SmallInput,
            )
        });
        let built = home(mine.clone());
        group.bench_with_input(BenchmarkId::new("home: render", n), &built, |b, built| {
            b.iter(|| render(black_box(built)))
        });
        group.bench_with_input(BenchmarkId::new("home: decode, views, render", n), &json, |b, json| {
            b.iter(|| {
                let decoded: Vec<Thought> = serde_json::from_str(black_box(json)).unwrap_or_default();
                render(&home(decoded))
            })
        });
    }

    let many = thoughts(1000, "bob");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("list of 1000: views", |b| {
        b.iter_batched(
            || many.clone(),
            |t| ThoughtView::list(t, Some("alice")),
            BatchSize::SmallInput,
        )
    });
    let built = user_page(many.clone());
    group.bench_function("list of 1000: render", |b| b.iter(|| render(black_box(&built))));
    group.bench_function("list of 1000: views and render", |b| {
        b.iter_batched(|| many.clone(), |t| render(&user_page(t)), BatchSize::SmallInput)
    });
    group.finish();
}

criterion_group!(benches, pages);
criterion_main!(benches);
