//! `join-catalog` of zone operations, for every zone of a pass at once: each zone is added
//! to its group's member catalogs (one UPDATE per catalog for all its zones), so the
//! group's secondaries pick it up by themselves; a zone that moved group leaves the old
//! group's. A failed edit is a failure of the apply; the gate (every server serves the
//! zone) then tells whether the zone made it anyway.

use std::collections::BTreeMap;

use hickory_proto::rr::Name;

use super::catalog_leave::leave;
use crate::apply::catalogs;
use crate::apply::ctx::{Ctx, name};
use crate::apply::error::ApplyError;
use crate::apply::zones::Zones;
use crate::procedures::Action;

/// Adds the zones of operations `batch` to their groups' catalogs.
pub(crate) async fn join(
    ctx: &Ctx<'_>,
    zones: &mut Zones<'_>,
    batch: &[usize],
) -> Result<(), ApplyError> {
    let mut adds: BTreeMap<String, Vec<Name>> = BTreeMap::new();
    let mut removes: BTreeMap<String, Vec<Name>> = BTreeMap::new();
    for &i in batch {
        let r = &zones.ops[i];
        let zone = name(&r.op.zone);
        adds.entry(r.op.group.clone())
            .or_default()
            .push(zone.clone());
        if let Some(Action::CatalogJoin { leave: Some(old) }) = r.action() {
            removes.entry(old.clone()).or_default().push(zone);
        }
    }
    for (group, names) in &adds {
        let targets = catalogs::of_group(zones.cats, group);
        if let Err(e) = catalogs::edit(ctx.updater, &targets, names, true).await {
            zones.out.failures.push(e);
        }
    }
    if !removes.is_empty() {
        leave(ctx, zones, &removes).await?;
    }
    for &i in batch {
        zones.acted(ctx, i);
    }
    Ok(())
}
