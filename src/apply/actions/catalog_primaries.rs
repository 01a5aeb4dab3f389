//! `catalog-primaries` (move-primary steps 3 and 5): every catalog zone names these
//! primaries, in this order, as its members' primaries; the copy on the new primary
//! learns of it at once.

use std::net::SocketAddr;

use super::primaries::{catalog_names, control_of};
use crate::apply::ctx::Ctx;
use crate::apply::step_error::StepError;
use crate::backend::catalog;
use crate::model::config::PrimaryRef;

/// Sets the primaries of every catalog zone (on the current primary), then refreshes the
/// copy on `copy`.
pub(super) async fn catalog_primaries(
    ctx: &Ctx<'_>,
    primaries: &[SocketAddr],
    copy: &PrimaryRef,
) -> Result<(), StepError> {
    let key = ctx.desired.config.primary.tsig.name.clone();
    let control = control_of(ctx, copy);
    for cat in catalog_names(ctx).await? {
        let update = catalog::set_primaries(&cat, primaries, &key);
        ctx.updater.send(&cat, &update, None).await?;
        // The copy learns of it now rather than at its next refresh.
        control.refresh(&cat).await?;
    }
    Ok(())
}
