//! Backend version checks (the book's start-up check, reported per backend
//! in the body of `/readyz` here):
//! versions compare numerically, part by part, never as strings.

use std::cmp::Ordering;

/// Compare two version strings numerically (`1.10.0` > `1.9.2`); a
/// pre-release or build suffix (`-rc1`, `+abc`) is ignored, missing parts are 0.
pub fn compare(a: &str, b: &str) -> Ordering {
    fn parts(v: &str) -> Vec<u64> {
        let core = v.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next().unwrap_or_default();
        core.split('.').map(|p| p.parse().unwrap_or(0)).collect()
    }
    let (pa, pb) = (parts(a), parts(b));
    let n = pa.len().max(pb.len());
    (0..n)
        .map(|i| pa.get(i).unwrap_or(&0).cmp(pb.get(i).unwrap_or(&0)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// `Ok` when `version` is at least `minimum` (or no minimum is set).
pub fn check(service: &str, version: &str, minimum: Option<&str>) -> Result<(), String> {
    match minimum {
        Some(min) if compare(version, min) == Ordering::Less => Err(format!(
            "{service} backend version {version} is older than the minimum {min}"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_as_numbers_not_strings() {
        assert_eq!(compare("1.10.0", "1.9.2"), Ordering::Greater);
        assert_eq!(compare("0.2", "0.10"), Ordering::Less);
        assert_eq!(compare("1.2", "1.2.0"), Ordering::Equal);
        assert_eq!(compare("v2.0.0-rc1", "2.0.0"), Ordering::Equal);
    }

    #[test]
    fn a_backend_older_than_the_minimum_fails_the_check() {
        assert!(check("thoughts", "0.9.9", Some("0.10.0")).is_err());
        assert!(check("thoughts", "0.10.0", Some("0.10.0")).is_ok());
        assert!(check("thoughts", "0.1.0", None).is_ok());
    }
}
