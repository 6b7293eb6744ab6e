//! SIGTERM under load: readiness flips, requests keep being served for the
//! drain period, then the process exits 0 — no request sent before the
//! drain ended fails.

use std::time::Duration;
use testkit::process::{ServiceProcess, hammer_through_shutdown};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_drains_without_failing_a_request_and_exits_0() {
    let data = tempfile::tempdir().expect("temp dir");
    let public = testkit::keys().public_path.display().to_string();
    let data_dir = data.path().display().to_string();
    let mut process = ServiceProcess::start(
        env!("CARGO_BIN_EXE_thoughts-service"),
        &[],
        &[
            ("PORT", "0"),
            ("HOST", "127.0.0.1"),
            // Not the default 9000, which another process may hold.
            ("ADMIN_PORT", "0"),
            ("ADMIN_HOST", "127.0.0.1"),
            ("PUBLIC_KEY_PATH", &public),
            ("DATA_DIR", &data_dir),
            ("SHUTDOWN_DRAIN_SECONDS", "1"),
            // This is about draining, not search admission (tests/api/admission.rs):
            // room for the eight hammering clients' searches.
            ("SEARCHES_PER_ADDRESS_PER_MINUTE", "1000000"),
            ("SEARCH_CONCURRENCY", "9"),
        ],
        1,
    );
    let base = format!("http://127.0.0.1:{}", process.port("thoughts"));
    testkit::wait_ready(&base).await;
    let urls = vec![
        format!("{base}/api/thoughts/"),
        format!("{base}/api/thoughts/?search=abc"),
        format!("{base}/healthz"),
    ];

    // Readiness must flip while the service still answers.
    let probe = {
        let base = base.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for _ in 0..2000 {
                if let Ok(r) = client.get(format!("{base}/readyz")).send().await
                    && r.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE
                {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            false
        })
    };
    let report = hammer_through_shutdown(&mut process, urls, 8, 200, Duration::from_secs(1)).await;
    println!("drain report: {report:?}");
    assert!(
        probe.await.expect("probe"),
        "readiness never reported 503 during the drain"
    );
    assert_eq!(report.failed, 0, "{:?}", report.failures);
    assert_eq!(report.exit_code, Some(0));
    assert!(report.ok > 200, "{report:?}");
    assert!(
        report.time_to_exit >= Duration::from_secs(1),
        "served for the whole drain: {report:?}"
    );
    assert!(
        report.time_to_exit < Duration::from_secs(30),
        "inside Kubernetes' grace period: {report:?}"
    );
    let log = process.log().join("\n");
    assert!(log.contains("shutting down: draining"), "{log}");
}
