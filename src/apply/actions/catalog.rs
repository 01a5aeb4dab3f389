//! `catalog-add`, `catalog-remove`, `leave-catalog`: the operation's zones join or leave
//! a group's member catalogs (or one secondary's), then the primary is rendered again.

use hickory_proto::rr::Name;

use super::render_primary::render_primary;
use crate::apply::catalogs::{self};
use crate::apply::ctx::{Ctx, name};
use crate::apply::step_error::StepError;
use crate::store::OperationRow;

/// Adds the operation's zones to the catalogs of `group`, or removes them (from one
/// secondary's only, with `only`); then renders the primary's configuration so also-notify
/// follows.
pub(super) async fn catalog(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    group: &str,
    only: Option<&str>,
    add: bool,
) -> Result<(), StepError> {
    let cats = catalogs::serving(&ctx.desired.config, ctx.store).await?;
    let recorded = ctx.store.groups().await?;
    let mut targets = if add {
        catalogs::of_group(&cats, group)
            .into_iter()
            .cloned()
            .collect()
    } else {
        catalogs::leaving_group(&cats, &recorded, group)
    };
    if let Some(server) = only {
        targets.retain(|c| c.server == server);
    }
    if targets.is_empty() {
        return Err(StepError::NoCatalog {
            group: group.to_string(),
            only: only.map(str::to_string),
        });
    }
    let zones: Vec<Name> = op.zones.iter().map(|z| name(z)).collect();
    let targets: Vec<&catalogs::MemberCatalog> = targets.iter().collect();
    catalogs::edit(ctx.updater, &targets, &zones, add)
        .await
        .map_err(StepError::Catalog)?;
    render_primary(ctx, &op.group).await
}
