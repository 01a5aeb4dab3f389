//! Errors in the operator's words (issue 12, point 5): one test per defect the issue
//! reports, each failing before its fix.

use std::time::{Duration, Instant};

use crate::support::{Db, Env, commit_all, text, zone_yaml};

/// The primary's name in the lab of `env`.
fn primary(env: &Env) -> String {
    env.lab.spec().primary.name.clone()
}

/// `zonekeeper --repo R --rev nosuch plan` said "revision `nosuch` does not name a commit:
/// revspec 'nosuch' not found; class=Reference (4); code=NotFound (-3)" and then the same
/// libgit2 words again as the cause. Now once, in words: not in repository R.
#[test]
fn missing_revision_is_said_twice_with_libgit2_codes() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    git2::Repository::init(&repo).unwrap();
    std::fs::write(repo.join("zonekeeper.yaml"), "primary: {}\n").unwrap();
    commit_all(&repo, "one commit");
    for command in ["validate", "plan"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .args([command, "--rev", "nosuch", "--repo"])
            .arg(&repo)
            .arg("--db")
            .arg(dir.path().join("store.sqlite"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(1), "{shown}");
        let said = format!("revision `nosuch` is not in repository {}", repo.display());
        let flat = shown.split_whitespace().collect::<Vec<_>>().join(" ");
        let flat = flat.replace(" │ ", " ");
        assert_eq!(flat.matches(&said).count(), 1, "said once: {shown}");
        assert!(
            !shown.contains("class=") && !shown.contains("code="),
            "{shown}"
        );
        assert!(
            !shown.contains("revspec"),
            "libgit2's words are not repeated: {shown}"
        );
    }
}

/// With PostgreSQL down (nothing listening), every command waited 30 s and said "pool
/// timed out while waiting for an open connection". Now within 5 s, naming host and port.
#[test]
fn postgres_down_fails_after_30s_with_pool_timed_out() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{port}/zonekeeper");
    let started = Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(["status", "--db", &url, "--repo"])
        .arg(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let took = started.elapsed();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(took < Duration::from_secs(8), "took {took:?}: {shown}");
    assert!(
        shown.contains(&format!(
            "cannot reach the PostgreSQL store at 127.0.0.1:{port}: connection refused"
        )),
        "{shown}"
    );
    assert!(!shown.contains("pool timed out"), "{shown}");
}

/// A key file whose key is named `zonekeeper-secret` (as `tsig-keygen zonekeeper-secret`
/// writes it) was "not valid base64": the reader took the first `secret` it found, in the
/// key's name. Now the file is read by BIND's grammar and the key chosen by name.
#[test]
fn key_named_secret_is_not_valid_base64() {
    let env = Env::custom(
        Db::Sqlite,
        2,
        |spec| spec.tsig_key_name = "zonekeeper-secret".into(),
        |lab| {
            crate::support::config_yaml(lab, &["ns1", "ns2"], 300).replace(
                "tsig:\n    name: zonekeeper\n",
                "tsig:\n    name: zonekeeper-secret\n",
            )
        },
    );
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("one zone, signed with the key zonekeeper-secret");
    let out = env.apply(&[], 0);
    assert!(!text(&out).contains("base64"), "{}", text(&out));
    for server in env.servers() {
        assert!(env.soa(&server, "a.test.").serving().is_some(), "{server}");
    }
}

/// `www: { A: { value: 192.0.2.1, values: [192.0.2.2] } }` was taken without a word (the
/// issue saw `value` dropped; this release merged both). Now refused at its place.
#[test]
fn value_and_values_drops_value() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    git2::Repository::init(&repo).unwrap();
    let env_config = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/zonekeeper.yaml"),
    )
    .unwrap();
    std::fs::write(repo.join("zonekeeper.yaml"), env_config).unwrap();
    std::fs::create_dir(repo.join("zones")).unwrap();
    let zone =
        "group: default\nrecords:\n  www:\n    A: { value: 192.0.2.1, values: [192.0.2.2] }\n";
    std::fs::write(repo.join("zones/vv.test.yaml"), zone).unwrap();
    commit_all(&repo, "value and values");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(["validate", "--repo"])
        .arg(&repo)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(shown.contains("zones/vv.test.yaml:4:8"), "{shown}");
    assert!(
        shown.contains("`values` after `value`") && shown.contains("not both"),
        "{shown}"
    );
}

/// `apply` with a `secret_file` that does not exist took the lock, planned, loaded the new
/// zone on the primary through rndc, and only failed at the first signed UPDATE, leaving
/// the primary changed. Now it is said first, and nothing happens.
#[test]
fn missing_secret_file_is_reported_after_the_primary_changed() {
    let env = Env::new(Db::Sqlite);
    let missing = env.dir.path().join("keys/absent.key");
    let config = std::fs::read_to_string(env.repo.join("zonekeeper.yaml")).unwrap();
    let key = env.lab.spec().tsig_key_file.display().to_string();
    env.write(
        "zonekeeper.yaml",
        &config.replace(&key, &missing.display().to_string()),
    );
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a zone, and a key file that is not there");
    let out = env.apply(&[], 1);
    let shown = text(&out);
    let flat = shown.replace('│', " ");
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(&format!("{} does not exist", missing.display())),
        "{shown}"
    );
    assert_eq!(
        env.soa(&primary(&env), "a.test.").serving(),
        None,
        "the primary was left alone: {shown}"
    );
    assert!(
        !std::path::Path::new(&env.db).exists(),
        "the store was not even opened: {shown}"
    );
}

/// Found by CI, whose temporary directories have long names: an error naming a long path
/// wrapped it at its hyphens and slashes ("/tmp/zonekeeper-" on one line, "ci.Kjq…/repo"
/// on the next), so the path could not be copied from the message. Messages now wrap at
/// spaces only.
#[test]
fn long_path_in_an_error_is_broken_across_lines() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join(
        "a-rather-long-directory-name-for-the-desired-state/of-the-dns-team-of-example-net/repo",
    );
    std::fs::create_dir_all(&repo).unwrap();
    git2::Repository::init(&repo).unwrap();
    std::fs::write(repo.join("zonekeeper.yaml"), "primary: {}\n").unwrap();
    commit_all(&repo, "one commit");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(["plan", "--rev", "nosuch", "--repo"])
        .arg(&repo)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    let path = repo.display().to_string();
    assert!(path.len() > 100, "{path}");
    assert!(
        shown.lines().any(|l| l.contains(&path)),
        "the path whole on one line: {shown}"
    );
}
