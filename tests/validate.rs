//! `zonekeeper validate` on the shipped example repository and on bad input.

use std::process::Command;

fn zk(args: &[&str], cwd: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The example repository an operator copies is valid.
#[test]
fn examples_are_valid() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let out = zk(
        &[
            "validate",
            "--worktree",
            "--repo",
            examples.to_str().unwrap(),
        ],
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 zone(s)"));
}

/// A secret written into the repository, or a secret file inside it, is refused.
#[test]
fn secrets_in_the_repository_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let config = std::fs::read_to_string(examples.join("zonekeeper.yaml")).unwrap();
    std::fs::write(
        dir.path().join("zonekeeper.yaml"),
        config.replace("secret_file: state/lab/tsig.key", "secret: c2VjcmV0"),
    )
    .unwrap();
    let out = zk(&["validate", "--worktree", "--repo", "."], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("zonekeeper.yaml:16:13") && err.contains("never be written in the repository"),
        "{err}"
    );
    std::fs::write(
        dir.path().join("zonekeeper.yaml"),
        config.replace("state/lab/tsig.key", "keys/tsig.key"),
    )
    .unwrap();
    let out = zk(&["validate", "--worktree", "--repo", "."], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inside the repository"));
}

/// Every rule reports at once, each with file:line:col.
#[test]
fn all_problems_are_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let config = std::fs::read_to_string(examples.join("zonekeeper.yaml")).unwrap();
    std::fs::write(
        dir.path().join("zonekeeper.yaml"),
        config
            .replace("state/lab/tsig.key", "/etc/zonekeeper/tsig.key")
            .replace(
                "\nsecondaries:\n",
                "\nsecondaries:\n  ns_3:\n    addresses: [192.0.2.33]\n",
            ),
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    std::fs::write(
        dir.path().join("zones/x.test.yaml"),
        "group: nope\nsoa: {refresh: 100, retry: 200}\nrecords:\n  \"@\":\n    CNAME: y\n  mx:\n    MX: 10 nowhere\n  ns:\n    NS: ns1.ns\n  out.example.org.:\n    A: 192.0.2.1\n  t:\n    A: [192.0.2.1, 192.0.2.1]\n    TTL: 1\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("zones/Y.test.yaml"), "group: default\n").unwrap();
    let out = zk(
        &["validate", "--worktree", "--repo", ".", "--format", "json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    for code in [
        "zone::unknown-group",
        "soa::retry",
        "record::cname-apex",
        "record::target-missing",
        "record::outside-zone",
        "record::duplicate",
        "record::type",
        "zone::file-name",
        "secondary::name",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    assert!(
        json["problems"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["line"].as_u64().unwrap() >= 1)
    );
}

/// A webhook's URL written in the repository is refused (it may carry a token), as are an
/// unknown event and a quorum larger than the group; each with file:line:col.
#[test]
fn webhook_url_in_the_repository_and_a_bad_quorum_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    // the key file outside this copy of the repository
    let config = std::fs::read_to_string(examples.join("zonekeeper.yaml"))
        .unwrap()
        .replace("state/lab/tsig.key", "/etc/zonekeeper/tsig.key");
    let bad = config.replace(
        "    secondaries: [ns1, ns2]\n",
        "    secondaries: [ns1, ns2]\n    quorum: 3\n",
    ) + "webhooks:\n  - url: https://hooks.example.net/T0KEN\n  - url_env: HOOK\n    events: [apply-failed, server-down]\n";
    assert!(
        bad.contains("quorum: 3"),
        "the example has a group of ns1, ns2"
    );
    std::fs::write(dir.path().join("zonekeeper.yaml"), &bad).unwrap();
    let out = zk(&["validate", "--worktree", "--repo", "."], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines = bad.lines().count();
    assert!(
        err.contains(&format!("zonekeeper.yaml:{}:", lines - 2))
            && err.contains("webhook URL must not be written in the repository"),
        "{err}"
    );
    assert!(!err.contains("T0KEN"), "the URL is not echoed: {err}");
    assert!(err.contains("unknown webhook event `server-down`"), "{err}");
    assert!(err.contains("a quorum of 3 but 2 secondaries"), "{err}");
    // written right, it is valid
    let good = config + "webhooks:\n  - url_env: HOOK\n";
    std::fs::write(dir.path().join("zonekeeper.yaml"), good).unwrap();
    let out = zk(&["validate", "--worktree", "--repo", "."], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
