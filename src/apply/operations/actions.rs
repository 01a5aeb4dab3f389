//! The actions of staged operations' steps (`procedures::Action`), carried out against the
//! primary: render its configuration, edit catalogs, publish zones, set an RRset; the
//! primary move's own actions are `primary_move.rs`. Each is safe to repeat.

use std::collections::BTreeMap;
use std::time::Duration;

use hickory_proto::rr::Name;
use tracing::{info, warn};

use crate::apply::catalogs;
use crate::apply::ctx::{Ctx, name};
use crate::apply::primary_move;
use crate::apply::publish::{Change, publish_zones, send_and_record, stanzas};
use crate::apply::step_error::StepError;
use crate::live::{SoaAnswer, Transport};
use crate::model::serial::next_serial;
use crate::model::zone::lines_by_rrset;
use crate::procedures::Action;
use crate::store::OperationRow;

/// A step's action.
pub(super) async fn act(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    action: &Action,
) -> Result<(), StepError> {
    match action {
        Action::Nothing => Ok(()),
        Action::RenderPrimary => render_primary(ctx, &op.group).await,
        Action::PublishZones => publish_zones(ctx, op, &op.zones).await,
        Action::PublishParents { zones } => publish_zones(ctx, op, zones).await,
        Action::SetRrset {
            owner,
            rtype,
            ttl,
            values,
        } => set_rrset(ctx, op, owner, rtype, *ttl, values).await,
        Action::CatalogAdd => catalog(ctx, op, &op.group, None, true).await,
        Action::CatalogRemove { group } => catalog(ctx, op, group, None, false).await,
        Action::LeaveCatalog => catalog(ctx, op, &op.group, Some(&op.server), false).await,
        other => primary_move::act(ctx, op, other).await,
    }
}

/// Renders the primary's zone configuration (also-notify as desired, a catalog for each
/// secondary of each group, new ones listing the group's zones), reconfigures it when that
/// changed, and NOTIFYs the group's catalogs so a newly listed secondary fetches its
/// catalog (and so every member zone) now rather than at its next retry.
async fn render_primary(ctx: &Ctx<'_>, group: &str) -> Result<(), StepError> {
    let index = ctx.store.zone_map().await?;
    let desired_groups: BTreeMap<String, String> = ctx
        .desired
        .zones
        .iter()
        .map(|(n, z)| (n.clone(), z.group.clone()))
        .collect();
    let cats = catalogs::serving(&ctx.desired.config, ctx.store).await?;
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

/// After a secondary left a group: its emptied catalog leaves the primary (configuration,
/// then files), its last serial recorded first, so that a catalog of the same name created
/// later starts above it (the secondary may still hold this one). A failure is only logged:
/// the next apply renders the configuration again.
pub(super) async fn retire_catalog(ctx: &Ctx<'_>, op: &OperationRow) {
    let catalog = match ctx.store.groups().await {
        Ok(groups) => groups
            .into_iter()
            .find(|g| g.name == op.group)
            .map(|g| crate::model::config::member_catalog(&name(&g.catalog), &op.server)),
        Err(e) => {
            warn!(op = op.id, "cannot read the groups: {e}");
            return;
        }
    };
    if let Some(c) = &catalog {
        let answer = ctx
            .opts
            .effects
            .prober
            .soa(ctx.primary.addr, c, Transport::Tcp, Duration::from_secs(5))
            .await;
        if let SoaAnswer::Serves { serial } = answer {
            let key = crate::model::ascii(c);
            if let Err(e) = ctx.store.set_catalog_serial(&key, serial, ctx.now()).await {
                warn!(catalog = %c, "cannot record the catalog's last serial: {e}");
                return;
            }
        }
    }
    match render_primary(ctx, &op.group).await {
        Ok(()) => {
            if let Some(c) = catalog {
                ctx.control.remove_zone_files(&c);
                info!(catalog = %c, "catalog of {} removed from the primary", op.server);
            }
        }
        Err(e) => warn!(op = op.id, "cannot render the primary's configuration: {e}"),
    }
}

/// Adds the operation's zones to the catalogs of `group`, or removes them (from one
/// secondary's only, with `only`); then renders the primary's configuration so also-notify
/// follows.
async fn catalog(
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

/// Gives one RRset of the operation's zone `values` with `ttl`, the rest as recorded: one
/// UPDATE, unless the RRset already is so (a repeated step sends nothing).
async fn set_rrset(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    owner: &str,
    rtype: &str,
    ttl: u32,
    values: &[String],
) -> Result<(), StepError> {
    use crate::model::zone::with_rrset;
    let zone = op.zones.first().ok_or(StepError::NoZone)?;
    let recorded = ctx
        .store
        .zone(zone)
        .await?
        .ok_or_else(|| StepError::NotRecorded { zone: zone.clone() })?;
    let origin = name(zone);
    let owner_name = name(owner);
    let t: hickory_proto::rr::RecordType = rtype.parse().map_err(|_| StepError::UnknownType {
        rtype: rtype.to_string(),
    })?;
    let mut rdatas = Vec::new();
    for v in values {
        rdatas.push(crate::model::record::parse_rdata(t, v, &origin)?);
    }
    let set = crate::model::Rrset {
        owner: owner_name.clone(),
        rtype: t,
        ttl,
        rdatas,
    };
    let key = (owner.to_string(), rtype.to_string());
    let lines = set.lines();
    if lines_by_rrset(&recorded.content).get(&key) == Some(&lines) {
        return Ok(());
    }
    let new_serial = next_serial(Some(recorded.serial), ctx.opts.today);
    let target = with_rrset(&recorded.content, &key, &lines, new_serial);
    let soa = crate::apply::update::recorded_soa(&origin, &recorded.content)
        .ok_or(StepError::RecordedSoa { zone: None })?;
    let mut new_soa = soa.clone();
    if let hickory_proto::rr::RData::SOA(s) = &mut new_soa.data {
        s.serial = new_serial;
    }
    let mut update = crate::backend::update::Update::default();
    update.require(soa);
    update.delete_rrset(owner_name, t);
    for r in set.records() {
        update.add(r);
    }
    update.add(new_soa);
    let detail = format!(
        "op {} ({}): {owner} {rtype} TTL {ttl} → {}",
        op.id,
        op.kind,
        values.join(" ")
    );
    let change = Change {
        zone: &origin,
        group: &recorded.group,
        target: &target,
        update: &update,
        recorded_serial: recorded.serial,
        new_serial,
    };
    send_and_record(ctx, &change, &detail).await
}
