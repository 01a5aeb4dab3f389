//! The executor: carries a plan out against the servers, verifies it, and records it.
//!
//! Order of work, each stage safe to repeat after a failure or a kill; `run` is this
//! list, one function per stage:
//!
//! 0. A primary move, if one is under way, comes first, against the old primary
//!    (`operations.rs`, its actions in `actions/`); everything else waits for it.
//! 1. Load the TSIG key; connect to the primary (an unreachable primary stops here, with
//!    nothing changed). The caller holds the store's apply lock since before planning.
//!    Staged operations the plan calls for are created (`operations.rs`): `gather.rs`
//!    reads what `procedures::decide` needs, the pure decision says which.
//! 2. New zones (and new groups' catalog zones): zone files and `zones.conf` are written,
//!    then one `rndc reconfig`; the primary must then serve each at its serial. A zone
//!    it refuses fails alone (see `create.rs`); a zone it already serves is adopted.
//! 3. Changed zones (`send.rs`): signed UPDATEs, with the recorded SOA as prerequisite,
//!    several when the change does not fit one message (see `update.rs`), each written
//!    ahead in the store (see `change.rs`). Then every changed zone is transferred (AXFR)
//!    and must hold exactly the desired RRsets (see `content.rs`); only then is it
//!    recorded.
//! 4. Catalog membership (`membership.rs`, catalog edits in `catalogs.rs`): new zones (and
//!    zones that moved group) are added to their group's catalog, so the secondaries pick
//!    them up by themselves.
//! 5. Verify (`verify.rs`): every server of each zone's group must answer SOA with AA and
//!    the new serial, over UDP and TCP, within the verify timeout.
//! 6. Deletions (`delete.rs`, only with `--allow-delete`): catalog first, verify the
//!    secondaries stopped serving, then the primary's configuration and files.
//!
//!    Then the staged operations are driven until each is done or waits at a closed
//!    gate (`operations/steps.rs`); the report says when to look again.
//! 7. Each server's health is recorded; the revision is recorded as applied only when
//!    everything above held (`record.rs`). A later apply with nothing left to do records
//!    it when this one was interrupted first ([`record_unchanged`]).
//!
//! Each zone is recorded in the store right after the primary was seen serving its desired
//! content, so a failure later loses nothing: the next apply sees that zone as done and
//! carries on. This file holds `run` only. Imports go one way, never back:
//! `mod.rs` → stages and `operations` → `gather.rs`, `operations/steps.rs` (the driver)
//! → `operations/gates.rs` (observing gates, judged by `procedures::gates`) and
//! `actions/` (one file per action kind) → `publish.rs` (what is sent to the primary) →
//! `ctx.rs` (options, report, the context, connections),
//! `error.rs`.

mod actions;
pub mod catalogs;
mod change;
pub mod content;
mod create;
mod ctx;
mod delete;
pub mod effects;
mod error;
pub mod gather;
mod membership;
pub mod operations;

mod publish;
mod record;
mod send;
mod step_error;
mod update;
mod verify;

use std::collections::BTreeMap;

use tracing::info;

use crate::desired::DesiredState;
use crate::plan::{Plan, ZoneAction};
use crate::store::{RecordedZone, Store};
use ctx::{Ctx, Stage, connect};
pub use ctx::{Options, Report};
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

/// The stages of an apply, in the order of the module doc.
async fn run(
    store: &Store,
    desired: &DesiredState,
    plan: &Plan,
    opts: &Options,
) -> Result<Report, ApplyError> {
    let config = &desired.config;
    let primary = &config.primary;
    // A primary move comes first, against the old primary; everything else waits for it.
    if let Some(waiting) = operations::move_primary(store, desired, opts).await? {
        return Ok(Report {
            waiting: Some(waiting.message),
            requeue_at: waiting.requeue_at,
            ..Report::default()
        });
    }
    // 1. The primary.
    let (control, updater) = connect(opts, primary).await?;
    // Changes go to this primary from now on: a later move starts from here.
    store.set_primary(&primary.recorded(), opts.now).await?;
    opts.effects.boundary("primary recorded").await;
    info!(revision = %desired.revision.id, primary = %primary.addr, zones = plan.zones.len(), "applying");
    let mut report = Report::default();
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

    // 2. New zones and catalog zones on the primary.
    let cats = catalogs::serving(config, store).await?;
    let desired_groups: BTreeMap<String, String> = plan
        .zones
        .iter()
        .filter(|z| z.action != ZoneAction::Delete)
        .map(|z| (z.zone.clone(), z.group.clone()))
        .collect();
    let created = create::run(
        store,
        &ctx,
        plan,
        &index,
        &cats,
        &desired_groups,
        &mut report,
    )
    .await?;
    let stage = Stage {
        ctx: &ctx,
        plan,
        index: &index,
        cats: &cats,
        desired_groups: &desired_groups,
        held: &held,
    };

    // 3. Changed zones (and adopted ones): UPDATEs with write-ahead; then every changed
    // zone's content is transferred and compared before anything is recorded.
    let serials = send::changed_zones(&stage, created, &mut report).await?;

    // 4. Catalog membership.
    membership::edit(&stage, &mut report).await?;

    // 5. Verify every server of each zone's group.
    let mut health = verify::servers(&stage, &serials, &mut report).await?;

    // 6. Deletions: catalog first, then the primary.
    delete::zones(&stage, &mut health, &mut report).await?;

    // Staged operations, until one waits at a closed gate.
    if let Some(waits) = operations::drive(&ctx).await? {
        report.waiting = Some(waits.message);
        report.requeue_at = waits.requeue_at;
    }

    // 7. Server health, then the revision when everything held.
    record::health(store, config, &health, opts.now, &opts.effects).await?;
    if report.complete() {
        record::revision(&stage).await?;
        report.revision_recorded = true;
    }
    Ok(report)
}
