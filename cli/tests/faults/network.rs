//! Added latency, dropped connections and resets between the frontend and
//! the thoughts service (the fault proxy in between): deadlines hold, and
//! retries stay within their budget, counted by the frontend's metrics and
//! by the proxy.

use crate::proxy::FaultProxy;
use crate::support::*;
use std::time::{Duration, Instant};

/// The retry budget the frontend is given (`OUTGOING_RETRY_BUDGET_PERCENT`)
/// and the retries a quiet client may always make per second
/// (`OUTGOING_RETRY_MIN_PER_SECOND`).
/// Both at their defaults. The budget's window (tower's `TpsBudget`) is
/// 10 s: a quiet client starts with the minimum for a whole window.
const BUDGET_PERCENT: u64 = 20;
const RETRY_MIN_PER_SECOND: u64 = 1;
const BUDGET_WINDOW: Duration = Duration::from_secs(10);

/// How long each phase lasts.
const PHASE: Duration = Duration::from_secs(3);

struct Phase {
    name: &'static str,
    delay_ms: u64,
    drop_percent: u64,
    reset_percent: u64,
}

const PHASES: [Phase; 6] = [
    Phase {
        name: "clean",
        delay_ms: 0,
        drop_percent: 0,
        reset_percent: 0,
    },
    Phase {
        name: "+300 ms latency",
        delay_ms: 300,
        drop_percent: 0,
        reset_percent: 0,
    },
    Phase {
        name: "30 % of requests dropped",
        delay_ms: 0,
        drop_percent: 30,
        reset_percent: 0,
    },
    Phase {
        name: "30 % of responses reset halfway",
        delay_ms: 0,
        drop_percent: 0,
        reset_percent: 30,
    },
    Phase {
        name: "+1500 ms latency (past the deadline)",
        delay_ms: 1500,
        drop_percent: 0,
        reset_percent: 0,
    },
    Phase {
        name: "clean again",
        delay_ms: 0,
        drop_percent: 0,
        reset_percent: 0,
    },
];

/// The frontend's counters for the thoughts target.
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    retries: f64,
    fast_failed: f64,
    present: bool,
}

async fn counters(admin: &str) -> Counters {
    let m = Metrics::read(admin).await;
    Counters {
        retries: m.sum("outgoing_retries_total", &[("target", "thoughts")]),
        fast_failed: m.sum(
            "outgoing_requests_total",
            &[("target", "thoughts"), ("outcome", "breaker_open")],
        ),
        present: m.value("outgoing_retries_total", &[("target", "thoughts")]).is_some(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "fault suite: run by .ci/run"]
async fn latency_drops_and_resets_keep_deadlines_and_retries_stay_within_budget() {
    let data = tempfile::tempdir().expect("temp dir");
    let users = Service::start("users", users_env(&sqlite_url(data.path(), "users")));
    let thoughts = Service::start("thoughts", thoughts_env(&sqlite_url(data.path(), "thoughts")));
    let proxy = FaultProxy::start(thoughts.port).await;
    let mut env = frontend_env(&users.url(), &proxy.url());
    env.push(("OUTGOING_RETRY_BUDGET_PERCENT".into(), BUDGET_PERCENT.to_string()));
    env.push(("OUTGOING_RETRY_MIN_PER_SECOND".into(), RETRY_MIN_PER_SECOND.to_string()));
    let frontend = Service::start("frontend", env);
    testkit::wait_ready(&frontend.url()).await;
    let posted = post_thought(&http(), &thoughts.url(), &bearer("alice"), "through the proxy")
        .await
        .expect("sent");
    assert_eq!(posted.status(), 201);

    let (client, page) = (http(), format!("{}/users/alice/", frontend.url()));
    let load = Load::start(4, Duration::from_millis(50), move |_, _| {
        let (client, page) = (client.clone(), page.clone());
        async move { (Outcome::of(client.get(&page).send().await).await, String::new()) }
    });
    load.wait_for("first pages", Duration::from_secs(20), |s| {
        s.iter().any(|s| s.outcome.status() == Some(200))
    })
    .await;

    let started = Instant::now();
    let seen_before = proxy.seen();
    let counters_before = counters(&frontend.admin_url()).await;
    let mut bounds = Vec::new();
    for phase in &PHASES {
        proxy.set(phase.delay_ms, phase.drop_percent, phase.reset_percent);
        let from = Instant::now();
        let seen = proxy.seen();
        let metrics = counters(&frontend.admin_url()).await;
        load.wait_for(phase.name, PHASE + Duration::from_secs(10), |s| {
            s.iter().any(|s| s.started >= from + PHASE)
        })
        .await;
        bounds.push((from, seen, metrics));
    }
    // Recovery: pages come back once the faults are gone (the last phase
    // is clean); give it until normal pages flow.
    let cleared_at = bounds.last().map(|(from, _, _)| *from).expect("phases");
    let samples = load.stop().await;
    let seen_after = proxy.seen();
    let counters_after = counters(&frontend.admin_url()).await;
    let elapsed = started.elapsed();

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (i, phase) in PHASES.iter().enumerate() {
        let (from, seen_from, metrics_from) = bounds[i];
        let (to, seen_to, metrics_to) = match bounds.get(i + 1) {
            Some(next) => *next,
            None => (Instant::now(), seen_after, counters_after),
        };
        // Requests sent once the phase's faults apply, answered in it.
        let inside: Vec<Sample> = sent_between(&samples, from, to - DEADLINE - MARGIN);
        let s = Summary::of(&inside);
        let min_latency = inside.iter().map(|s| s.latency).min().unwrap_or_default();
        let proxy = seen_to - seen_from;
        rows.push(format!(
            "{}: {s}, min latency {} ms; proxy saw {} calls ({} dropped, {} reset, {} delayed); \
             frontend retries {}, failed fast {}",
            phase.name,
            ms(min_latency),
            proxy.api_requests,
            proxy.dropped,
            proxy.reset,
            proxy.delayed,
            metrics_to.retries - metrics_from.retries,
            metrics_to.fast_failed - metrics_from.fast_failed,
        ));
        let only = |allowed: &[u16]| s.by_status.keys().all(|k| allowed.contains(k));
        let ok = match phase.name {
            "clean" => s.status(200) == s.sent,
            "+300 ms latency" => s.status(200) == s.sent && min_latency >= Duration::from_millis(300),
            "+1500 ms latency (past the deadline)" => s.degraded == s.sent,
            "clean again" => true, // checked below, from the first normal page on
            _ => only(&[200, 503]) && s.status(503) == s.degraded,
        };
        if !ok {
            failures.push(format!("{}: {s}", phase.name));
        }
    }
    let to_normal = first_answer_after(&samples, cleared_at, |s| {
        s.started >= cleared_at && s.outcome.status() == Some(200)
    });
    let all = Summary::of(&samples);
    let seen = seen_after - seen_before;
    let retries = counters_after.retries - counters_before.retries;
    let fast_failed = counters_after.fast_failed - counters_before.fast_failed;
    let pages = sent_between(&samples, started, Instant::now()).len() as f64;
    // The proxy counts as retries the requests whose x-request-id it has
    // seen before (every attempt of a page's call carries the page's id).
    // The metrics also count retries that never reached the network: those
    // the open breaker failed at once, and the version polls' (no id).
    let proxy_retries = seen.repeated as f64;
    let budget =
        pages * BUDGET_PERCENT as f64 / 100.0 + RETRY_MIN_PER_SECOND as f64 * elapsed.max(BUDGET_WINDOW).as_secs_f64();
    report(
        "latency, drops and resets between frontend and thoughts",
        &format!(
            "a TCP fault proxy in front of thoughts, {} s per phase: {}; load 4×20 pages/s of /users/alice/",
            PHASE.as_secs(),
            PHASES.iter().map(|p| p.name).collect::<Vec<_>>().join(" → ")
        ),
        &format!(
            "all: {all}; {}; clean again → first normal page {} ms; pages {pages}, requests seen by the proxy {} \
             ({} for pages, {} version polls, {} connections); retries counted by the frontend's metrics {retries}, \
             by the proxy (repeated request ids) {proxy_retries}, budget {budget:.0} ({BUDGET_PERCENT} % of pages + \
             {RETRY_MIN_PER_SECOND}/s); attempts failed fast by the open breaker {fast_failed}",
            rows.join("; "),
            to_normal.map_or("never".into(), |d| ms(d).to_string()),
            seen.requests,
            seen.api_requests,
            seen.anonymous,
            seen.connections,
        ),
    );

    assert_eq!(all.status(500), 0, "no 500: {all}");
    assert_eq!(all.failed(), 0, "every page answered: {all}");
    assert!(
        all.max_latency <= DEADLINE + MARGIN,
        "no page past the deadline ({DEADLINE:?} + {MARGIN:?}): {all}"
    );
    assert!(failures.is_empty(), "phases out of bounds: {failures:#?}");
    assert!(
        to_normal.is_some_and(|d| d <= Duration::from_secs(5)),
        "normal pages within 5 s of the faults ending: {to_normal:?}"
    );
    assert!(
        counters_after.present,
        "outgoing_retries_total{{target=\"thoughts\"}} is on the frontend's /metrics (kit's client, issue 11 part 1)"
    );
    assert!(retries >= 1.0, "drops and resets of idempotent calls were retried");
    assert!(retries <= budget, "retries {retries} within the budget {budget:.0}");
    assert!(
        proxy_retries <= retries && retries - proxy_retries <= fast_failed + 2.0 * seen.anonymous as f64,
        "the proxy and the metrics agree on the retries: proxy {proxy_retries}, metrics {retries} \
         (of which at most {fast_failed} stopped by the breaker and {} of version polls)",
        2 * seen.anonymous
    );
    drop((users, thoughts, frontend));
}
