//! The staged operations of a plan: the ones `apply` would create (as
//! `procedures::decide` decides) and the ones under way in the store, each with its steps
//! and what every step waits for. Pure: built from the decision and the store's rows.
//!
//! A step's [`Wait`]s are read off its gate: a time (`Gate::Wait`: seconds and why,
//! counted from the end of the step before), an operator's confirmation (`Gate::Manual`,
//! and a delegation only an operator can confirm), the parent's delegation
//! (`Gate::Delegation`), and operators of other servers changing their configuration
//! (`Gate::CatalogsServed` with instructions). The other gates are checks of what servers
//! answer; they hold as soon as the servers serve.

use serde::{Deserialize, Serialize};

use crate::procedures::decide::{Decision, PrimaryMove};
use crate::procedures::zone::ZoneOperation;
use crate::procedures::{Action, Gate, NewOperation, StepSpec};
use crate::store::OperationRow;

/// Whether an operation is still to create or already under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationState {
    /// `apply` would create it.
    New,
    /// It is in the store, under way.
    Active,
}

/// One staged operation of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedOperation {
    /// New or under way.
    pub state: OperationState,
    /// Its number in the store (`null` for a new one).
    pub id: Option<i64>,
    /// `add-secondary`, `remove-secondary`, `move-zone`, `renumber` or `move-primary`.
    pub kind: String,
    /// The group whose servers change (the new group of a move-zone; empty for a primary
    /// move).
    pub group: String,
    /// The server added or removed, the RRset of a renumber (`owner TYPE`), the new
    /// primary's address of a primary move; empty for a move-zone.
    pub server: String,
    /// The zones concerned.
    pub zones: Vec<String>,
    /// Its steps, in order.
    pub steps: Vec<PlannedStep>,
}

/// One step of a planned operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedStep {
    /// Its short name.
    pub name: String,
    /// What it does, as stored (tagged by `action`). `null` only for a stored step this
    /// version cannot read.
    pub action: Option<Action>,
    /// What proves it or what it waits for, as stored (tagged by `gate`); `null` likewise.
    pub gate: Option<Gate>,
    /// What it waits for besides servers answering.
    pub waits: Vec<Wait>,
    /// Its state in the store (pending, running, waiting, done, failed); `null` for a new
    /// operation.
    pub state: Option<String>,
    /// Not before this time, when the store says so (UTC RFC 3339 in JSON).
    #[serde(default, with = "super::serialize::rfc3339_opt")]
    pub not_before: Option<i64>,
    /// The last thing it said, when it said something.
    pub message: Option<String>,
}

/// What a step waits for besides servers answering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "wait", rename_all = "kebab-case")]
pub enum Wait {
    /// Time: not before `seconds` after the step before finished.
    Time {
        /// How long.
        seconds: u64,
        /// Why.
        why: String,
    },
    /// An operator confirms with `zonekeeper confirm OP STEP`.
    Confirmation {
        /// What must be true first.
        what: String,
    },
    /// The parents delegate each zone with its desired NS set.
    Delegation {
        /// The zones.
        zones: Vec<String>,
        /// Managed parents zonekeeper publishes the delegation in.
        managed_parents: Vec<String>,
        /// Zones whose unmanaged parent's servers are asked.
        asked: Vec<String>,
        /// Zones whose delegation only an operator can confirm.
        by_hand: Vec<String>,
        /// What the registrar must publish (unmanaged parents).
        instructions: String,
    },
    /// Operators of other servers change their configuration (zonekeeper does not write
    /// it).
    Operator {
        /// What they do.
        what: String,
    },
}

/// What a gate makes a step wait for besides servers answering.
pub fn waits(gate: &Gate) -> Vec<Wait> {
    match gate {
        Gate::Wait { seconds, why } => vec![Wait::Time {
            seconds: *seconds,
            why: why.clone(),
        }],
        Gate::Manual { what } => vec![Wait::Confirmation { what: what.clone() }],
        Gate::Delegation {
            zones,
            manual,
            instructions,
        } => {
            let mut managed_parents: Vec<String> =
                zones.iter().filter_map(|z| z.parent.clone()).collect();
            managed_parents.sort();
            managed_parents.dedup();
            let unmanaged = |asked: bool| -> Vec<String> {
                zones
                    .iter()
                    .filter(|z| z.parent.is_none() && z.parent_servers.is_empty() != asked)
                    .map(|z| z.zone.clone())
                    .collect()
            };
            let mut out = vec![Wait::Delegation {
                zones: zones.iter().map(|z| z.zone.clone()).collect(),
                managed_parents,
                asked: unmanaged(true),
                by_hand: unmanaged(false),
                instructions: instructions.clone(),
            }];
            if *manual {
                // `instructions` above lists every zone; this phrase is read by people
                out.push(Wait::Confirmation {
                    what: format!(
                        "the registrar publishes {}",
                        crate::procedures::delegation::registrar_summary(zones)
                    ),
                });
            }
            out
        }
        Gate::CatalogsServed { how, .. } if !how.is_empty() => {
            vec![Wait::Operator { what: how.clone() }]
        }
        _ => Vec::new(),
    }
}

fn step(spec: &StepSpec) -> PlannedStep {
    PlannedStep {
        name: spec.name.clone(),
        action: Some(spec.action.clone()),
        gate: Some(spec.gate.clone()),
        waits: waits(&spec.gate),
        state: None,
        not_before: None,
        message: None,
    }
}

/// An operation `apply` would create.
pub fn new_operation(op: &NewOperation) -> PlannedOperation {
    PlannedOperation {
        state: OperationState::New,
        id: None,
        kind: op.kind.as_str().to_string(),
        group: op.group.clone(),
        server: op.server.clone(),
        zones: op.zones.clone(),
        steps: op.steps.iter().map(step).collect(),
    }
}

/// An operation under way, as stored.
pub fn active_operation(row: &OperationRow) -> PlannedOperation {
    let steps = row
        .steps
        .iter()
        .map(|s| {
            let spec: Option<StepSpec> = serde_json::from_str(&s.spec).ok();
            PlannedStep {
                name: s.name.clone(),
                action: spec.as_ref().map(|p| p.action.clone()),
                gate: spec.as_ref().map(|p| p.gate.clone()),
                waits: spec.as_ref().map(|p| waits(&p.gate)).unwrap_or_default(),
                state: Some(s.state.clone()),
                not_before: s.not_before,
                message: (!s.message.is_empty()).then(|| s.message.clone()),
            }
        })
        .collect();
    PlannedOperation {
        state: OperationState::Active,
        id: Some(row.id),
        kind: row.kind.clone(),
        group: row.group.clone(),
        server: row.server.clone(),
        zones: row.zones.clone(),
        steps,
    }
}

/// The plan's operations: those under way (by number), then those `decision` creates, the
/// primary's move first.
pub fn operations(decision: &Decision, active: &[OperationRow]) -> Vec<PlannedOperation> {
    let mut out: Vec<PlannedOperation> = active.iter().map(active_operation).collect();
    if let PrimaryMove::Start(op) = &decision.primary {
        out.push(new_operation(op));
    }
    out.extend(decision.create.iter().map(new_operation));
    out
}

/// Zone operations of one kind in one group, with the same steps, counted: a plan of
/// 40,000 zones shows a few of these, not 40,000 (the zones are the plan's zone changes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedZoneOperations {
    /// `create-zone`, `update-zone`, `verify-zone` or `delete-zone`.
    pub kind: String,
    /// The group serving the zones (the recorded one for a deletion).
    pub group: String,
    /// How many zones.
    pub zones: usize,
    /// Their steps, in order, each with what it does and the gate that proves it.
    pub steps: Vec<PlannedStep>,
}

/// The zone operations `ops`, counted by kind, group and steps, in the order the driver
/// runs their first steps (creations, updates, verifications, deletions).
pub fn zone_operations(ops: &[ZoneOperation]) -> Vec<PlannedZoneOperations> {
    let mut out: Vec<(u8, PlannedZoneOperations)> = Vec::new();
    for op in ops {
        let steps: Vec<PlannedStep> = op.steps.iter().map(step).collect();
        let found = out
            .iter_mut()
            .find(|(_, o)| o.kind == op.kind.as_str() && o.group == op.group && o.steps == steps);
        match found {
            Some((_, o)) => o.zones += 1,
            None => out.push((
                op.kind as u8,
                PlannedZoneOperations {
                    kind: op.kind.as_str().to_string(),
                    group: op.group.clone(),
                    zones: 1,
                    steps,
                },
            )),
        }
    }
    out.sort_by(|(a, x), (b, y)| (a, &x.group).cmp(&(b, &y.group)));
    out.into_iter().map(|(_, o)| o).collect()
}
