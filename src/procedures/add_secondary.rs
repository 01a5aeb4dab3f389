//! Add a secondary to a group, and so to every zone of the group (migration document
//! sections 2.1-2.3).
//!
//! # Expected flow
//!
//! 1. **provision**: the primary's configuration is rendered with the new secondary in
//!    every zone's also-notify; the secondary, configured to consume the group's catalog
//!    zone, transfers every member zone by itself. Gate: it answers SOA with recursion off,
//!    AA set and the primary's serial, over UDP with EDNS0 (bufsize 1232) and over TCP, for
//!    every zone.
//! 2. **publish-ns**: the zones get the desired content: the new NS record (and in-zone
//!    A/AAAA for its name), one signed UPDATE per zone, serial bumped. Gate: every server of
//!    the group serves the new serial.
//! 3. **delegation** (when the server is published): managed parents publish the new
//!    delegation; other parents must answer with the new NS set, or an operator confirms
//!    the registrar's change (see `delegation`).
//!
//! # Guarantees
//!
//! The NS record is never published before step 1's gate held: publishing an NS for a server
//! that is not authoritative is a lame delegation.
//!
//! # Assumptions
//!
//! The secondary is already configured to consume the group's catalog and to transfer with
//! the TSIG key; zonekeeper does not write secondaries' configuration.
//!

use super::GroupZones;
use super::{Action, Gate, Kind, NewOperation, StepSpec, delegation};

/// The operation that adds `server` (published as `ns_name`, if at all) to `group`.
pub fn operation(
    group: &str,
    server: &str,
    ns_name: Option<&str>,
    zones: &GroupZones,
) -> NewOperation {
    let mut steps = vec![
        StepSpec::new(
            "provision",
            Action::RenderPrimary,
            Gate::Serves {
                server: server.into(),
            },
        ),
        StepSpec::new("publish-ns", Action::PublishZones, Gate::AllServe),
    ];
    if ns_name.is_some() && !zones.delegations.is_empty() {
        steps.push(delegation::step(&zones.delegations));
    }
    NewOperation {
        kind: Kind::AddSecondary,
        group: group.into(),
        server: server.into(),
        zones: zones.zones.clone(),
        steps,
    }
}
