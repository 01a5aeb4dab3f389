//! What the servers and the store show about a step's [`Gate`]: one round of observation
//! ([`observe`]) as plain-data [`Observations`], which `procedures::gates::holds` judges.
//!
//! Read-only and decision-free: each server asked once per check (UDP, then TCP when UDP
//! held), the store read, and what a gate needs only once its probes held (the primary
//! move's transfers, unmanaged parents' referrals) fetched then. No gate changes a server
//! or a step, and none waits: the driver (`steps`) observes again when it should.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;

use crate::apply::catalogs;
use crate::apply::ctx::{Ctx, name, sockets};
use crate::apply::error::ApplyError;
use crate::live::{self, Check, SoaAnswer, Transport};
use crate::procedures::Gate;
use crate::procedures::delegation::ZoneDelegation;
use crate::procedures::gates::{Observations, Probe, Referral, StepRecord, Transfer};
use crate::store::{OperationRow, RecordedZone};

/// One round of observation of `gate` for step `step` of `op`.
pub(super) async fn observe(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    gate: &Gate,
    step: StepRecord,
) -> Result<Observations, ApplyError> {
    let index: BTreeMap<String, RecordedZone> = ctx.store.zone_map().await?;
    let zones: Vec<&RecordedZone> = op.zones.iter().filter_map(|z| index.get(z)).collect();
    let mut obs = Observations::of(step);
    obs.zones = zones.len();
    let mut checks = Vec::new();
    match gate {
        Gate::Wait { .. } | Gate::Manual { .. } => {}
        Gate::Serves { server } => {
            for addr in sockets(ctx, server).await? {
                checks.extend(serve(&zones, server, addr));
            }
        }
        Gate::AllServe => {
            let p = ctx.primary;
            checks.extend(serve(&zones, &p.name, p.addr));
            checks.extend(group_serves(ctx, &op.group, &zones));
        }
        Gate::GroupServes { group } => checks.extend(group_serves(ctx, group, &zones)),
        Gate::PrimaryServes => checks.extend(serve(&zones, &ctx.primary.name, ctx.primary.addr)),
        Gate::PrimaryStopped => {
            obs.stopping = vec![ctx.primary.name.clone()];
            for z in &zones {
                checks.push(Check::refuses(
                    name(&z.name),
                    &ctx.primary.name,
                    ctx.primary.addr,
                ));
            }
        }
        // Observed by the zone driver, which knows the content it sent.
        Gate::ContentEquals => {}
        Gate::Delegation { zones: d, .. } => {
            checks = parents(ctx, &mut obs, &index, d).await?;
        }
        Gate::StoppedServing { server, .. } => {
            obs.stopping = vec![server.clone()];
            checks = stopping(ctx, &obs.stopping, &zones).await?;
        }
        Gate::GroupStopped { group, except } => {
            obs.stopping = leaving(ctx, group, except).await?;
            checks = stopping(ctx, &obs.stopping, &zones).await?;
        }
        Gate::Propagated { primary, addr } => {
            let groups = ctx.store.groups().await?;
            for z in &zones {
                checks.push(Check::serves(name(&z.name), primary, *addr, z.serial));
                let members = groups
                    .iter()
                    .find(|g| g.name == z.group)
                    .map(|g| g.secondaries.clone())
                    .unwrap_or_default();
                for s in members {
                    for a in sockets(ctx, &s).await? {
                        checks.push(Check::serves(name(&z.name), &s, a, z.serial));
                    }
                }
            }
        }
        Gate::SameData { new, .. } => checks.extend(serve(&zones, "the new primary", *new)),
        Gate::CatalogsServed { primary, copy, .. } => {
            checks = catalogs_served(ctx, &mut obs, *primary, *copy).await?;
        }
        Gate::Retired { server, addr } => {
            let cats = catalogs::recorded(&ctx.desired.config, ctx.store).await?;
            let names = zones.iter().map(|z| name(&z.name));
            for z in names.chain(cats.into_iter().map(|c| c.name)) {
                checks.push(Check {
                    silent_ok: true,
                    ..Check::refuses(z, server, *addr)
                });
            }
        }
    }
    obs.probes = probe(ctx, checks).await;
    if obs.probes_hold() {
        match gate {
            Gate::SameData { new, .. } => obs.transfers = transfers(ctx, &zones, *new).await?,
            Gate::Delegation { zones: d, .. } => obs.referrals = referrals(ctx, d).await,
            _ => {}
        }
    }
    Ok(obs)
}

/// Asks every check's server once (UDP, then TCP when that held).
async fn probe(ctx: &Ctx<'_>, checks: Vec<Check>) -> Vec<Probe> {
    let fx = &ctx.opts.effects;
    // A deadline of zero is one round, with no wait after it.
    live::verify(
        fx.prober.as_ref(),
        fx.clock.as_ref(),
        checks,
        Duration::ZERO,
        Duration::ZERO,
    )
    .await
    .into_iter()
    .map(Probe::from)
    .collect()
}

/// `server` at `addr` must serve every one of `zones` at its recorded serial.
fn serve(zones: &[&RecordedZone], server: &str, addr: SocketAddr) -> Vec<Check> {
    zones
        .iter()
        .map(|z| Check::serves(name(&z.name), server, addr, z.serial))
        .collect()
}

/// Every secondary of `group` (as desired) must serve every one of `zones`.
fn group_serves(ctx: &Ctx<'_>, group: &str, zones: &[&RecordedZone]) -> Vec<Check> {
    let mut checks = Vec::new();
    for s in ctx.desired.config.group_secondaries(group) {
        for addr in s.sockets() {
            checks.extend(serve(zones, &s.name, addr));
        }
    }
    checks
}

/// The secondaries of `group` that are not in `except`: desired members, or recorded ones
/// when the group is no longer desired.
async fn leaving(ctx: &Ctx<'_>, group: &str, except: &str) -> Result<Vec<String>, ApplyError> {
    let config = &ctx.desired.config;
    let keep: Vec<String> = config
        .groups
        .get(except)
        .map(|g| g.secondaries.clone())
        .unwrap_or_default();
    let members = match config.groups.get(group) {
        Some(g) => g.secondaries.clone(),
        None => ctx
            .store
            .groups()
            .await?
            .into_iter()
            .find(|g| g.name == group)
            .map(|g| g.secondaries)
            .unwrap_or_default(),
    };
    Ok(members.into_iter().filter(|s| !keep.contains(s)).collect())
}

/// Every one of `servers` must stop answering authoritatively for `zones` (no answer at all
/// counts: a stopped server serves nothing).
async fn stopping(
    ctx: &Ctx<'_>,
    servers: &[String],
    zones: &[&RecordedZone],
) -> Result<Vec<Check>, ApplyError> {
    let mut checks = Vec::new();
    for server in servers {
        for addr in sockets(ctx, server).await? {
            checks.extend(zones.iter().map(|z| Check {
                silent_ok: true,
                ..Check::refuses(name(&z.name), server, addr)
            }));
        }
    }
    Ok(checks)
}

/// The managed parents of `zones` must serve their recorded serial on the primary and
/// every secondary of their group; their recorded content goes into `obs`.
async fn parents(
    ctx: &Ctx<'_>,
    obs: &mut Observations,
    index: &BTreeMap<String, RecordedZone>,
    zones: &[ZoneDelegation],
) -> Result<Vec<Check>, ApplyError> {
    let mut checks = Vec::new();
    let parents: BTreeSet<&String> = zones.iter().filter_map(|z| z.parent.as_ref()).collect();
    for p in parents {
        if let Some(parent) = ctx.store.zone(p).await? {
            obs.parents.insert(p.clone(), parent.content);
        }
        let Some(r) = index.get(p) else { continue };
        let primary = ctx.primary;
        checks.push(Check::serves(
            name(p),
            &primary.name,
            primary.addr,
            r.serial,
        ));
        for s in ctx.desired.config.group_secondaries(&r.group) {
            checks.extend(
                s.sockets()
                    .into_iter()
                    .map(|a| Check::serves(name(p), &s.name, a, r.serial)),
            );
        }
    }
    Ok(checks)
}

/// What the servers of unmanaged parents refer to, for each zone without a managed parent.
async fn referrals(ctx: &Ctx<'_>, zones: &[ZoneDelegation]) -> Vec<Referral> {
    let mut out = Vec::new();
    for z in zones.iter().filter(|z| z.parent.is_none()) {
        for server in &z.parent_servers {
            let Ok(addr) = server.parse::<SocketAddr>() else {
                continue;
            };
            let answer = ctx
                .opts
                .effects
                .prober
                .ns_set_ttl(addr, &name(&z.zone), Duration::from_secs(2))
                .await
                .map(|(set, _)| set);
            out.push(Referral {
                zone: z.zone.clone(),
                server: server.clone(),
                answer,
            });
        }
    }
    out
}

/// The primary at `primary`'s serial of each recorded catalog zone (into `obs`, up to the
/// first it does not serve); every secondary of the catalog, and the copy at `copy`, must
/// serve it at that serial.
async fn catalogs_served(
    ctx: &Ctx<'_>,
    obs: &mut Observations,
    primary: SocketAddr,
    copy: Option<SocketAddr>,
) -> Result<Vec<Check>, ApplyError> {
    let mut checks = Vec::new();
    for c in catalogs::recorded(&ctx.desired.config, ctx.store).await? {
        let answer = ctx
            .opts
            .effects
            .prober
            .soa(primary, &c.name, Transport::Tcp, Duration::from_secs(3))
            .await;
        obs.catalogs.push((c.name.to_string(), answer.clone()));
        let SoaAnswer::Serves { serial } = answer else {
            break;
        };
        for a in sockets(ctx, &c.server).await? {
            checks.push(Check::serves(c.name.clone(), &c.server, a, serial));
        }
        if let Some(copy) = copy {
            checks.push(Check::serves(
                c.name.clone(),
                "the new primary",
                copy,
                serial,
            ));
        }
    }
    Ok(checks)
}

/// Every one of `zones` and every recorded catalog, transferred (AXFR, TSIG) from the new
/// primary at `new` and from the old one (the primary `ctx` sends to during the move).
async fn transfers(
    ctx: &Ctx<'_>,
    zones: &[&RecordedZone],
    new: SocketAddr,
) -> Result<Vec<Transfer>, ApplyError> {
    let cats = catalogs::recorded(&ctx.desired.config, ctx.store).await?;
    let names: Vec<Name> = zones
        .iter()
        .map(|z| name(&z.name))
        .chain(cats.into_iter().map(|c| c.name))
        .collect();
    let fx = &ctx.opts.effects;
    let sender = fx
        .connector
        .sender(new, &ctx.desired.config.primary.tsig)
        .await
        .map_err(|e| e.to_string());
    let mut out = Vec::new();
    for zone in names {
        let new = match &sender {
            Ok(s) => s.zone_lines(&zone).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        let old = ctx
            .updater
            .zone_lines(&zone)
            .await
            .map_err(|e| e.to_string());
        out.push(Transfer {
            zone: zone.to_string(),
            new,
            old,
        });
    }
    Ok(out)
}
