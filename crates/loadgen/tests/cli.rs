//! The binary's command line, run as a user would (no system under test).

use std::process::{Command, Output};

fn loadgen(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mythoughts-loadgen"))
        .args(args)
        // Settings from the caller's environment must not leak in.
        .env_clear()
        .output()
        .expect("mythoughts-loadgen runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_our_flags_and_gooses() {
    let out = loadgen(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for flag in [
        "--frontend-url",
        "--users-url",
        "--thoughts-url",
        "--profile",
        "--peak-users",
        "--duration",
        "--mix",
        "--max-p95-ms",
        "--max-p99-ms",
        "--max-error-rate",
        "LOADGEN_MAX_ERROR_RATE",
        "--report-file",
        "--test-plan",
        "--threshold",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn bad_values_exit_64_with_one_line_naming_them() {
    for (args, names) in [
        (&["--max-error-rate", "101"][..], "--max-error-rate"),
        (&["--max-p95-ms", "0"][..], "--max-p95-ms"),
        (&["--profile", "flat"][..], "--profile"),
        (&["--profile", "spike", "--duration", "3"][..], "too short"),
        (&["--mix", "lurker=1"][..], "--mix"),
        (&["--mix", "api=1"][..], "api journey needs"),
        (&["--think-ms", "9-1"][..], "--think-ms"),
    ] {
        let out = loadgen(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {err}");
        assert!(err.contains(names), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn a_system_that_does_not_answer_fails_the_error_rate_threshold() {
    // A loopback port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = loadgen(&[
        "--frontend-url",
        &url,
        "--mix",
        "reader=1",
        "--think-ms",
        "100",
        "--test-plan",
        "1,0s;1,2s;0,0s",
        "--max-error-rate",
        "0",
        "--progress-seconds",
        "0",
        "--quiet",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("FAIL error-rate<=0%"), "{err}");
    assert!(text(&out.stdout).contains("MYTHOUGHTS-LOADGEN SUMMARY"), "{err}");
}
