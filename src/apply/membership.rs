//! Stage 4 of an apply: catalog membership. New zones (and zones that moved group) are
//! added to their group's member catalogs, so the secondaries pick them up by themselves;
//! a zone that moved leaves its old group's.

use std::collections::BTreeMap;

use hickory_proto::rr::Name;

use super::catalogs;
use super::ctx::{Report, Stage, name};
use super::error::ApplyError;
use crate::plan::ZoneAction;

/// Edits the member catalogs for the zones created or updated in this run (and those the
/// plan only verifies); a failed edit is a failure in `report`.
pub(super) async fn edit(stage: &Stage<'_>, report: &mut Report) -> Result<(), ApplyError> {
    let mut catalog_adds: BTreeMap<String, Vec<Name>> = BTreeMap::new();
    let mut catalog_removes: BTreeMap<String, Vec<Name>> = BTreeMap::new();
    for z in &stage.plan.zones {
        let done = report.created.contains(&z.zone) || report.updated.contains(&z.zone);
        let needs =
            matches!(z.action, ZoneAction::Create | ZoneAction::Verify) || z.old_group.is_some();
        if (done || z.action == ZoneAction::Verify) && needs {
            catalog_adds
                .entry(z.group.clone())
                .or_default()
                .push(name(&z.zone));
        }
        if let (true, Some(old)) = (done, &z.old_group) {
            catalog_removes
                .entry(old.clone())
                .or_default()
                .push(name(&z.zone));
        }
    }
    let recorded_groups = stage.ctx.store.groups().await?;
    let updater = stage.ctx.updater;
    for (group, zones) in &catalog_adds {
        let targets = catalogs::of_group(stage.cats, group);
        if let Err(e) = catalogs::edit(updater, &targets, zones, true).await {
            report.failures.push(e);
        }
    }
    for (group, zones) in &catalog_removes {
        let targets = catalogs::leaving_group(stage.cats, &recorded_groups, group);
        let targets: Vec<&catalogs::MemberCatalog> = targets.iter().collect();
        if let Err(e) = catalogs::edit(updater, &targets, zones, false).await {
            report.failures.push(e);
        }
    }
    Ok(())
}
