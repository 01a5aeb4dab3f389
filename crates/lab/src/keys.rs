//! BIND key files: the shared TSIG key and each server's rndc key (hmac-sha256, 32 random
//! bytes), created once and kept, written readable by their owner only.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::error::{LabError, io_err};
use crate::spec::LabServerSpec;

pub(crate) fn rndc_key_name(server: &LabServerSpec) -> String {
    format!("rndc-{}", server.name)
}

pub(crate) fn key_text(name: &str, secret: &str) -> String {
    format!("key \"{name}\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{secret}\";\n}};\n")
}

/// Creates a BIND key file with a fresh hmac-sha256 secret (32 bytes from /dev/urandom)
/// unless a non-empty one exists; an existing one must define the key `name`.
pub(crate) fn ensure_key_file(path: &Path, name: &str) -> Result<(), LabError> {
    match fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => {
            let (found, _) = read_key_file(path)?;
            if !found
                .trim_end_matches('.')
                .eq_ignore_ascii_case(name.trim_end_matches('.'))
            {
                return Err(LabError::KeyFile {
                    path: path.to_path_buf(),
                    reason: format!("it defines key {found:?}, not {name:?}"),
                });
            }
            return Ok(());
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(LabError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            });
        }
    }
    let mut secret = [0u8; 32];
    let urandom = Path::new("/dev/urandom");
    File::open(urandom)
        .and_then(|mut f| f.read_exact(&mut secret))
        .map_err(io_err("read", urandom))?;
    let text = key_text(name, &BASE64.encode(secret));
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
    }
    // Write a temporary file, then link it into place: the key file appears complete, and
    // if a concurrent caller created it first, theirs is kept.
    let tmp = temp_sibling(path);
    write_private(&tmp, &text)?;
    let placed = match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if fs::metadata(path).map(|m| m.len() == 0).unwrap_or(false) {
                fs::rename(&tmp, path).map_err(io_err("write", path))
            } else {
                Ok(())
            }
        }
        Err(source) => Err(LabError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        }),
    };
    let _ = fs::remove_file(&tmp);
    placed?;
    read_key_file(path).map(|_| ())
}

fn temp_sibling(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{file}.{}.{n}.tmp", std::process::id()))
}

/// Writes a file readable by its owner only (it holds a secret).
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), LabError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err("write", path))?;
    file.write_all(text.as_bytes())
        .map_err(io_err("write", path))
}

/// Reads the key name and base64 secret of a BIND key file.
pub(crate) fn read_key_file(path: &Path) -> Result<(String, String), LabError> {
    let text = fs::read_to_string(path).map_err(io_err("read", path))?;
    let bad = |reason: &str| LabError::KeyFile {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    // the secret is looked for inside the key's block, not in its name
    // (`key "zonekeeper-secret" {`)
    let block = text.find('{').unwrap_or(text.len());
    let quoted_after = |keyword: &str| -> Option<String> {
        let from = if keyword == "secret" { block } else { 0 };
        let start = from + text[from..].find(keyword)? + keyword.len();
        let rest = &text[start..];
        let open = rest.find('"')?;
        let rest = &rest[open + 1..];
        let close = rest.find('"')?;
        Some(rest[..close].to_string())
    };
    let name = quoted_after("key").ok_or_else(|| bad("no `key \"NAME\"`"))?;
    let secret = quoted_after("secret").ok_or_else(|| bad("no `secret \"...\"`"))?;
    if BASE64.decode(&secret).map(|s| s.is_empty()).unwrap_or(true) {
        return Err(bad("the secret is not base64"));
    }
    Ok((name, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        ensure_key_file(&path, "zonekeeper").unwrap();
        let (name, secret) = read_key_file(&path).unwrap();
        assert_eq!(name, "zonekeeper");
        assert_eq!(BASE64.decode(&secret).unwrap().len(), 32);
        // kept when present
        ensure_key_file(&path, "zonekeeper").unwrap();
        assert_eq!(read_key_file(&path).unwrap().1, secret);
        assert!(matches!(
            ensure_key_file(&path, "other"),
            Err(LabError::KeyFile { .. })
        ));
    }
}
