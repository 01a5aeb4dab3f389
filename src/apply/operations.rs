//! Staged operations (see `procedures`): creating them from membership changes, zones
//! moving between groups, planned cut-overs and a primary move (`move_primary`), and
//! storing them. Driving their steps is `steps`; what proves a step is `gates`; the
//! primary move's own actions and gates are `primary_move.rs`; the UPDATEs steps send
//! are `publish.rs`.
//!
//! Every step's state is written before it acts (running, attempts + 1) and after (done,
//! or waiting with a message), so a crash or `kill -9` anywhere resumes on the next apply:
//! a running step is simply acted again, which is safe because every action is idempotent
//! and proven by its gate, never assumed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;
use tracing::info;

use super::ctx::{Ctx, Options, connect, name};
use super::error::ApplyError;
use crate::desired::DesiredState;
use crate::model::Primary;
use crate::model::zone::lines_by_rrset;
use crate::procedures::delegation::ZoneDelegation;
use crate::procedures::{self, Action, GroupZones, StepSpec};
use crate::store::{AuditEntry, GroupRow, NewOperationRow, OperationRow, RecordedZone, Store};

mod gates;
mod steps;

pub use steps::drive;

/// Creates the operations the desired groups and zones call for (membership changes, zones
/// moving between groups), unless the same operation is already active; records the groups
/// as desired when membership changed. Returns the zones now in an operation's hands: the
/// regular path leaves them alone.
pub async fn create(ctx: &Ctx<'_>) -> Result<Vec<String>, ApplyError> {
    let store = ctx.store;
    let recorded = store.groups().await?;
    let index = store.zone_index().await?;
    let mut zones: BTreeMap<String, GroupZones> = BTreeMap::new();
    for g in &recorded {
        let changed = ctx
            .desired
            .config
            .groups
            .get(&g.name)
            .is_some_and(|d| d.secondaries != g.secondaries);
        if !changed {
            continue;
        }
        let mut gz = GroupZones::default();
        for z in index.iter().filter(|z| z.group == g.name) {
            gz.zones.push(z.name.clone());
            if let Some(d) = zone_delegation(ctx, &index, &z.name) {
                match parent_ttl(ctx, &d).await? {
                    Some(ttl) => gz.max_parent_ns_ttl = gz.max_parent_ns_ttl.max(ttl),
                    None => gz.parent_ttl_unknown = true,
                }
                gz.delegations.push(d);
            }
            if let Some(full) = store.zone(&z.name).await? {
                for ((owner, rtype), lines) in lines_by_rrset(&full.content) {
                    let ttl = max_ttl(&lines);
                    if owner == z.name && rtype == "NS" {
                        gz.max_ns_ttl = gz.max_ns_ttl.max(ttl);
                    } else if rtype == "A" || rtype == "AAAA" {
                        let e = gz.max_ttl_by_server_name.entry(owner).or_default();
                        *e = (*e).max(ttl);
                    }
                }
            }
        }
        zones.insert(g.name.clone(), gz);
    }
    let membership = procedures::operations_for(&ctx.desired.config, &recorded, &zones);
    let changed = !membership.is_empty();
    let mut moves = Vec::new();
    for r in &index {
        let Some(z) = ctx.desired.zones.get(&r.name) else {
            continue;
        };
        if z.group == r.group || !ctx.desired.config.groups.contains_key(&z.group) {
            continue;
        }
        let content = store
            .zone(&r.name)
            .await?
            .map(|f| f.content)
            .unwrap_or_default();
        let ns_ttl = lines_by_rrset(&content)
            .get(&(r.name.clone(), "NS".to_string()))
            .map(|lines| max_ttl(lines))
            .unwrap_or(0);
        moves.push(procedures::Move {
            zone: r.name.clone(),
            from: r.group.clone(),
            to: z.group.clone(),
            ns_ttl,
            delegation: zone_delegation(ctx, &index, &r.name),
        });
    }
    let active = store.operations(false).await?;
    // Planned cut-overs: an RRset marked `cutover:` whose data (not only TTL) changes.
    let mut renumbers = Vec::new();
    for r in &index {
        let Some(z) = ctx.desired.zones.get(&r.name) else {
            continue;
        };
        if z.cutovers.is_empty() || z.group != r.group {
            continue;
        }
        let Some(full) = store.zone(&r.name).await? else {
            continue;
        };
        let old = lines_by_rrset(&full.content);
        let new = lines_by_rrset(&z.canonical_text(0));
        let data = |lines: &Vec<String>| {
            let mut v: Vec<String> = lines
                .iter()
                .map(|l| l.split_whitespace().skip(4).collect::<Vec<_>>().join(" "))
                .collect();
            v.sort();
            v
        };
        for c in &z.cutovers {
            let key = (c.owner.clone(), c.rtype.to_string());
            let (Some(o), Some(n)) = (old.get(&key), new.get(&key)) else {
                continue;
            };
            if data(o) == data(n) {
                continue;
            }
            renumbers.push(procedures::renumber::Renumber {
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
    let wanted: Vec<_> = membership
        .into_iter()
        .chain(procedures::moves_for(&moves))
        .chain(renumbers.iter().map(procedures::renumber::operation))
        .collect();
    for op in wanted {
        let same = |a: &OperationRow| {
            a.kind == op.kind.as_str()
                && match op.kind {
                    procedures::Kind::MoveZone => a.zones == op.zones,
                    procedures::Kind::Renumber => a.zones == op.zones && a.server == op.server,
                    _ => a.group == op.group && a.server == op.server,
                }
        };
        if active.iter().any(same) {
            continue;
        }
        insert(ctx, &op).await?;
    }
    if changed {
        let groups: Vec<GroupRow> = ctx
            .desired
            .config
            .groups
            .values()
            .map(GroupRow::of)
            .collect();
        store.set_groups(&groups).await?;
        ctx.boundary("groups recorded").await;
    }
    // Held: the operations' zones, and the managed parents whose delegation they publish.
    let mut held = Vec::new();
    for op in store.operations(false).await? {
        for step in &op.steps {
            if let Ok(StepSpec {
                action: Action::PublishParents { zones },
                ..
            }) = serde_json::from_str(&step.spec)
            {
                held.extend(zones);
            }
        }
        held.extend(op.zones);
    }
    Ok(held)
}

/// The longest TTL of canonical presentation lines.
fn max_ttl(lines: &[String]) -> u32 {
    lines
        .iter()
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
}

/// How long resolvers may hold the parent's delegation of `d.zone`: the longest TTL of the
/// NS and glue records at or below it in a managed parent, as recorded, or of the
/// referral the parent's servers give. `None` when neither is known.
async fn parent_ttl(ctx: &Ctx<'_>, d: &ZoneDelegation) -> Result<Option<u32>, ApplyError> {
    if let Some(p) = &d.parent {
        let Some(parent) = ctx.store.zone(p).await? else {
            return Ok(None);
        };
        let child = name(&d.zone);
        return Ok(lines_by_rrset(&parent.content)
            .iter()
            .filter(|((owner, _), _)| child.zone_of(&name(owner)))
            .map(|(_, lines)| max_ttl(lines))
            .max());
    }
    let mut longest = None;
    for server in &d.parent_servers {
        let Ok(addr) = server.parse::<SocketAddr>() else {
            continue;
        };
        if let Ok((_, ttl)) = ctx
            .opts
            .effects
            .prober
            .ns_set_ttl(addr, &name(&d.zone), Duration::from_secs(2))
            .await
        {
            longest = Some(longest.unwrap_or(0).max(ttl));
        }
    }
    Ok(longest)
}

/// Stores a new operation, with an audit entry naming it.
pub(super) async fn insert(
    ctx: &Ctx<'_>,
    op: &procedures::NewOperation,
) -> Result<i64, ApplyError> {
    let store = ctx.store;
    let row = NewOperationRow {
        kind: op.kind.as_str(),
        group: &op.group,
        server: &op.server,
        zones: &op.zones,
        revision: &ctx.desired.revision.id,
        steps: op
            .steps
            .iter()
            .map(|s| (s.name.clone(), serde_json::to_string(s).unwrap_or_default()))
            .collect(),
    };
    let id = store.create_operation(&row, ctx.opts.now).await?;
    ctx.boundary("operation created").await;
    info!(op = id, kind = op.kind.as_str(), server = %op.server, group = %op.group, "operation created");
    store
        .audit(&[AuditEntry {
            at: ctx.opts.now,
            commit_id: ctx.desired.revision.id.clone(),
            author: ctx.desired.revision.author.clone(),
            action: op.kind.as_str().into(),
            target: op.server.clone(),
            detail: format!(
                "operation {id} in group {}: {} zone(s)",
                op.group,
                op.zones.len()
            ),
        }])
        .await?;
    ctx.boundary("operation audited").await;
    Ok(id)
}

/// A zone's delegation as desired: its apex NS set, the glue the parent needs, its managed
/// parent (the closest managed ancestor) or the unmanaged parent's servers to ask.
fn zone_delegation(ctx: &Ctx<'_>, index: &[RecordedZone], zone: &str) -> Option<ZoneDelegation> {
    use hickory_proto::rr::RecordType;
    let d = ctx.desired.zones.get(zone)?;
    let ns: Vec<Name> = d
        .rrset(&d.name, RecordType::NS)
        .map(|s| {
            s.rdatas
                .iter()
                .filter_map(|r| crate::model::record::target(r).cloned())
                .collect()
        })
        .unwrap_or_default();
    let mut glue = Vec::new();
    for n in ns.iter().filter(|n| d.name.zone_of(n)) {
        for t in [RecordType::A, RecordType::AAAA] {
            if let Some(set) = d.rrset(n, t) {
                for line in set.lines() {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    glue.push(format!("{} {} {}", f[0], f[3], f[4..].join(" ")));
                }
            }
        }
    }
    let mut ns: Vec<String> = ns.iter().map(crate::model::ascii).collect();
    ns.sort();
    let managed = |n: &str| index.iter().any(|r| r.name == n) || ctx.desired.zones.contains_key(n);
    let mut parent = None;
    let mut up = d.name.base_name();
    while !up.is_root() {
        let text = crate::model::ascii(&up);
        if managed(&text) {
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

/// When the desired primary is not the recorded one, moves every zone to it (creating the
/// operation the first time) and records it once the move is done. `Some(message)` while
/// the move waits.
pub(super) async fn move_primary(
    store: &Store,
    desired: &DesiredState,
    opts: &Options,
) -> Result<Option<String>, ApplyError> {
    let want = desired.config.primary.recorded();
    let Some(old) = store.primary().await? else {
        return Ok(None);
    };
    if old.addr == want.addr {
        return Ok(None);
    }
    let all = store.operations(true).await?;
    let is_move = |o: &&OperationRow| o.kind == procedures::Kind::MovePrimary.as_str();
    let target = want.addr.to_string();
    if let Some(other) = all
        .iter()
        .filter(is_move)
        .find(|o| o.state == "active" && o.server != target)
    {
        return Ok(Some(format!(
            "op {} moves the primary to {}, but zonekeeper.yaml names {}: put {} back until the move is done, or cancel op {}",
            other.id, other.server, target, other.server, other.id
        )));
    }
    let done = all
        .iter()
        .filter(is_move)
        .any(|o| o.state == "done" && o.server == target);
    if !done {
        let primary = Primary {
            name: old.name.clone(),
            addr: old.addr,
            tsig: desired.config.primary.tsig.clone(),
            rndc: old.rndc.clone(),
            rndc_conf: old.rndc_conf.clone(),
            config_dir: old.config_dir.clone(),
        };
        let (control, updater) = connect(opts, &primary).await?;
        let ctx = Ctx {
            store,
            desired,
            primary: &primary,
            control: control.as_ref(),
            updater: updater.as_ref(),
            opts,
        };
        if !all.iter().filter(is_move).any(|o| o.state == "active") {
            let zones: Vec<String> = store
                .zone_index()
                .await?
                .into_iter()
                .map(|z| z.name)
                .collect();
            info!(from = %old.addr, to = %want.addr, zones = zones.len(), "the primary moves");
            let key = desired.config.primary.tsig.name.to_string();
            let op = procedures::move_primary::operation(&old, &want, &zones, &key);
            insert(&ctx, &op).await?;
        }
        if let Some(waiting) = drive(&ctx).await? {
            return Ok(Some(waiting));
        }
    }
    store.set_primary(&want, opts.now).await?;
    opts.effects.boundary("moved primary recorded").await;
    info!(primary = %want.addr, "the primary moved");
    Ok(None)
}
