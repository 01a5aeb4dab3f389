//! Loading the TSIG key named in the desired state from outside the repository: a BIND
//! key file read by its grammar ([`key_file`]: any number of keys, comments, the key
//! chosen by `tsig.name`), or a bare base64 secret (in a file or an environment
//! variable). The secret lives only in memory, inside hickory's signer; nothing here
//! prints it.

mod key_file;

use std::path::{Path, PathBuf};

use base64::Engine;
use hickory_proto::rr::TSigner;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;

use crate::model::config::{SecretSource, TsigKeyRef};
use key_file::Refusal;

/// How a key file is written, for messages.
const GRAMMAR: &str = "key \"NAME\" { algorithm hmac-sha256; secret \"BASE64\"; }; (as `tsig-keygen -a hmac-sha256 NAME` writes it)";

/// Why the key could not be loaded. Messages name where the secret was looked for (the
/// file as resolved), and what to do; never the secret.
#[derive(Debug, thiserror::Error)]
pub enum TsigError {
    /// The file does not exist.
    #[error(
        "the TSIG secret file {} does not exist (`secret_file` of the primary's tsig in zonekeeper.yaml): create it outside the repository with `tsig-keygen -a hmac-sha256 {name} > {}` (the key the primary accepts UPDATEs with), or correct the path",
        .path.display(), .path.display()
    )]
    Missing {
        /// The file, resolved.
        path: PathBuf,
        /// The key's name.
        name: String,
    },
    /// The file could not be read.
    #[error(
        "cannot read the TSIG secret file {}: {reason}: make it a file this user can read",
        .path.display()
    )]
    File {
        /// The file, resolved.
        path: PathBuf,
        /// Why, in the operating system's words.
        reason: String,
    },
    /// The environment variable is not set.
    #[error(
        "the environment variable {0} that should hold the TSIG secret is not set (`secret_env` in zonekeeper.yaml): export it with the key's base64 secret, or name a key file with `secret_file`"
    )]
    Env(String),
    /// The file is not a key file, or lacks the key asked for.
    #[error("the TSIG secret file {}: {what}", .path.display())]
    KeyFile {
        /// The file, resolved.
        path: PathBuf,
        /// What is wrong and what to do.
        what: String,
    },
    /// The key's algorithm is not the one zonekeeper.yaml names.
    #[error(
        "key `{name}` in {} (line {line}) is {found}, but the primary's tsig.algorithm in zonekeeper.yaml is {wanted}: make them agree (zonekeeper signs with hmac-sha256; `tsig-keygen -a hmac-sha256 {name}` makes such a key)",
        .path.display()
    )]
    Algorithm {
        /// The file, resolved.
        path: PathBuf,
        /// The key's name.
        name: String,
        /// The key statement's line.
        line: usize,
        /// The algorithm the file gives.
        found: String,
        /// The algorithm zonekeeper.yaml gives.
        wanted: String,
    },
    /// The secret is not base64.
    #[error(
        "the TSIG secret from {0} is not valid base64: write the secret as `tsig-keygen` prints it"
    )]
    Base64(String),
    /// hickory refused the key.
    #[error("cannot use the TSIG key {name}: {message}")]
    Signer {
        /// The key's name.
        name: String,
        /// Why.
        message: String,
    },
}

/// `path` as the file system resolves it (relative to the working directory), for
/// messages; as given when that fails.
fn resolved(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The refusal of a key file, in words.
fn refusal(path: PathBuf, name: &str, r: Refusal) -> TsigError {
    let what = match r {
        Refusal::Empty => format!("it is empty: write the key `{name}` in it: {GRAMMAR}"),
        Refusal::Syntax(line, what) => {
            format!("line {line}: {what}; a key file is written {GRAMMAR}")
        }
        Refusal::NoKeys => {
            format!("it holds no `key` statement and is not a bare base64 secret: write {GRAMMAR}")
        }
        Refusal::NotFound(found) => format!(
            "it has no key `{name}` (the primary's tsig.name in zonekeeper.yaml); it has {}: name one of them in tsig.name, or add the key `{name}`",
            found
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Refusal::Twice(first, again) => format!(
            "the key `{name}` is written twice (lines {first} and {again}), which BIND refuses: keep one"
        ),
        Refusal::Lacks(what, line) => format!(
            "the key `{name}` (line {line}) has no `{what}`, which BIND requires: {GRAMMAR}"
        ),
    };
    TsigError::KeyFile { path, what }
}

/// The base64 secret of `key`, read from its file or variable, after checking that the
/// file holds that key with the algorithm `key` names.
fn secret(key: &TsigKeyRef) -> Result<(String, String), TsigError> {
    let name = key.name.to_string();
    let name = name.trim_end_matches('.');
    match &key.secret {
        SecretSource::File(path) => {
            let shown = resolved(path);
            let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => TsigError::Missing {
                    path: shown.clone(),
                    name: name.to_string(),
                },
                _ => TsigError::File {
                    path: shown.clone(),
                    reason: e.to_string(),
                },
            })?;
            let found = key_file::find(&text, name).map_err(|r| refusal(shown.clone(), name, r))?;
            let wanted = key.algorithm.trim_end_matches('.').to_ascii_lowercase();
            if let (Some(algorithm), Some(line)) = (found.algorithm, found.line)
                && algorithm != wanted
            {
                return Err(TsigError::Algorithm {
                    path: shown,
                    name: name.to_string(),
                    line,
                    found: algorithm,
                    wanted,
                });
            }
            let origin = match found.line {
                Some(line) => format!("key `{name}` in {} (line {line})", shown.display()),
                None => shown.display().to_string(),
            };
            Ok((origin, found.secret))
        }
        SecretSource::Env(var) => Ok((
            format!("${var}"),
            std::env::var(var)
                .map_err(|_| TsigError::Env(var.clone()))?
                .trim()
                .to_string(),
        )),
    }
}

/// Checks that the key can be loaded, without keeping it: `plan` and `apply` call this
/// before anything else, so a missing or wrong key file is said first.
pub fn check(key: &TsigKeyRef) -> Result<(), TsigError> {
    signer(key).map(drop)
}

/// Loads the key and builds the signer (hmac-sha256, fudge 300 s).
pub fn signer(key: &TsigKeyRef) -> Result<TSigner, TsigError> {
    let (origin, text) = secret(key)?;
    let secret = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| TsigError::Base64(origin))?;
    TSigner::new(secret, TsigAlgorithm::HmacSha256, key.name.clone(), 300).map_err(|e| {
        TsigError::Signer {
            name: key.name.to_string(),
            message: e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: SecretSource) -> TsigKeyRef {
        TsigKeyRef {
            name: hickory_proto::rr::Name::from_ascii("zonekeeper-secret.").unwrap(),
            algorithm: "hmac-sha256".into(),
            secret,
        }
    }

    fn error(key: &TsigKeyRef) -> String {
        signer(key).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn errors_name_the_source_not_the_secret() {
        let e = error(&key(SecretSource::Env("ZK_TEST_UNSET_VARIABLE".into())));
        assert!(e.contains("ZK_TEST_UNSET_VARIABLE"), "{e}");
    }

    #[test]
    fn a_key_named_secret_is_read_by_the_grammar() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        let text =
            "key \"zonekeeper-secret\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n";
        std::fs::write(&path, text).unwrap();
        assert!(check(&key(SecretSource::File(path.clone()))).is_ok());
        std::fs::write(&path, text.replace("sha256", "sha512")).unwrap();
        let e = error(&key(SecretSource::File(path)));
        assert!(e.contains("hmac-sha512") && e.contains("line 1"), "{e}");
        assert!(!e.contains("c2VjcmV0"), "{e}");
    }
}
