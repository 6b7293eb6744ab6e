//! `mythoughts keys`: write a new RSA key pair as PEM files.

use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

/// File name of the private key, as in the book (`/opt/keys/private_key.pem`).
pub const PRIVATE_KEY_FILE: &str = "private_key.pem";
/// File name of the public key, as in the book (`/opt/keys/public_key.pub`).
pub const PUBLIC_KEY_FILE: &str = "public_key.pub";

/// Paths of a key pair in `dir`.
pub fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(PRIVATE_KEY_FILE), dir.join(PUBLIC_KEY_FILE))
}

fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(pem.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Write a new key pair into `dir` (created owner-only if needed; the
/// private key is 0600, the public one as the umask says). Refuses to replace
/// an existing private key unless `force`.
pub fn write_pair(dir: &Path, force: bool) -> anyhow::Result<(PathBuf, PathBuf)> {
    kit::db::create_private_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (private, public) = paths(dir);
    if private.exists() {
        if !force {
            anyhow::bail!("{} already exists (use --force to replace it)", private.display());
        }
        std::fs::remove_file(&private).with_context(|| format!("cannot replace {}", private.display()))?;
    }
    let (private_pem, public_pem) = tokens::generate_key_pair()?;
    write_private(&private, &private_pem)?;
    std::fs::write(&public, public_pem).with_context(|| format!("cannot write {}", public.display()))?;
    Ok((private, public))
}

/// The key pair in `dir`, generated on first use.
pub fn ensure_pair(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (private, public) = paths(dir);
    if private.exists() && public.exists() {
        return Ok((private, public));
    }
    tracing::info!(dir = %dir.display(), "generating a development key pair");
    write_pair(dir, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_pair_is_private_and_not_overwritten() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (private, public) = write_pair(dir.path(), false).expect("written");
        assert!(
            std::fs::read_to_string(&private)
                .expect("read")
                .starts_with(concat!("-----BEGIN ", "PRIVATE KEY-----"))
        );
        assert!(
            std::fs::read_to_string(&public)
                .expect("read")
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&private).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let nested = dir.path().join("new").join("keys");
            write_pair(&nested, false).expect("written");
            for d in [&nested, &dir.path().join("new")] {
                let mode = std::fs::metadata(d).expect("meta").permissions().mode();
                assert_eq!(mode & 0o777, 0o700, "{}", d.display());
            }
        }
        assert!(write_pair(dir.path(), false).is_err());
        let before = std::fs::read(&private).expect("read");
        assert_eq!(ensure_pair(dir.path()).expect("kept").0, private);
        assert_eq!(
            std::fs::read(&private).expect("read"),
            before,
            "ensure keeps an existing pair"
        );
    }
}
