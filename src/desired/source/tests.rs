//! Reading only what changed between two commits: the blobs the diff names, checked as a
//! full read checks them.

use std::path::Path;

use super::*;
use crate::desired::{LoadError, Scope, load_changes};
use crate::plan::tests::CONFIG;

fn zone(address: &str) -> String {
    format!("group: default\nrecords:\n  www:\n    A: {address}\n")
}

fn commit(repo: &Repository) -> String {
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.update_all(["*"], None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("T", "t@example.net").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &parents)
        .unwrap()
        .to_string()
}

fn write(dir: &Path, path: &str, text: &str) {
    std::fs::write(dir.join(path), text).unwrap();
}

#[test]
fn changed_files_are_read_from_the_diffs_blobs_and_links_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    write(dir.path(), CONFIG_FILE, CONFIG);
    std::fs::create_dir(dir.path().join(ZONES_DIR)).unwrap();
    write(dir.path(), "zones/a.test.yaml", &zone("192.0.2.1"));
    write(dir.path(), "zones/b.test.yaml", &zone("192.0.2.2"));
    write(dir.path(), "zones/c.test.yaml", &zone("192.0.2.3"));
    let first = commit(&repo);

    // a.test changes, b.test is deleted, d.test is new; c.test is untouched.
    write(dir.path(), "zones/a.test.yaml", &zone("192.0.2.9"));
    std::fs::remove_file(dir.path().join("zones/b.test.yaml")).unwrap();
    write(dir.path(), "zones/d.test.yaml", &zone("192.0.2.4"));
    let second = commit(&repo);
    let source = Source::open(dir.path(), Some(&second), false).unwrap();
    let state = load_changes(&source, &first).unwrap();
    let names: Vec<&str> = state.zones.keys().map(String::as_str).collect();
    assert_eq!(names, ["a.test.", "d.test."]);
    let a = state.zones["a.test."].canonical_text(1);
    assert!(a.contains("192.0.2.9") && !a.contains("192.0.2.1"), "{a}");
    match &state.scope {
        Scope::Changes { deleted, .. } => assert_eq!(deleted, &["b.test.".to_string()]),
        Scope::Full => panic!("a full load"),
    }

    // A zone file committed as a link is refused, as a full read refuses it.
    std::os::unix::fs::symlink("../zonekeeper.yaml", dir.path().join("zones/e.test.yaml")).unwrap();
    let third = commit(&repo);
    let source = Source::open(dir.path(), Some(&third), false).unwrap();
    match load_changes(&source, &second) {
        Err(LoadError::Invalid(problems)) => {
            let shown = format!("{problems:?}");
            assert!(shown.contains("file::symlink"), "{shown}");
            assert!(shown.contains("zones/e.test.yaml"), "{shown}");
        }
        other => panic!("a link was read: {:?}", other.map(|s| s.zones.len())),
    }
}

/// The problems of a load, by code and file, in order.
fn problem_places(result: Result<impl std::fmt::Debug, LoadError>) -> Vec<(String, String)> {
    match result {
        Err(LoadError::Invalid(problems)) => problems
            .0
            .iter()
            .map(|p| (p.code.to_string(), p.file.path.clone()))
            .collect(),
        other => panic!("not invalid: {other:?}"),
    }
}

#[test]
fn validation_without_the_zones_finds_what_a_full_load_finds() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    write(dir.path(), CONFIG_FILE, CONFIG);
    std::fs::create_dir(dir.path().join(ZONES_DIR)).unwrap();
    // enough files for several checking threads, each with its own reader
    for i in 0..600 {
        write(
            dir.path(),
            &format!("zones/z{i}.test.yaml"),
            &zone("192.0.2.1"),
        );
    }
    let valid = commit(&repo);
    let source = Source::open(dir.path(), Some(&valid), false).unwrap();
    let checked = crate::desired::check(&source).unwrap();
    assert_eq!(checked.zones, 600);
    assert_eq!(crate::desired::load(&source).unwrap().zones.len(), 600);

    // a bad value, a zone file holding key material, and a key file elsewhere
    write(dir.path(), "zones/z7.test.yaml", &zone("192.0.2.300"));
    let key = "# key \"k\" { secret \"c2VjcmV0c2VjcmV0c2VjcmV0\"; };\n";
    write(
        dir.path(),
        "zones/z8.test.yaml",
        &format!("{}{key}", zone("192.0.2.8")),
    );
    write(dir.path(), "tsig.key", key);
    let invalid = commit(&repo);
    let source = Source::open(dir.path(), Some(&invalid), false).unwrap();
    let by_check = problem_places(crate::desired::check(&source));
    let by_load = problem_places(crate::desired::load(&source));
    assert_eq!(by_check, by_load);
    let secret = "tsig::secret-in-repository".to_string();
    assert!(
        by_check.contains(&(secret.clone(), "zones/z8.test.yaml".into())),
        "{by_check:?}"
    );
    assert!(
        by_check.contains(&(secret.clone(), "tsig.key".into())),
        "{by_check:?}"
    );
    assert_eq!(
        by_check.iter().filter(|p| p.0 == secret).count(),
        2,
        "each file once: {by_check:?}"
    );
    assert!(
        by_check.iter().any(|p| p.1 == "zones/z7.test.yaml"),
        "{by_check:?}"
    );

    // changed since the valid revision: the same problems, each once
    let changed = problem_places(load_changes(&source, &valid));
    assert_eq!(changed, by_load);
}
