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
//! 3. **delegation**: managed parents publish the new delegation; other parents must
//!    answer with the new NS set, or an operator confirms (see `delegation`).
//! 4. **ttl-wait**: wait the zone's old apex NS TTL, so no resolver still holds the old set.
//! 5. **unprovision**: the zone leaves the old group's catalog. Gate: every secondary of the
//!    old group that is not also in the new one stops answering authoritatively for it.
//!
//! # Guarantees
//!
//! At every moment each server named by the zone's published NS RRset serves it.
//!

use super::{Action, Gate, Kind, NewOperation, StepSpec, delegation};

/// The operation that moves `zone` from group `from` to group `to`; `ns_ttl` is the
/// recorded TTL of its apex NS RRset, `deleg` its delegation as desired.
pub fn operation(
    zone: &str,
    from: &str,
    to: &str,
    ns_ttl: u32,
    deleg: Option<&delegation::ZoneDelegation>,
) -> NewOperation {
    let mut steps = vec![
        StepSpec::new(
            "provision",
            Action::CatalogAdd,
            Gate::GroupServes { group: to.into() },
        ),
        StepSpec::new("publish-ns", Action::PublishZones, Gate::AllServe),
    ];
    steps.extend(deleg.map(|d| delegation::step(std::slice::from_ref(d))));
    steps.push(StepSpec::new(
        "ttl-wait",
        Action::Nothing,
        Gate::Wait {
            seconds: u64::from(ns_ttl),
            why: format!("resolvers may hold {zone}'s old NS RRset for {ns_ttl} s"),
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
