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
