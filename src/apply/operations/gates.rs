//! What proves a step of a staged operation took effect: each [`Gate`] checked against the
//! live servers (and the store, for recorded serials and managed parents). Read-only: no
//! gate changes a server or a step; `steps` records what they say.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;

use crate::apply::ctx::{Ctx, name, sockets};
use crate::apply::error::ApplyError;
use crate::apply::primary_move;
use crate::live::{self, Check};
use crate::model::zone::lines_by_rrset;
use crate::procedures::Gate;
use crate::procedures::delegation::ZoneDelegation;
use crate::store::{OperationRow, RecordedZone};

/// The delegation gate: managed parents serve their recorded serial on every server of
/// their group; unmanaged parents' servers refer with exactly the desired NS set; by-hand
/// parents were confirmed.
async fn delegated(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    zones: &[ZoneDelegation],
    unconfirmed: bool,
    instructions: &str,
) -> Result<Result<String, String>, ApplyError> {
    let index: BTreeMap<String, RecordedZone> = ctx.store.zone_map().await?;
    let mut checks = Vec::new();
    let parents: std::collections::BTreeSet<&String> =
        zones.iter().filter_map(|z| z.parent.as_ref()).collect();
    for p in parents {
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
    for o in live::verify(
        ctx.opts.effects.prober.as_ref(),
        ctx.opts.effects.clock.as_ref(),
        checks,
        ctx.opts.verify_timeout,
        Duration::from_millis(100),
    )
    .await
    {
        if !o.ok {
            return Ok(Err(format!(
                "{} must serve the parent zone {} serial {}: it {}",
                o.check.server,
                o.check.zone,
                o.check.serial.unwrap_or(0),
                o.answer.describe()
            )));
        }
    }
    // A managed parent must delegate with exactly the child's NS set, as recorded.
    for z in zones {
        let Some(p) = &z.parent else { continue };
        let Some(parent) = ctx.store.zone(p).await? else {
            continue;
        };
        let mut set: Vec<String> = lines_by_rrset(&parent.content)
            .get(&(z.zone.clone(), "NS".to_string()))
            .map(|lines| {
                lines
                    .iter()
                    .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        set.sort();
        if set != z.ns {
            return Ok(Err(format!(
                "the parent zone {p} delegates {} to {}; write NS {} for it in zones/{p}yaml",
                z.zone,
                names_or_nothing(&set),
                z.ns.join(" ")
            )));
        }
    }
    for z in zones.iter().filter(|z| z.parent.is_none()) {
        for server in &z.parent_servers {
            let Ok(addr) = server.parse::<SocketAddr>() else {
                continue;
            };
            match ctx
                .opts
                .effects
                .prober
                .ns_set_ttl(addr, &name(&z.zone), Duration::from_secs(2))
                .await
                .map(|(set, _)| set)
            {
                Ok(set) if set == z.ns => {}
                Ok(set) => {
                    return Ok(Err(format!(
                        "the parent's server {server} delegates {} to {}; it must delegate to {}",
                        z.zone,
                        names_or_nothing(&set),
                        z.ns.join(" ")
                    )));
                }
                Err(e) => {
                    return Ok(Err(format!(
                        "the parent's server {server} does not answer for {}: {e}",
                        z.zone
                    )));
                }
            }
        }
    }
    if unconfirmed {
        let step = op
            .steps
            .iter()
            .find(|s| s.name == "delegation")
            .map(|s| s.idx)
            .unwrap_or(0);
        return Ok(Err(format!(
            "the registrar must publish {instructions}; then run `zonekeeper confirm {} {step}`",
            op.id
        )));
    }
    Ok(Ok("the parents delegate as desired".into()))
}

/// `a b c`, or `nothing` for an empty set.
fn names_or_nothing(set: &[String]) -> String {
    if set.is_empty() {
        "nothing".to_string()
    } else {
        set.join(" ")
    }
}

/// Every one of `servers` must stop answering authoritatively for `zones` (no answer at all
/// counts: a stopped server serves nothing).
async fn stopped(
    ctx: &Ctx<'_>,
    servers: &[String],
    zones: &[(Name, u32)],
    how: &str,
) -> Result<Result<String, String>, ApplyError> {
    let mut checks = Vec::new();
    for server in servers {
        for addr in sockets(ctx, server).await? {
            checks.extend(zones.iter().map(|(z, _)| Check {
                silent_ok: true,
                ..Check::refuses(z.clone(), server, addr)
            }));
        }
    }
    let outcomes = live::verify(
        ctx.opts.effects.prober.as_ref(),
        ctx.opts.effects.clock.as_ref(),
        checks,
        ctx.opts.verify_timeout,
        Duration::from_millis(200),
    )
    .await;
    Ok(match outcomes.iter().find(|o| !o.ok) {
        None => Ok(format!(
            "{} no longer serve(s) the {} zone(s)",
            servers.join(", "),
            zones.len()
        )),
        Some(o) => Err(format!(
            "{} must stop serving {}: it {} — {how}",
            o.check.server,
            o.check.zone,
            o.answer.describe()
        )),
    })
}

/// Checks a gate; `Ok(Ok(message))` when it holds, `Ok(Err(message))` when it does not.
pub(super) async fn check_gate(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    gate: &Gate,
    confirmed: bool,
) -> Result<Result<String, String>, ApplyError> {
    let index: BTreeMap<String, u32> = ctx
        .store
        .zone_index()
        .await?
        .into_iter()
        .map(|z| (z.name, z.serial))
        .collect();
    let zones: Vec<(Name, u32)> = op
        .zones
        .iter()
        .filter_map(|z| Some((name(z), *index.get(z)?)))
        .collect();
    let mut checks = Vec::new();
    match gate {
        Gate::Wait { .. } | Gate::Manual { .. } => return Ok(Ok("gate passed".into())),
        Gate::Serves { server } => {
            for addr in sockets(ctx, server).await? {
                checks.extend(
                    zones
                        .iter()
                        .map(|(z, serial)| Check::serves(z.clone(), server, addr, *serial)),
                );
            }
        }
        Gate::AllServe => {
            let p = ctx.primary;
            checks.extend(
                zones
                    .iter()
                    .map(|(z, serial)| Check::serves(z.clone(), &p.name, p.addr, *serial)),
            );
            for s in ctx.desired.config.group_secondaries(&op.group) {
                for addr in s.sockets() {
                    checks.extend(
                        zones
                            .iter()
                            .map(|(z, serial)| Check::serves(z.clone(), &s.name, addr, *serial)),
                    );
                }
            }
        }
        Gate::GroupServes { group } => {
            for s in ctx.desired.config.group_secondaries(group) {
                for addr in s.sockets() {
                    checks.extend(
                        zones
                            .iter()
                            .map(|(z, serial)| Check::serves(z.clone(), &s.name, addr, *serial)),
                    );
                }
            }
        }
        Gate::Delegation {
            zones: delegations,
            manual,
            instructions,
        } => {
            return delegated(ctx, op, delegations, *manual && !confirmed, instructions).await;
        }
        Gate::StoppedServing { server, how } => {
            return stopped(ctx, std::slice::from_ref(server), &zones, how).await;
        }
        Gate::Propagated { .. }
        | Gate::SameData { .. }
        | Gate::CatalogsServed { .. }
        | Gate::Retired { .. } => return primary_move::check(ctx, op, gate).await,
        Gate::GroupStopped { group, except } => {
            let keep: Vec<String> = ctx
                .desired
                .config
                .groups
                .get(except)
                .map(|g| g.secondaries.clone())
                .unwrap_or_default();
            let recorded = ctx.store.groups().await?;
            let members = match ctx.desired.config.groups.get(group) {
                Some(g) => g.secondaries.clone(),
                None => recorded
                    .iter()
                    .find(|g| &g.name == group)
                    .map(|g| g.secondaries.clone())
                    .unwrap_or_default(),
            };
            let leaving: Vec<String> = members.into_iter().filter(|s| !keep.contains(s)).collect();
            let how = format!(
                "they left the catalog of group {group}; check their logs if they keep serving"
            );
            return stopped(ctx, &leaving, &zones, &how).await;
        }
    }
    let total = checks.len();
    let outcomes = live::verify(
        ctx.opts.effects.prober.as_ref(),
        ctx.opts.effects.clock.as_ref(),
        checks,
        ctx.opts.verify_timeout,
        Duration::from_millis(100),
    )
    .await;
    Ok(match outcomes.iter().find(|o| !o.ok) {
        None => {
            let verified: Vec<String> = op.zones.clone();
            ctx.store.set_verified(&verified, true).await?;
            ctx.boundary("zones verified").await;
            Ok(format!("{total} check(s) passed"))
        }
        Some(o) => Err(format!(
            "{} must serve {} serial {} with AA: it {}",
            o.check.server,
            o.check.zone,
            o.check.serial.unwrap_or(0),
            o.answer.describe()
        )),
    })
}
