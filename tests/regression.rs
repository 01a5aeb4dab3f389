//! One test per reported defect, named after it, each with the reproduction in a comment.
//! Every scenario runs against a real BIND lab, on SQLite and on PostgreSQL
//! (`both_stores!`), unless the defect has nothing to do with the store.
//!
//! Sections follow the issue that reported the defects (issue 7, "never lose a change,
//! never report one that did not happen"); within a section, one test per defect.

#[allow(unused_imports)]
use crate::both_stores;
#[allow(unused_imports)]
use crate::support::{Db, Env, text, zone_yaml};

// ===========================================================================================
// Content, not serials: UPDATEs, verification, adoption, resume, loading, probes (7.1, 7.2,
// 7.5, 7.6, 7.7 at apply, 7.9, 7.19).
// ===========================================================================================

// --- end of section: content ---

// ===========================================================================================
// Input: IDN, names BIND refuses, symlinks, secrets in Git, invalid UTF-8 (7.3, 7.7 at
// validate, 7.15, 7.16, 7.17 invalid UTF-8).
// ===========================================================================================

// --- end of section: input ---

// ===========================================================================================
// Staged operations: catalog serials, cancel, waits, back-off, operator actions (7.8, 7.10,
// 7.11, 7.12, 7.13).
// ===========================================================================================

// --- end of section: operations ---

// ===========================================================================================
// The lock and honest output: stale interactive plans, the apply lock, output (7.4, 7.14,
// 7.17 output).
// ===========================================================================================

// --- end of section: lock ---

// ===========================================================================================
// A fresh machine (7.18).
// ===========================================================================================

// Repro (7.18): on a fresh machine `TMPDIR` is empty; `scripts/test` then failed in the unit
// test `lab::tests::port_lock_reserve_release_and_takeover`, because reserving a lab port
// assumed `$TMPDIR/zonekeeper-lab-ports` existed, which only an earlier lab run created.
// The parent runs the child below in a new process whose `TMPDIR` is a new, empty directory.
#[test]
fn lab_port_lock_works_in_a_fresh_tmpdir() {
    let fresh = tempfile::tempdir().unwrap();
    let tmp = fresh.path().join("empty-tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "regression::fresh_tmpdir_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    let log = text(&out);
    assert!(out.status.success(), "the child failed:\n{log}");
    assert!(log.contains("1 passed"), "the child test ran:\n{log}");
    assert!(
        tmp.join("zonekeeper-lab-ports").is_dir(),
        "the lock directory was made in the fresh TMPDIR"
    );
}

/// Run by [`lab_port_lock_works_in_a_fresh_tmpdir`] in a process with an empty `TMPDIR`.
#[test]
#[ignore = "run by lab_port_lock_works_in_a_fresh_tmpdir with its own TMPDIR"]
fn fresh_tmpdir_child() {
    use zonekeeper::lab::{TEST_PORT_LAST, release_port, try_reserve_port};
    let dir = std::env::temp_dir().join("zonekeeper-lab-ports");
    assert!(!dir.exists(), "the TMPDIR is fresh");
    let port = (TEST_PORT_LAST - 50..=TEST_PORT_LAST)
        .find(|&p| try_reserve_port(p).expect("reserving a port in a fresh TMPDIR"))
        .expect("a free port");
    assert!(dir.join(format!("{port}.lock")).exists());
    release_port(port);
    assert!(!dir.join(format!("{port}.lock")).exists());
}

// --- end of section: fresh machine ---
