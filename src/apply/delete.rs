//! Stage 6 of an apply: deletions, only with `--allow-delete`. The zones leave their
//! group's member catalogs first; only those every recorded secondary of the group stopped
//! serving leave the primary's configuration and files, and then the store.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use hickory_proto::rr::Name;

use super::ctx::{Health, Report, Stage, audit, name};
use super::error::ApplyError;
use super::publish::stanzas;
use super::{catalogs, create};
use crate::live::{self, Check};
use crate::plan::{ZoneAction, ZoneChange};
use crate::store::AuditEntry;

/// Deletes the zones the plan deletes, or lists them in `report.skipped_deletes` without
/// `--allow-delete`. A secondary still serving a zone is a failure in `report` and in its
/// `health`.
pub(super) async fn zones(
    stage: &Stage<'_>,
    health: &mut Health,
    report: &mut Report,
) -> Result<(), ApplyError> {
    let deletes: Vec<&ZoneChange> = stage
        .plan
        .zones
        .iter()
        .filter(|z| z.action == ZoneAction::Delete)
        .collect();
    if !deletes.is_empty() && !stage.ctx.opts.allow_delete {
        report.skipped_deletes = deletes.iter().map(|z| z.zone.clone()).collect();
    } else if !deletes.is_empty() {
        let gone = leave_catalogs(stage, &deletes, health, report).await?;
        if !gone.is_empty() {
            leave_primary(stage, gone, report).await?;
        }
    }
    Ok(())
}

/// Removes `deletes` from their groups' member catalogs, then checks that every recorded
/// secondary of the group stopped serving them. Returns the zones no secondary serves.
async fn leave_catalogs(
    stage: &Stage<'_>,
    deletes: &[&ZoneChange],
    health: &mut Health,
    report: &mut Report,
) -> Result<BTreeSet<String>, ApplyError> {
    let (config, opts) = (&stage.ctx.desired.config, stage.ctx.opts);
    let groups = stage.ctx.store.groups().await?;
    let mut by_group: BTreeMap<String, Vec<Name>> = BTreeMap::new();
    for z in deletes {
        by_group
            .entry(z.group.clone())
            .or_default()
            .push(name(&z.zone));
    }
    let mut checks = Vec::new();
    for (group, zones) in &by_group {
        let targets = catalogs::leaving_group(stage.cats, &groups, group);
        let targets: Vec<&catalogs::MemberCatalog> = targets.iter().collect();
        if let Err(e) = catalogs::edit(stage.ctx.updater, &targets, zones, false).await {
            report.failures.push(e);
        }
        let recorded_secondaries = groups
            .iter()
            .find(|g| &g.name == group)
            .map(|g| g.secondaries.clone())
            .unwrap_or_default();
        for zone in zones {
            for s in recorded_secondaries
                .iter()
                .filter_map(|s| config.secondaries.get(s))
            {
                for addr in s.sockets() {
                    checks.push(Check::refuses(zone.clone(), &s.name, addr));
                }
            }
        }
    }
    let mut still_served = BTreeSet::new();
    for o in live::verify(
        opts.effects.prober.as_ref(),
        opts.effects.clock.as_ref(),
        checks,
        opts.verify_timeout,
        Duration::from_millis(100),
    )
    .await
    {
        if !o.ok {
            let msg = format!(
                "{} still serves {} after its removal from the catalog: it {}",
                o.check.server,
                o.check.zone,
                o.answer.describe()
            );
            health
                .entry(o.check.server.clone())
                .or_default()
                .1
                .push(msg.clone());
            report.failures.push(msg);
            still_served.insert(crate::model::ascii(&o.check.zone));
        }
    }
    Ok(deletes
        .iter()
        .map(|z| z.zone.clone())
        .filter(|z| !still_served.contains(z))
        .collect())
}

/// Removes the zones `gone` from the primary's configuration (one `rndc reconfig`) and
/// files, then forgets them in the store with their audit entries; fills `report.deleted`.
async fn leave_primary(
    stage: &Stage<'_>,
    gone: BTreeSet<String>,
    report: &mut Report,
) -> Result<(), ApplyError> {
    let (desired, opts) = (stage.ctx.desired, stage.ctx.opts);
    let (primary, control) = (&desired.config.primary, stage.ctx.control);
    control
        .write_conf(&stanzas(
            &desired.config,
            stage.index,
            stage.desired_groups,
            &gone,
            stage.cats,
        ))
        .map_err(|e| create::control_error(primary, e))?;
    control
        .reconfig()
        .await
        .map_err(|e| create::control_error(primary, e))?;
    for z in &gone {
        control.remove_zone_files(&name(z));
    }
    let entries: Vec<(String, AuditEntry)> = gone
        .iter()
        .map(|z| {
            (
                z.clone(),
                audit(
                    desired,
                    opts.now,
                    "delete",
                    z,
                    "removed from the catalog and the primary".into(),
                ),
            )
        })
        .collect();
    stage.ctx.store.delete_zones(&entries).await?;
    stage.ctx.boundary("zones deleted").await;
    report.deleted = gone.into_iter().collect();
    Ok(())
}
