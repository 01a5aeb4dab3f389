//! Every procedure converges on the simulated fleet, with its invariants held at every
//! event, and leaves the fleet serving what it should.

use super::scenario::Procedure;
use super::{block_on, run};

/// Runs `p` without faults; asserts that it converged, that the invariants were checked
/// (and held) along the way, and returns what each server serves.
fn converges(p: Procedure) -> std::collections::BTreeMap<String, Vec<(String, u32)>> {
    let repo = p.repo();
    let ran = block_on(run(p, &repo, 1, None, None)).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    assert!(
        ran.checks > 10,
        "{p:?}: invariants checked {} times",
        ran.checks
    );
    assert!(ran.boundaries > 0, "{p:?}: no boundary reached");
    let s = &ran.summary;
    // Every server serves every zone it holds at the recorded serial.
    for (server, zones) in &s.served {
        for (zone, serial) in zones {
            if let Some((recorded, _)) = s.recorded.get(zone) {
                assert_eq!(
                    serial, recorded,
                    "{p:?}: {server} serves {zone} at {serial}"
                );
            }
        }
    }
    s.served.clone()
}

fn zones_of(
    served: &std::collections::BTreeMap<String, Vec<(String, u32)>>,
    server: &str,
) -> Vec<String> {
    served[server].iter().map(|(z, _)| z.clone()).collect()
}

/// Zone create, update and delete converge: c.test is served by the group, b.test by
/// nobody, a.test at its new serial everywhere.
#[test]
fn zones_created_updated_deleted_converge() {
    let served = converges(Procedure::Zones);
    for s in ["p0", "ns1", "ns2"] {
        assert_eq!(zones_of(&served, s), ["a.test.", "c.test."], "{s}");
    }
    assert!(zones_of(&served, "ns3").is_empty());
}

/// Adding a secondary converges: ns3 serves every zone of the group; no NS named it
/// before it served (checked at every event).
#[test]
fn add_secondary_converges() {
    let served = converges(Procedure::AddSecondary);
    assert_eq!(zones_of(&served, "ns3"), ["a.test.", "b.test."]);
}

/// Removing a secondary converges: ns2 serves nothing at the end, and stopped serving
/// only after every NS record naming it expired (checked at every event).
#[test]
fn remove_secondary_converges() {
    let served = converges(Procedure::RemoveSecondary);
    assert!(zones_of(&served, "ns2").is_empty());
    assert_eq!(zones_of(&served, "ns1"), ["a.test.", "b.test."]);
    assert_eq!(zones_of(&served, "ns3"), ["a.test.", "b.test."]);
}

/// Moving a zone to another group converges: b.test is served by ns3 alone.
#[test]
fn move_zone_converges() {
    let served = converges(Procedure::MoveZone);
    assert_eq!(zones_of(&served, "ns3"), ["b.test."]);
    assert_eq!(zones_of(&served, "ns1"), ["a.test."]);
}

/// A planned cut-over converges: every server serves a.test at its final serial.
#[test]
fn renumber_converges() {
    let served = converges(Procedure::Renumber);
    for s in ["ns1", "ns2"] {
        assert_eq!(zones_of(&served, s), ["a.test.", "b.test."]);
    }
}

/// Moving the primary converges: p1 serves every zone, p0 none, the secondaries keep
/// them.
#[test]
fn move_primary_converges() {
    let served = converges(Procedure::MovePrimary);
    assert_eq!(zones_of(&served, "p1"), ["a.test.", "b.test."]);
    assert!(zones_of(&served, "p0").is_empty());
    assert_eq!(zones_of(&served, "ns1"), ["a.test.", "b.test."]);
}
