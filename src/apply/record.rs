//! Stage 7 of an apply: what it leaves in the store at the end. Every server checked gets
//! its health (OK, RETRY or BROKEN, with the first failure); the revision is recorded as
//! applied, with the groups and servers it describes and an audit entry per group change,
//! only when everything before held. An apply that finds nothing left to do records a
//! revision an interrupted apply left unrecorded ([`unchanged`]).

use super::ctx::{Ctx, Health, audit};
use super::error::ApplyError;
use crate::desired::DesiredState;
use crate::model::Config;
use crate::plan::Plan;
use crate::store::{
    AppliedRevision, ApplyLock, AuditEntry, GroupRow, ServerRow, Store, StoreError,
};

/// Records the revision of this run as applied in full, with the groups and servers it
/// describes, and an audit entry per group change of the plan.
pub(super) async fn revision(ctx: &Ctx<'_>, plan: &Plan) -> Result<(), ApplyError> {
    let (store, desired, opts) = (ctx.store, ctx.desired, ctx.opts);
    set_applied(store, desired, opts.now).await?;
    ctx.boundary("revision recorded").await;
    if !plan.groups.is_empty() {
        let entries: Vec<AuditEntry> = plan
            .groups
            .iter()
            .map(|g| {
                audit(
                    desired,
                    opts.now,
                    "group",
                    &g.group,
                    format!(
                        "secondaries joining: {}; leaving: {}",
                        names_or_none(&g.added),
                        names_or_none(&g.removed_secondaries)
                    ),
                )
            })
            .collect();
        store.audit(&entries).await?;
        ctx.boundary("group changes audited").await;
    }
    Ok(())
}

/// Server names as people read them: space-separated, or "none".
fn names_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(" ")
    }
}

/// Records the revision `desired` as applied at `now`, with the groups and servers it
/// describes.
async fn set_applied(store: &Store, desired: &DesiredState, now: i64) -> Result<(), StoreError> {
    let rev = AppliedRevision {
        commit_id: desired.revision.id.clone(),
        author: desired.revision.author.clone(),
        summary: desired.revision.summary.clone(),
        applied_at: now,
    };
    let (groups, servers) = fleet_rows(&desired.config);
    store.set_applied(&rev, &groups, &servers).await
}

/// An apply with nothing left to do records its revision when the store does not have it
/// yet: an earlier apply of it was interrupted (killed, a lost lock, a store outage) after
/// everything took effect, before it recorded the revision. Only when `plan` has no
/// changes, no staged operation is under way and nothing failed (a failure leaves a change
/// in the plan: a zone unrecorded or unverified). Records what [`revision`] records, the
/// groups and servers with it; group changes were audited when their operations were
/// created. The caller holds the apply lock (`_lock`) since it computed `plan`. Whether it
/// recorded the revision.
pub async fn unchanged(
    store: &Store,
    _lock: &ApplyLock,
    desired: &DesiredState,
    plan: &Plan,
    now: i64,
) -> Result<bool, ApplyError> {
    if plan.has_changes() || !store.operations(false).await?.is_empty() {
        return Ok(false);
    }
    let applied = store.applied_revision().await?;
    if applied.is_some_and(|a| a.commit_id == desired.revision.id) {
        return Ok(false);
    }
    set_applied(store, desired, now).await?;
    Ok(true)
}

/// The groups and servers of `config` as recorded (without a last check).
fn fleet_rows(config: &Config) -> (Vec<GroupRow>, Vec<ServerRow>) {
    let groups = config.groups.values().map(GroupRow::of).collect();
    let mut servers = vec![server_row(
        config,
        &config.primary.name,
        "primary",
        config.primary.addr.to_string(),
        "bind",
    )];
    for s in config.secondaries.values() {
        let addrs: Vec<String> = s.sockets().iter().map(|a| a.to_string()).collect();
        servers.push(server_row(
            config,
            &s.name,
            "secondary",
            addrs.join(" "),
            s.software.as_str(),
        ));
    }
    (groups, servers)
}

fn server_row(
    config: &Config,
    name: &str,
    role: &str,
    address: String,
    software: &str,
) -> ServerRow {
    let groups: Vec<&str> = if role == "primary" {
        config.groups.keys().map(String::as_str).collect()
    } else {
        config
            .groups
            .values()
            .filter(|g| g.secondaries.iter().any(|s| s == name))
            .map(|g| g.name.as_str())
            .collect()
    };
    ServerRow {
        name: name.into(),
        role: role.into(),
        address,
        software: software.into(),
        groups: groups.join(" "),
        last_check_at: None,
        last_state: None,
        last_message: None,
        state_since: None,
        zones_served: None,
        zones_lagging: None,
        maintenance_since: None,
    }
}

/// Records each server's `health`: its checks passed and the messages of those failed.
pub(super) async fn health(
    store: &Store,
    config: &Config,
    health: &Health,
    now: i64,
    effects: &super::effects::Effects,
) -> Result<(), StoreError> {
    let (_, servers) = fleet_rows(config);
    for mut s in servers {
        let Some((ok, failures)) = health.get(&s.name) else {
            continue;
        };
        s.last_check_at = Some(now);
        if failures.is_empty() {
            s.last_state = Some("OK".into());
            s.last_message = Some(format!("{ok} check(s) passed"));
        } else {
            s.last_state = Some(if *ok == 0 { "BROKEN" } else { "RETRY" }.into());
            s.last_message = Some(failures[0].clone());
        }
        store.set_server_health(&s).await?;
        effects.boundary("server health recorded").await;
    }
    Ok(())
}
