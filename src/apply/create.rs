//! New zones on the primary: probing, adoption, zone files, `zones.conf`, one
//! `rndc reconfig`, and the load check.
//!
//! - Probes run concurrently ([`live::MAX_PROBES_IN_FLIGHT`] at a time) and the first
//!   probe the primary does not answer at all (UDP, then TCP) stops the apply, naming the
//!   primary: a dead primary costs seconds, not one timeout per zone.
//! - A new zone the primary already serves is adopted: its content is transferred and the
//!   change from it to the desired content is sent, so records only on the primary go.
//!   A fresh store (nothing applied, nothing recorded) facing a primary that already serves
//!   zones of the plan refuses unless the operator asked for it (`apply --adopt`).
//! - A zone the primary refuses to load fails alone: its stanza leaves `zones.conf`, its
//!   zone file is removed, and the other zones go on.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::StreamExt;
use hickory_proto::rr::Name;

use super::catalogs;
use super::change::SentZone;
use super::ctx::{Ctx, Report, name};
use super::error::ApplyError;
use super::publish::stanzas;
use crate::backend::bind::BindError;
use crate::live::{self, Check, SoaAnswer, Transport};
use crate::model::Primary;
use crate::plan::{Plan, ZoneAction, ZoneChange};
use crate::store::{RecordedZone, Store};

/// What the create stage leaves for the next ones.
pub struct Created<'p> {
    /// Zones loaded from new files, to verify and record.
    pub loaded: Vec<SentZone>,
    /// Zones the primary already served: their change goes as an UPDATE.
    pub adopted: Vec<&'p ZoneChange>,
}

/// Names the primary in a control-channel failure.
pub fn control_error(primary: &Primary, source: BindError) -> ApplyError {
    ApplyError::Control {
        name: primary.name.clone(),
        addr: primary.addr,
        source,
    }
}

/// SOA answers of the primary for `zones`, concurrently; the first zone it does not answer
/// for at all (over UDP, then TCP) ends the probing with [`ApplyError::PrimaryUnreachable`].
pub async fn probe(
    prober: &dyn live::Prober,
    primary: &Primary,
    zones: &[Name],
) -> Result<Vec<SoaAnswer>, ApplyError> {
    let timeout = Duration::from_secs(2);
    let mut answers = futures_util::stream::iter(zones.iter().enumerate())
        .map(|(i, z)| async move {
            let mut a = prober.soa(primary.addr, z, Transport::Udp, timeout).await;
            if matches!(a, SoaAnswer::NoAnswer(_)) {
                a = prober.soa(primary.addr, z, Transport::Tcp, timeout).await;
            }
            (i, a)
        })
        .buffer_unordered(live::MAX_PROBES_IN_FLIGHT);
    let mut out = vec![SoaAnswer::NoAnswer(String::new()); zones.len()];
    while let Some((i, a)) = answers.next().await {
        if let SoaAnswer::NoAnswer(why) = &a {
            return Err(ApplyError::PrimaryUnreachable {
                name: primary.name.clone(),
                addr: primary.addr,
                message: format!(
                    "it does not answer SOA queries (zone {}: {why}); check that named runs there and listens on that address",
                    zones[i]
                ),
            });
        }
        out[i] = a;
    }
    Ok(out)
}

/// The create stage of `plan`.
#[allow(clippy::too_many_arguments)]
pub async fn run<'p>(
    store: &Store,
    ctx: &Ctx<'_>,
    plan: &'p Plan,
    index: &BTreeMap<String, RecordedZone>,
    cats: &[catalogs::MemberCatalog],
    desired_groups: &BTreeMap<String, String>,
    report: &mut Report,
) -> Result<Created<'p>, ApplyError> {
    let (primary, control) = (ctx.primary, ctx.control);
    let new: Vec<&ZoneChange> = plan
        .zones
        .iter()
        .filter(|z| z.action == ZoneAction::Create)
        .collect();
    let names: Vec<Name> = new.iter().map(|z| name(&z.zone)).collect();
    let answers = probe(ctx.opts.effects.prober.as_ref(), primary, &names).await?;
    let served: Vec<&ZoneChange> = new
        .iter()
        .zip(&answers)
        .filter(|(_, a)| matches!(a, SoaAnswer::Serves { .. }))
        .map(|(z, _)| *z)
        .collect();
    let fresh = index.is_empty() && store.applied_revision().await?.is_none();
    if fresh && !served.is_empty() && !ctx.opts.adopt {
        return Err(ApplyError::AlreadyServed {
            name: primary.name.clone(),
            addr: primary.addr,
            count: served.len(),
            zones: served
                .iter()
                .take(5)
                .map(|z| z.zone.clone())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut adopted = Vec::new();
    let mut creates = Vec::new();
    for (z, a) in new.iter().zip(&answers) {
        let zname = name(&z.zone);
        match a {
            SoaAnswer::Serves { .. } if ctx.opts.adopt || control.has_zone_file(&zname) => {
                adopted.push(*z)
            }
            SoaAnswer::Serves { serial } => report.failures.push(format!(
                "zone {} is already served by the primary {} (serial {serial}) from outside zonekeeper's configuration; nothing was changed for it. Remove it from the primary's own configuration, or apply with --adopt to take it over (records only on the primary are then removed)",
                z.zone, primary.name
            )),
            _ => {
                control
                    .write_zone_file(&zname, &z.new_text)
                    .map_err(|e| control_error(primary, e))?;
                creates.push(*z);
            }
        }
    }
    let last_serials = ctx.store.catalog_serials().await?;
    let new_catalogs = catalogs::create_missing(control, cats, index, &last_serials, ctx.opts.now)
        .map_err(|e| control_error(primary, e))?;
    let conf = stanzas(
        &ctx.desired.config,
        index,
        desired_groups,
        &BTreeSet::new(),
        cats,
    );
    let changed = control
        .write_conf(&conf)
        .map_err(|e| control_error(primary, e))?;
    if changed || !creates.is_empty() || !new_catalogs.is_empty() {
        tracing::info!(
            new_zones = creates.len(),
            new_catalogs = new_catalogs.len(),
            "rndc reconfig on the primary"
        );
        control
            .reconfig()
            .await
            .map_err(|e| control_error(primary, e))?;
    }
    let refused = load_check(ctx, &creates, &new_catalogs, report).await;
    if !refused.is_empty() {
        drop_refused(ctx, index, desired_groups, cats, &refused).await?;
    }
    let loaded = creates
        .iter()
        .filter(|z| !refused.contains(&z.zone))
        .map(|z| {
            let serial = z.new_serial.unwrap_or(0);
            SentZone {
                name: name(&z.zone),
                group: z.group.clone(),
                target: z.new_text.clone(),
                serial,
                action: "create",
                detail: format!("created with serial {serial}, {} RRsets", z.rrsets.len()),
            }
        })
        .collect();
    Ok(Created { loaded, adopted })
}

/// Waits until the primary serves every new zone and catalog; returns the zones it
/// refused (each a failure in `report`, naming zone, primary and what to do).
async fn load_check(
    ctx: &Ctx<'_>,
    creates: &[&ZoneChange],
    new_catalogs: &[(Name, u32)],
    report: &mut Report,
) -> BTreeSet<String> {
    let primary = ctx.primary;
    let mut loads: Vec<Check> = creates
        .iter()
        .map(|z| {
            Check::serves(
                name(&z.zone),
                &primary.name,
                primary.addr,
                z.new_serial.unwrap_or(0),
            )
        })
        .collect();
    loads.extend(
        new_catalogs
            .iter()
            .map(|(c, serial)| Check::serves(c.clone(), &primary.name, primary.addr, *serial)),
    );
    let mut refused = BTreeSet::new();
    for o in live::verify(
        ctx.opts.effects.prober.as_ref(),
        ctx.opts.effects.clock.as_ref(),
        loads,
        // The verify timeout (`--verify-timeout`, 30 s by default): a primary loading
        // thousands of new zones at once may need longer, and the operator can give it.
        ctx.opts.verify_timeout,
        Duration::from_millis(50),
    )
    .await
    {
        if o.ok {
            continue;
        }
        let zone = crate::model::ascii(&o.check.zone);
        if new_catalogs.iter().any(|(c, _)| *c == o.check.zone) {
            report.failures.push(format!(
                "the primary {} ({}) did not load catalog zone {zone}: it {}. Check the primary's log, then apply again",
                primary.name,
                primary.addr,
                o.answer.describe()
            ));
            continue;
        }
        report.failures.push(format!(
            "the primary {} ({}) did not load zone {zone}: it {}. The zone was taken out of its configuration and its zone file removed; the other zones went on. Look for `{}` in the primary's log (e.g. a record BIND refuses), correct the zone in the repository, then apply again",
            primary.name,
            primary.addr,
            o.answer.describe(),
            zone.trim_end_matches('.')
        ));
        refused.insert(zone);
    }
    refused
}

/// Takes refused zones out of `zones.conf` and removes their files.
async fn drop_refused(
    ctx: &Ctx<'_>,
    index: &BTreeMap<String, RecordedZone>,
    desired_groups: &BTreeMap<String, String>,
    cats: &[catalogs::MemberCatalog],
    refused: &BTreeSet<String>,
) -> Result<(), ApplyError> {
    let (primary, control) = (ctx.primary, ctx.control);
    let conf = stanzas(&ctx.desired.config, index, desired_groups, refused, cats);
    control
        .write_conf(&conf)
        .map_err(|e| control_error(primary, e))?;
    control
        .reconfig()
        .await
        .map_err(|e| control_error(primary, e))?;
    for z in refused {
        control.remove_zone_files(&name(z));
    }
    Ok(())
}
