//! `api-compat <old.json> <new.json>`: list the differences between two
//! OpenAPI 3.x documents; exit 1 when one breaks a client of the old one.
//!
//! `api-compat --released DIR --version X.Y.Z <new.json>` checks `new.json`
//! against the newest release in DIR not newer than X.Y.Z instead, allowing
//! breaking changes in a new major version (before 1.0 a new minor).
//!
//! Exit codes: 0 compatible, 1 breaking, 2 usage or unreadable documents.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: api-compat <old.json> <new.json>
       api-compat --released <dir> --version <x.y.z> <new.json>

Lists the differences between two OpenAPI 3.x documents, breaking ones first;
exits 1 when a client written against the old document may fail against the
new one (removed path, method, response field or parameter; narrowed request
type; new required input; changed success status), 0 otherwise, 2 on bad
usage or an unreadable document.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let result = match args.as_slice() {
        [flag, dir, vflag, version, new] if flag == "--released" && vflag == "--version" => {
            let new = PathBuf::from(new);
            apicompat::read_json(&new)
                .and_then(|doc| apicompat::release::gate(&PathBuf::from(dir), version, &doc))
                .map(|gate| {
                    print!("{}: {gate}", new.display());
                    gate.passed()
                })
        }
        [old, new] if !old.starts_with("--") => {
            let (old, new) = (PathBuf::from(old), PathBuf::from(new));
            apicompat::compare_files(&old, &new).map(|report| {
                print!("{} → {}: {report}", old.display(), new.display());
                !report.is_breaking()
            })
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("api-compat: {e}");
            ExitCode::from(2)
        }
    }
}
