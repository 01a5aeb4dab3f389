//! The plan: a pure diff of the desired state against the recorded one. No I/O, no clock:
//! today's date comes in as an argument so serials are predictable.
//!
//! A plan lists zones to create, update, delete or re-verify, each with its record-level
//! changes grouped by RRset and the serial it will carry, the group membership changes,
//! and the staged operations with their steps and waits ([`operations`], filled in from
//! `procedures::decide` by the caller, which gathered what that decision reads). It is
//! plain data: [`render`] turns it into text or JSON, and a saved plan is that JSON,
//! checked against the store before it is applied.

pub mod operations;
pub mod render;
pub mod serialize;
pub mod warnings;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::desired::{DesiredState, Scope};
use crate::model::Zone;
use crate::model::parallel;
use crate::model::serial::next_serial;
use crate::model::zone::{content_hash, lines_by_rrset, with_serial};
use crate::procedures::zone::{self, ZoneKind};
use crate::store::{GroupRow, RecordedZone};

/// What happens to a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZoneAction {
    /// New: configured on the primary, added to its group's catalog.
    Create,
    /// Changed: one signed UPDATE on the primary.
    Update,
    /// Gone from the desired state: removed from the catalog, then from the primary.
    Delete,
    /// Unchanged, but not yet seen on every server: checked again.
    Verify,
}

/// One RRset that changes: its old and new canonical lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrsetChange {
    /// Owner name.
    pub owner: String,
    /// Record type.
    pub rtype: String,
    /// Lines recorded now.
    pub old: Vec<String>,
    /// Lines desired.
    pub new: Vec<String>,
}

/// One zone's change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ZoneChange {
    /// Zone name, lower case with the trailing dot.
    pub zone: String,
    /// What happens.
    pub action: ZoneAction,
    /// The group that serves it (after the change; the recorded one for a deletion).
    pub group: String,
    /// The group that served it before, when it moves between groups.
    pub old_group: Option<String>,
    /// The serial the primary serves now (from the store), if the zone exists.
    pub expected_serial: Option<u32>,
    /// The serial after the change.
    pub new_serial: Option<u32>,
    /// For a zone created after an import: the serial it had where it came from, which
    /// `new_serial` follows (RFC 1982).
    #[serde(default)]
    pub continues_from: Option<u32>,
    /// Changed RRsets (SOA values included when they change), as a saved plan lists
    /// them. Left empty in a plan just made: they are worked out from `old_text` and
    /// `new_text` when shown ([`ZoneChange::rrset_changes`]), so a plan of 40,000 zones
    /// does not hold each record twice, nor diff zones it shows only as a count.
    pub rrsets: Vec<RrsetChange>,
    /// The recorded canonical content (for the text diff; empty for a new zone).
    #[serde(skip)]
    pub old_text: String,
    /// The desired canonical content (empty for a deletion).
    #[serde(skip)]
    pub new_text: String,
}

impl ZoneChange {
    /// The changed RRsets: as a saved plan lists them, or worked out from the recorded
    /// and the desired content of a plan just made.
    pub fn rrset_changes(&self) -> std::borrow::Cow<'_, [RrsetChange]> {
        if self.rrsets.is_empty() && (!self.old_text.is_empty() || !self.new_text.is_empty()) {
            std::borrow::Cow::Owned(rrset_changes(&self.old_text, &self.new_text))
        } else {
            std::borrow::Cow::Borrowed(&self.rrsets)
        }
    }

    /// The change as a zone operation is made from it (`procedures::zone::operations`).
    pub fn change(&self) -> zone::Change<'_> {
        zone::Change {
            kind: match self.action {
                ZoneAction::Create => ZoneKind::Create,
                ZoneAction::Update => ZoneKind::Update,
                ZoneAction::Verify => ZoneKind::Verify,
                ZoneAction::Delete => ZoneKind::Delete,
            },
            zone: &self.zone,
            group: &self.group,
            old_group: self.old_group.as_deref(),
        }
    }
}

/// A change to a server group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupChange {
    /// Group name.
    pub group: String,
    /// The group is new.
    pub created: bool,
    /// The group is gone.
    pub removed: bool,
    /// Its catalog zone, before and after when it changes.
    pub catalog: (Option<String>, Option<String>),
    /// Secondaries joining.
    pub added: Vec<String>,
    /// Secondaries leaving.
    pub removed_secondaries: Vec<String>,
}

/// The plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The revision planned.
    pub revision: String,
    /// Its author.
    pub author: String,
    /// The revision the store had applied when planning.
    pub base_revision: Option<String>,
    /// Zone changes, by zone name.
    pub zones: Vec<ZoneChange>,
    /// Group changes.
    pub groups: Vec<GroupChange>,
    /// The primary moves (a staged operation): from, to, as `name address`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<(String, String)>,
    /// Staged operations: under way in the store, then those `apply` would create, each
    /// with its steps and waits (see [`operations`]). Empty in plans saved before they were
    /// shown.
    #[serde(default)]
    pub operations: Vec<operations::PlannedOperation>,
    /// The zone operations the zone changes make (zones held by a staged operation are
    /// its own), counted by kind, group and steps (see
    /// [`operations::zone_operations`]); deletions as `apply --allow-delete` makes them.
    #[serde(default)]
    pub zone_operations: Vec<operations::PlannedZoneOperations>,
    /// What to know before approving: a rollback, uncommitted files the plan does not
    /// read ([`warnings`]). Empty in plans saved before they were given.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl Plan {
    /// Whether `apply` has anything to do: a change on the servers or in the store, or a
    /// staged operation to create or to carry on.
    pub fn has_changes(&self) -> bool {
        self.needs_approval() || !self.operations.is_empty()
    }

    /// Whether the plan changes anything not yet approved: zones, groups, the primary, or
    /// operations to create. Operations under way were approved when they were created.
    pub fn needs_approval(&self) -> bool {
        !self.zones.is_empty()
            || !self.groups.is_empty()
            || self.primary.is_some()
            || self.count_operations(operations::OperationState::New) > 0
    }

    /// Count of staged operations in one state.
    pub fn count_operations(&self, state: operations::OperationState) -> usize {
        self.operations.iter().filter(|o| o.state == state).count()
    }

    /// Count of zone changes of one kind.
    pub fn count(&self, action: ZoneAction) -> usize {
        self.zones.iter().filter(|z| z.action == action).count()
    }
}

/// How much of a plan's content is held, which decides what is written out and what is
/// read from the store for it: a text plan of 40,000 updates shows 20 diffs, and needs 20
/// zones' content, not 40,000 twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Every zone change with its RRsets, old and new: JSON, a saved plan, a saved plan's
    /// check.
    Full,
    /// The new content of every zone change (what `apply` sends), the old content of
    /// those the text shows.
    Apply,
    /// Old and new content of the zone changes the text plan shows
    /// ([`render::zones_in_full`]).
    Text,
}

impl Plan {
    /// How many zone changes (the first, by name) `detail` shows in full.
    fn shown(&self, detail: Detail) -> usize {
        match detail {
            Detail::Full => self.zones.len(),
            Detail::Apply | Detail::Text => render::zones_in_full(self.zones.len()),
        }
    }

    /// The zones whose recorded content `detail` shows: updates and deletions among the
    /// zone changes shown in full.
    pub fn old_text_wanted(&self, detail: Detail) -> Vec<String> {
        self.zones[..self.shown(detail)]
            .iter()
            .filter(|z| matches!(z.action, ZoneAction::Update | ZoneAction::Delete))
            .map(|z| z.zone.clone())
            .collect()
    }

    /// Sets the recorded content of the zone changes named in `contents`.
    pub fn fill_old_text(&mut self, contents: impl IntoIterator<Item = (String, String)>) {
        let mut contents: std::collections::HashMap<String, String> =
            contents.into_iter().collect();
        for z in &mut self.zones {
            if let Some(text) = contents.remove(&z.zone) {
                z.old_text = text;
            }
        }
    }
}

/// What the plan needs from the store: the zone index (hashes and serials; content only
/// where it is shown), the groups as applied, and the applied revision.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// Recorded zones by name.
    pub zones: BTreeMap<String, RecordedZone>,
    /// Groups as applied.
    pub groups: Vec<GroupRow>,
    /// The revision applied in full.
    pub revision: Option<String>,
    /// The primary changes were last sent to.
    pub primary: Option<crate::model::config::PrimaryRef>,
    /// The serials imported zones had (`zonekeeper import`), by zone: a zone created
    /// continues from its own.
    pub serial_floors: BTreeMap<String, u32>,
}

/// The plan that takes the recorded state to the desired one, on day `today` (YYYYMMDD).
/// Zones are compared on every core when there are many. The recorded contents of the
/// zones that change move into the plan (as their `old_text`), not copied. The desired
/// content (`new_text`) is held for every zone change, or with [`Detail::Text`] for
/// those shown: written out once to be hashed, then dropped for the rest.
pub fn compute(
    desired: &DesiredState,
    recorded: &mut Recorded,
    today: u32,
    detail: Detail,
) -> Plan {
    let desired_zones: Vec<(&String, &Zone)> = desired.zones.iter().collect();
    let keep = detail != Detail::Text;
    let mut zones: Vec<ZoneChange> = parallel::map(&desired_zones, |(name, z)| {
        let floor = recorded.serial_floors.get(*name).copied();
        zone_change(name, z, recorded.zones.get(*name), (today, floor), keep)
    })
    .into_iter()
    .flatten()
    .collect();
    for change in zones.iter_mut().filter(|c| c.action == ZoneAction::Update) {
        if let Some(r) = recorded.zones.get_mut(&change.zone) {
            change.old_text = std::mem::take(&mut r.content);
        }
    }
    let recorded = &*recorded;
    let gone: Vec<&String> = match &desired.scope {
        Scope::Full => recorded
            .zones
            .keys()
            .filter(|n| !desired.zones.contains_key(*n))
            .collect(),
        Scope::Changes { deleted, .. } => deleted
            .iter()
            .filter(|n| recorded.zones.contains_key(*n))
            .collect(),
    };
    for name in gone {
        let r = &recorded.zones[name];
        zones.push(ZoneChange {
            zone: name.clone(),
            action: ZoneAction::Delete,
            group: r.group.clone(),
            old_group: None,
            expected_serial: Some(r.serial),
            new_serial: None,
            continues_from: None,
            rrsets: Vec::new(),
            old_text: r.content.clone(),
            new_text: String::new(),
        });
    }
    zones.sort_by(|a, b| a.zone.cmp(&b.zone));
    if !keep {
        let shown = render::zones_in_full(zones.len());
        for z in &mut zones[..shown] {
            if let (Some(zone), Some(serial)) = (desired.zones.get(&z.zone), z.new_serial)
                && z.action != ZoneAction::Verify
            {
                z.new_text = zone.canonical_text(serial);
            }
        }
    }
    Plan {
        revision: desired.revision.id.clone(),
        author: desired.revision.author.clone(),
        base_revision: recorded.revision.clone(),
        zones,
        groups: group_changes(desired, &recorded.groups),
        operations: Vec::new(),
        zone_operations: Vec::new(),
        warnings: Vec::new(),
        primary: recorded
            .primary
            .as_ref()
            .filter(|p| p.addr != desired.config.primary.addr)
            .map(|p| {
                let d = &desired.config.primary;
                (
                    format!("{} {}", p.name, p.addr),
                    format!("{} {}", d.name, d.addr),
                )
            }),
    }
}

/// One desired zone's change against its recorded row, if it has one to make, on day
/// `today` with the serial the zone had before its import (`floor`), if it was imported.
/// Its content is written out once: hashed, then given its serial if it changes and
/// `keep`. The changed RRsets are left to [`ZoneChange::rrset_changes`]: worked out when
/// shown.
fn zone_change(
    name: &str,
    z: &Zone,
    recorded: Option<&RecordedZone>,
    (today, floor): (u32, Option<u32>),
    keep: bool,
) -> Option<ZoneChange> {
    let text = z.canonical_text(0);
    let new_text = |serial: u32| match keep {
        true => with_serial(&text, serial).unwrap_or_else(|| z.canonical_text(serial)),
        false => String::new(),
    };
    let change = |action, r: Option<&RecordedZone>, serial: u32, new_text: String| ZoneChange {
        zone: name.to_string(),
        action,
        group: z.group.clone(),
        old_group: r.filter(|r| r.group != z.group).map(|r| r.group.clone()),
        expected_serial: r.map(|r| r.serial),
        new_serial: Some(serial),
        continues_from: None,
        rrsets: Vec::new(),
        // the recorded content moves in afterwards (`compute`)
        old_text: String::new(),
        new_text,
    };
    match recorded {
        None => {
            // an imported zone continues its serial: never backwards (RFC 1982)
            let serial = next_serial(floor, today);
            let mut c = change(ZoneAction::Create, None, serial, new_text(serial));
            c.continues_from = floor;
            Some(c)
        }
        Some(r) if r.content_hash != content_hash(&text) || r.group != z.group => {
            let serial = next_serial(Some(r.serial), today);
            Some(change(
                ZoneAction::Update,
                Some(r),
                serial,
                new_text(serial),
            ))
        }
        Some(r) if !r.verified => {
            Some(change(ZoneAction::Verify, Some(r), r.serial, String::new()))
        }
        Some(_) => None,
    }
}

/// RRsets whose lines differ between two canonical texts, the SOA's values included
/// (its serial left out).
pub fn rrset_changes(old: &str, new: &str) -> Vec<RrsetChange> {
    let (o, n) = (lines_by_rrset(old), lines_by_rrset(new));
    let keys: BTreeSet<_> = o.keys().chain(n.keys()).collect();
    let mut out: Vec<RrsetChange> = keys
        .into_iter()
        .filter(|k| o.get(*k) != n.get(*k))
        .map(|k| RrsetChange {
            owner: k.0.clone(),
            rtype: k.1.clone(),
            old: o.get(k).cloned().unwrap_or_default(),
            new: n.get(k).cloned().unwrap_or_default(),
        })
        .collect();
    let soa = |t: &str| {
        crate::model::zone::soa_of(t).map(|(ttl, mut f)| {
            f[2] = "SERIAL".into();
            format!("{ttl} {}", f.join(" "))
        })
    };
    if !old.is_empty() && !new.is_empty() && soa(old) != soa(new) {
        let line = |t: &str| t.lines().next().unwrap_or("").to_string();
        let owner = new.split_whitespace().next().unwrap_or("").to_string();
        out.insert(
            0,
            RrsetChange {
                owner,
                rtype: "SOA".into(),
                old: vec![line(old)],
                new: vec![line(new)],
            },
        );
    }
    out
}

fn group_changes(desired: &DesiredState, recorded: &[GroupRow]) -> Vec<GroupChange> {
    let mut out = Vec::new();
    for g in desired.config.groups.values() {
        let catalog = crate::model::ascii(&g.catalog);
        let before = recorded.iter().find(|r| r.name == g.name);
        let old: Vec<String> = before.map(|r| r.secondaries.clone()).unwrap_or_default();
        let added: Vec<String> = g
            .secondaries
            .iter()
            .filter(|s| !old.contains(s))
            .cloned()
            .collect();
        let removed: Vec<String> = old
            .iter()
            .filter(|s| !g.secondaries.contains(s))
            .cloned()
            .collect();
        let old_catalog = before.map(|r| r.catalog.clone());
        let catalog_changed = old_catalog.as_deref() != Some(catalog.as_str());
        if before.is_none() || !added.is_empty() || !removed.is_empty() || catalog_changed {
            out.push(GroupChange {
                group: g.name.clone(),
                created: before.is_none(),
                removed: false,
                catalog: (old_catalog, Some(catalog)),
                added,
                removed_secondaries: removed,
            });
        }
    }
    for r in recorded {
        if !desired.config.groups.contains_key(&r.name) {
            out.push(GroupChange {
                group: r.name.clone(),
                created: false,
                removed: true,
                catalog: (Some(r.catalog.clone()), None),
                added: Vec::new(),
                removed_secondaries: r.secondaries.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
