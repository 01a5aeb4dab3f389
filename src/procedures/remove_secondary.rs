//! Remove a secondary from a group, and so from every zone of the group (migration
//! document sections 2.4-2.5).
//!
//! # Expected flow
//!
//! 0. **delegation** (when the server is published): the parent stops delegating to it
//!    first: managed parents are updated, other parents must answer without it, or an
//!    operator confirms the registrar's change (see `delegation`).
//! 1. **unpublish-ns**: the zones get the desired content: the server's NS record goes (and
//!    its address records, unless another record still uses the name), one signed UPDATE
//!    per zone, serial bumped. The primary stops notifying it. Gate: every remaining server
//!    serves the new serial.
//! 2. **ttl-wait**: wait the longest of the child NS TTL, the parent's delegation TTL (NS
//!    and glue) and the address TTLs of the server's name, so that no resolver still holds
//!    a delegation to it.
//! 3. **stop-serving**: the zones leave the server's own catalog of the group
//!    (`<server>.<group catalog>`), so it drops them while its group-mates keep theirs.
//!    Gate: it no longer answers authoritatively for any of them (REFUSED, SERVFAIL, or no
//!    answer at all). Once the operation is done, the emptied catalog leaves the primary.
//!
//! # Guarantees
//!
//! The server keeps serving until every NS record naming it has expired from caches.
//!
//! # Caveats
//!
//! A parent's NS TTL is read from the store (managed parent) or asked of its servers
//! (`parent_servers`); otherwise the child's stands in for it, and the wait says so.
//!

use super::GroupZones;
use super::{Action, Gate, Kind, NewOperation, StepSpec, delegation};

/// The operation that removes `server` (published as `ns_name`, if at all) from `group`.
pub fn operation(
    group: &str,
    server: &str,
    ns_name: Option<&str>,
    zones: &GroupZones,
) -> NewOperation {
    let address_ttl = ns_name
        .and_then(|n| zones.max_ttl_by_server_name.get(n))
        .copied()
        .unwrap_or(0);
    let wait = u64::from(
        zones
            .max_ns_ttl
            .max(address_ttl)
            .max(zones.max_parent_ns_ttl),
    );
    let unknown = if zones.parent_ttl_unknown {
        " (a parent's NS TTL is unknown and taken to be the child's: give the zone `delegation: { parent_servers: [...] }` to have it asked)"
    } else {
        ""
    };
    let mut steps = Vec::new();
    if ns_name.is_some() && !zones.delegations.is_empty() {
        steps.push(delegation::step(&zones.delegations));
    }
    steps.push(StepSpec::new(
        "unpublish-ns",
        Action::PublishZones,
        Gate::AllServe,
    ));
    steps.push(StepSpec::new(
        "ttl-wait",
        Action::RenderPrimary,
        Gate::Wait {
            seconds: wait,
            why: format!(
                "resolvers may hold NS and address records naming {server} for {wait} s{unknown}"
            ),
        },
    ));
    steps.push(StepSpec::new(
        "stop-serving",
        Action::LeaveCatalog,
        Gate::StoppedServing {
            server: server.into(),
            how: format!(
                "it was removed from its catalog zone of group {group}: check its log (is it still configured to consume that catalog?)"
            ),
        },
    ));
    NewOperation {
        kind: Kind::RemoveSecondary,
        group: group.into(),
        server: server.into(),
        zones: zones.zones.clone(),
        steps,
    }
}
