//! The README's table of variables is the one `--help` prints.

#[test]
fn the_readme_lists_every_variable_the_service_reads() {
    testkit::readme::assert_readme_lists_variables(
        env!("CARGO_BIN_EXE_frontend-service"),
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"),
    );
}
