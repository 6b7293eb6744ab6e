//! The gate's policy (`apicompat::release`) and the `api-compat` binary.

use apicompat::release::{Version, gate, releases};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

fn document(fields: &[&str]) -> Value {
    let properties: serde_json::Map<String, Value> = fields
        .iter()
        .map(|f| (f.to_string(), json!({"type": "string"})))
        .collect();
    json!({
        "openapi": "3.1.0", "info": {"title": "t", "version": "0"},
        "paths": {"/things/": {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": {"type": "object", "properties": properties}
        }}}}}}}
    })
}

fn write(dir: &Path, name: &str, value: &Value) {
    std::fs::write(dir.join(name), serde_json::to_string_pretty(value).expect("serializes")).expect("write");
}

fn v(text: &str) -> Version {
    Version::parse(text).expect("a valid version")
}

#[test]
fn versions_parse_as_major_minor_patch_only() {
    assert_eq!(
        v("1.20.3"),
        Version {
            major: 1,
            minor: 20,
            patch: 3
        }
    );
    for bad in ["1.2", "1.2.3.4", "01.2.3", "1.2.x", "1.2.3-rc.1", "", "v1.2.3"] {
        assert_eq!(Version::parse(bad), None, "{bad:?}");
    }
    assert!(v("0.10.0") > v("0.9.1"), "numeric, not text, order");
}

#[test]
fn only_a_new_major_version_may_break_and_before_1_0_a_new_minor() {
    assert!(v("2.0.0").may_break(&v("1.4.2")));
    assert!(!v("1.5.0").may_break(&v("1.4.2")));
    assert!(v("0.2.0").may_break(&v("0.1.3")));
    assert!(v("1.0.0").may_break(&v("0.9.0")));
    assert!(!v("0.1.4").may_break(&v("0.1.3")));
    assert!(v("0.0.2").may_break(&v("0.0.1")));
    assert!(!v("0.1.0").may_break(&v("0.1.0")), "the same version never");
}

#[test]
fn releases_are_listed_in_version_order_and_a_misnamed_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(
        releases(&dir.path().join("none"))
            .expect("a missing folder has none")
            .is_empty()
    );
    for name in ["0.10.0.json", "0.2.0.json", "0.9.1.json"] {
        write(dir.path(), name, &document(&[]));
    }
    let listed: Vec<String> = releases(dir.path())
        .expect("listed")
        .into_iter()
        .map(|(version, _)| version.to_string())
        .collect();
    assert_eq!(listed, ["0.2.0", "0.9.1", "0.10.0"]);
    write(dir.path(), "latest.json", &document(&[]));
    let error = releases(dir.path()).expect_err("a misnamed baseline is not skipped");
    assert!(error.to_string().contains("latest.json"), "{error}");
}

#[test]
fn the_gate_checks_against_the_newest_release_not_newer_than_the_version() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "0.1.0.json", &document(&["id"]));
    write(dir.path(), "0.2.0.json", &document(&["id", "text"]));
    write(dir.path(), "0.3.0.json", &document(&["id", "text", "likes"]));
    // 0.2.x is checked against 0.2.0: `text` must stay, `likes` need not exist yet.
    let result = gate(dir.path(), "0.2.1", &document(&["id", "text"])).expect("checked");
    assert_eq!(result.baseline, Some(v("0.2.0")));
    assert!(result.passed(), "{result}");
    let removed = gate(dir.path(), "0.2.1", &document(&["id"])).expect("checked");
    assert!(!removed.passed(), "{removed}");
    let text = removed.to_string();
    assert!(text.contains("`text`: field removed"), "{text}");
    assert!(
        text.contains("docs/independent-releases.md"),
        "the failure says what to do: {text}"
    );
}

#[test]
fn a_breaking_change_passes_the_gate_only_in_a_new_major_version_and_is_still_listed() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "0.1.0.json", &document(&["id", "text"]));
    let same_series = gate(dir.path(), "0.1.0", &document(&["id"])).expect("checked");
    assert!(!same_series.passed());
    let patch = gate(dir.path(), "0.1.1", &document(&["id"])).expect("checked");
    assert!(!patch.passed());
    let major = gate(dir.path(), "0.2.0", &document(&["id"])).expect("checked");
    assert!(major.passed(), "{major}");
    assert!(major.report.is_breaking());
    assert!(
        major
            .to_string()
            .contains("allowed: 0.2.0 is a new major version of 0.1.0"),
        "{major}"
    );
}

#[test]
fn without_an_older_release_there_is_nothing_to_break() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "1.0.0.json", &document(&["id"]));
    let result = gate(dir.path(), "0.9.0", &document(&[])).expect("checked");
    assert_eq!(result.baseline, None);
    assert!(result.passed());
    assert!(
        gate(dir.path(), "one", &document(&[])).is_err(),
        "a version that does not parse"
    );
}

fn api_compat(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_api-compat"))
        .args(args)
        .output()
        .expect("api-compat runs");
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_binary_exits_1_on_a_breaking_change_0_otherwise_and_2_on_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    write(dir.path(), "old.json", &document(&["id", "text"]));
    write(dir.path(), "added.json", &document(&["id", "text", "likes"]));
    write(dir.path(), "removed.json", &document(&["id"]));
    std::fs::write(dir.path().join("broken.json"), "{ not json").expect("write");
    let path = |name: &str| dir.path().join(name).into_os_string();

    let (code, out, _) = api_compat(&[&path("old.json"), &path("added.json")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 breaking, 1 non-breaking"), "{out}");
    assert!(
        out.contains("ok        GET /things/  response 200 (application/json) `likes`: field added"),
        "{out}"
    );

    let (code, out, _) = api_compat(&[&path("old.json"), &path("removed.json")]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("BREAKING  GET /things/  response 200 (application/json) `text`: field removed"),
        "{out}"
    );

    let (code, _, err) = api_compat(&[&path("old.json"), &path("broken.json")]);
    assert_eq!(code, 2);
    assert!(err.contains("broken.json: not JSON"), "{err}");
    let (code, _, err) = api_compat(&[&path("old.json")]);
    assert_eq!(code, 2);
    assert!(err.contains("usage: api-compat"), "{err}");
}

#[test]
fn the_binary_runs_the_gate_against_a_folder_of_releases() {
    let dir = tempfile::tempdir().expect("temp dir");
    let released = dir.path().join("released");
    std::fs::create_dir(&released).expect("mkdir");
    write(&released, "0.1.0.json", &document(&["id", "text"]));
    write(dir.path(), "removed.json", &document(&["id"]));
    let new = dir.path().join("removed.json").into_os_string();
    let run = |version: &str| {
        api_compat(&[
            "--released".as_ref(),
            released.as_os_str(),
            "--version".as_ref(),
            version.as_ref(),
            &new,
        ])
    };
    let (code, out, _) = run("0.1.1");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("0.1.1 against the released 0.1.0: 1 breaking"), "{out}");
    let (code, out, _) = run("0.2.0");
    assert_eq!(code, 0, "{out}");
}
