//! Stop PostgreSQL for 10 s under load (a private cluster of this test,
//! never the shared one), then start it again.

use crate::support::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn ready_load(url: String) -> Load {
    let client = http();
    Load::start(1, Duration::from_millis(200), move |_, _| {
        let (client, url) = (client.clone(), url.clone());
        async move { (Outcome::of(client.get(&url).send().await).await, String::new()) }
    })
}

/// The first answer with `status` among those sent in `[from, to)`, as a
/// delay after `from`.
fn first_status(samples: &[Sample], from: Instant, to: Instant, status: u16) -> Option<Duration> {
    sent_between(samples, from, to)
        .iter()
        .filter(|s| s.outcome.status() == Some(status))
        .map(|s| s.ended() - from)
        .min()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "fault suite: run by .ci/run"]
async fn a_postgres_outage_makes_backends_not_ready_then_they_recover_without_losing_a_write() {
    let cluster = tokio::task::block_in_place(testkit::PrivateCluster::start);
    cluster.create_database("users").await;
    cluster.create_database("thoughts").await;
    let mut users = Service::start("users", users_env(&cluster.url("users")));
    let mut thoughts = Service::start("thoughts", thoughts_env(&cluster.url("thoughts")));
    let (users_pid, thoughts_pid) = (users.process.pid(), thoughts.process.pid());
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    sign_up(&users.url(), "carol", &password).await;
    let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();

    // Writes: two authors' worth of posts (20/s), one sign-up every 300 ms,
    // and each backend's /readyz polled every 200 ms.
    let (client, base, token, tag) = (http(), thoughts.url(), bearer("carol"), run.clone());
    let writes = Load::start(2, Duration::from_millis(100), move |w, n| {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        let text = format!("pg-{tag}-{w}-{n}");
        async move {
            let result = post_thought(&client, &base, &token, &text).await;
            (Outcome::of(result).await, text)
        }
    });
    let (client, base, tag, secret) = (http(), users.url(), run.clone(), password.clone());
    let sign_ups = Load::start(1, Duration::from_millis(300), move |_, n| {
        let (client, base, secret) = (client.clone(), base.clone(), secret.clone());
        let username = format!("pg{n}x{tag}");
        async move {
            let result = client
                .post(format!("{base}/api/users/"))
                .form(&[("username", username.as_str()), ("password", secret.as_str())])
                .send()
                .await;
            (Outcome::of(result).await, username)
        }
    });
    let users_ready = ready_load(format!("{}/readyz", users.url()));
    let thoughts_ready = ready_load(format!("{}/readyz", thoughts.url()));
    writes
        .wait_for("writes before the outage", Duration::from_secs(30), |s| {
            s.iter().filter(|s| s.outcome.status() == Some(201)).count() >= 20
        })
        .await;

    let stopping_at = Instant::now();
    tokio::task::block_in_place(|| cluster.stop());
    let stopped_at = Instant::now();
    let outage = Duration::from_secs(10);
    hold_until(stopped_at, outage).await;
    tokio::task::block_in_place(|| cluster.start_again());
    let up_at = Instant::now();
    for (name, load) in [("users", &users_ready), ("thoughts", &thoughts_ready)] {
        load.wait_for(&format!("{name} ready again"), Duration::from_secs(20), |s| {
            s.iter().any(|s| s.started >= up_at && s.outcome.status() == Some(200))
        })
        .await;
    }
    writes
        .wait_for("writes accepted again", Duration::from_secs(20), |s| {
            s.iter().any(|s| s.started >= up_at && s.outcome.status() == Some(201))
        })
        .await;
    let recovered_at = Instant::now();
    writes
        .wait_for("1 s after recovery", Duration::from_secs(10), |s| {
            s.iter().any(|s| s.started > recovered_at + Duration::from_secs(1))
        })
        .await;
    let write_samples = writes.stop().await;
    let sign_up_samples = sign_ups.stop().await;
    let users_ready = users_ready.stop().await;
    let thoughts_ready = thoughts_ready.stop().await;

    // What is stored, read back through the recovered service.
    let stored = stored_texts(&thoughts.url(), &bearer("carol")).await;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for text in stored.iter().filter(|t| t.starts_with(&format!("pg-{run}-"))) {
        *counts.entry(text.as_str()).or_default() += 1;
    }
    let acked: Vec<&Sample> = write_samples
        .iter()
        .filter(|s| s.outcome.status() == Some(201))
        .collect();
    let lost: Vec<&str> = acked
        .iter()
        .map(|s| s.tag.as_str())
        .filter(|t| !counts.contains_key(t))
        .collect();
    let duplicated = counts.values().filter(|n| **n > 1).count();
    let sent: std::collections::BTreeSet<&str> = write_samples.iter().map(|s| s.tag.as_str()).collect();
    let unknown = counts.keys().filter(|t| !sent.contains(*t)).count();
    let refused_yet_stored = write_samples
        .iter()
        .filter(|s| s.outcome.status() == Some(503) && counts.contains_key(s.tag.as_str()))
        .count();
    // Every account whose sign-up was acknowledged can sign in.
    let mut accounts_lost = Vec::new();
    let client = http();
    for s in sign_up_samples.iter().filter(|s| s.outcome.status() == Some(201)) {
        let login = client
            .post(format!("{}/api/login/", users.url()))
            .form(&[("username", s.tag.as_str()), ("password", password.as_str())])
            .send()
            .await
            .expect("login sent");
        if login.status() != 200 {
            accounts_lost.push(s.tag.clone());
        }
    }

    let window_end = up_at;
    let users_unready = first_status(&users_ready, stopped_at, window_end, 503);
    let thoughts_unready = first_status(&thoughts_ready, stopped_at, window_end, 503);
    let users_back = first_status(&users_ready, up_at, Instant::now(), 200);
    let thoughts_back = first_status(&thoughts_ready, up_at, Instant::now(), 200);
    let writes_summary = Summary::of(&write_samples);
    let sign_up_summary = Summary::of(&sign_up_samples);
    let outage_writes = Summary::of(&sent_between(&write_samples, stopped_at, up_at));
    let show = |d: Option<Duration>| d.map_or("never".to_owned(), |d| ms(d).to_string());
    report(
        "PostgreSQL stopped 10 s under load",
        &format!(
            "pg_ctl stop -m fast on the test's own cluster ({} ms to stop), down {} ms, started again; \
             2×10 posts/s to thoughts and ~3 sign-ups/s to users meanwhile",
            ms(stopped_at - stopping_at),
            ms(up_at - stopped_at)
        ),
        &format!(
            "posts: {writes_summary}; posts sent during the outage: {outage_writes}; sign-ups: {sign_up_summary}; \
             /readyz 503 after stop: users {} ms, thoughts {} ms; /readyz 200 after start: users {} ms, thoughts {} ms; \
             acknowledged posts {} → stored {}, lost {}, duplicated {duplicated}, unknown {unknown}, 503 yet stored {refused_yet_stored}; \
             acknowledged sign-ups {} → lost {}; processes restarted: {}",
            show(users_unready),
            show(thoughts_unready),
            show(users_back),
            show(thoughts_back),
            acked.len(),
            counts.len(),
            lost.len(),
            sign_up_summary.status(201),
            accounts_lost.len(),
            users.process.pid() != users_pid || thoughts.process.pid() != thoughts_pid,
        ),
    );

    assert!(users_unready.is_some(), "users reported not ready during the outage");
    assert!(
        thoughts_unready.is_some(),
        "thoughts reported not ready during the outage"
    );
    assert!(
        users_back.is_some_and(|d| d <= Duration::from_secs(10))
            && thoughts_back.is_some_and(|d| d <= Duration::from_secs(10)),
        "both ready again within 10 s of the start: users {users_back:?}, thoughts {thoughts_back:?}"
    );
    assert!(
        users.process.is_running() && thoughts.process.is_running(),
        "recovered without restarting"
    );
    assert!(lost.is_empty(), "acknowledged posts lost: {lost:?}");
    assert!(
        accounts_lost.is_empty(),
        "acknowledged sign-ups lost: {accounts_lost:?}"
    );
    assert_eq!(duplicated, 0, "no post stored twice");
    assert_eq!(unknown, 0, "nothing stored that was not sent");
    for (what, s) in [("posts", &writes_summary), ("sign-ups", &sign_up_summary)] {
        assert_eq!(s.status(500), 0, "{what}: an outage is a 503, not a 500: {s}");
        assert!(
            s.by_status.keys().all(|k| [201, 503].contains(k)),
            "{what}: only 201 or 503: {s}"
        );
    }
    assert!(
        outage_writes.status(503) > 0,
        "posts during the outage are refused with 503"
    );
    users.stop();
    thoughts.stop();
}
