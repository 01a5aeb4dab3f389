//! `render-primary`: the primary's zone configuration rendered as desired (also-notify, a
//! catalog per secondary of each group), reconfigured when it changed, the group's catalogs
//! NOTIFYed; and, after a secondary left, its emptied catalog retired.

use std::collections::BTreeMap;
use std::time::Duration;

use hickory_proto::rr::Name;
use tracing::info;

use crate::apply::catalogs::{self};
use crate::apply::ctx::{Ctx, name};
use crate::apply::publish::stanzas;
use crate::apply::step_error::StepError;
use crate::live::{SoaAnswer, Transport};
use crate::store::OperationRow;

/// Renders the primary's zone configuration (also-notify as desired, a catalog for each
/// secondary of each group, new ones listing the group's zones), reconfigures it when that
/// changed, and NOTIFYs the group's catalogs so a newly listed secondary fetches its
/// catalog (and so every member zone) now rather than at its next retry.
pub(super) async fn render_primary(ctx: &Ctx<'_>, group: &str) -> Result<(), StepError> {
    render(ctx, group, None).await
}

/// [`render_primary`], without the catalog `retired` (one that leaves the primary).
async fn render(ctx: &Ctx<'_>, group: &str, retired: Option<&Name>) -> Result<(), StepError> {
    let index = ctx.store.zone_map().await?;
    let desired_groups: BTreeMap<String, String> = ctx
        .desired
        .zones
        .iter()
        .map(|(n, z)| (n.clone(), z.group.clone()))
        .collect();
    let mut cats = catalogs::serving(&ctx.desired.config, ctx.store).await?;
    cats.retain(|c| Some(&c.name) != retired);
    let last = ctx.store.catalog_serials().await?;
    let created = catalogs::create_missing(ctx.control, &cats, &index, &last, ctx.now())?;
    let all = stanzas(
        &ctx.desired.config,
        &index,
        &desired_groups,
        &Default::default(),
        &cats,
    );
    if ctx.control.write_conf(&all)? || !created.is_empty() {
        ctx.control.reconfig().await?;
    }
    for c in catalogs::of_group(&cats, group) {
        ctx.control.notify(&c.name).await?;
    }
    Ok(())
}

/// After a secondary left a group, before its operation is recorded done: its emptied
/// catalog leaves the primary (configuration, then files), its last serial recorded
/// first, so that a catalog of the same name created later starts above it (the secondary
/// may still hold this one). Safe to repeat: a crash before the operation is recorded
/// done retires it again; a failure leaves the operation to the next apply.
pub(crate) async fn retire_catalog(ctx: &Ctx<'_>, op: &OperationRow) -> Result<(), StepError> {
    // A secondary back in the group keeps its catalog: nothing to retire.
    let member = ctx
        .desired
        .config
        .groups
        .get(&op.group)
        .is_some_and(|g| g.secondaries.contains(&op.server));
    if member {
        return Ok(());
    }
    let catalog = ctx
        .store
        .groups()
        .await?
        .into_iter()
        .find(|g| g.name == op.group)
        .map(|g| crate::model::config::member_catalog(&name(&g.catalog), &op.server));
    if let Some(c) = &catalog {
        let answer = ctx
            .opts
            .effects
            .prober
            .soa(ctx.primary.addr, c, Transport::Tcp, Duration::from_secs(5))
            .await;
        if let SoaAnswer::Serves { serial } = answer {
            let key = crate::model::ascii(c);
            ctx.store
                .set_catalog_serial(&key, serial, ctx.now())
                .await?;
            ctx.boundary("catalog serial recorded").await;
        }
    }
    render(ctx, &op.group, catalog.as_ref()).await?;
    if let Some(c) = catalog {
        ctx.control.remove_zone_files(&c);
        info!(catalog = %c, "catalog of {} removed from the primary", op.server);
    }
    Ok(())
}
