//! The gate's policy: the released documents kept in the tree
//! (`services/<service>/api/released/<version>.json`), which one a version is
//! checked against, and when a breaking change is allowed.
//!
//! A version is checked against the newest released document not newer than
//! itself. A breaking change passes only when the version is a new *major*
//! version of that release in semver's sense (1.4.2 → 2.0.0; before 1.0 a
//! new minor, 0.1.3 → 0.2.0): the contract step of expand → migrate →
//! contract, declared by setting the next major version in the service's
//! `Cargo.toml`. The gate still lists what breaks, for the reviewer.

use crate::{Error, Report, compare};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// A semantic version `major.minor.patch` (pre-release and build tags are
/// not used by the services and are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Incompatible API changes.
    pub major: u64,
    /// Compatible additions.
    pub minor: u64,
    /// Compatible fixes.
    pub patch: u64,
}

impl Version {
    /// Parse `1.2.3`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.');
        let mut next = || -> Option<u64> {
            let part = parts.next()?;
            // No leading zeros, digits only (semver 2.0.0, item 2).
            if part.is_empty() || (part.len() > 1 && part.starts_with('0')) || !part.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            part.parse().ok()
        };
        let version = Self {
            major: next()?,
            minor: next()?,
            patch: next()?,
        };
        parts.next().is_none().then_some(version)
    }

    /// Whether `self`, newer than `released`, may break its API: a new
    /// major version (before 1.0, a new minor; before 0.1, any new version).
    pub fn may_break(&self, released: &Version) -> bool {
        if self <= released {
            return false;
        }
        match (released.major, released.minor) {
            (0, 0) => true,
            (0, minor) => self.major > 0 || self.minor > minor,
            (major, _) => self.major > major,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The released documents in `dir` (`<version>.json`), oldest first. A
/// missing directory has none; a file with another name is an error, so a
/// mistyped baseline is not silently skipped.
pub fn releases(dir: &Path) -> Result<Vec<(Version, PathBuf)>, Error> {
    let file_error = |path: &Path, message: String| Error::File {
        path: path.display().to_string(),
        message,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(file_error(dir, e.to_string())),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| file_error(dir, e.to_string()))?.path();
        let version = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(Version::parse)
            .ok_or_else(|| {
                file_error(
                    &path,
                    "a released document is named <major>.<minor>.<patch>.json".into(),
                )
            })?;
        out.push((version, path));
    }
    out.sort();
    Ok(out)
}

/// The gate's verdict on one document.
#[derive(Debug)]
pub struct Gate {
    /// The version checked.
    pub version: Version,
    /// The release it was checked against, if any release is older.
    pub baseline: Option<Version>,
    /// The differences from that release (empty without one).
    pub report: Report,
}

impl Gate {
    /// Whether the document may ship as `version`: nothing breaks, or the
    /// version is a new major one.
    pub fn passed(&self) -> bool {
        match self.baseline {
            None => true,
            Some(baseline) => !self.report.is_breaking() || self.version.may_break(&baseline),
        }
    }
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(baseline) = self.baseline else {
            return writeln!(f, "{}: no released document to compare with", self.version);
        };
        write!(f, "{} against the released {baseline}: {}", self.version, self.report)?;
        if self.report.is_breaking() {
            match self.version.may_break(&baseline) {
                true => writeln!(
                    f,
                    "allowed: {} is a new major version of {baseline} (semver; before 1.0 a new minor)",
                    self.version
                )?,
                false => writeln!(
                    f,
                    "Clients written against {baseline} may fail. Keep the old behaviour beside the new one \
                     (expand, migrate the consumers, then contract: docs/independent-releases.md); the \
                     contract step is a new major version (before 1.0 a new minor): set it in the service's \
                     Cargo.toml and say what was removed under Unreleased in its CHANGELOG.md."
                )?,
            }
        }
        Ok(())
    }
}

/// Check `current`, the document of `version`, against the newest release in
/// `released_dir` not newer than `version`.
pub fn gate(released_dir: &Path, version: &str, current: &Value) -> Result<Gate, Error> {
    let version = Version::parse(version).ok_or_else(|| Error::File {
        path: released_dir.display().to_string(),
        message: format!("version {version:?} is not major.minor.patch"),
    })?;
    let Some((baseline, path)) = releases(released_dir)?.into_iter().rev().find(|(v, _)| *v <= version) else {
        return Ok(Gate {
            version,
            baseline: None,
            report: Report::default(),
        });
    };
    let report = compare(&crate::read_json(&path)?, current)?;
    Ok(Gate {
        version,
        baseline: Some(baseline),
        report,
    })
}
