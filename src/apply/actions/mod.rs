//! The actions of staged operations' steps (`procedures::Action`), one file per action kind
//! (like mini-redis's `cmd/`); this file only dispatches. Every action is safe to repeat:
//! a crash can fall between "about to" and "did", so the driver may run it twice, and its
//! gate, not the action, proves it took effect.
//!
//! - `render_primary.rs`: the primary's configuration as desired (and a left secondary's
//!   catalog retired);
//! - `catalog.rs`: zones join or leave member catalogs;
//! - `publish.rs`: zones (or their parents) brought to their desired content, on the
//!   current primary or the new one of a move;
//! - `set_rrset.rs`: one RRset of a planned cut-over;
//! - the primary move's: `raise_expire.rs`, `load_copy.rs`, `catalog_primaries.rs`,
//!   `bump_serials.rs`, `take_catalogs.rs`, `retire.rs`, sharing `primaries.rs`;
//! - zone operations' (`procedures::zone`), each run for every zone of a pass at once
//!   ([`zone_batch`]): `load_zone.rs`, `send_update.rs`, `catalog_join.rs`,
//!   `catalog_leave.rs`, `unload_zone.rs`.

mod bump_serials;
mod catalog;
mod catalog_join;
mod catalog_leave;
mod catalog_primaries;
mod load_copy;
mod load_zone;
mod primaries;
mod publish;
mod raise_expire;
mod render_primary;
mod retire;
mod send_update;
mod set_rrset;
mod take_catalogs;
mod unload_zone;

pub(crate) use render_primary::retire_catalog;

use crate::apply::ctx::Ctx;
use crate::apply::error::ApplyError;
use crate::apply::step_error::StepError;
use crate::apply::zones::{Batch, Zones};
use crate::procedures::Action;
use crate::store::OperationRow;

/// Carries out a step's action for `op`.
pub(crate) async fn act(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    action: &Action,
) -> Result<(), StepError> {
    match action {
        Action::Nothing => Ok(()),
        Action::RenderPrimary => render_primary::render_primary(ctx, &op.group).await,
        Action::PublishZones => publish::zones(ctx, op, &op.zones).await,
        Action::PublishParents { zones } => publish::zones(ctx, op, zones).await,
        Action::PublishZonesOn { on } => publish::zones_on(ctx, op, on).await,
        Action::SetRrset {
            owner,
            rtype,
            ttl,
            values,
        } => set_rrset::set_rrset(ctx, op, owner, rtype, *ttl, values).await,
        Action::CatalogAdd => catalog::catalog(ctx, op, &op.group, None, true).await,
        Action::CatalogRemove { group } => catalog::catalog(ctx, op, group, None, false).await,
        Action::LeaveCatalog => catalog::catalog(ctx, op, &op.group, Some(&op.server), false).await,
        Action::RaiseExpire { seconds } => raise_expire::raise_expire(ctx, op, *seconds).await,
        Action::LoadCopy { to, from } => load_copy::load_copy(ctx, to, *from).await,
        Action::CatalogPrimaries { primaries, copy } => {
            catalog_primaries::catalog_primaries(ctx, primaries, copy).await
        }
        Action::BumpSerials { on } => bump_serials::bump_serials(ctx, op, on).await,
        Action::TakeCatalogs { to, from } => take_catalogs::take_catalogs(ctx, to, *from).await,
        Action::Retire { old } => retire::retire(ctx, old).await,
        // Zone operations' actions run in batches (`apply::zones`), never for a stored
        // operation.
        Action::LoadZone | Action::SendUpdate | Action::CatalogJoin { .. } | Action::UnloadZone => {
            Err(StepError::NotStaged {
                action: crate::plan::render::action_text(action),
            })
        }
    }
}

/// Carries out the actions of kind `kind` of zone operations `batch` (indices into
/// `zones.ops`), all at once.
pub(crate) async fn zone_batch(
    ctx: &Ctx<'_>,
    zones: &mut Zones<'_>,
    kind: Batch,
    batch: &[usize],
) -> Result<(), ApplyError> {
    match kind {
        Batch::Load => load_zone::load(ctx, zones, batch).await,
        Batch::Send => {
            send_update::send(ctx, zones, batch).await;
            Ok(())
        }
        Batch::Join => catalog_join::join(ctx, zones, batch).await,
        Batch::Leave => catalog_leave::remove(ctx, zones, batch).await,
        Batch::Unload => unload_zone::unload(ctx, zones, batch).await,
        Batch::Nothing => {
            for &i in batch {
                zones.acted(ctx, i);
            }
            Ok(())
        }
    }
}
