//! Loading the TSIG key named in the desired state from outside the repository. The
//! secret lives only in memory, inside hickory's signer; nothing here prints it.

use base64::Engine;
use hickory_proto::rr::TSigner;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;

use crate::model::config::{SecretSource, TsigKeyRef};

/// Why the key could not be loaded. Messages name where the secret was looked for, never
/// the secret.
#[derive(Debug, thiserror::Error)]
pub enum TsigError {
    /// The file could not be read.
    #[error("cannot read the TSIG secret file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The environment variable is not set.
    #[error("the environment variable {0} that should hold the TSIG secret is not set")]
    Env(String),
    /// The secret is not base64.
    #[error("the TSIG secret from {0} is not valid base64")]
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

/// Extracts the base64 secret from a BIND key file (`secret "…";`) or a bare secret.
fn secret_text(content: &str) -> &str {
    if let Some(start) = content.find("secret") {
        let rest = &content[start + "secret".len()..];
        if let Some(open) = rest.find('"') {
            let rest = &rest[open + 1..];
            if let Some(close) = rest.find('"') {
                return rest[..close].trim();
            }
        }
    }
    content.trim()
}

/// Loads the key and builds the signer (hmac-sha256, fudge 300 s).
pub fn signer(key: &TsigKeyRef) -> Result<TSigner, TsigError> {
    let (origin, content) = match &key.secret {
        SecretSource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| TsigError::File {
                path: path.display().to_string(),
                source,
            })?;
            (path.display().to_string(), text)
        }
        SecretSource::Env(var) => (
            format!("${var}"),
            std::env::var(var).map_err(|_| TsigError::Env(var.clone()))?,
        ),
    };
    let secret = base64::engine::general_purpose::STANDARD
        .decode(secret_text(&content))
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

    #[test]
    fn reads_bind_key_files_and_bare_secrets() {
        let file = "key \"zonekeeper\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0\";\n};\n";
        assert_eq!(secret_text(file), "c2VjcmV0");
        assert_eq!(secret_text("  c2VjcmV0\n"), "c2VjcmV0");
    }

    #[test]
    fn errors_name_the_source_not_the_secret() {
        let key = TsigKeyRef {
            name: hickory_proto::rr::Name::from_ascii("k.").unwrap(),
            algorithm: "hmac-sha256".into(),
            secret: SecretSource::Env("ZK_TEST_UNSET_VARIABLE".into()),
        };
        let e = signer(&key)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("ZK_TEST_UNSET_VARIABLE"), "{e}");
    }
}
