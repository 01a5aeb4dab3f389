//! `load-copy` (move-primary step 2): every zone loaded on the new primary from the recorded
//! content, and copies of the catalogs transferred from the old one.

use super::primaries::{control_of, render_on};
use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::apply::ctx::{Ctx, name};
use crate::apply::step_error::StepError;
use crate::model::config::PrimaryRef;
use crate::store::RecordedZone;

/// Step 2: the zones from the recorded content, and copies of the catalogs, on `to`.
pub(super) async fn load_copy(
    ctx: &Ctx<'_>,
    to: &PrimaryRef,
    from: SocketAddr,
) -> Result<(), StepError> {
    let control = control_of(ctx, to);
    let index: BTreeMap<String, RecordedZone> = ctx.store.zone_map().await?;
    for z in index.keys() {
        let zname = name(z);
        // A file already there was written by an earlier attempt (and may have changed
        // since, by UPDATEs): the gate compares what is served, never the file.
        if control.has_zone_file(&zname) {
            continue;
        }
        let Some(full) = ctx.store.zone(z).await? else {
            continue;
        };
        control.write_zone_file(&zname, &full.content)?;
    }
    render_on(ctx, control.as_ref(), &index, Some(from)).await?;
    Ok(())
}
