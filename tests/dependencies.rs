//! Dependencies (issue 12, point 8): one version of each crate that several of ours and
//! our dependencies use, where two would mean two builds of the same code.

use std::path::Path;

/// The versions of `name` in Cargo.lock.
fn locked(name: &str) -> Vec<String> {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock"))
        .expect("Cargo.lock");
    lock.split("[[package]]")
        .filter(|p| p.lines().any(|l| l.trim() == format!("name = \"{name}\"")))
        .filter_map(|p| {
            p.lines()
                .find_map(|l| l.trim().strip_prefix("version = \""))
                .map(|v| v.trim_end_matches('"').to_string())
        })
        .collect()
}

/// base64 and sha2 are each locked at one version (hickory, sqlx, ureq and ours agree).
#[test]
fn one_version_of_base64_and_sha2() {
    for name in ["base64", "sha2", "digest"] {
        let versions = locked(name);
        assert_eq!(
            versions.len(),
            1,
            "{name} is locked at {versions:?}: align our dependencies' versions (`cargo tree -d -e normal -i {name}`)"
        );
    }
}
