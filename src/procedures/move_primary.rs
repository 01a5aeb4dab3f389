//! Move the primary: every zone (and every group's catalog zone) leaves the old primary for
//! a new one, while the secondaries keep serving them without a gap (migration document
//! sections 3.1-3.7).
//!
//! # Expected flow
//!
//! 1. **raise-expire**: every zone whose SOA expire is under 30 days gets 30 days on the
//!    old primary (serial bumped), so a secondary cut off from both primaries during the
//!    move keeps serving. Gate: the old primary and every secondary of the zone's group
//!    serve the new serial.
//! 2. **load-new**: the new primary gets every zone from the recorded content (zone files
//!    and its zones.conf, one `rndc reconfig`), and a copy of every catalog zone, transferred
//!    from the old primary. Gate: for each zone the new primary answers the recorded serial
//!    and both primaries hold the same data, compared RRset by RRset in canonical order
//!    (from AXFR, never files or transfer order); the catalog copies equal their originals.
//! 3. **both-primaries**: each catalog (on the old primary) names the new primary first
//!    and the old one second (`primaries.ext`, RFC 9432 custom property, with the TSIG
//!    key); the secondaries reconfigure their member zones by themselves. Gate: every
//!    secondary, and the new primary's copy, serve the catalog's new serial.
//! 4. **prove-new**: each zone's serial is bumped on the new primary only. Gate: every
//!    secondary serves that serial, which the old primary never had: the secondaries
//!    transfer from the new primary.
//! 5. **new-only**: the catalogs name the new primary alone. Gate as in 3.
//! 6. **take-catalogs**: the new primary's catalog copies become primary zones, and their
//!    serial is bumped there. Gate: every secondary serves that serial, which happens once
//!    its operator has pointed its catalog zones at the new primary (zonekeeper does not
//!    write secondaries' configuration; the waiting message says exactly what to change).
//! 7. **publish**: the zones get their desired content on the new primary: the SOA expire
//!    goes back, and MNAME, NS and address records change here when the commit changed
//!    them (a visible primary). Gate: the new primary and every secondary serve it.
//! 8. **retire-old**: the old primary stops serving the zones and catalogs. Gate: it no
//!    longer answers authoritatively for any of them.
//!
//! # Guarantees
//!
//! From the creation of the operation to its end, the zones are frozen: the regular path
//! leaves every zone alone, so the two primaries never hold different changes. At every
//! step each secondary has a primary it transfers from, and serves every zone.
//!
//! # Assumptions
//!
//! Both primaries accept the same TSIG key; the secondaries' own configuration uses the
//! default DNS port for primaries named by a catalog (the `port` option; catalog zones
//! carry no port). The old primary answers until step 8.

use super::{Action, Gate, Kind, NewOperation, StepSpec};
pub use crate::model::config::PrimaryRef;

/// The SOA expire a zone needs while its primary moves: 30 days.
pub const MOVE_EXPIRE: u32 = 30 * 24 * 3600;

/// The operation that moves every zone of `zones` from `old` to `new`; both accept the
/// TSIG key named `key`.
pub fn operation(old: &PrimaryRef, new: &PrimaryRef, zones: &[String], key: &str) -> NewOperation {
    let steps = vec![
        StepSpec::new(
            "raise-expire",
            Action::RaiseExpire {
                seconds: MOVE_EXPIRE,
            },
            Gate::Propagated {
                primary: old.name.clone(),
                addr: old.addr,
            },
        ),
        StepSpec::new(
            "load-new",
            Action::LoadCopy {
                to: new.clone(),
                from: old.addr,
            },
            Gate::SameData {
                new: new.addr,
                old: old.addr,
            },
        ),
        StepSpec::new(
            "both-primaries",
            Action::CatalogPrimaries {
                primaries: vec![new.addr, old.addr],
                copy: new.clone(),
            },
            Gate::CatalogsServed {
                primary: old.addr,
                copy: Some(new.addr),
                how: String::new(),
            },
        ),
        StepSpec::new(
            "prove-new",
            Action::BumpSerials { on: new.clone() },
            Gate::Propagated {
                primary: new.name.clone(),
                addr: new.addr,
            },
        ),
        StepSpec::new(
            "new-only",
            Action::CatalogPrimaries {
                primaries: vec![new.addr],
                copy: new.clone(),
            },
            Gate::CatalogsServed {
                primary: old.addr,
                copy: Some(new.addr),
                how: String::new(),
            },
        ),
        StepSpec::new(
            "take-catalogs",
            Action::TakeCatalogs {
                to: new.clone(),
                from: old.addr,
            },
            Gate::CatalogsServed {
                primary: new.addr,
                copy: None,
                how: format!(
                    "point its catalog zones at the new primary {name}: in its named.conf, \
                     `primaries {{ {ip} port {port} key \"{key}\"; }};` in each catalog's zone \
                     statement and `default-primaries` of its catalog-zones entry, then `rndc reconfig`",
                    name = new.name,
                    ip = new.addr.ip(),
                    port = new.addr.port(),
                    key = key.trim_end_matches('.'),
                ),
            },
        ),
        StepSpec::new(
            "publish",
            Action::PublishZonesOn { on: new.clone() },
            Gate::Propagated {
                primary: new.name.clone(),
                addr: new.addr,
            },
        ),
        StepSpec::new(
            "retire-old",
            Action::Retire { old: old.clone() },
            Gate::Retired {
                server: old.name.clone(),
                addr: old.addr,
            },
        ),
    ];
    NewOperation {
        kind: Kind::MovePrimary,
        group: String::new(),
        server: new.addr.to_string(),
        zones: zones.to_vec(),
        steps,
    }
}
