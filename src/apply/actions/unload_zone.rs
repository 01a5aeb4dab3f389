//! `unload` of delete-zone operations, for every zone of a pass at once: the zones leave
//! the primary's configuration (one `rndc reconfig`) and their files are removed. The gate
//! (the primary stopped serving them) comes before the store forgets them.

use crate::apply::ctx::Ctx;
use crate::apply::error::ApplyError;
use crate::apply::zones::{Zones, drop_from_primary};

/// Unloads the zones of operations `batch`.
pub(crate) async fn unload(
    ctx: &Ctx<'_>,
    zones: &mut Zones<'_>,
    batch: &[usize],
) -> Result<(), ApplyError> {
    let gone: Vec<String> = batch
        .iter()
        .map(|i| zones.ops[*i].op.zone.clone())
        .collect();
    drop_from_primary(ctx, zones, &gone).await?;
    for &i in batch {
        zones.acted(ctx, i);
    }
    Ok(())
}
