//! `publish-zones`, `publish-parents`, `publish-zones-on`: zones brought to their desired
//! content with signed UPDATEs (the NS RRset and the address records of a server's name,
//! or a parent's delegation, change here), on the current primary or on the new one of a
//! primary move.

use super::primaries::Connected;
use crate::apply::ctx::Ctx;
use crate::apply::publish::publish_zones;
use crate::apply::step_error::StepError;
use crate::model::config::PrimaryRef;
use crate::store::OperationRow;

/// `zones` to their desired content through the current primary.
pub(super) async fn zones(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    zones: &[String],
) -> Result<(), StepError> {
    publish_zones(ctx, op, zones).await
}

/// The operation's zones to their desired content through the new primary `on`.
pub(super) async fn zones_on(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    on: &PrimaryRef,
) -> Result<(), StepError> {
    let new = Connected::to(ctx, on).await?;
    publish_zones(&new.ctx(ctx), op, &op.zones).await
}
