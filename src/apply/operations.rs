//! Staged operations (see `procedures`): creating them from membership changes, zones
//! moving between groups and planned cut-overs, and the UPDATEs their steps send. Driving
//! their steps is `steps`; what proves a step is `gates`.
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

use super::{ApplyError, Options, name};
use crate::backend::bind::PrimaryControl;
use crate::backend::update::Updater;
use crate::desired::DesiredState;
use crate::live;
use crate::model::Primary;
use crate::model::zone::lines_by_rrset;
use crate::procedures::delegation::ZoneDelegation;
use crate::procedures::{self, Action, GroupZones, StepSpec};
use crate::store::{AuditEntry, GroupRow, NewOperationRow, OperationRow, RecordedZone, Store};

mod gates;
mod steps;

pub(super) use gates::sockets;
pub use steps::drive;

/// Test hook for crash tests: with `ZONEKEEPER_TEST_KILL_AT=N` set, the process kills
/// itself with SIGKILL at the N-th step boundary (a state written, an UPDATE sent), exactly
/// as an operator's `kill -9` would. Boundaries are counted in the file named by
/// `ZONEKEEPER_TEST_KILL_COUNTER` across runs (or per process without it). Unset in normal
/// runs: then this does nothing.
///
/// Debug builds only (`cfg(debug_assertions)`, which the binary `cargo test` builds and the
/// integration tests run has): in a release build the body is compiled out, so no
/// environment variable can make a production `zonekeeper` kill itself.
pub(crate) fn boundary(what: &str) {
    #[cfg(not(debug_assertions))]
    let _ = what;
    #[cfg(debug_assertions)]
    {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static SEEN: AtomicUsize = AtomicUsize::new(0);
        let Some(at) = std::env::var("ZONEKEEPER_TEST_KILL_AT")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
        else {
            return;
        };
        let seen = match std::env::var_os("ZONEKEEPER_TEST_KILL_COUNTER") {
            Some(file) => {
                let n = std::fs::read_to_string(&file)
                    .ok()
                    .and_then(|s| s.trim().parse::<usize>().ok())
                    .unwrap_or(0)
                    + 1;
                let _ = std::fs::write(&file, n.to_string());
                n
            }
            None => SEEN.fetch_add(1, Ordering::SeqCst) + 1,
        };
        if seen == at {
            eprintln!("test hook: SIGKILL at boundary {at} ({what})");
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &std::process::id().to_string()])
                .status();
            std::thread::sleep(Duration::from_secs(5));
        }
    }
}

/// What an apply needs to drive operations.
pub struct Ctx<'a> {
    /// The store.
    pub store: &'a Store,
    /// The desired state (all zones: a membership change reloads every file).
    pub desired: &'a DesiredState,
    /// The primary changes go to: the desired one, or the old one while it moves away.
    pub primary: &'a Primary,
    /// The primary's configuration.
    pub control: &'a PrimaryControl,
    /// The signed connection to the primary.
    pub updater: &'a Updater,
    /// Apply options (clock, verify timeout).
    pub opts: &'a Options,
}

impl Ctx<'_> {
    /// Unix time now, read from the clock (never before the apply's start): a step's
    /// finish, a wait's end and a back-off are counted from the moment they happen, not
    /// from the start of a long apply.
    pub fn now(&self) -> i64 {
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        clock.max(self.opts.now)
    }
}

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
        if let Ok((_, ttl)) = live::ns_set_ttl(addr, &name(&d.zone), Duration::from_secs(2)).await {
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
    boundary("operation created");
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

/// One zone's UPDATE, and what it leads to.
pub(super) struct Change<'a> {
    /// The zone.
    pub zone: &'a Name,
    /// Its group.
    pub group: &'a str,
    /// The zone's canonical text once the UPDATE took effect, at `new_serial`.
    pub target: &'a str,
    /// The UPDATE.
    pub update: &'a crate::backend::update::Update,
    /// The serial the UPDATE requires.
    pub recorded_serial: u32,
    /// The serial it brings.
    pub new_serial: u32,
}

/// Sends a zone's UPDATE (written ahead in the store first), checks that the primary then
/// serves exactly `target` (AXFR), and records the zone with an audit entry; each followed
/// by a crash-test boundary. A failed SOA prerequisite is no drift when the primary already
/// serves `target`, or the content an interrupted run intended (recorded now; the step is
/// then tried again from it).
pub(super) async fn send_and_record(
    ctx: &Ctx<'_>,
    c: &Change<'_>,
    detail: &str,
) -> Result<(), String> {
    use super::content;
    use crate::backend::update::UpdateError;
    use crate::model::zone::text_hash;
    let Change {
        zone,
        group,
        target,
        update,
        recorded_serial,
        new_serial,
    } = *c;
    let name = crate::model::ascii(zone);
    let store = ctx.store;
    let earlier = store.intent(&name).await.map_err(|e| e.to_string())?;
    let intent = crate::store::ZoneIntent {
        name: name.clone(),
        group: group.to_string(),
        serial: new_serial,
        content: target.to_string(),
        commit_id: ctx.desired.revision.id.clone(),
    };
    store
        .set_intent(&intent, ctx.opts.now)
        .await
        .map_err(|e| e.to_string())?;
    match ctx.updater.send(zone, update, Some(recorded_serial)).await {
        Ok(()) => {}
        Err(e @ UpdateError::Drift { .. }) => {
            let served = content::transfer(ctx.updater, zone)
                .await
                .map_err(|t| format!("{e}; and its content could not be read: {t}"))?;
            if !content::same_content(target, &served) {
                let Some(i) = earlier.filter(|i| content::same_content(&i.content, &served)) else {
                    return Err(e.to_string());
                };
                let row = RecordedZone {
                    name: name.clone(),
                    group: i.group.clone(),
                    serial: served.serial.unwrap_or(i.serial),
                    content_hash: text_hash(&served.text),
                    content: served.text.clone(),
                    verified: false,
                    commit_id: i.commit_id.clone(),
                };
                let audit = AuditEntry {
                    at: ctx.opts.now,
                    commit_id: i.commit_id.clone(),
                    author: ctx.desired.revision.author.clone(),
                    action: "update".into(),
                    target: name.clone(),
                    detail: format!("{detail}: an interrupted apply's change landed; recorded now"),
                };
                store
                    .record_zones(&[(row, audit)])
                    .await
                    .map_err(|e| e.to_string())?;
                return Err(format!(
                    "zone {name}: an interrupted apply's change had landed and is recorded now; this step is sent again from it"
                ));
            }
        }
        Err(e) => return Err(e.to_string()),
    }
    boundary("UPDATE sent");
    let served = content::transfer(ctx.updater, zone).await.map_err(|e| {
        format!("zone {name}: its content could not be transferred to verify it: {e}")
    })?;
    let serial = new_serial;
    let want = target.to_string();
    if let Some(diff) = content::difference(&name, &want, &served, serial) {
        return Err(diff);
    }
    let row = RecordedZone {
        name: name.clone(),
        group: group.to_string(),
        serial,
        content_hash: text_hash(&want),
        content: want,
        verified: false,
        commit_id: ctx.desired.revision.id.clone(),
    };
    let audit = AuditEntry {
        at: ctx.opts.now,
        commit_id: ctx.desired.revision.id.clone(),
        author: ctx.desired.revision.author.clone(),
        action: "update".into(),
        target: name.clone(),
        detail: format!("{detail}: serial {recorded_serial} → {serial}"),
    };
    store
        .record_zones(&[(row, audit)])
        .await
        .map_err(|e| e.to_string())?;
    store
        .clear_intents(&[name])
        .await
        .map_err(|e| e.to_string())?;
    boundary("zone recorded");
    Ok(())
}

/// Brings every zone of the operation to its desired content (several UPDATEs when the
/// change does not fit one message), each verified by transfer before it is recorded.
pub(super) async fn publish_zones(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    zones: &[String],
) -> Result<(), String> {
    let sender = super::change::Sender {
        store: ctx.store,
        updater: ctx.updater,
        desired: ctx.desired,
        now: ctx.opts.now,
        today: ctx.opts.today,
    };
    for zone in zones {
        let Some(desired) = ctx.desired.zones.get(zone) else {
            continue;
        };
        let Some(recorded) = ctx.store.zone(zone).await.map_err(|e| e.to_string())? else {
            continue;
        };
        if recorded.content_hash == desired.content_hash() {
            continue;
        }
        let mut sent = sender
            .send(desired, &recorded.content, Some(recorded.serial), "update")
            .await?;
        sent.detail = format!("op {} ({} {}): {}", op.id, op.kind, op.server, sent.detail);
        let (_, failures) = sender
            .verify_and_record(&[sent])
            .await
            .map_err(|e| e.to_string())?;
        if let Some(f) = failures.into_iter().next() {
            return Err(f);
        }
        boundary("zone recorded");
    }
    Ok(())
}
