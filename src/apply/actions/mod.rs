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
//!   `bump_serials.rs`, `take_catalogs.rs`, `retire.rs`, sharing `primaries.rs`.

mod bump_serials;
mod catalog;
mod catalog_primaries;
mod load_copy;
mod primaries;
mod publish;
mod raise_expire;
mod render_primary;
mod retire;
mod set_rrset;
mod take_catalogs;

pub(crate) use render_primary::retire_catalog;

use crate::apply::ctx::Ctx;
use crate::apply::step_error::StepError;
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
    }
}
