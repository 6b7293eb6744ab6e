//! `deploy/release.sh`, run for real on a throwaway git repository holding
//! copies of the files it edits (the workspace's own, as they are now): what
//! a release changes, and what it refuses.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A git repository in a temporary directory with the files a release of
/// `users`, `thoughts` or `frontend` touches, committed.
struct Repo {
    dir: tempfile::TempDir,
}

fn git_env(command: &mut Command) -> &mut Command {
    command
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Release Test")
        .env("GIT_AUTHOR_EMAIL", "release@example.invalid")
        .env("GIT_COMMITTER_NAME", "Release Test")
        .env("GIT_COMMITTER_EMAIL", "release@example.invalid")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("a name"));
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

impl Repo {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = workspace();
        let copy = |relative: &str| {
            let target = dir.path().join(relative);
            std::fs::create_dir_all(target.parent().expect("a parent")).expect("mkdir");
            std::fs::copy(root.join(relative), &target).unwrap_or_else(|e| panic!("{relative}: {e}"));
        };
        for file in ["Cargo.toml", "Cargo.lock", "deploy/release.sh"] {
            copy(file);
        }
        for service in ["users", "thoughts", "frontend"] {
            for file in ["Cargo.toml", "CHANGELOG.md", "README.md"] {
                copy(&format!("services/{service}/{file}"));
            }
            let api = root.join("services").join(service).join("api");
            if api.is_dir() {
                copy_tree(&api, &dir.path().join("services").join(service).join("api"));
            }
        }
        // The throwaway repository starts as just after a release: whatever
        // the real tree has under Unreleased is not this test's.
        for service in ["users", "thoughts", "frontend"] {
            let file = dir.path().join("services").join(service).join("CHANGELOG.md");
            let text = std::fs::read_to_string(&file).expect("changelog");
            if let Some(start) = text.find("## [Unreleased]\n") {
                let body = start + "## [Unreleased]\n".len();
                let end = text[body..].find("\n## [").map_or(text.len(), |i| body + i + 1);
                let emptied = format!("{}\n{}", &text[..body], &text[end..]);
                std::fs::write(&file, emptied).expect("write changelog");
            }
        }
        let repo = Self { dir };
        repo.git(&["init", "--quiet", "--initial-branch=main"]);
        repo.commit_all("the workspace as it is now");
        for tag in ["users-v0.1.0", "thoughts-v0.1.0", "frontend-v0.1.0"] {
            repo.git(&["tag", "-a", tag, "-m", tag]);
        }
        repo
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    fn write(&self, relative: &str, text: &str) {
        std::fs::write(self.path(relative), text).unwrap_or_else(|e| panic!("{relative}: {e}"));
    }

    fn git(&self, args: &[&str]) -> String {
        let out = git_env(&mut Command::new("git"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "--quiet", "-m", message]);
    }

    /// Add a line under `## [Unreleased]` of the service's changelog, committed.
    fn note(&self, service: &str, line: &str) {
        let file = format!("services/{service}/CHANGELOG.md");
        let text = self.read(&file).replacen(
            "## [Unreleased]\n",
            &format!("## [Unreleased]\n\n### Added\n\n- {line}\n"),
            1,
        );
        self.write(&file, &text);
        self.commit_all(&format!("{service}: {line}"));
    }

    fn release(&self, service: &str, version: &str) -> Output {
        git_env(&mut Command::new("bash"))
            .arg(self.path("deploy/release.sh"))
            .args([service, version])
            .env("API_COMPAT", env!("CARGO_BIN_EXE_api-compat"))
            .current_dir(self.dir.path())
            .output()
            .expect("release.sh runs")
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[track_caller]
fn assert_refused(repo: &Repo, out: &Output, reason: &str) {
    assert!(!out.status.success(), "expected a refusal: {}", text(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(reason), "expected {reason:?} in {}", text(out));
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "a refused release changes no file"
    );
}

fn today() -> String {
    let out = Command::new("date").args(["-u", "+%F"]).output().expect("date runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn a_release_sets_the_version_everywhere_moves_the_notes_keeps_the_baseline_and_tags() {
    let repo = Repo::new();
    repo.note("users", "`GET /api/users/{username}/`: one account's public profile.");
    let before = repo.git(&["rev-parse", "HEAD"]);
    let out = repo.release("users", "0.2.0");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("git push origin HEAD users-v0.2.0"),
        "{}",
        text(&out)
    );

    // One commit on top, tagged, nothing left over.
    assert_eq!(repo.git(&["rev-parse", "HEAD~1"]), before);
    assert_eq!(repo.git(&["log", "-1", "--format=%s"]), "release: users 0.2.0");
    assert_eq!(
        repo.git(&["rev-parse", "users-v0.2.0^{commit}"]),
        repo.git(&["rev-parse", "HEAD"])
    );
    assert_eq!(repo.git(&["cat-file", "-t", "users-v0.2.0"]), "tag", "an annotated tag");
    assert_eq!(repo.git(&["status", "--porcelain"]), "");

    // The version, in every place that states it; the other services untouched.
    assert!(
        repo.read("services/users/Cargo.toml")
            .contains("\nversion = \"0.2.0\"\n")
    );
    let lock = repo.read("Cargo.lock");
    assert!(
        lock.contains("name = \"users\"\nversion = \"0.2.0\"\n"),
        "Cargo.lock's users entry"
    );
    assert!(
        lock.contains("name = \"users-api\"\nversion = \"0.1.0\"\n"),
        "users-api keeps its version"
    );
    assert!(
        repo.read("services/users/README.md")
            .contains("| `VERSION_NAME` | `0.2.0` |")
    );
    let changed = repo.git(&["diff", "--name-only", "HEAD~1", "HEAD"]);
    assert!(
        !changed.contains("services/thoughts") && !changed.contains("services/frontend"),
        "{changed}"
    );

    // The notes under the new version, an empty Unreleased above them.
    let changelog = repo.read("services/users/CHANGELOG.md");
    let expected = format!(
        "## [Unreleased]\n\n## [0.2.0] - {}\n\n### Added\n\n- `GET /api/users/{{username}}/`",
        today()
    );
    assert!(changelog.contains(&expected), "{changelog}");
    assert!(changelog.contains("## [0.1.0] - 2026-12-02"), "older entries stay");

    // The document's version, and its snapshot as the next baseline.
    let openapi: serde_json::Value = serde_json::from_str(&repo.read("services/users/api/openapi.json")).expect("JSON");
    assert_eq!(openapi["info"]["version"], "0.2.0");
    assert_eq!(
        repo.read("services/users/api/released/0.2.0.json"),
        repo.read("services/users/api/openapi.json")
    );
    assert!(
        repo.path("services/users/api/released/0.1.0.json").is_file(),
        "older baselines stay"
    );
    // Same bytes as the service's test writes (sorted keys, two spaces, final newline).
    let before: serde_json::Value =
        serde_json::from_str(&repo.git(&["show", "HEAD~1:services/users/api/openapi.json"])).expect("JSON");
    let mut expected = before.clone();
    expected["info"]["version"] = "0.2.0".into();
    let mut canonical = serde_json::to_string_pretty(&expected).expect("serializes");
    canonical.push('\n');
    assert_eq!(repo.read("services/users/api/openapi.json"), canonical);
}

#[test]
fn the_frontend_has_no_api_document_and_is_released_the_same_way() {
    let repo = Repo::new();
    repo.note("frontend", "A page of one thought.");
    let out = repo.release("frontend", "0.1.1");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        repo.read("services/frontend/Cargo.toml")
            .contains("\nversion = \"0.1.1\"\n")
    );
    assert!(
        repo.read("Cargo.lock")
            .contains("name = \"frontend\"\nversion = \"0.1.1\"\n")
    );
    assert_eq!(repo.git(&["tag", "-l", "frontend-v0.1.1"]), "frontend-v0.1.1");
    assert!(!repo.path("services/frontend/api").exists());
}

#[test]
fn a_breaking_change_is_refused_in_a_patch_release_and_allowed_in_a_new_major_one() {
    let repo = Repo::new();
    let file = "services/thoughts/api/openapi.json";
    let mut document: serde_json::Value = serde_json::from_str(&repo.read(file)).expect("JSON");
    let paths = document["paths"].as_object_mut().expect("paths");
    assert!(
        paths.remove("/api/thoughts/{id}/").is_some(),
        "the document has the path"
    );
    repo.write(
        file,
        &(serde_json::to_string_pretty(&document).expect("serializes") + "\n"),
    );
    repo.commit_all("thoughts: drop GET /api/thoughts/<id>/");
    repo.note("thoughts", "Removed `GET /api/thoughts/<id>/`.");

    let out = repo.release("thoughts", "0.1.1");
    assert_refused(&repo, &out, "the API compatibility gate refused thoughts 0.1.1");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("BREAKING  /api/thoughts/{id}/: path removed"),
        "{}",
        text(&out)
    );
    assert_eq!(repo.git(&["tag", "-l", "thoughts-v0.1.1"]), "", "no tag");

    let out = repo.release("thoughts", "0.2.0");
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("allowed: 0.2.0 is a new major version of 0.1.0"));
}

#[test]
fn a_release_is_refused_without_notes_on_a_dirty_tree_or_with_a_version_that_is_not_newer() {
    let repo = Repo::new();
    assert_refused(&repo, &repo.release("users", "0.1.1"), "nothing under ## [Unreleased]");

    repo.note("users", "Something.");
    assert_refused(
        &repo,
        &repo.release("users", "0.1.0"),
        "tag users-v0.1.0 exists already",
    );
    repo.git(&["tag", "-a", "users-v0.3.0", "-m", "later"]);
    assert_refused(
        &repo,
        &repo.release("users", "0.2.0"),
        "0.2.0 is not newer than the last release 0.3.0",
    );
    assert_refused(&repo, &repo.release("users", "1.0"), "is not MAJOR.MINOR.PATCH");
    assert_refused(&repo, &repo.release("accounts", "1.0.0"), "unknown service 'accounts'");

    repo.write("services/users/README.md", "changed\n");
    let out = repo.release("users", "0.4.0");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("uncommitted changes"),
        "{}",
        text(&out)
    );
}
