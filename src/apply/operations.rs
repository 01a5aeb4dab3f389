//! Staged operations (see `procedures`): creating the ones `procedures::decide` decides
//! (membership changes, zones moving between groups, planned cut-overs, a primary move)
//! from what `gather.rs` read, and storing them. Driving their steps is `steps`; what
//! proves a step is `gates`; what a step does is `apply::actions`, one file per action
//! kind; the UPDATEs steps send are `publish.rs`.
//!
//! Every step's state is written before it acts (running, attempts + 1) and after (done,
//! or waiting with a message), so a crash or `kill -9` anywhere resumes on the next apply:
//! a running step is simply acted again, which is safe because every action is idempotent
//! and proven by its gate, never assumed.

use tracing::info;

use super::ctx::{Ctx, Options, connect};
use super::error::ApplyError;
use crate::desired::DesiredState;
use crate::model::Primary;
use crate::procedures::{self, decide, decide::PrimaryMove};
use crate::store::{AuditEntry, GroupRow, NewOperationRow, Store};

mod gates;
mod steps;

pub use steps::Waits;
pub(super) use steps::drive;

/// Creates the operations the desired groups and zones call for (membership changes, zones
/// moving between groups, cut-overs), as `procedures::decide` decides from what
/// [`gather`](super::gather::gather) read; records the groups as desired when membership
/// changed. Returns the zones now in an operation's hands: the regular path leaves them
/// alone.
pub async fn create(ctx: &Ctx<'_>) -> Result<Vec<String>, ApplyError> {
    let (recorded, obs) = super::gather::gather(
        ctx.store,
        ctx.desired,
        ctx.opts.effects.prober.as_ref(),
        None,
    )
    .await?;
    let (create, record_groups) = decide::operations(ctx.desired, &recorded, &obs);
    for op in &create {
        insert(ctx, op).await?;
    }
    if record_groups {
        let groups: Vec<GroupRow> = ctx
            .desired
            .config
            .groups
            .values()
            .map(GroupRow::of)
            .collect();
        ctx.store.set_groups(&groups).await?;
        ctx.boundary("groups recorded").await;
    }
    Ok(decide::held(&recorded.active, &create))
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

/// When the desired primary is not the recorded one, moves every zone to it (creating the
/// operation the first time, as `procedures::decide::primary_move` decides) and records it
/// once the move is done. `Some` while the move waits.
pub(super) async fn move_primary(
    store: &Store,
    desired: &DesiredState,
    opts: &Options,
) -> Result<Option<Waits>, ApplyError> {
    let recorded = super::gather::primary(store, desired).await?;
    let want = desired.config.primary.recorded();
    let start = match decide::primary_move(desired, &recorded) {
        PrimaryMove::Stays => return Ok(None),
        PrimaryMove::Conflict(message) => return Ok(Some(Waits::from(message))),
        PrimaryMove::Done => None,
        PrimaryMove::UnderWay { .. } => Some(None),
        PrimaryMove::Start(op) => Some(Some(op)),
    };
    if let (Some(start), Some(old)) = (start, &recorded.primary) {
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
        if let Some(op) = start {
            info!(from = %old.addr, to = %want.addr, zones = op.zones.len(), "the primary moves");
            insert(&ctx, &op).await?;
        }
        if let Some(waiting) = drive(&ctx, None).await? {
            return Ok(Some(waiting));
        }
    }
    store.set_primary(&want, opts.now).await?;
    opts.effects.boundary("moved primary recorded").await;
    info!(primary = %want.addr, "the primary moved");
    Ok(None)
}
