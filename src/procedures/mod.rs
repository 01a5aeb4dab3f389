//! Staged procedures: every change to *who serves a zone* becomes a durable operation made
//! of steps, carried out in the order of the RIPE migration document, one server at a time.
//!
//! Pure: no I/O, no clock. A procedure file turns a change into a list of [`StepSpec`]s;
//! each step has an idempotent [`Action`] and a [`Gate`] that proves it took effect or says
//! what it waits for. The executor (`apply::operations`) stores the steps and drives them,
//! writing each step's state before and after it acts.
//!
//! Which operations exist is decided in `decide.rs` (pure too); this file holds only the
//! types every procedure and the executor share: [`Kind`], [`Action`], [`Gate`],
//! [`StepSpec`] and [`NewOperation`].

pub mod add_secondary;
pub mod decide;
pub mod delegation;
pub mod gates;
pub mod move_primary;
pub mod move_zone;
pub mod quorum;
pub mod remove_secondary;
pub mod renumber;
pub mod zone;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

pub use gates::{Verdict, holds};

/// The kinds of operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A secondary joins a group (section 2.1-2.3).
    AddSecondary,
    /// A secondary leaves a group (section 2.4-2.5).
    RemoveSecondary,
    /// A zone moves to another group.
    MoveZone,
    /// A planned cut-over of one RRset (section 4).
    Renumber,
    /// Every zone moves to a new primary (section 3).
    MovePrimary,
}

impl Kind {
    /// Its name in the store and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AddSecondary => "add-secondary",
            Kind::RemoveSecondary => "remove-secondary",
            Kind::MoveZone => "move-zone",
            Kind::Renumber => "renumber",
            Kind::MovePrimary => "move-primary",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "add-secondary" => Some(Kind::AddSecondary),
            "remove-secondary" => Some(Kind::RemoveSecondary),
            "move-zone" => Some(Kind::MoveZone),
            "renumber" => Some(Kind::Renumber),
            "move-primary" => Some(Kind::MovePrimary),
            _ => None,
        }
    }
}

/// What a step does. Every action is safe to repeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Render the primary's zone configuration (also-notify lists the group's secondaries
    /// as desired), reconfigure it when that changed, and NOTIFY the group's catalog.
    RenderPrimary,
    /// Bring the operation's zones to the desired content with signed UPDATEs (the NS
    /// RRset and the address records of the server's name change here).
    PublishZones,
    /// Add the operation's zones to its group's catalog zone.
    CatalogAdd,
    /// Remove the operation's zones from the catalog of the operation's server in its
    /// group: that secondary alone drops them.
    LeaveCatalog,
    /// Remove the operation's zones from `group`'s catalog zones.
    CatalogRemove {
        /// The group whose catalog they leave.
        group: String,
    },
    /// Bring managed parent zones to their desired content: their delegation (NS and glue)
    /// for the operation's zones changes here.
    PublishParents {
        /// The parent zones.
        zones: Vec<String>,
    },
    /// Give one RRset of the operation's zone these values (canonical presentation) and
    /// TTL, the rest of the zone as recorded.
    SetRrset {
        /// Owner, lower case.
        owner: String,
        /// Type.
        rtype: String,
        /// TTL.
        ttl: u32,
        /// The values.
        values: Vec<String>,
    },
    /// Nothing: the step only waits for its gate.
    Nothing,
    /// Give every zone of the operation an SOA expire of at least `seconds`, on the
    /// current primary.
    RaiseExpire {
        /// The least expire.
        seconds: u32,
    },
    /// Load every zone of the operation on primary `to` from the recorded content, and a
    /// copy of every catalog zone transferred from `from`.
    LoadCopy {
        /// The new primary.
        to: move_primary::PrimaryRef,
        /// The old primary.
        from: SocketAddr,
    },
    /// Make every catalog zone (on the current primary) name `primaries`, in this order,
    /// as its members' primaries; then refresh the copy on `copy`.
    CatalogPrimaries {
        /// The primaries, first tried first.
        primaries: Vec<SocketAddr>,
        /// The new primary holding copies of the catalogs.
        copy: move_primary::PrimaryRef,
    },
    /// Bump every zone's serial on primary `on` alone, once.
    BumpSerials {
        /// The new primary.
        on: move_primary::PrimaryRef,
    },
    /// Turn the catalog copies on `to` into primary zones and bump their serial there
    /// (once: while it still equals the one on `from`).
    TakeCatalogs {
        /// The new primary.
        to: move_primary::PrimaryRef,
        /// The old primary.
        from: SocketAddr,
    },
    /// Like `PublishZones`, on primary `on`.
    PublishZonesOn {
        /// The new primary.
        on: move_primary::PrimaryRef,
    },
    /// The old primary stops serving every zone and catalog zonekeeper gave it.
    Retire {
        /// The old primary.
        old: move_primary::PrimaryRef,
    },
    /// A zone operation's: load the zone on the primary from a new zone file (one
    /// `rndc reconfig` for every zone loaded in the pass), or adopt it when the primary
    /// already serves it (its change from what it serves goes as UPDATEs).
    LoadZone,
    /// A zone operation's: send the zone's change as signed UPDATEs, written ahead in the
    /// store, with the recorded SOA as prerequisite.
    SendUpdate,
    /// A zone operation's: add the zone to its group's catalog zones (and, when it moved
    /// group, remove it from `leave`'s), so the group's secondaries pick it up.
    CatalogJoin {
        /// The group it left, if any.
        leave: Option<String>,
    },
    /// A zone operation's: take the zone out of the primary's configuration (one
    /// `rndc reconfig` for every zone unloaded in the pass) and remove its files.
    UnloadZone,
}

/// What proves a step took effect, or what it waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "gate", rename_all = "kebab-case")]
pub enum Gate {
    /// `server` answers SOA for every zone of the operation with AA and the recorded serial,
    /// over UDP with EDNS0 (1232) and over TCP.
    Serves {
        /// The server.
        server: String,
    },
    /// Every server of the group (and the primary) serves every zone at its recorded serial.
    AllServe,
    /// Every secondary of `group` serves every zone at its recorded serial (UDP and TCP).
    GroupServes {
        /// The group.
        group: String,
    },
    /// Every secondary of `group` that is not also in `except` no longer answers
    /// authoritatively for the zones.
    GroupStopped {
        /// The group the zones left.
        group: String,
        /// The group they moved to.
        except: String,
    },
    /// Not before `seconds` after the previous step finished: resolvers may still hold
    /// the old records that long.
    Wait {
        /// How long.
        seconds: u64,
        /// Why, for `status`.
        why: String,
    },
    /// `server` no longer answers authoritatively for any zone of the operation.
    StoppedServing {
        /// The server.
        server: String,
        /// What the operator does to make it so.
        how: String,
    },
    /// The parents delegate each zone with its desired NS set: managed parents serve their
    /// recorded serial everywhere; other parents' servers answer the referral with exactly
    /// that set; where neither can be checked, an operator confirms.
    Delegation {
        /// Zone by zone, what to check.
        zones: Vec<delegation::ZoneDelegation>,
        /// Whether some zone can only be confirmed by hand.
        manual: bool,
        /// What the registrar must publish, for the message.
        instructions: String,
    },
    /// `primary` (at `addr`) and every secondary of each zone's group serve each zone of
    /// the operation at its recorded serial, over UDP and TCP.
    Propagated {
        /// The primary's name.
        primary: String,
        /// Where it answers.
        addr: SocketAddr,
    },
    /// The primary at `new` serves each zone at its recorded serial, with the same RRsets
    /// as the one at `old`; its catalog copies equal the originals.
    SameData {
        /// The new primary.
        new: SocketAddr,
        /// The old primary.
        old: SocketAddr,
    },
    /// Every secondary of each group (and the copy at `copy`) serves the group's catalog
    /// zone at the serial the primary at `primary` serves.
    CatalogsServed {
        /// The primary whose catalogs count.
        primary: SocketAddr,
        /// A copy that must follow too.
        copy: Option<SocketAddr>,
        /// What a secondary's operator does when it does not follow.
        how: String,
    },
    /// `server` at `addr` no longer answers authoritatively for the zones or catalogs.
    Retired {
        /// Its name.
        server: String,
        /// Where it answers.
        addr: SocketAddr,
    },
    /// An operator confirms with `zonekeeper confirm OP STEP`.
    Manual {
        /// What must be true first.
        what: String,
    },
    /// The primary answers SOA for the zone with AA and the serial its action produced,
    /// over UDP and TCP.
    PrimaryServes,
    /// A transfer (AXFR) of the zone from the primary holds exactly the desired RRsets at
    /// the serial its action produced; then the zone is recorded.
    ContentEquals,
    /// The primary no longer answers authoritatively for the zone; then the store forgets
    /// it.
    PrimaryStopped,
}

/// One step as a procedure describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepSpec {
    /// A short name, shown by `status`.
    pub name: String,
    /// What it does.
    pub action: Action,
    /// What proves it, or what it waits for.
    pub gate: Gate,
}

impl StepSpec {
    /// A step.
    pub fn new(name: &str, action: Action, gate: Gate) -> StepSpec {
        StepSpec {
            name: name.into(),
            action,
            gate,
        }
    }
}

/// An operation to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOperation {
    /// Its kind.
    pub kind: Kind,
    /// The group whose servers change.
    pub group: String,
    /// The server added or removed.
    pub server: String,
    /// The zones concerned: every zone of the group.
    pub zones: Vec<String>,
    /// Its steps, in order.
    pub steps: Vec<StepSpec>,
}

/// What the recorded zones of a group tell the membership procedures.
#[derive(Debug, Clone, Default)]
pub struct GroupZones {
    /// Zone names.
    pub zones: Vec<String>,
    /// The longest TTL of the apex NS RRsets and of the address records of each NS name
    /// (by lower-case name), as recorded.
    pub max_ttl_by_server_name: BTreeMap<String, u32>,
    /// The longest apex NS TTL recorded.
    pub max_ns_ttl: u32,
    /// The longest TTL of the parents' delegations (NS and glue) of these zones, where
    /// known: a managed parent's as recorded, an unmanaged one's as its servers answer.
    pub max_parent_ns_ttl: u32,
    /// Some zone's parent TTL could not be learnt (no managed parent, no parent servers
    /// to ask, or they did not answer): the child's NS TTL stands in for it.
    pub parent_ttl_unknown: bool,
    /// Each zone's delegation as desired, and how to check it.
    pub delegations: Vec<delegation::ZoneDelegation>,
}
