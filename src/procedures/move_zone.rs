//! Move a zone to another server group: served by both groups for a while, NS switched,
//! then the old group drops it (migration document sections 2.1-2.5, for a whole set of
//! servers at once).
//!
//! # Expected flow
//!
//! 1. **provision**: the zone joins the new group's catalog zone. Gate: every secondary of
//!    the new group answers SOA with AA and the recorded serial, over UDP and TCP.
//! 2. **publish-ns**: the zone gets its desired content, with the new group's NS RRset (one
//!    signed UPDATE, serial bumped). Gate: the primary and the new group serve the new serial.
//! 3. **old-group-follows**: nothing is done. Gate: every secondary of the old group serves
//!    the new serial too, so none of them still hands out the old NS set once the wait
//!    has started (a lagging one would, naming servers about to drop the zone).
//! 4. **delegation**: managed parents publish the new delegation; other parents must
//!    answer with the new NS set, or an operator confirms (see `delegation`).
//! 5. **ttl-wait**: wait the longest of the zone's old apex NS TTL and its parent's
//!    delegation TTL (NS and glue), so no resolver still holds the old set from either.
//! 6. **unprovision**: the zone leaves the old group's catalog. Gate: every secondary of the
//!    old group that is not also in the new one stops answering authoritatively for it.
//!
//! # Guarantees
//!
//! At every moment each server named by the zone's published NS RRset serves it, and the
//! old group's servers keep serving until every NS record naming them (the child's apex
//! NS RRset and the parent's delegation) has expired from caches.
//!
//! # Caveats
//!
//! The parent's delegation TTL is learnt as for remove-secondary (`decide`): a managed
//! parent's as recorded, an unmanaged one's as its `parent_servers` answer; otherwise the
//! child's NS TTL stands in for it, and the wait says so.

use super::{Action, Gate, Kind, NewOperation, StepSpec, delegation};

/// The operation that moves `zone` from group `from` to group `to`; `ns_ttl` is the
/// recorded TTL of its apex NS RRset, `parent_ttl` its parent's delegation TTL when known,
/// `deleg` its delegation as desired.
pub fn operation(
    zone: &str,
    from: &str,
    to: &str,
    ns_ttl: u32,
    parent_ttl: Option<u32>,
    deleg: Option<&delegation::ZoneDelegation>,
) -> NewOperation {
    let wait = ns_ttl.max(parent_ttl.unwrap_or(0));
    let unknown = if parent_ttl.is_none() {
        " (its parent's NS TTL is unknown and taken to be the child's: give the zone `delegation: { parent_servers: [...] }` to have it asked)"
    } else {
        ""
    };
    let mut steps = vec![
        StepSpec::new(
            "provision",
            Action::CatalogAdd,
            Gate::GroupServes { group: to.into() },
        ),
        StepSpec::new("publish-ns", Action::PublishZones, Gate::AllServe),
        StepSpec::new(
            "old-group-follows",
            Action::Nothing,
            Gate::GroupServes { group: from.into() },
        ),
    ];
    steps.extend(deleg.map(|d| delegation::step(std::slice::from_ref(d))));
    steps.push(StepSpec::new(
        "ttl-wait",
        Action::Nothing,
        Gate::Wait {
            seconds: u64::from(wait),
            why: format!("resolvers may hold {zone}'s old NS RRset for {wait} s{unknown}"),
        },
    ));
    steps.push(StepSpec::new(
        "unprovision",
        Action::CatalogRemove { group: from.into() },
        Gate::GroupStopped {
            group: from.into(),
            except: to.into(),
        },
    ));
    NewOperation {
        kind: Kind::MoveZone,
        group: to.into(),
        server: String::new(),
        zones: vec![zone.into()],
        steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The old group must serve the new NS set before the wait starts: a lagging old
    /// secondary would otherwise keep handing out the old set, naming servers that drop the
    /// zone once the wait is over (found by the simulated fleet's fault schedules).
    #[test]
    fn old_group_serves_the_new_ns_set_before_the_wait() {
        let op = operation("a.test.", "old", "new", 300, Some(600), None);
        let names: Vec<&str> = op.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "provision",
                "publish-ns",
                "old-group-follows",
                "ttl-wait",
                "unprovision"
            ]
        );
        assert_eq!(
            op.steps[2].gate,
            Gate::GroupServes {
                group: "old".into()
            }
        );
        assert!(matches!(op.steps[3].gate, Gate::Wait { seconds: 600, .. }));
    }
}
