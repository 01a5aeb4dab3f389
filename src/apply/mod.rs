//! The executor: carries a plan out against the servers, verifies it, and records it.
//!
//! Everything an apply changes is a step of one driver (`operations/steps.rs`): zone
//! operations (a zone created, updated, verified or deleted; `zones.rs`, decided by the
//! pure `procedures::zone`) and staged operations (membership changes, zone moves,
//! cut-overs, a primary move; decided by the pure `procedures::decide`). `run` is this
//! list:
//!
//! 1. A primary move, if one is under way, comes first, against the old primary; everything
//!    else waits for it.
//! 2. Connect to the primary (an unreachable primary stops here, with nothing changed). The
//!    caller holds the store's apply lock since before planning. Staged operations the plan
//!    calls for are created (`operations.rs`: `gather.rs` reads what `procedures::decide`
//!    needs, the pure decision says which); the zones they hold are left to them.
//! 3. The driver runs the zone operations of the plan, then the staged operations, until
//!    each is done, failed, or waits at a closed gate; the report says when to look again.
//!    What each step does is `actions/` (one file per action kind); a zone is recorded
//!    right after a transfer shows the primary serving exactly its desired RRsets, and
//!    recorded verified once every server of its group serves it, so a failure later loses
//!    nothing: the next apply sees that zone as done and carries on.
//!    A stop asked for (SIGINT, SIGTERM: [`Options::stop`]) lets the step under way finish
//!    and be recorded, and starts nothing more (`operations/steps.rs`, `drive`).
//! 4. Each server's health is recorded; the revision is recorded as applied only when
//!    everything above held (`record.rs`). A later apply with nothing left to do records it
//!    when this one was interrupted first ([`record_unchanged`]).
//!
//! Imports go one way, never back: `mod.rs` → `operations` (creation) and
//! `operations/steps.rs` (the driver) → `operations/gates.rs` (staged gates) and
//! `actions/` (which the driver hands every ready step) → `zones.rs` (zone operations in
//! flight, their gates observed in `zones/observe.rs` and written in `zones/finish.rs`;
//! both kinds of gate judged by `procedures::gates`) → `change.rs` (UPDATEs written
//! ahead), `publish.rs`, `catalogs.rs` → `ctx.rs` (options, report, the context,
//! connections), `error.rs`.

mod actions;
pub mod catalogs;
mod change;
pub mod content;
mod ctx;
pub mod effects;
mod error;
pub mod gather;
pub mod operations;

mod publish;
mod record;
mod step_error;
mod update;
mod zones;

use std::collections::BTreeMap;

use tracing::info;

use crate::desired::DesiredState;
use crate::plan::{Plan, ZoneAction};
use crate::procedures;
use crate::store::{RecordedZone, Store};
use ctx::{Ctx, connect};
pub use ctx::{Missed, Options, Report};
pub use error::ApplyError;
pub use record::unchanged as record_unchanged;

/// Carries out `plan` (computed from `desired` against `store`). The caller holds the
/// store's apply lock (`_lock`) since before it computed the plan, so the plan cannot be
/// stale.
pub async fn apply(
    store: &Store,
    _lock: &crate::store::ApplyLock,
    desired: &DesiredState,
    plan: &Plan,
    opts: &Options,
) -> Result<Report, ApplyError> {
    run(store, desired, plan, opts).await
}

/// The steps of an apply, in the order of the module doc.
async fn run(
    store: &Store,
    desired: &DesiredState,
    plan: &Plan,
    opts: &Options,
) -> Result<Report, ApplyError> {
    let config = &desired.config;
    let primary = &config.primary;
    // 1. A primary move comes first, against the old primary; everything else waits for it.
    if let Some(waiting) = operations::move_primary(store, desired, opts).await? {
        return Ok(Report {
            waiting: Some(waiting.message),
            requeue_at: waiting.requeue_at,
            interrupted: opts.stopping().then_some(0),
            ..Report::default()
        });
    }
    // 2. The primary, and the staged operations to create.
    let (control, updater) = connect(opts, primary).await?;
    // Changes go to this primary from now on: a later move starts from here.
    store.set_primary(&primary.recorded(), opts.now).await?;
    opts.effects.boundary("primary recorded").await;
    info!(revision = %desired.revision.id, primary = %primary.addr, zones = plan.zones.len(), "applying");
    let index: BTreeMap<String, RecordedZone> = store.zone_map().await?;
    let ctx = Ctx {
        store,
        desired,
        primary,
        control: control.as_ref(),
        updater: updater.as_ref(),
        opts,
    };
    let held = operations::create(&ctx).await?;

    // 3. The zone operations, then the staged ones, by the one driver.
    let cats = catalogs::serving(config, store).await?;
    let desired_groups: BTreeMap<String, String> = plan
        .zones
        .iter()
        .filter(|z| z.action != ZoneAction::Delete)
        .map(|z| (z.zone.clone(), z.group.clone()))
        .collect();
    let ops = procedures::zone::operations(
        plan.zones.iter().map(crate::plan::ZoneChange::change),
        &held,
        opts.allow_delete,
    );
    let mut zones = zones::Zones::new(plan, &index, &cats, &desired_groups, ops);
    zones.absent = absent(store).await?;
    let waits = operations::drive(&ctx, Some(&mut zones)).await?;
    let left = zones.left();
    let mut report = zones.report();
    // asked to stop with something left: the revision is not recorded as applied
    if opts.stopping() && (left > 0 || waits.is_some()) {
        report.interrupted = Some(left);
    }
    if !opts.allow_delete {
        report.skipped_deletes = plan
            .zones
            .iter()
            .filter(|z| z.action == ZoneAction::Delete)
            .map(|z| z.zone.clone())
            .collect();
    }
    if let Some(waits) = waits {
        report.waiting = Some(waits.message);
        report.requeue_at = waits.requeue_at;
    }

    // 4. Server health, then the revision when everything held.
    record::health(store, config, &zones.out.health, opts.now, &opts.effects).await?;
    if report.complete() {
        record::revision(&ctx, plan).await?;
        report.revision_recorded = true;
    }
    Ok(report)
}

/// The secondaries known not to answer, with why: in maintenance, or BROKEN at their last
/// check (a sweep's or an apply's). Zone changes do not wait for them while the quorum of
/// their group holds without them.
async fn absent(store: &Store) -> Result<BTreeMap<String, String>, ApplyError> {
    use crate::store::lock::utc;
    Ok(store
        .servers()
        .await?
        .into_iter()
        .filter(|s| s.role == "secondary")
        .filter_map(|s| {
            let why = match (s.maintenance_since, s.last_state.as_deref()) {
                (Some(t), _) => format!("in maintenance since {}", utc(t)),
                (None, Some("BROKEN")) => format!(
                    "BROKEN at its last check ({})",
                    s.last_check_at.map(utc).unwrap_or_default()
                ),
                _ => return None,
            };
            Some((s.name, why))
        })
        .collect())
}
