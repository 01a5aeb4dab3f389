//! Verification waits while the secondaries make progress: new zones that reach the
//! secondaries one at a time, over far longer than the verify timeout (as thousands of
//! new zones reach BIND secondaries a few transfers at a time), are verified by one apply;
//! a secondary that stalls still fails it.

use std::time::Duration;

use super::block_on;
use super::harness::{Repo, Run, Sim, addr};
use super::scenario::{CATALOG, P0, config, files, zone};

/// Twelve new zones in group `default` (ns1, ns2).
fn repo() -> Repo {
    let zones: Vec<(String, String)> = (0..12)
        .map(|i| {
            (
                format!("z{i}.test"),
                zone("default", "192.0.2.1", "192.0.2.25", false),
            )
        })
        .collect();
    let zones: Vec<(&str, String)> = zones.iter().map(|(z, y)| (z.as_str(), y.clone())).collect();
    let conf = config(P0, &[("default", CATALOG, &["ns1", "ns2"][..])]);
    Repo::new(&[files(conf, &zones)], &[CATALOG])
}

/// A fleet whose secondaries take one new zone a second (`down`: ns2 down too), and the
/// time on its clock.
async fn slow_fleet(repo: &Repo, down: bool) -> (Sim<'_>, Duration) {
    let sim = Sim::new(repo, 1, &[], &["ns1", "ns2"]).await;
    let start = {
        let mut w = sim.fleet.world();
        w.transfer_gap = Some(Duration::from_secs(1));
        if let Some(ns2) = w.servers.get_mut(&addr("10.0.1.2:53")) {
            ns2.sw.down = down;
        }
        w.now
    };
    (sim, start)
}

/// The secondaries take a zone per second: 12 s of transfers against a 2 s verify
/// timeout. One apply verifies every zone.
#[test]
fn new_zones_are_verified_in_one_apply_while_secondaries_make_progress() {
    let repo = repo();
    block_on(async {
        let (mut sim, start) = slow_fleet(&repo, false).await;
        let run = sim.apply(&repo.revs[0], false).await;
        assert_eq!(run, Run::Recorded);
        let took = sim.fleet.world().now - start;
        assert!(
            took > Duration::from_secs(10),
            "the transfers were not that slow: {took:?}"
        );
        let verified = sim.store.zone_index().await.expect("index");
        assert_eq!(verified.len(), 12);
        assert!(verified.iter().all(|z| z.verified));
    });
}

/// ns2 is down throughout: ns1's progress keeps the zones' checks going, and once ns1
/// serves every zone nothing progresses; the apply gives up a verify timeout later and
/// names ns2.
#[test]
fn a_stalled_secondary_fails_verification_once_nothing_progresses() {
    let repo = repo();
    block_on(async {
        let (mut sim, start) = slow_fleet(&repo, true).await;
        let run = sim.apply(&repo.revs[0], false).await;
        let Run::NotYet(message) = run else {
            panic!("the apply succeeded with ns2 down: {run:?}");
        };
        assert!(message.contains("ns2"), "{message}");
        let took = sim.fleet.world().now - start;
        assert!(
            took > Duration::from_secs(10) && took < Duration::from_secs(30),
            "it gave up after {took:?}"
        );
    });
}
