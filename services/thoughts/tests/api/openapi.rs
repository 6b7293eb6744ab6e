//! The API compatibility gate of the thoughts service (issue 12): the committed
//! OpenAPI document (`api/openapi.json`) is the one the code generates, so
//! every change to the API shows up in review as a diff of that file; and
//! the API breaks no client of the last release (`api/released/`).

use std::path::PathBuf;
use utoipa::OpenApi;

/// The one command that accepts a reviewed change of the document.
const ACCEPT: &str = "UPDATE_OPENAPI=1 cargo nextest run -p thoughts openapi";

fn generated() -> serde_json::Value {
    serde_json::to_value(thoughts::ApiDoc::openapi()).expect("an OpenAPI document serializes")
}

fn api_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("api")
}

#[test]
fn the_committed_openapi_document_is_the_one_the_code_generates() {
    testkit::golden::assert_file(
        &api_dir().join("openapi.json"),
        &testkit::golden::canonical_json(&generated()),
        "UPDATE_OPENAPI",
        ACCEPT,
    );
}

#[test]
fn the_openapi_document_breaks_no_client_of_the_last_release() {
    let released = api_dir().join("released");
    let gate = apicompat::release::gate(&released, env!("CARGO_PKG_VERSION"), &generated())
        .unwrap_or_else(|e| panic!("cannot check against {}: {e}", released.display()));
    assert!(
        gate.baseline.is_some(),
        "no released document in {} at or below version {}: deploy/release.sh keeps one per release",
        released.display(),
        env!("CARGO_PKG_VERSION")
    );
    assert!(gate.passed(), "{gate}");
}
