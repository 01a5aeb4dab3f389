//! Issue 10, "run it every day": defects of running zonekeeper unattended and in CI.

use std::time::{Duration, Instant};

use crate::both_stores;
use crate::support::{Db, Env, text, zone_yaml};

// Reproduction: a group of three secondaries, one of them stopped; every apply waited the
// whole verify timeout for it and failed, so every change to every zone waited for it.
both_stores!(one_dead_secondary_makes_every_apply_fail, |db| {
    let mut env = Env::with(db, 3, &["ns1", "ns2", "ns3"], 60);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a.test");
    env.apply(&[], 0);
    env.lab.stop("ns3").unwrap();
    // not known dead yet: the apply waits its verify timeout for ns3, then counts the
    // change served by the primary and two of three secondaries
    env.zone("a.test", &zone_yaml("192.0.2.2"));
    env.commit("www moves");
    let out = env.apply(&["--verify-timeout", "3"], 0);
    assert!(
        text(&out).contains("Not waited for: ns3 (did not serve a.test."),
        "{}",
        text(&out)
    );
    // known dead now (that apply saw it answer nothing): the next one does not wait
    env.zone("a.test", &zone_yaml("192.0.2.3"));
    env.commit("www moves again");
    let started = Instant::now();
    let out = env.apply(&["--verify-timeout", "20"], 0);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "it waited for the dead secondary: {:?}",
        started.elapsed()
    );
    assert!(text(&out).contains("Not waited for: ns3"), "{}", text(&out));
    for s in ["ns0", "ns1", "ns2"] {
        let at = env.lab.dns_addr(s).unwrap();
        assert_eq!(
            crate::support::dig_short(at, "www.a.test.", "A"),
            ["192.0.2.3"]
        );
    }
    // the sweep sees it BROKEN, lagging on the zone
    let check = env.zk(&["check"]);
    assert_eq!(check.status.code(), Some(2), "{}", text(&check));
    assert!(text(&check).contains("ns3"), "{}", text(&check));
});

// Reproduction: `plan --detailed-exitcode` with a read-only PostgreSQL role failed trying
// to migrate the store.
both_stores!(read_only_plan_fails_trying_to_migrate, |db| {
    let env = Env::new(db);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a.test");
    env.apply(&[], 0);
    let url = crate::ci::read_only_url(&env, db);
    let plan = env.zk_db(&url, &["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
});

// Reproduction: `zonekeeper plan --no-such-flag` exited 2, which `--detailed-exitcode`
// means "changes" in CI.
#[test]
fn usage_error_exits_2() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(["plan", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

// Reproduction: a zone changed on the primary behind zonekeeper's back (nsupdate). Every
// apply that touched it refused forever, `plan` said "No changes", and nothing could put
// the desired state back short of editing the store.
both_stores!(drift_is_a_dead_end, |db| {
    let env = Env::new(db);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a.test");
    env.apply(&[], 0);
    crate::drift::out_of_band(&env, "a.test.", "192.0.2.66");
    env.zone("a.test", &zone_yaml("192.0.2.2"));
    env.commit("www moves");
    let out = env.apply(&[], 1);
    assert!(text(&out).contains("--overwrite-drift"), "{}", text(&out));
    let plan = env.zk(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    assert!(
        text(&plan).contains("rogue"),
        "record by record: {}",
        text(&plan)
    );
    env.apply(&["--overwrite-drift", "a.test"], 0);
    env.assert_converged("after the overwrite");
    let at = env.lab.dns_addr("ns1").unwrap();
    assert_eq!(
        crate::support::dig_short(at, "www.a.test.", "A"),
        ["192.0.2.2"]
    );
});
