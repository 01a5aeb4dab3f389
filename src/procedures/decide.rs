//! Which staged operations exist: a pure function of the desired state, what the store
//! records, and what the servers were observed to answer.
//!
//! Pure: no I/O, no clock, no randomness. `apply::gather` reads [`Recorded`] from the store
//! and [`Observations`] from the servers (it asks this module what to read:
//! [`contents_needed`], [`parent_probes`]); [`decide`] returns the operations to create,
//! the zones operations hold and whether the groups are to be recorded. `apply` inserts
//! what it returns; `plan` shows it before anything runs.
//!
//! The rules, each from its procedure's file:
//!
//! - **Membership** ([`membership`]): a recorded group whose desired secondaries differ
//!   gets one add-secondary operation per joining server, then one remove-secondary per
//!   leaving one (a replacement adds before it removes), and its membership is recorded
//!   as desired.
//! - **Move-zone**: a recorded zone whose desired group differs (and exists); it waits its
//!   parent's delegation TTL too, learnt as below.
//! - **Renumber**: a recorded zone (group unchanged) with an RRset marked `cutover:` whose
//!   data, not only its TTL, changes.
//! - **Move-primary** ([`primary_move`]): the desired primary is not the recorded one.
//! - **Dedup**: an operation is not created again while an active one has the same kind and
//!   the same zones (move-zone), zones and RRset (renumber), or group and server (the rest).
//!
//! A parent's delegation TTL comes from the recorded parent when it is managed here, else
//! from the answers of its `parent_servers`; when neither is known the child's NS TTL
//! stands in for it and the remove-secondary and move-zone waits say so.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::rr::{Name, RecordType};

use super::delegation::ZoneDelegation;
use super::{Action, GroupZones, Kind, NewOperation, StepSpec};
use super::{add_secondary, move_primary as move_primary_op, move_zone, remove_secondary};
use super::{renumber, renumber::Renumber};
use crate::desired::DesiredState;
use crate::model::Config;
use crate::model::config::PrimaryRef;
use crate::model::zone::lines_by_rrset;
use crate::store::{GroupRow, OperationRow, RecordedZone};

/// What the decision reads from the store.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// Groups as applied.
    pub groups: Vec<GroupRow>,
    /// The zone index (names and groups; content may be empty here).
    pub zones: Vec<RecordedZone>,
    /// Canonical content of the recorded zones [`contents_needed`] names, by zone.
    pub content: BTreeMap<String, String>,
    /// Active operations.
    pub active: Vec<OperationRow>,
    /// The primary changes were last sent to.
    pub primary: Option<PrimaryRef>,
    /// Every move-primary operation, whatever its state (read when the primary differs).
    pub primary_moves: Vec<OperationRow>,
}

/// What servers answered, as the decision needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observations {
    /// The longest TTL of the delegation (NS and glue) of a zone that a server of its
    /// unmanaged parent gave, by (zone, server as `address:port`); `None` when it did not
    /// answer. A pair not asked counts as not answered.
    pub parent_ns_ttl: BTreeMap<(String, String), Option<u32>>,
}

/// What happens about the primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrimaryMove {
    /// The desired primary is the recorded one, or none is recorded yet.
    Stays,
    /// An active move goes to another primary than the desired one: what the operator
    /// must do.
    Conflict(String),
    /// The move to the desired primary is done: record it.
    Done,
    /// The move to the desired primary is under way (operation `id`): drive it.
    UnderWay {
        /// The operation.
        id: i64,
    },
    /// Create this move, then drive it.
    Start(NewOperation),
}

/// The decision.
#[derive(Debug, Clone)]
pub struct Decision {
    /// What happens about the primary (before anything else).
    pub primary: PrimaryMove,
    /// The other operations to create, in order.
    pub create: Vec<NewOperation>,
    /// Record the desired groups' membership (it changed).
    pub record_groups: bool,
    /// Zones an operation holds once `create` exists (the active ones' too): their zones,
    /// and the managed parents whose delegation they publish. Sorted, no duplicates.
    pub held: Vec<String>,
}

/// The whole decision: the primary's move, then the other operations.
pub fn decide(desired: &DesiredState, recorded: &Recorded, obs: &Observations) -> Decision {
    let primary = primary_move(desired, recorded);
    let (create, record_groups) = operations(desired, recorded, obs);
    let held = held(&recorded.active, &create);
    Decision {
        primary,
        create,
        record_groups,
        held,
    }
}

/// The operations other than the primary's move, not yet active, in order: membership
/// changes, moves of zones, cut-overs. And whether the groups are to be recorded.
pub fn operations(
    desired: &DesiredState,
    recorded: &Recorded,
    obs: &Observations,
) -> (Vec<NewOperation>, bool) {
    let zones = group_zones(desired, recorded, obs);
    let membership = membership(&desired.config, &recorded.groups, &zones);
    let record_groups = !membership.is_empty();
    let wanted: Vec<NewOperation> = membership
        .into_iter()
        .chain(moves(desired, recorded, obs))
        .chain(renumbers(desired, recorded).iter().map(renumber::operation))
        .collect();
    let create = wanted
        .into_iter()
        .filter(|op| !recorded.active.iter().any(|a| same(a, op)))
        .collect();
    (create, record_groups)
}

/// Whether active operation `a` already is `op` (the dedup rule of the module doc).
pub fn same(a: &OperationRow, op: &NewOperation) -> bool {
    a.state == "active"
        && a.kind == op.kind.as_str()
        && match op.kind {
            Kind::MoveZone => a.zones == op.zones,
            Kind::Renumber => a.zones == op.zones && a.server == op.server,
            _ => a.group == op.group && a.server == op.server,
        }
}

/// Held zones: each operation's zones and the managed parents its steps publish.
pub fn held(active: &[OperationRow], create: &[NewOperation]) -> Vec<String> {
    let mut held = BTreeSet::new();
    for op in active {
        for step in &op.steps {
            if let Ok(StepSpec {
                action: Action::PublishParents { zones },
                ..
            }) = serde_json::from_str(&step.spec)
            {
                held.extend(zones);
            }
        }
        held.extend(op.zones.iter().cloned());
    }
    for op in create {
        for step in &op.steps {
            if let Action::PublishParents { zones } = &step.action {
                held.extend(zones.iter().cloned());
            }
        }
        held.extend(op.zones.iter().cloned());
    }
    held.into_iter().collect()
}

/// What happens about the primary: nothing, a conflict, the move's start, its progress or
/// its end.
pub fn primary_move(desired: &DesiredState, recorded: &Recorded) -> PrimaryMove {
    let want = desired.config.primary.recorded();
    let Some(old) = &recorded.primary else {
        return PrimaryMove::Stays;
    };
    if old.addr == want.addr {
        return PrimaryMove::Stays;
    }
    let moves = || {
        recorded
            .primary_moves
            .iter()
            .filter(|o| o.kind == Kind::MovePrimary.as_str())
    };
    let target = want.addr.to_string();
    if let Some(other) = moves().find(|o| o.state == "active" && o.server != target) {
        return PrimaryMove::Conflict(format!(
            "op {} moves the primary to {}, but zonekeeper.yaml names {}: put {} back until the move is done, or cancel op {}",
            other.id, other.server, target, other.server, other.id
        ));
    }
    if moves().any(|o| o.state == "done" && o.server == target) {
        return PrimaryMove::Done;
    }
    if let Some(active) = moves().find(|o| o.state == "active") {
        return PrimaryMove::UnderWay { id: active.id };
    }
    let zones: Vec<String> = recorded.zones.iter().map(|z| z.name.clone()).collect();
    let key = desired.config.primary.tsig.name.to_string();
    PrimaryMove::Start(move_primary_op::operation(old, &want, &zones, &key))
}

/// Recorded groups whose desired membership differs.
fn changed_groups<'a>(config: &Config, recorded: &'a [GroupRow]) -> Vec<&'a GroupRow> {
    recorded
        .iter()
        .filter(|g| {
            config
                .groups
                .get(&g.name)
                .is_some_and(|d| d.secondaries != g.secondaries)
        })
        .collect()
}

/// The recorded zones whose content the decision reads: the zones of groups whose
/// membership changes and their managed parents, zones whose group changes, and zones
/// with a planned cut-over.
pub fn contents_needed(
    desired: &DesiredState,
    groups: &[GroupRow],
    index: &[RecordedZone],
) -> Vec<String> {
    let changed: BTreeSet<&str> = changed_groups(&desired.config, groups)
        .into_iter()
        .map(|g| g.name.as_str())
        .collect();
    let managed = managed(desired, index);
    let mut out = BTreeSet::new();
    for r in index {
        if changed.contains(r.group.as_str()) {
            out.insert(r.name.clone());
            if let Some(p) = zone_delegation(desired, &managed, &r.name).and_then(|d| d.parent) {
                out.insert(p);
            }
        }
        if let Some(z) = desired.zones.get(&r.name)
            && (z.group != r.group || !z.cutovers.is_empty())
        {
            out.insert(r.name.clone());
        }
        if moving(desired, r)
            && let Some(p) = zone_delegation(desired, &managed, &r.name).and_then(|d| d.parent)
        {
            out.insert(p);
        }
    }
    out.into_iter().collect()
}

/// Whether recorded zone `r` moves to another group (that exists): a move-zone.
fn moving(desired: &DesiredState, r: &RecordedZone) -> bool {
    desired
        .zones
        .get(&r.name)
        .is_some_and(|z| z.group != r.group && desired.config.groups.contains_key(&z.group))
}

/// The (zone, parent server) pairs whose delegation TTL the decision needs: zones of
/// groups whose membership changes and zones that move, with an unmanaged parent and
/// `parent_servers`.
pub fn parent_probes(
    desired: &DesiredState,
    groups: &[GroupRow],
    index: &[RecordedZone],
) -> Vec<(String, String)> {
    let changed: BTreeSet<&str> = changed_groups(&desired.config, groups)
        .into_iter()
        .map(|g| g.name.as_str())
        .collect();
    let managed = managed(desired, index);
    let mut out = Vec::new();
    for r in index
        .iter()
        .filter(|r| changed.contains(r.group.as_str()) || moving(desired, r))
    {
        let Some(d) = zone_delegation(desired, &managed, &r.name) else {
            continue;
        };
        if d.parent.is_none() {
            out.extend(d.parent_servers.into_iter().map(|s| (d.zone.clone(), s)));
        }
    }
    out
}

/// Names of managed zones: recorded or desired. Asked, not listed: most decisions ask
/// nothing, and a list of 40,000 names copied for each would cost more than the rest.
pub struct Managed<'a> {
    desired: &'a DesiredState,
    index: &'a [RecordedZone],
    recorded: std::sync::OnceLock<std::collections::HashSet<&'a str>>,
}

impl Managed<'_> {
    /// Whether `zone` (lower case, trailing dot) is managed here.
    pub fn contains(&self, zone: &str) -> bool {
        self.desired.zones.contains_key(zone)
            || self
                .recorded
                .get_or_init(|| self.index.iter().map(|r| r.name.as_str()).collect())
                .contains(zone)
    }
}

fn managed<'a>(desired: &'a DesiredState, index: &'a [RecordedZone]) -> Managed<'a> {
    Managed {
        desired,
        index,
        recorded: std::sync::OnceLock::new(),
    }
}

/// What the recorded zones of each group whose membership changes tell its procedures.
fn group_zones(
    desired: &DesiredState,
    recorded: &Recorded,
    obs: &Observations,
) -> BTreeMap<String, GroupZones> {
    let managed = managed(desired, &recorded.zones);
    let mut out = BTreeMap::new();
    for g in changed_groups(&desired.config, &recorded.groups) {
        let mut gz = GroupZones::default();
        for z in recorded.zones.iter().filter(|z| z.group == g.name) {
            gz.zones.push(z.name.clone());
            if let Some(d) = zone_delegation(desired, &managed, &z.name) {
                match parent_ttl(recorded, obs, &d) {
                    Some(ttl) => gz.max_parent_ns_ttl = gz.max_parent_ns_ttl.max(ttl),
                    None => gz.parent_ttl_unknown = true,
                }
                gz.delegations.push(d);
            }
            let Some(content) = recorded.content.get(&z.name) else {
                continue;
            };
            for ((owner, rtype), lines) in lines_by_rrset(content) {
                let ttl = max_ttl(&lines);
                if owner == z.name && rtype == "NS" {
                    gz.max_ns_ttl = gz.max_ns_ttl.max(ttl);
                } else if rtype == "A" || rtype == "AAAA" {
                    let e = gz.max_ttl_by_server_name.entry(owner).or_default();
                    *e = (*e).max(ttl);
                }
            }
        }
        out.insert(g.name.clone(), gz);
    }
    out
}

/// How long resolvers may hold the parent's delegation of `d.zone`: the longest TTL of the
/// NS and glue records at or below it in a managed parent, as recorded, or of the
/// referrals the parent's servers gave. `None` when neither is known.
fn parent_ttl(recorded: &Recorded, obs: &Observations, d: &ZoneDelegation) -> Option<u32> {
    if let Some(p) = &d.parent {
        let content = recorded.content.get(p)?;
        let child = crate::model::name_of(&d.zone);
        return lines_by_rrset(content)
            .iter()
            .filter(|((owner, _), _)| child.zone_of(&crate::model::name_of(owner)))
            .map(|(_, lines)| max_ttl(lines))
            .max();
    }
    d.parent_servers
        .iter()
        .filter_map(|s| {
            obs.parent_ns_ttl
                .get(&(d.zone.clone(), s.clone()))
                .copied()
                .flatten()
        })
        .max()
}

/// The operations a change of group membership calls for: adds first, then removes, one
/// operation per server and group.
pub fn membership(
    desired: &Config,
    recorded: &[GroupRow],
    zones: &BTreeMap<String, GroupZones>,
) -> Vec<NewOperation> {
    let mut adds = Vec::new();
    let mut removes = Vec::new();
    for r in recorded {
        let Some(g) = desired.groups.get(&r.name) else {
            continue;
        };
        let gz = zones.get(&r.name).cloned().unwrap_or_default();
        let ns_name = |s: &str| {
            desired
                .secondaries
                .get(s)
                .and_then(|x| x.nameserver.as_ref())
                .map(crate::model::ascii)
        };
        for s in g.secondaries.iter().filter(|s| !r.secondaries.contains(s)) {
            adds.push(add_secondary::operation(
                &g.name,
                s,
                ns_name(s).as_deref(),
                &gz,
            ));
        }
        for s in r.secondaries.iter().filter(|s| !g.secondaries.contains(s)) {
            let ns_name = ns_name(s);
            removes.push(remove_secondary::operation(
                &g.name,
                s,
                ns_name.as_deref(),
                &gz,
            ));
        }
    }
    adds.extend(removes);
    adds
}

/// Move-zone operations: recorded zones whose desired group differs and exists.
fn moves(desired: &DesiredState, recorded: &Recorded, obs: &Observations) -> Vec<NewOperation> {
    let managed = managed(desired, &recorded.zones);
    let mut out = Vec::new();
    for r in recorded.zones.iter().filter(|r| moving(desired, r)) {
        let Some(z) = desired.zones.get(&r.name) else {
            continue;
        };
        let ns_ttl = recorded
            .content
            .get(&r.name)
            .and_then(|c| {
                lines_by_rrset(c)
                    .get(&(r.name.clone(), "NS".to_string()))
                    .map(|lines| max_ttl(lines))
            })
            .unwrap_or(0);
        let deleg = zone_delegation(desired, &managed, &r.name);
        let parent_ttl = deleg.as_ref().and_then(|d| parent_ttl(recorded, obs, d));
        out.push(move_zone::operation(
            &r.name,
            &r.group,
            &z.group,
            ns_ttl,
            parent_ttl,
            deleg.as_ref(),
        ));
    }
    out
}

/// Planned cut-overs: an RRset marked `cutover:` whose data (not only TTL) changes, in a
/// recorded zone that stays in its group.
fn renumbers(desired: &DesiredState, recorded: &Recorded) -> Vec<Renumber> {
    let data = |lines: &Vec<String>| {
        let mut v: Vec<String> = lines
            .iter()
            .map(|l| l.split_whitespace().skip(4).collect::<Vec<_>>().join(" "))
            .collect();
        v.sort();
        v
    };
    let mut out = Vec::new();
    for r in &recorded.zones {
        let Some(z) = desired.zones.get(&r.name) else {
            continue;
        };
        if z.cutovers.is_empty() || z.group != r.group {
            continue;
        }
        let Some(content) = recorded.content.get(&r.name) else {
            continue;
        };
        let old = lines_by_rrset(content);
        let new = lines_by_rrset(&z.canonical_text(0));
        for c in &z.cutovers {
            let key = (c.owner.clone(), c.rtype.to_string());
            let (Some(o), Some(n)) = (old.get(&key), new.get(&key)) else {
                continue;
            };
            if data(o) == data(n) {
                continue;
            }
            out.push(Renumber {
                zone: r.name.clone(),
                group: r.group.clone(),
                owner: c.owner.clone(),
                rtype: c.rtype.to_string(),
                old_ttl: max_ttl(o),
                old: data(o),
                new: data(n),
                short_ttl: c.short_ttl,
                soak: c.soak,
                refresh: z.soa.refresh,
            });
        }
    }
    out
}

/// The longest TTL of canonical presentation lines.
fn max_ttl(lines: &[String]) -> u32 {
    lines
        .iter()
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
}

/// A zone's delegation as desired: its apex NS set, the glue the parent needs, its managed
/// parent (the closest managed ancestor) or the unmanaged parent's servers to ask. `None`
/// for a zone not in the desired state.
pub fn zone_delegation(
    desired: &DesiredState,
    managed: &Managed<'_>,
    zone: &str,
) -> Option<ZoneDelegation> {
    let d = desired.zones.get(zone)?;
    let ns: Vec<Name> = d
        .rrset(&d.name, RecordType::NS)
        .map(|s| {
            s.rdatas()
                .filter_map(|r| crate::model::record::target(&r).cloned())
                .collect()
        })
        .unwrap_or_default();
    let mut glue = Vec::new();
    for n in ns.iter().filter(|n| d.name.zone_of(n)) {
        for t in [RecordType::A, RecordType::AAAA] {
            for line in d.rrset(n, t).map(|s| s.lines()).unwrap_or_default() {
                let f: Vec<&str> = line.split_whitespace().collect();
                if let (Some(owner), Some(rtype), Some(rdata)) = (f.first(), f.get(3), f.get(4..)) {
                    glue.push(format!("{owner} {rtype} {}", rdata.join(" ")));
                }
            }
        }
    }
    let mut ns: Vec<String> = ns.iter().map(crate::model::ascii).collect();
    ns.sort();
    let mut parent = None;
    let mut up = d.name.base_name();
    while !up.is_root() {
        let text = crate::model::ascii(&up);
        if managed.contains(&text) {
            parent = Some(text);
            break;
        }
        up = up.base_name();
    }
    Some(ZoneDelegation {
        zone: zone.to_string(),
        ns,
        glue,
        parent,
        parent_servers: d.parent_servers.iter().map(|a| a.to_string()).collect(),
    })
}

#[cfg(test)]
mod decision_tests;
#[cfg(test)]
mod tests;
