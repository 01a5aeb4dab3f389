//! `leave-catalog` of delete-zone operations, for every zone of a pass at once: the zones
//! leave their group's member catalogs (one UPDATE per catalog), so the group's
//! secondaries drop them by themselves; the gate checks that each stopped serving them
//! before the primary lets them go.

use std::collections::BTreeMap;

use hickory_proto::rr::Name;

use crate::apply::catalogs;
use crate::apply::ctx::{Ctx, name};
use crate::apply::error::ApplyError;
use crate::apply::zones::Zones;
use crate::procedures::Action;

/// Removes the zones of operations `batch` from their groups' catalogs.
pub(crate) async fn remove(
    ctx: &Ctx<'_>,
    zones: &mut Zones<'_>,
    batch: &[usize],
) -> Result<(), ApplyError> {
    let mut removes: BTreeMap<String, Vec<Name>> = BTreeMap::new();
    for &i in batch {
        let r = &zones.ops[i];
        if let Some(Action::CatalogRemove { group }) = r.action() {
            removes
                .entry(group.clone())
                .or_default()
                .push(name(&r.op.zone));
        }
    }
    leave(ctx, zones, &removes).await?;
    for &i in batch {
        zones.acted(ctx, i);
    }
    Ok(())
}

/// Removes zones from the member catalogs of the groups they leave (`removes`: group →
/// zones); a failed edit is a failure of the apply.
pub(crate) async fn leave(
    ctx: &Ctx<'_>,
    zones: &mut Zones<'_>,
    removes: &BTreeMap<String, Vec<Name>>,
) -> Result<(), ApplyError> {
    let recorded_groups = ctx.store.groups().await?;
    for (group, names) in removes {
        let targets = catalogs::leaving_group(zones.cats, &recorded_groups, group);
        let targets: Vec<&catalogs::MemberCatalog> = targets.iter().collect();
        if let Err(e) = catalogs::edit(ctx.updater, &targets, names, false).await {
            zones.out.failures.push(e);
        }
    }
    Ok(())
}
