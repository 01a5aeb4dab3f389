//! A fresh machine (issue 7: item 18).

#[allow(unused_imports)]
use crate::both_stores;
#[allow(unused_imports)]
use crate::support::{Db, Env, text, zone_yaml};

#[test]
fn lab_port_lock_works_in_a_fresh_tmpdir() {
    let fresh = tempfile::tempdir().unwrap();
    let tmp = fresh.path().join("empty-tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "regression::fresh_machine::fresh_tmpdir_child",
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
    use zonekeeper_lab::{TEST_PORT_LAST, release_port, try_reserve_port};
    let dir = std::env::temp_dir().join("zonekeeper-lab-ports");
    assert!(!dir.exists(), "the TMPDIR is fresh");
    let port = (TEST_PORT_LAST - 50..=TEST_PORT_LAST)
        .find(|&p| try_reserve_port(p).expect("reserving a port in a fresh TMPDIR"))
        .expect("a free port");
    assert!(dir.join(format!("{port}.lock")).exists());
    release_port(port);
    assert!(!dir.join(format!("{port}.lock")).exists());
}
