//! `load` of create-zone operations, for every new zone of a pass at once: the primary is
//! asked whether it serves each already (concurrently); new zone files are written, the
//! group's catalogs created when missing, `zones.conf` rendered, then one `rndc reconfig`.
//!
//! - The first zone the primary does not answer for at all (UDP, then TCP) stops the
//!   apply, naming the primary: a dead primary costs seconds, not one timeout per zone.
//! - A new zone the primary already serves is adopted: its content is transferred and the
//!   change from it to the desired content is sent, so records only on the primary go.
//!   A fresh store (nothing applied, nothing recorded) facing a primary that already serves
//!   zones of the plan refuses unless the operator asked for it (`apply --adopt`). A zone
//!   the primary serves from its own configuration is adopted in place: no zone file is
//!   written for it, so `zones.conf` never holds a second stanza for it
//!   ([`crate::backend::bind::PrimaryControl::write_conf`]).
//! - A zone the primary then refuses to load fails alone (its gate, see `apply::zones`).

use std::time::Duration;

use futures_util::StreamExt;
use hickory_proto::rr::Name;

use crate::apply::catalogs;
use crate::apply::change::{self, SentZone};
use crate::apply::content;
use crate::apply::ctx::{Ctx, name};
use crate::apply::error::ApplyError;
use crate::apply::zones::Zones;
use crate::backend::bind::BindError;
use crate::live::{self, Check, SoaAnswer, Transport};
use crate::model::Primary;

/// Names the primary in a control-channel failure.
pub(crate) fn control_error(primary: &Primary, source: BindError) -> ApplyError {
    ApplyError::Control {
        name: primary.name.clone(),
        addr: primary.addr,
        source,
    }
}

/// Loads (or adopts) the zones of operations `batch`.
pub(crate) async fn load(
    ctx: &Ctx<'_>,
    zones: &mut Zones<'_>,
    batch: &[usize],
) -> Result<(), ApplyError> {
    let (primary, control) = (ctx.primary, ctx.control);
    let names: Vec<Name> = batch.iter().map(|i| name(&zones.ops[*i].op.zone)).collect();
    let answers = probe(ctx.opts.effects.prober.as_ref(), primary, &names).await?;
    let served: Vec<&str> = batch
        .iter()
        .zip(&answers)
        .filter(|(_, a)| matches!(a, SoaAnswer::Serves { .. }))
        .map(|(i, _)| zones.ops[*i].op.zone.as_str())
        .collect();
    let fresh = zones.index.is_empty() && ctx.store.applied_revision().await?.is_none();
    if fresh && !served.is_empty() && !ctx.opts.adopt {
        return Err(ApplyError::AlreadyServed {
            name: primary.name.clone(),
            addr: primary.addr,
            count: served.len(),
            zones: served
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut adopt = Vec::new();
    let mut creates = Vec::new();
    for (&i, a) in batch.iter().zip(&answers) {
        let zname = name(&zones.ops[i].op.zone);
        match a {
            SoaAnswer::Serves { .. } if ctx.opts.adopt || control.has_zone_file(&zname) => {
                adopt.push(i)
            }
            SoaAnswer::Serves { serial } => {
                let zone = zones.ops[i].op.zone.clone();
                zones.fail(i, format!(
                    "zone {zone} is already served by the primary {} (serial {serial}) from outside zonekeeper's configuration; nothing was changed for it. Remove it from the primary's own configuration, or apply with --adopt to take it over (records only on the primary are then removed)",
                    primary.name
                ));
            }
            // a plan made for display holds the content of the zones it shows only
            _ if zones.ops[i].change.new_text.is_empty() => {
                let zone = zones.ops[i].op.zone.clone();
                zones.fail(i, format!(
                    "zone {zone}: the plan holds no content for it (a plan made to be shown, not applied); nothing was sent. This is a bug in zonekeeper: please report it"
                ));
            }
            _ => {
                control
                    .write_zone_file(&zname, &zones.ops[i].change.new_text)
                    .map_err(|e| control_error(primary, e))?;
                creates.push(i);
            }
        }
    }
    let new_catalogs = reconfigure(ctx, zones, !creates.is_empty()).await?;
    catalogs_loaded(ctx, zones, &new_catalogs).await;
    for i in creates {
        let r = &mut zones.ops[i];
        let serial = r.change.new_serial.unwrap_or(0);
        r.sent = Some(SentZone {
            name: name(&r.op.zone),
            group: r.op.group.clone(),
            target: r.change.new_text.clone(),
            serial,
            action: "create",
            detail: format!(
                "created with serial {serial}, {} RRsets",
                r.change.rrset_changes().len()
            ),
        });
        zones.acted(ctx, i);
    }
    adopt_served(ctx, zones, &adopt).await
}

/// Creates missing catalogs, renders `zones.conf`, and reconfigures the primary when either
/// (or `new_zones`) changed it. Returns the catalogs created, with their serials.
async fn reconfigure(
    ctx: &Ctx<'_>,
    zones: &Zones<'_>,
    new_zones: bool,
) -> Result<Vec<(Name, u32)>, ApplyError> {
    let (primary, control) = (ctx.primary, ctx.control);
    let last_serials = ctx.store.catalog_serials().await?;
    let new_catalogs = catalogs::create_missing(
        control,
        zones.cats,
        zones.index,
        &last_serials,
        ctx.opts.now,
    )
    .map_err(|e| control_error(primary, e))?;
    let conf = zones.conf(&ctx.desired.config);
    let changed = control
        .write_conf(&conf)
        .map_err(|e| control_error(primary, e))?;
    if changed || new_zones || !new_catalogs.is_empty() {
        tracing::info!(
            new_catalogs = new_catalogs.len(),
            "rndc reconfig on the primary"
        );
        control
            .reconfig()
            .await
            .map_err(|e| control_error(primary, e))?;
    }
    Ok(new_catalogs)
}

/// Waits (up to the verify timeout) until the primary serves each new catalog zone; one it
/// does not is a failure of the apply.
async fn catalogs_loaded(ctx: &Ctx<'_>, zones: &mut Zones<'_>, new_catalogs: &[(Name, u32)]) {
    if new_catalogs.is_empty() {
        return;
    }
    let primary = ctx.primary;
    let checks = new_catalogs
        .iter()
        .map(|(c, serial)| Check::serves(c.clone(), &primary.name, primary.addr, *serial))
        .collect();
    let fx = &ctx.opts.effects;
    for o in live::verify(
        fx.prober.as_ref(),
        fx.clock.as_ref(),
        checks,
        ctx.opts.verify_timeout,
        Duration::from_millis(50),
    )
    .await
    .into_iter()
    .filter(|o| !o.ok)
    {
        zones.out.failures.push(format!(
            "the primary {} ({}) did not load catalog zone {}: it {}. Check the primary's log, then apply again",
            primary.name,
            primary.addr,
            crate::model::ascii(&o.check.zone),
            o.answer.describe()
        ));
    }
}

/// Adopts the zones of operations `adopt`, which the primary already serves: their content
/// is transferred, and the change from it to the desired content sent.
async fn adopt_served(
    ctx: &Ctx<'_>,
    zones: &mut Zones<'_>,
    adopt: &[usize],
) -> Result<(), ApplyError> {
    if adopt.is_empty() {
        return Ok(());
    }
    let names: Vec<Name> = adopt.iter().map(|i| name(&zones.ops[*i].op.zone)).collect();
    let mut served = content::transfer_all(ctx.updater, &names).await;
    let sender = change::Sender::of(ctx);
    for &i in adopt {
        let zone = zones.ops[i].op.zone.clone();
        zones.ops[i].adopted = true;
        let old = match served.remove(&name(&zone)) {
            Some(Ok(s)) => s,
            Some(Err(e)) => {
                zones.fail(i, format!(
                    "zone {zone} is already served by the primary, but its content could not be transferred to adopt it: {e}"
                ));
                continue;
            }
            None => continue,
        };
        let Some(desired) = ctx.desired.zones.get(&zone) else {
            zones.fail(i, format!("zone {zone} is planned but not desired"));
            continue;
        };
        match sender.send(desired, &old.text, old.serial, "adopt").await {
            Ok(s) => {
                zones.ops[i].sent = Some(s);
                zones.acted(ctx, i);
            }
            Err(e) => zones.fail(i, e),
        }
    }
    Ok(())
}

/// SOA answers of the primary for `zones`, concurrently; the first zone it does not answer
/// for at all (over UDP, then TCP) ends the probing with [`ApplyError::PrimaryUnreachable`].
pub(crate) async fn probe(
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
