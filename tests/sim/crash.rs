//! The exhaustive crash test: for every procedure, a clean run counts the boundaries the
//! driver reaches while applying the change (one after every store write, and after every
//! UPDATE sent); then, for every one of them, a fresh fleet and store run the same
//! change, the driver is stopped exactly there (its future dropped, as `kill -9` would
//! leave it), and new applies resume until the revision is recorded. Every resumed run
//! must converge with the invariants held at every event and end exactly as the clean
//! run did: the same serial and content recorded for every zone, the same versions
//! served by the primaries in the same order (no change applied twice, none lost), the
//! same catalog members, the same operations.

use super::scenario::{Procedure, Summary};
use super::{block_on, run};

/// Known defects the crash test found and that are not fixed yet: (procedure, boundary,
/// what the resumed run leaves). Such a crash point must still fail exactly so; once fixed,
/// it is removed here. None now: the one it found (a crash between a remove-secondary
/// recorded done and its emptied catalog retired left the catalog on the primary for
/// good) is fixed by retiring the catalog before the operation is recorded done.
const KNOWN: &[(Procedure, &str, &str)] = &[];

/// The first difference between a resumed run and the clean one.
fn difference(clean: &Summary, resumed: &Summary) -> Option<String> {
    if clean.recorded != resumed.recorded {
        return Some(format!(
            "recorded zones differ:\n clean   {:?}\n resumed {:?}",
            clean.recorded, resumed.recorded
        ));
    }
    for (k, v) in &clean.history {
        let r = resumed.history.get(k);
        if r != Some(v) {
            return Some(format!(
                "versions of {} on {} differ:\n clean   {v:#?}\n resumed {r:#?}",
                k.1, k.0
            ));
        }
    }
    if clean.history.len() != resumed.history.len() {
        return Some("a primary served a zone the clean run never had".into());
    }
    if clean.members != resumed.members {
        return Some(format!(
            "catalog members differ:\n clean   {:?}\n resumed {:?}",
            clean.members, resumed.members
        ));
    }
    if clean.operations != resumed.operations {
        return Some(format!(
            "operations differ: clean {:?}, resumed {:?}",
            clean.operations, resumed.operations
        ));
    }
    if clean.served != resumed.served {
        return Some(format!(
            "servers serve differently:\n clean   {:?}\n resumed {:?}",
            clean.served, resumed.served
        ));
    }
    None
}

/// Crashes `p` at every boundary of its clean run, one run each; asserts each resumed
/// run converged exactly as the clean one. Returns how many crash points were tried.
fn every_crash_point(p: Procedure) -> usize {
    let repo = p.repo();
    block_on(async {
        let clean = run(p, &repo, 1, None, None)
            .await
            .unwrap_or_else(|e| panic!("{p:?} clean run: {e}"));
        let mut failures = Vec::new();
        for at in 1..=clean.boundaries {
            let what = &clean.trail[at - 1];
            match run(p, &repo, 1, Some(at), None).await {
                Err(e) => failures.push(format!("crash at boundary {at} ({what}): {e}")),
                Ok(r) if !r.crashed => {
                    failures.push(format!("crash at boundary {at} ({what}): never reached"))
                }
                Ok(r) => {
                    let known = KNOWN.iter().find(|k| k.0 == p && k.1 == what);
                    match (difference(&clean.summary, &r.summary), known) {
                        (None, None) => {}
                        (Some(d), Some(k)) if d.contains(k.2) => {}
                        (None, Some(k)) => failures.push(format!(
                            "crash at boundary {at} ({what}): the known defect ({}) is gone: remove it from KNOWN",
                            k.2
                        )),
                        (Some(d), _) => {
                            failures.push(format!("crash at boundary {at} ({what}): {d}"))
                        }
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{p:?}: {} of {} crash points failed:\n{}",
            failures.len(),
            clean.boundaries,
            failures.join("\n\n")
        );
        assert!(
            clean.boundaries > 5,
            "{p:?}: only {} boundaries",
            clean.boundaries
        );
        clean.boundaries
    })
}

/// Zone creates, updates and deletes: a crash after any store write resumes to the same
/// end, every change applied once.
#[test]
fn zones_survive_a_crash_at_every_boundary() {
    every_crash_point(Procedure::Zones);
}

/// Adding a secondary survives a crash at every boundary.
#[test]
fn add_secondary_survives_a_crash_at_every_boundary() {
    every_crash_point(Procedure::AddSecondary);
}

/// Removing a secondary survives a crash at every boundary, the TTL wait kept.
#[test]
fn remove_secondary_survives_a_crash_at_every_boundary() {
    every_crash_point(Procedure::RemoveSecondary);
}

/// Moving a zone survives a crash at every boundary.
#[test]
fn move_zone_survives_a_crash_at_every_boundary() {
    every_crash_point(Procedure::MoveZone);
}

/// A planned cut-over survives a crash at every boundary.
#[test]
fn renumber_survives_a_crash_at_every_boundary() {
    every_crash_point(Procedure::Renumber);
}

/// Moving the primary survives a crash at every boundary.
#[test]
fn move_primary_survives_a_crash_at_every_boundary() {
    every_crash_point(Procedure::MovePrimary);
}
