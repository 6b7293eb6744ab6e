//! The services' committed documents: each is compatible with itself (the
//! checker finds nothing to say about an unchanged API) and, read back
//! through the checker, has the operations the services route.

use std::path::PathBuf;

fn committed(service: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../services")
        .join(service)
        .join("api/openapi.json");
    apicompat::read_json(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn each_services_committed_document_is_compatible_with_itself() {
    for service in ["users", "thoughts"] {
        let document = committed(service);
        let report = apicompat::compare(&document, &document).unwrap_or_else(|e| panic!("{service}: {e}"));
        assert!(report.findings.is_empty(), "{service}: {report}");
    }
}

#[test]
fn removing_any_path_of_a_services_document_is_caught() {
    for service in ["users", "thoughts"] {
        let document = committed(service);
        let paths: Vec<String> = document["paths"].as_object().expect("paths").keys().cloned().collect();
        assert!(paths.len() >= 5, "{service} documents its API: {paths:?}");
        for path in paths {
            let mut changed = document.clone();
            changed["paths"].as_object_mut().expect("paths").remove(&path);
            let report = apicompat::compare(&document, &changed).expect("compared");
            assert!(
                report
                    .breaking()
                    .any(|f| f.endpoint == path && f.change == "path removed"),
                "{service} {path}: {report}"
            );
        }
    }
}
