//! The executor's side of moving the primary (`procedures::move_primary`): the actions
//! only it uses. Its gates are observed with every other gate (`operations/gates.rs`).
//!
//! A move runs before anything else in an apply, with the *old* primary as the one
//! changes go to; the regular path (new zones, record changes) waits until the move is
//! done and the new primary is recorded, then goes on in the same apply.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;

use super::catalogs::{self, MemberCatalog};
use super::ctx::{Ctx, connect, name};
use super::error::ApplyError;
use super::publish::{self, Change, stanzas};
use super::step_error::StepError;
use crate::backend::catalog;
use crate::backend::seam::{Control, Sender};
use crate::backend::update::Update;
use crate::live::{SoaAnswer, Transport};
use crate::model::Primary;
use crate::model::config::PrimaryRef;
use crate::model::serial::next_serial;
use crate::model::zone::{soa_of, with_rrset};
use crate::procedures::Action;
use crate::store::{OperationRow, RecordedZone};

/// A primary of the move, as the rest of the executor knows primaries.
fn primary_of(ctx: &Ctx<'_>, p: &PrimaryRef) -> Primary {
    Primary {
        name: p.name.clone(),
        addr: p.addr,
        tsig: ctx.desired.config.primary.tsig.clone(),
        rndc: p.rndc.clone(),
        rndc_conf: p.rndc_conf.clone(),
        config_dir: p.config_dir.clone(),
    }
}

/// Another primary of the move, connected: changes can go to it instead of `ctx`'s.
struct Connected {
    primary: Primary,
    control: Box<dyn Control>,
    updater: Box<dyn Sender>,
}

impl Connected {
    async fn to(ctx: &Ctx<'_>, p: &PrimaryRef) -> Result<Connected, StepError> {
        let primary = primary_of(ctx, p);
        let (control, updater) = connect(ctx.opts, &primary).await?;
        Ok(Connected {
            primary,
            control,
            updater,
        })
    }

    /// `base`, with changes going to this primary.
    fn ctx<'a>(&'a self, base: &Ctx<'a>) -> Ctx<'a> {
        Ctx {
            primary: &self.primary,
            control: self.control.as_ref(),
            updater: self.updater.as_ref(),
            ..*base
        }
    }
}

/// The member catalogs the old primary serves: those of the recorded groups.
async fn member_catalogs(ctx: &Ctx<'_>) -> Result<Vec<MemberCatalog>, ApplyError> {
    catalogs::recorded(&ctx.desired.config, ctx.store).await
}

/// Their names.
async fn catalog_names(ctx: &Ctx<'_>) -> Result<Vec<Name>, StepError> {
    Ok(member_catalogs(ctx)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect())
}

/// Carries out one of the move's actions.
pub(super) async fn act(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    action: &Action,
) -> Result<(), StepError> {
    match action {
        Action::RaiseExpire { seconds } => raise_expire(ctx, op, *seconds).await,
        Action::LoadCopy { to, from } => load_copy(ctx, to, *from).await,
        Action::CatalogPrimaries { primaries, copy } => {
            let key = ctx.desired.config.primary.tsig.name.clone();
            let control = control_of(ctx, copy);
            for cat in catalog_names(ctx).await? {
                let update = catalog::set_primaries(&cat, primaries, &key);
                ctx.updater.send(&cat, &update, None).await?;
                // The copy learns of it now rather than at its next refresh.
                control.refresh(&cat).await?;
            }
            Ok(())
        }
        Action::BumpSerials { on } => bump_serials(ctx, op, on).await,
        Action::TakeCatalogs { to, from } => take_catalogs(ctx, to, *from).await,
        Action::PublishZonesOn { on } => {
            let new = Connected::to(ctx, on).await?;
            publish::publish_zones(&new.ctx(ctx), op, &op.zones).await
        }
        Action::Retire { old } => {
            let control = control_of(ctx, old);
            if control.write_conf(&[])? {
                control.reconfig().await?;
            }
            Ok(())
        }
        other => Err(StepError::NotAStep {
            action: format!("{other:?}"),
        }),
    }
}

fn control_of(ctx: &Ctx<'_>, p: &PrimaryRef) -> Box<dyn Control> {
    ctx.opts.effects.connector.control(&primary_of(ctx, p))
}

/// Sends `zone` from its recorded content to `target` (its SOA changed only) through
/// `ctx`'s primary, and records it.
async fn soa_only(
    ctx: &Ctx<'_>,
    recorded: &RecordedZone,
    target: &str,
    new_serial: u32,
    detail: &str,
) -> Result<(), StepError> {
    let origin = name(&recorded.name);
    let (Some(old_soa), Some(new_soa)) = (
        super::update::recorded_soa(&origin, &recorded.content),
        super::update::recorded_soa(&origin, target),
    ) else {
        return Err(StepError::RecordedSoa {
            zone: Some(recorded.name.clone()),
        });
    };
    let mut update = Update::default();
    update.require(old_soa);
    update.add(new_soa);
    let change = Change {
        zone: &origin,
        group: &recorded.group,
        target,
        update: &update,
        recorded_serial: recorded.serial,
        new_serial,
    };
    publish::send_and_record(ctx, &change, detail).await
}

/// Step 1: SOA expire of at least `seconds` on every zone, through the old primary.
async fn raise_expire(ctx: &Ctx<'_>, op: &OperationRow, seconds: u32) -> Result<(), StepError> {
    for zone in &op.zones {
        let Some(recorded) = ctx.store.zone(zone).await? else {
            continue;
        };
        let Some((ttl, f)) = soa_of(&recorded.content) else {
            return Err(StepError::RecordedSoa {
                zone: Some(zone.clone()),
            });
        };
        let expire: u32 = f.get(5).and_then(|e| e.parse().ok()).unwrap_or(0);
        if expire >= seconds {
            continue;
        }
        let new_serial = next_serial(Some(recorded.serial), ctx.opts.today);
        let mut soa = f.clone();
        soa[5] = seconds.to_string();
        let line = format!("{zone} {ttl} IN SOA {}", soa.join(" "));
        let body: String = recorded
            .content
            .lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect();
        let target = with_rrset(
            &format!("{line}\n{body}"),
            &(String::new(), String::new()),
            &[],
            new_serial,
        );
        let detail = format!(
            "op {} (move-primary): SOA expire {expire} → {seconds}",
            op.id
        );
        soa_only(ctx, &recorded, &target, new_serial, &detail).await?;
    }
    Ok(())
}

/// Step 2: the zones from the recorded content, and copies of the catalogs, on `to`.
async fn load_copy(ctx: &Ctx<'_>, to: &PrimaryRef, from: SocketAddr) -> Result<(), StepError> {
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
    let cats = member_catalogs(ctx).await?;
    let mut all = stanzas(
        &ctx.desired.config,
        &index,
        &Default::default(),
        &Default::default(),
        &cats,
    );
    for s in all
        .iter_mut()
        .filter(|s| cats.iter().any(|c| c.name == s.zone))
    {
        s.copy_of = Some(from);
    }
    if control.write_conf(&all)? {
        control.reconfig().await?;
    }
    Ok(())
}

/// Step 4: every zone's serial +1 on `on` alone. A zone whose recorded serial is already
/// ahead of the old primary's was bumped by an earlier attempt.
async fn bump_serials(ctx: &Ctx<'_>, op: &OperationRow, on: &PrimaryRef) -> Result<(), StepError> {
    let connected = Connected::to(ctx, on).await?;
    let new = connected.ctx(ctx);
    for zone in &op.zones {
        let Some(recorded) = ctx.store.zone(zone).await? else {
            continue;
        };
        let zname = name(zone);
        match ctx
            .opts
            .effects
            .prober
            .soa(
                ctx.primary.addr,
                &zname,
                Transport::Tcp,
                Duration::from_secs(3),
            )
            .await
        {
            SoaAnswer::Serves { serial } if serial == recorded.serial => {}
            SoaAnswer::Serves { .. } => continue,
            other => {
                return Err(StepError::OldPrimaryNotServing {
                    primary: ctx.primary.name.clone(),
                    zone: zone.clone(),
                    answer: other.describe(),
                });
            }
        }
        let new_serial = next_serial(Some(recorded.serial), ctx.opts.today);
        let target = with_rrset(
            &recorded.content,
            &(String::new(), String::new()),
            &[],
            new_serial,
        );
        let detail = format!(
            "op {} (move-primary): serial bumped on the new primary {} only",
            op.id, on.name
        );
        soa_only(&new, &recorded, &target, new_serial, &detail).await?;
    }
    Ok(())
}

/// Step 6: the catalog copies on `to` become primary zones; each one's serial is bumped
/// there while it still equals the old primary's.
async fn take_catalogs(ctx: &Ctx<'_>, to: &PrimaryRef, from: SocketAddr) -> Result<(), StepError> {
    let control = control_of(ctx, to);
    let index: BTreeMap<String, RecordedZone> = ctx.store.zone_map().await?;
    let cats = member_catalogs(ctx).await?;
    let all = stanzas(
        &ctx.desired.config,
        &index,
        &Default::default(),
        &Default::default(),
        &cats,
    );
    if control.write_conf(&all)? {
        control.reconfig().await?;
    }
    let updater = Connected::to(ctx, to).await?.updater;
    for cat in cats.into_iter().map(|c| c.name) {
        let serial = |addr| {
            let cat = cat.clone();
            async move {
                match ctx
                    .opts
                    .effects
                    .prober
                    .soa(addr, &cat, Transport::Tcp, Duration::from_secs(3))
                    .await
                {
                    SoaAnswer::Serves { serial } => Some(serial),
                    _ => None,
                }
            }
        };
        // The flip reloads the zone: give it a moment to answer again.
        let mut mine = None;
        for _ in 0..50 {
            mine = serial(to.addr).await;
            if mine.is_some() {
                break;
            }
            ctx.opts
                .effects
                .clock
                .sleep(Duration::from_millis(100))
                .await;
        }
        let Some(mine) = mine else {
            return Err(StepError::NotServing {
                primary: to.name.clone(),
                zone: cat.to_string(),
            });
        };
        if serial(from).await != Some(mine) {
            // Bumped already: NOTIFY again, so a secondary its operator has just pointed
            // here transfers now rather than at its next refresh.
            control.notify(&cat).await?;
            continue;
        }
        let lines = updater.zone_lines(&cat).await?;
        let text = soa_first(&lines);
        let (Some(old_soa), Some(new_soa)) = (
            super::update::recorded_soa(&cat, &text),
            super::update::recorded_soa(
                &cat,
                &with_rrset(
                    &text,
                    &(String::new(), String::new()),
                    &[],
                    mine.wrapping_add(1),
                ),
            ),
        ) else {
            return Err(StepError::ServedSoa {
                zone: cat.to_string(),
                primary: to.name.clone(),
            });
        };
        let mut update = Update::default();
        update.require(old_soa);
        update.add(new_soa);
        updater.send(&cat, &update, Some(mine)).await?;
    }
    Ok(())
}

/// AXFR lines as canonical text: the SOA first.
fn soa_first(lines: &[String]) -> String {
    let is_soa = |l: &&String| l.split_whitespace().nth(3) == Some("SOA");
    let mut out: Vec<&String> = lines.iter().filter(is_soa).take(1).collect();
    out.extend(lines.iter().filter(|l| !is_soa(l)));
    out.iter().map(|l| format!("{l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn soa_goes_first() {
        let t = soa_first(&lines(
            "b. 1 IN NS x.\nb. 1 IN SOA m. r. 1 1 1 1 1\nc.b. 1 IN A 192.0.2.1",
        ));
        assert!(t.starts_with("b. 1 IN SOA"));
        assert_eq!(t.lines().count(), 3);
    }
}
