//! kill -9 the thoughts service under steady load through the frontend,
//! then start it again on the same port with the same data.

use crate::support::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "fault suite: run by .ci/run"]
async fn killing_thoughts_gives_the_degraded_page_at_once_and_a_restart_brings_pages_back() {
    let data = tempfile::tempdir().expect("temp dir");
    let users = Service::start("users", users_env(&sqlite_url(data.path(), "users")));
    let mut thoughts = Service::start("thoughts", thoughts_env(&sqlite_url(data.path(), "thoughts")));
    let frontend = Service::start("frontend", frontend_env(&users.url(), &thoughts.url()));
    testkit::wait_ready(&frontend.url()).await;
    let marker = format!("kill-{}", uuid::Uuid::new_v4().simple());
    let posted = post_thought(&http(), &thoughts.url(), &bearer("alice"), &marker)
        .await
        .expect("sent");
    assert_eq!(posted.status(), 201);

    // Steady load: four readers of alice's page (one thoughts call each),
    // 25 pages a second each. A normal page shows her thought.
    let page = format!("{}/users/alice/", frontend.url());
    let client = http();
    let load = Load::start(4, Duration::from_millis(40), move |_, _| {
        let (client, page, marker) = (client.clone(), page.clone(), marker.clone());
        async move {
            let result = client.get(&page).send().await;
            let outcome = match result {
                Ok(r) if r.status() == 200 => match r.text().await {
                    Ok(body) if body.contains(&marker) => Outcome::Answered {
                        status: 200,
                        degraded: false,
                    },
                    Ok(_) => Outcome::Answered {
                        status: 299, // a 200 without the thought: counted apart
                        degraded: false,
                    },
                    Err(e) => Outcome::NoAnswer(e.to_string()),
                },
                other => Outcome::of(other).await,
            };
            (outcome, String::new())
        }
    });
    load.wait_for("normal pages before the kill", Duration::from_secs(20), |s| {
        s.iter().filter(|s| s.outcome.status() == Some(200)).count() >= 50
    })
    .await;

    let killed_at = Instant::now();
    thoughts.kill9();
    load.wait_for("the degraded page after the kill", Duration::from_secs(10), |s| {
        s.iter().any(|s| s.ended() > killed_at && s.outcome.degraded())
    })
    .await;
    // Stay down 3 s: every page meanwhile must be the degraded one.
    hold_until(killed_at, Duration::from_secs(3)).await;

    let restarted_at = Instant::now();
    thoughts.restart();
    let listening = restarted_at.elapsed();
    load.wait_for("a normal page after the restart", Duration::from_secs(15), |s| {
        s.iter()
            .any(|s| s.started >= restarted_at && s.outcome.status() == Some(200))
    })
    .await;
    let first_ok = load
        .samples()
        .iter()
        .filter(|s| s.started >= restarted_at && s.outcome.status() == Some(200))
        .map(Sample::ended)
        .min()
        .expect("a normal page");
    // One more second of load after the first normal page.
    load.wait_for("1 s after recovery", Duration::from_secs(10), |s| {
        s.iter().any(|s| s.started > first_ok + Duration::from_secs(1))
    })
    .await;
    let samples = load.stop().await;

    let all = Summary::of(&samples);
    let to_degraded = first_answer_after(&samples, killed_at, |s| s.outcome.degraded());
    // Sent after the kill, and early enough to be answered before the
    // restart: each must be the degraded page.
    let during = sent_between(
        &samples,
        killed_at + Duration::from_millis(100),
        restarted_at - DEADLINE - MARGIN,
    );
    let during_summary = Summary::of(&during);
    let to_normal = first_ok - restarted_at;
    let after = sent_between(&samples, first_ok + Duration::from_millis(500), Instant::now());
    let after_summary = Summary::of(&after);
    report(
        "kill -9 thoughts under load, restart",
        &format!(
            "SIGKILL to thoughts under 4×25 pages/s of /users/alice/ via the frontend (deadline {} ms); \
             down {} ms, then started again on port {} with the same data",
            ms(DEADLINE),
            ms(restarted_at - killed_at),
            thoughts.port
        ),
        &format!(
            "all: {all}; kill → first degraded 503 page {} ms; during the outage: {during_summary}; \
             restart → listening {} ms, → first normal page {} ms; after recovery: {after_summary}",
            to_degraded.map_or("never".into(), |d| ms(d).to_string()),
            ms(listening),
            ms(to_normal)
        ),
    );

    assert!(
        to_degraded.is_some_and(|d| d <= Duration::from_secs(1)),
        "the degraded page within 1 s of the kill: {to_degraded:?}"
    );
    assert_eq!(all.status(500), 0, "no 500: {all}");
    assert_eq!(all.failed(), 0, "every request answered: {all}");
    assert!(
        all.max_latency <= DEADLINE + MARGIN,
        "no request past the deadline ({DEADLINE:?} + {MARGIN:?}): {all}"
    );
    assert_eq!(
        during_summary.degraded, during_summary.sent,
        "every page during the outage is the degraded page: {during_summary}"
    );
    assert!(
        to_normal <= Duration::from_secs(5),
        "normal pages within 5 s of the restart: {to_normal:?}"
    );
    assert_eq!(
        after_summary.status(200),
        after_summary.sent,
        "normal pages only, once recovered: {after_summary}"
    );
    drop(users);
}
