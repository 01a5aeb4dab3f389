//! Drives staged operations (see `procedures`): creates them from group membership changes,
//! then runs their steps in order, one operation at a time, until a gate is closed.
//!
//! Every step's state is written before it acts (running, attempts + 1) and after (done,
//! or waiting with a message), so a crash or `kill -9` anywhere resumes on the next apply:
//! a running step is simply acted again, which is safe because every action is idempotent
//! and proven by its gate, never assumed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;
use tracing::{info, warn};

use super::{ApplyError, Options, catalogs, name, stanzas};
use crate::backend::bind::PrimaryControl;
use crate::backend::update::Updater;
use crate::desired::DesiredState;
use crate::live::{self, Check};
use crate::model::Primary;
use crate::model::serial::next_serial;
use crate::model::zone::lines_by_rrset;
use crate::procedures::delegation::ZoneDelegation;
use crate::procedures::{self, Action, Gate, GroupZones, StepSpec};
use crate::store::{
    AuditEntry, GroupRow, NewOperationRow, OperationRow, RecordedZone, StepRow, Store,
};

/// Test hook for crash tests: with `ZONEKEEPER_TEST_KILL_AT=N` set, the process kills
/// itself with SIGKILL at the N-th step boundary (a state written, an UPDATE sent), exactly
/// as an operator's `kill -9` would. Boundaries are counted in the file named by
/// `ZONEKEEPER_TEST_KILL_COUNTER` across runs (or per process without it). Unset in normal
/// runs: then this does nothing.
pub(crate) fn boundary(what: &str) {
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
    let mut ns: Vec<String> = ns.iter().map(|n| n.to_lowercase().to_string()).collect();
    ns.sort();
    let managed = |n: &str| index.iter().any(|r| r.name == n) || ctx.desired.zones.contains_key(n);
    let mut parent = None;
    let mut up = d.name.base_name();
    while !up.is_root() {
        let text = up.to_lowercase().to_string();
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

/// Runs active operations in order until one waits. Returns the waiting message, if any.
pub async fn drive(ctx: &Ctx<'_>) -> Result<Option<String>, ApplyError> {
    for op in ctx.store.operations(false).await? {
        for step in &op.steps {
            if step.state == "done" {
                continue;
            }
            if let Some(wait) = run_step(ctx, &op, step.clone()).await? {
                return Ok(Some(wait));
            }
        }
        ctx.store
            .set_operation_state(op.id, "done", ctx.opts.now)
            .await?;
        info!(op = op.id, "operation done");
        if op.kind == procedures::Kind::RemoveSecondary.as_str() {
            retire_catalog(ctx, &op).await;
        }
    }
    Ok(None)
}

fn clock(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| format!("{:02}:{:02}:{:02} UTC", d.hour(), d.minute(), d.second()))
        .unwrap_or_else(|_| t.to_string())
}

/// One step: its gates of time and confirmation, its action, its proof. `Some(message)`
/// when it waits.
async fn run_step(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    mut step: StepRow,
) -> Result<Option<String>, ApplyError> {
    let store = ctx.store;
    let now = ctx.opts.now;
    let Ok(spec) = serde_json::from_str::<StepSpec>(&step.spec) else {
        step.state = "failed".into();
        step.message = "unreadable step in the store; cancel this operation".into();
        store.set_step(op.id, &step).await?;
        return Ok(Some(format!(
            "op {} step {} is unreadable",
            op.id, step.idx
        )));
    };
    match &spec.gate {
        Gate::Wait { seconds, why } => {
            // `now` is whole seconds, up to 1 s behind the real clock: round the end up so a
            // wait is never shorter than asked.
            let until = *step.not_before.get_or_insert(now + *seconds as i64 + 1);
            if now < until {
                step.state = "waiting".into();
                step.message = format!("{why}; waiting until {}", clock(until));
                step.updated_at = now;
                store.set_step(op.id, &step).await?;
                return Ok(Some(format!(
                    "op {} waits: {why} (until {})",
                    op.id,
                    clock(until)
                )));
            }
        }
        Gate::Manual { what } if !step.confirmed => {
            step.state = "waiting".into();
            step.message = format!(
                "{what}; then run: zonekeeper confirm {} {}",
                op.id, step.idx
            );
            step.updated_at = now;
            store.set_step(op.id, &step).await?;
            return Ok(Some(format!(
                "op {} waits: {what} (confirm with `zonekeeper confirm {} {}`)",
                op.id, op.id, step.idx
            )));
        }
        _ => {}
    }

    // Before acting.
    step.state = "running".into();
    step.attempts += 1;
    step.updated_at = now;
    store.set_step(op.id, &step).await?;
    boundary("step running");

    let acted = match spec.action {
        Action::Nothing => Ok(()),
        Action::RenderPrimary => render_primary(ctx, &op.group).await,
        Action::PublishZones => publish_zones(ctx, op, &op.zones).await,
        Action::PublishParents { ref zones } => publish_zones(ctx, op, zones).await,
        Action::SetRrset {
            ref owner,
            ref rtype,
            ttl,
            ref values,
        } => set_rrset(ctx, op, owner, rtype, ttl, values).await,
        Action::CatalogAdd => catalog(ctx, op, &op.group, None, true).await,
        Action::CatalogRemove { ref group } => catalog(ctx, op, group, None, false).await,
        Action::LeaveCatalog => catalog(ctx, op, &op.group, Some(&op.server), false).await,
        ref other => super::primary_move::act(ctx, op, other).await,
    };
    let proof = match acted {
        Ok(()) => check_gate(ctx, op, &spec.gate, step.confirmed).await?,
        Err(message) => Err(message),
    };

    // After acting.
    step.updated_at = ctx.opts.now;
    match proof {
        Ok(message) => {
            step.state = "done".into();
            step.message = message;
            store.set_step(op.id, &step).await?;
            boundary("step done");
            info!(op = op.id, step = %step.name, "step done");
            Ok(None)
        }
        Err(message) => {
            let backoff = 2_i64
                .saturating_pow(step.attempts.clamp(0, 8) as u32)
                .min(300);
            step.state = "waiting".into();
            let next = clock(ctx.opts.now + backoff);
            step.message = format!(
                "{message}; checked {} time(s), next check from {next}",
                step.attempts
            );
            store.set_step(op.id, &step).await?;
            warn!(op = op.id, step = %step.name, "{message}");
            Ok(Some(format!(
                "op {} waits: {message} (next check from {next})",
                op.id
            )))
        }
    }
}

/// Renders the primary's zone configuration (also-notify as desired, a catalog for each
/// secondary of each group, new ones listing the group's zones), reconfigures it when that
/// changed, and NOTIFYs the group's catalogs so a newly listed secondary fetches its
/// catalog (and so every member zone) now rather than at its next retry.
async fn render_primary(ctx: &Ctx<'_>, group: &str) -> Result<(), String> {
    let index = ctx.store.zone_map().await.map_err(|e| e.to_string())?;
    let desired_groups: BTreeMap<String, String> = ctx
        .desired
        .zones
        .iter()
        .map(|(n, z)| (n.clone(), z.group.clone()))
        .collect();
    let cats = catalogs::serving(&ctx.desired.config, ctx.store)
        .await
        .map_err(|e| e.to_string())?;
    let created =
        catalogs::create_missing(ctx.control, &cats, &index).map_err(|e| e.to_string())?;
    let all = stanzas(
        &ctx.desired.config,
        &index,
        &desired_groups,
        &Default::default(),
        &cats,
    );
    if ctx.control.write_conf(&all).map_err(|e| e.to_string())? || !created.is_empty() {
        ctx.control.reconfig().await.map_err(|e| e.to_string())?;
    }
    for c in catalogs::of_group(&cats, group) {
        ctx.control
            .rndc(&["notify", &c.name.to_string()], Duration::from_secs(10))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// After a secondary left a group: its emptied catalog leaves the primary (configuration,
/// then files). A failure is only logged: the next apply renders the configuration again.
async fn retire_catalog(ctx: &Ctx<'_>, op: &OperationRow) {
    let catalog = match ctx.store.groups().await {
        Ok(groups) => groups
            .into_iter()
            .find(|g| g.name == op.group)
            .map(|g| crate::model::config::member_catalog(&name(&g.catalog), &op.server)),
        Err(e) => {
            warn!(op = op.id, "cannot read the groups: {e}");
            return;
        }
    };
    match render_primary(ctx, &op.group).await {
        Ok(()) => {
            if let Some(c) = catalog {
                ctx.control.remove_zone_files(&c);
                info!(catalog = %c, "catalog of {} removed from the primary", op.server);
            }
        }
        Err(e) => warn!(op = op.id, "cannot render the primary's configuration: {e}"),
    }
}

/// Adds the operation's zones to the catalogs of `group`, or removes them (from one
/// secondary's only, with `only`); then renders the primary's configuration so also-notify
/// follows.
async fn catalog(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    group: &str,
    only: Option<&str>,
    add: bool,
) -> Result<(), String> {
    let cats = catalogs::serving(&ctx.desired.config, ctx.store)
        .await
        .map_err(|e| e.to_string())?;
    let recorded = ctx.store.groups().await.map_err(|e| e.to_string())?;
    let mut targets = if add {
        catalogs::of_group(&cats, group)
            .into_iter()
            .cloned()
            .collect()
    } else {
        catalogs::leaving_group(&cats, &recorded, group)
    };
    if let Some(server) = only {
        targets.retain(|c| c.server == server);
    }
    if targets.is_empty() {
        return Err(format!(
            "group {group} has no catalog{} to edit",
            only.map(|s| format!(" of {s}")).unwrap_or_default()
        ));
    }
    let zones: Vec<Name> = op.zones.iter().map(|z| name(z)).collect();
    let targets: Vec<&catalogs::MemberCatalog> = targets.iter().collect();
    catalogs::edit(ctx.updater, &targets, &zones, add).await?;
    render_primary(ctx, &op.group).await
}

/// Gives one RRset of the operation's zone `values` with `ttl`, the rest as recorded: one
/// UPDATE, unless the RRset already is so (a repeated step sends nothing).
async fn set_rrset(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    owner: &str,
    rtype: &str,
    ttl: u32,
    values: &[String],
) -> Result<(), String> {
    use crate::model::zone::with_rrset;
    let zone = op.zones.first().ok_or("the operation names no zone")?;
    let recorded = ctx
        .store
        .zone(zone)
        .await
        .map_err(|e| e.to_string())?
        .ok_or(format!("{zone} is not recorded"))?;
    let origin = name(zone);
    let owner_name = name(owner);
    let t: hickory_proto::rr::RecordType =
        rtype.parse().map_err(|_| format!("unknown type {rtype}"))?;
    let mut rdatas = Vec::new();
    for v in values {
        rdatas.push(crate::model::record::parse_rdata(t, v, &origin).map_err(|e| e.message)?);
    }
    let set = crate::model::Rrset {
        owner: owner_name.clone(),
        rtype: t,
        ttl,
        rdatas,
    };
    let key = (owner.to_string(), rtype.to_string());
    let lines = set.lines();
    if lines_by_rrset(&recorded.content).get(&key) == Some(&lines) {
        return Ok(());
    }
    let new_serial = next_serial(Some(recorded.serial), ctx.opts.today);
    let target = with_rrset(&recorded.content, &key, &lines, new_serial);
    let soa = super::update::recorded_soa(&origin, &recorded.content)
        .ok_or("the recorded SOA is unreadable")?;
    let mut new_soa = soa.clone();
    if let hickory_proto::rr::RData::SOA(s) = &mut new_soa.data {
        s.serial = new_serial;
    }
    let mut update = crate::backend::update::Update::default();
    update.require(soa);
    update.delete_rrset(owner_name, t);
    for r in set.records() {
        update.add(r);
    }
    update.add(new_soa);
    let detail = format!(
        "op {} ({}): {owner} {rtype} TTL {ttl} → {}",
        op.id,
        op.kind,
        values.join(" ")
    );
    let change = Change {
        zone: &origin,
        group: &recorded.group,
        target: &target,
        update: &update,
        recorded_serial: recorded.serial,
        new_serial,
    };
    send_and_record(ctx, &change, &detail).await
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
    let name = zone.to_lowercase().to_string();
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

/// The delegation gate: managed parents serve their recorded serial on every server of
/// their group; unmanaged parents' servers refer with exactly the desired NS set; by-hand
/// parents were confirmed.
async fn delegated(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    zones: &[ZoneDelegation],
    unconfirmed: bool,
    instructions: &str,
) -> Result<Result<String, String>, ApplyError> {
    let index: BTreeMap<String, RecordedZone> = ctx.store.zone_map().await?;
    let mut checks = Vec::new();
    let parents: std::collections::BTreeSet<&String> =
        zones.iter().filter_map(|z| z.parent.as_ref()).collect();
    for p in parents {
        let Some(r) = index.get(p) else { continue };
        let primary = ctx.primary;
        checks.push(Check::serves(
            name(p),
            &primary.name,
            primary.addr,
            r.serial,
        ));
        for s in ctx.desired.config.group_secondaries(&r.group) {
            checks.extend(
                s.sockets()
                    .into_iter()
                    .map(|a| Check::serves(name(p), &s.name, a, r.serial)),
            );
        }
    }
    for o in live::verify(checks, ctx.opts.verify_timeout, Duration::from_millis(100)).await {
        if !o.ok {
            return Ok(Err(format!(
                "{} must serve the parent zone {} serial {}: it {}",
                o.check.server,
                o.check.zone,
                o.check.serial.unwrap_or(0),
                o.answer.describe()
            )));
        }
    }
    // A managed parent must delegate with exactly the child's NS set, as recorded.
    for z in zones {
        let Some(p) = &z.parent else { continue };
        let Some(parent) = ctx.store.zone(p).await? else {
            continue;
        };
        let mut set: Vec<String> = lines_by_rrset(&parent.content)
            .get(&(z.zone.clone(), "NS".to_string()))
            .map(|lines| {
                lines
                    .iter()
                    .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        set.sort();
        if set != z.ns {
            return Ok(Err(format!(
                "the parent zone {p} delegates {} to {}; write NS {} for it in zones/{p}yaml",
                z.zone,
                names_or_nothing(&set),
                z.ns.join(" ")
            )));
        }
    }
    for z in zones.iter().filter(|z| z.parent.is_none()) {
        for server in &z.parent_servers {
            let Ok(addr) = server.parse::<SocketAddr>() else {
                continue;
            };
            match live::ns_set(addr, &name(&z.zone), Duration::from_secs(2)).await {
                Ok(set) if set == z.ns => {}
                Ok(set) => {
                    return Ok(Err(format!(
                        "the parent's server {server} delegates {} to {}; it must delegate to {}",
                        z.zone,
                        names_or_nothing(&set),
                        z.ns.join(" ")
                    )));
                }
                Err(e) => {
                    return Ok(Err(format!(
                        "the parent's server {server} does not answer for {}: {e}",
                        z.zone
                    )));
                }
            }
        }
    }
    if unconfirmed {
        let step = op
            .steps
            .iter()
            .find(|s| s.name == "delegation")
            .map(|s| s.idx)
            .unwrap_or(0);
        return Ok(Err(format!(
            "the registrar must publish {instructions}; then run `zonekeeper confirm {} {step}`",
            op.id
        )));
    }
    Ok(Ok("the parents delegate as desired".into()))
}

/// `a b c`, or `nothing` for an empty set.
fn names_or_nothing(set: &[String]) -> String {
    if set.is_empty() {
        "nothing".to_string()
    } else {
        set.join(" ")
    }
}

/// Every one of `servers` must stop answering authoritatively for `zones` (no answer at all
/// counts: a stopped server serves nothing).
async fn stopped(
    ctx: &Ctx<'_>,
    servers: &[String],
    zones: &[(Name, u32)],
    how: &str,
) -> Result<Result<String, String>, ApplyError> {
    let mut checks = Vec::new();
    for server in servers {
        for addr in sockets(ctx, server).await? {
            checks.extend(zones.iter().map(|(z, _)| Check {
                silent_ok: true,
                ..Check::refuses(z.clone(), server, addr)
            }));
        }
    }
    let outcomes = live::verify(checks, ctx.opts.verify_timeout, Duration::from_millis(200)).await;
    Ok(match outcomes.iter().find(|o| !o.ok) {
        None => Ok(format!(
            "{} no longer serve(s) the {} zone(s)",
            servers.join(", "),
            zones.len()
        )),
        Some(o) => Err(format!(
            "{} must stop serving {}: it {} — {how}",
            o.check.server,
            o.check.zone,
            o.answer.describe()
        )),
    })
}

/// Where a server answers: from the desired state, else as recorded.
pub(super) async fn sockets(ctx: &Ctx<'_>, server: &str) -> Result<Vec<SocketAddr>, ApplyError> {
    if let Some(s) = ctx.desired.config.secondaries.get(server) {
        return Ok(s.sockets());
    }
    let rows = ctx.store.servers().await?;
    Ok(catalogs::server_sockets(&ctx.desired.config, &rows, server))
}

/// Checks a gate; `Ok(Ok(message))` when it holds, `Ok(Err(message))` when it does not.
async fn check_gate(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    gate: &Gate,
    confirmed: bool,
) -> Result<Result<String, String>, ApplyError> {
    let index: BTreeMap<String, u32> = ctx
        .store
        .zone_index()
        .await?
        .into_iter()
        .map(|z| (z.name, z.serial))
        .collect();
    let zones: Vec<(Name, u32)> = op
        .zones
        .iter()
        .filter_map(|z| Some((name(z), *index.get(z)?)))
        .collect();
    let mut checks = Vec::new();
    match gate {
        Gate::Wait { .. } | Gate::Manual { .. } => return Ok(Ok("gate passed".into())),
        Gate::Serves { server } => {
            for addr in sockets(ctx, server).await? {
                checks.extend(
                    zones
                        .iter()
                        .map(|(z, serial)| Check::serves(z.clone(), server, addr, *serial)),
                );
            }
        }
        Gate::AllServe => {
            let p = ctx.primary;
            checks.extend(
                zones
                    .iter()
                    .map(|(z, serial)| Check::serves(z.clone(), &p.name, p.addr, *serial)),
            );
            for s in ctx.desired.config.group_secondaries(&op.group) {
                for addr in s.sockets() {
                    checks.extend(
                        zones
                            .iter()
                            .map(|(z, serial)| Check::serves(z.clone(), &s.name, addr, *serial)),
                    );
                }
            }
        }
        Gate::GroupServes { group } => {
            for s in ctx.desired.config.group_secondaries(group) {
                for addr in s.sockets() {
                    checks.extend(
                        zones
                            .iter()
                            .map(|(z, serial)| Check::serves(z.clone(), &s.name, addr, *serial)),
                    );
                }
            }
        }
        Gate::Delegation {
            zones: delegations,
            manual,
            instructions,
        } => {
            return delegated(ctx, op, delegations, *manual && !confirmed, instructions).await;
        }
        Gate::StoppedServing { server, how } => {
            return stopped(ctx, std::slice::from_ref(server), &zones, how).await;
        }
        Gate::Propagated { .. }
        | Gate::SameData { .. }
        | Gate::CatalogsServed { .. }
        | Gate::Retired { .. } => return super::primary_move::check(ctx, op, gate).await,
        Gate::GroupStopped { group, except } => {
            let keep: Vec<String> = ctx
                .desired
                .config
                .groups
                .get(except)
                .map(|g| g.secondaries.clone())
                .unwrap_or_default();
            let recorded = ctx.store.groups().await?;
            let members = match ctx.desired.config.groups.get(group) {
                Some(g) => g.secondaries.clone(),
                None => recorded
                    .iter()
                    .find(|g| &g.name == group)
                    .map(|g| g.secondaries.clone())
                    .unwrap_or_default(),
            };
            let leaving: Vec<String> = members.into_iter().filter(|s| !keep.contains(s)).collect();
            let how = format!(
                "they left the catalog of group {group}; check their logs if they keep serving"
            );
            return stopped(ctx, &leaving, &zones, &how).await;
        }
    }
    let total = checks.len();
    let outcomes = live::verify(checks, ctx.opts.verify_timeout, Duration::from_millis(100)).await;
    Ok(match outcomes.iter().find(|o| !o.ok) {
        None => {
            let verified: Vec<String> = op.zones.clone();
            ctx.store.set_verified(&verified, true).await?;
            Ok(format!("{total} check(s) passed"))
        }
        Some(o) => Err(format!(
            "{} must serve {} serial {} with AA: it {}",
            o.check.server,
            o.check.zone,
            o.check.serial.unwrap_or(0),
            o.answer.describe()
        )),
    })
}
