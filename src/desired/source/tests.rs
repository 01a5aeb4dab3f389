//! Reading only what changed between two commits: the blobs the diff names, checked as a
//! full read checks them.

use std::collections::BTreeMap;
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
    let state = load_changes(&source, &first, &BTreeMap::new()).unwrap();
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
    match load_changes(&source, &second, &BTreeMap::new()) {
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
    let changed = problem_places(load_changes(&source, &valid, &BTreeMap::new()));
    assert_eq!(changed, by_load);
}

/// Every zone of a full load by name, with its source: as a store records zones that
/// every server was seen serving.
fn sources_of(state: &crate::desired::DesiredState) -> BTreeMap<String, String> {
    state
        .zones
        .iter()
        .map(|(n, z)| (n.clone(), z.source.clone()))
        .collect()
}

fn loaded(
    source: &Source,
    since: &str,
    recorded: &BTreeMap<String, String>,
) -> (Vec<String>, Vec<String>) {
    let recorded = recorded
        .iter()
        .map(|(n, s)| (n.as_str(), s.as_str()))
        .collect();
    let state = load_changes(source, since, &recorded).unwrap();
    let Scope::Changes { deleted, .. } = state.scope else {
        panic!("a full load")
    };
    (state.zones.into_keys().collect(), deleted)
}

#[test]
fn without_a_diff_zones_are_skipped_by_their_recorded_source() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Repository::init(dir.path()).unwrap();
    write(dir.path(), CONFIG_FILE, CONFIG);
    std::fs::create_dir(dir.path().join(ZONES_DIR)).unwrap();
    for (z, a) in [("a", "1"), ("b", "2"), ("c", "3"), ("e", "5")] {
        write(
            dir.path(),
            &format!("zones/{z}.test.yaml"),
            &zone(&format!("192.0.2.{a}")),
        );
    }
    let first = commit(&repo);
    let full = crate::desired::load(&Source::open(dir.path(), Some(&first), false).unwrap());
    let mut recorded = sources_of(&full.unwrap());
    assert!(recorded.values().all(|s| s.len() == 32), "{recorded:?}");
    // e.test was not yet seen on every server: its source does not count
    recorded.insert("e.test.".into(), String::new());

    // zonekeeper.yaml changes where no zone reads it (the secondary's address), a.test
    // changes, b.test is deleted, d.test is new; c.test and e.test are untouched
    write(
        dir.path(),
        CONFIG_FILE,
        &CONFIG.replace("127.0.0.2", "127.0.0.3"),
    );
    write(dir.path(), "zones/a.test.yaml", &zone("192.0.2.9"));
    std::fs::remove_file(dir.path().join("zones/b.test.yaml")).unwrap();
    write(dir.path(), "zones/d.test.yaml", &zone("192.0.2.4"));
    let second = commit(&repo);
    let source = Source::open(dir.path(), Some(&second), false).unwrap();
    let want = (
        vec!["a.test.".to_string(), "d.test.".into(), "e.test.".into()],
        vec!["b.test.".to_string()],
    );
    assert_eq!(loaded(&source, &first, &recorded), want);
    // the applied commit is gone from the repository (history rewritten): the same
    assert_eq!(loaded(&source, &"0".repeat(40), &recorded), want);

    // the zones' settings change (the group's TTL): every zone is read again
    let ttl = CONFIG.replace(
        "    secondaries: [ns1]\n",
        "    secondaries: [ns1]\n    ttl: 600\n",
    );
    write(dir.path(), CONFIG_FILE, &ttl);
    let third = commit(&repo);
    let source = Source::open(dir.path(), Some(&third), false).unwrap();
    let (read, deleted) = loaded(&source, &first, &recorded);
    assert_eq!(read, ["a.test.", "c.test.", "d.test.", "e.test."]);
    assert_eq!(deleted, ["b.test."]);
    let state = crate::desired::load(&source).unwrap();
    assert!(state.zones["c.test."].canonical_text(1).contains(" 600 "));
}
