//! Zone operations: a zone created, updated, verified or deleted is an operation of its own,
//! with steps, actions and gates like the staged procedures, driven by the same driver
//! (`apply::operations`). Pure: [`operations`] reads only the plan's zone changes (as
//! [`Change`]s, `plan::ZoneChange::change`).
//!
//! Unlike the staged procedures, zone operations are not stored as rows: they are
//! level-triggered. What the store records of each zone (its content and serial once the
//! primary served it, verified once every server did) and the intents written ahead of
//! every UPDATE are their state; an apply after a crash computes them again from the plan
//! and carries on where the store says.
//!
//! The steps, in the order a careful operator follows:
//!
//! - **create-zone**: `load` (a new zone file, one `rndc reconfig` for all the zones of the
//!   pass; gate: the primary serves the zone), `record` (gate: a transfer holds exactly
//!   the desired RRsets; then the zone is recorded), `join-catalog` (gate: the primary and
//!   every secondary of the group serve it; then it is recorded verified).
//! - **update-zone**: `send` (signed UPDATEs; gate: the content, then recorded), then
//!   `join-catalog` when it moved group or `verify` (gate: every server serves it).
//! - **verify-zone**: a recorded zone not yet seen everywhere: `join-catalog` (adding a zone
//!   to a catalog it is in changes nothing) and its gate.
//! - **delete-zone** (only with `--allow-delete`): `leave-catalog` (gate: the group's
//!   secondaries stopped serving it), then `unload` (gate: the primary stopped; then the
//!   store forgets it).

use super::{Action, Gate, StepSpec};

/// The kinds of zone operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneKind {
    /// A new zone.
    Create,
    /// A zone whose content (or group) changed.
    Update,
    /// A recorded zone not yet seen on every server.
    Verify,
    /// A zone no longer desired.
    Delete,
}

impl ZoneKind {
    /// Its name in plans and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneKind::Create => "create-zone",
            ZoneKind::Update => "update-zone",
            ZoneKind::Verify => "verify-zone",
            ZoneKind::Delete => "delete-zone",
        }
    }
}

/// One zone operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneOperation {
    /// Its kind.
    pub kind: ZoneKind,
    /// The zone, lower case with the trailing dot.
    pub zone: String,
    /// The group that serves it (the recorded one for a deletion).
    pub group: String,
    /// Its steps, in order.
    pub steps: Vec<StepSpec>,
}

/// One zone change of a plan, as a zone operation is made from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change<'a> {
    /// The operation it calls for.
    pub kind: ZoneKind,
    /// The zone.
    pub zone: &'a str,
    /// Its group (the recorded one for a deletion).
    pub group: &'a str,
    /// The group it left, when it moved.
    pub old_group: Option<&'a str>,
}

/// The zone operations the plan's `changes` call for, in their order. Zones in `held` (a
/// staged operation's; sorted) are left to it, but for creations and deletions, which no
/// staged operation makes. Deletions only when `allow_delete`; without it the plan's
/// deletions are skipped, and the caller says so.
pub fn operations<'a>(
    changes: impl IntoIterator<Item = Change<'a>>,
    held: &[String],
    allow_delete: bool,
) -> Vec<ZoneOperation> {
    let is_held = |z: &str| held.binary_search_by(|h| h.as_str().cmp(z)).is_ok();
    changes
        .into_iter()
        .filter(|c| match c.kind {
            ZoneKind::Create => true,
            ZoneKind::Update | ZoneKind::Verify => !is_held(c.zone),
            ZoneKind::Delete => allow_delete,
        })
        .map(|c| ZoneOperation {
            kind: c.kind,
            zone: c.zone.to_string(),
            group: c.group.to_string(),
            steps: steps(c.kind, c.group, c.old_group),
        })
        .collect()
}

/// The steps of a zone operation of `kind` in `group` (that left `old_group`).
pub fn steps(kind: ZoneKind, group: &str, old_group: Option<&str>) -> Vec<StepSpec> {
    let join = |leave: Option<&str>| {
        StepSpec::new(
            "join-catalog",
            Action::CatalogJoin {
                leave: leave.map(str::to_string),
            },
            Gate::AllServe,
        )
    };
    match kind {
        ZoneKind::Create => vec![
            StepSpec::new("load", Action::LoadZone, Gate::PrimaryServes),
            StepSpec::new("record", Action::Nothing, Gate::ContentEquals),
            join(None),
        ],
        ZoneKind::Update => vec![
            StepSpec::new("send", Action::SendUpdate, Gate::ContentEquals),
            match old_group {
                Some(old) => join(Some(old)),
                None => StepSpec::new("verify", Action::Nothing, Gate::AllServe),
            },
        ],
        ZoneKind::Verify => vec![join(None)],
        ZoneKind::Delete => vec![
            StepSpec::new(
                "leave-catalog",
                Action::CatalogRemove {
                    group: group.to_string(),
                },
                Gate::GroupStopped {
                    group: group.to_string(),
                    except: String::new(),
                },
            ),
            StepSpec::new("unload", Action::UnloadZone, Gate::PrimaryStopped),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(
        zone: &'static str,
        kind: ZoneKind,
        old_group: Option<&'static str>,
    ) -> Change<'static> {
        Change {
            kind,
            zone,
            group: "g",
            old_group,
        }
    }

    fn names(ops: &[ZoneOperation]) -> Vec<(&str, &str)> {
        ops.iter()
            .map(|o| (o.kind.as_str(), o.zone.as_str()))
            .collect()
    }

    fn step_names(op: &ZoneOperation) -> Vec<&str> {
        op.steps.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn every_zone_change_of_the_plan_is_an_operation_in_plan_order() {
        let p = [
            change("a.test.", ZoneKind::Create, None),
            change("b.test.", ZoneKind::Update, None),
            change("c.test.", ZoneKind::Verify, None),
            change("d.test.", ZoneKind::Delete, None),
        ];
        let ops = operations(p, &[], true);
        assert_eq!(
            names(&ops),
            [
                ("create-zone", "a.test."),
                ("update-zone", "b.test."),
                ("verify-zone", "c.test."),
                ("delete-zone", "d.test.")
            ]
        );
        assert_eq!(step_names(&ops[0]), ["load", "record", "join-catalog"]);
        assert_eq!(step_names(&ops[1]), ["send", "verify"]);
        assert_eq!(step_names(&ops[2]), ["join-catalog"]);
        assert_eq!(step_names(&ops[3]), ["leave-catalog", "unload"]);
    }

    #[test]
    fn deletions_wait_for_allow_delete() {
        let p = [change("d.test.", ZoneKind::Delete, None)];
        assert!(operations(p, &[], false).is_empty());
        assert_eq!(operations(p, &[], true).len(), 1);
    }

    #[test]
    fn held_zones_are_left_to_their_staged_operation_but_creations_and_deletions() {
        let p = [
            change("a.test.", ZoneKind::Create, None),
            change("b.test.", ZoneKind::Update, None),
            change("c.test.", ZoneKind::Verify, None),
            change("d.test.", ZoneKind::Delete, None),
        ];
        let held: Vec<String> = ["a.test.", "b.test.", "c.test.", "d.test."]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            names(&operations(p, &held, true)),
            [("create-zone", "a.test."), ("delete-zone", "d.test.")]
        );
    }

    #[test]
    fn a_zone_that_moved_group_joins_the_new_catalog_and_leaves_the_old() {
        let p = [change("b.test.", ZoneKind::Update, Some("old"))];
        let ops = operations(p, &[], false);
        assert_eq!(step_names(&ops[0]), ["send", "join-catalog"]);
        assert_eq!(
            ops[0].steps[1].action,
            Action::CatalogJoin {
                leave: Some("old".into())
            }
        );
        assert_eq!(ops[0].steps[1].gate, Gate::AllServe);
    }

    #[test]
    fn deleting_proves_the_secondaries_then_the_primary_stopped() {
        let p = [change("d.test.", ZoneKind::Delete, None)];
        let ops = operations(p, &[], true);
        assert_eq!(
            ops[0].steps[0].gate,
            Gate::GroupStopped {
                group: "g".into(),
                except: String::new()
            }
        );
        assert_eq!(ops[0].steps[1].gate, Gate::PrimaryStopped);
    }
}
