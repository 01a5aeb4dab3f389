//! What the servers show about the gates of zone operations that are due: one round for
//! all of them, as plain-data [`Observations`] that `procedures::gates::holds` judges.
//!
//! Probes of every zone go out together ([`live::MAX_PROBES_IN_FLIGHT`] at a time); a
//! probe that held is not asked again within the same gate. Transfers for content gates
//! go eight at a time over their own connections (`content::transfer_all`). Read-only.

use std::collections::BTreeMap;
use std::time::Duration;

use hickory_proto::rr::Name;

use super::Zones;
use crate::apply::content;
use crate::apply::ctx::{Ctx, group_sockets, name};
use crate::apply::error::ApplyError;
use crate::live::{self, Check};
use crate::procedures::Gate;
use crate::procedures::gates::{Content, Observations, Probe};

/// Observes the gates of operations `due` (indices into `zones.ops`), one
/// [`Observations`] each, in the same order.
pub(super) async fn round(
    ctx: &Ctx<'_>,
    zones: &mut Zones<'_>,
    due: &[usize],
) -> Result<Vec<Observations>, ApplyError> {
    // The recorded groups, read once and only when a deletion's gate needs them.
    let mut groups = None;
    let config = &ctx.desired.config;
    let primary = ctx.primary;
    // The checks to ask, each with its operation and its place among that one's probes.
    let mut asked: Vec<(usize, Option<usize>, Check)> = Vec::new();
    let mut transfers: Vec<Name> = Vec::new();
    for &i in due {
        let r = &mut zones.ops[i];
        let zone = name(&r.op.zone);
        let serial = r.serial();
        if !r.probes.is_empty() {
            for (k, p) in r.probes.iter().enumerate().filter(|(_, p)| !p.holds()) {
                asked.push((i, Some(k), p.check.clone()));
            }
            continue;
        }
        let mut checks = Vec::new();
        match r.gate() {
            Some(Gate::PrimaryServes) => {
                checks.push(Check::serves(zone, &primary.name, primary.addr, serial));
            }
            Some(Gate::AllServe) => {
                checks.push(Check::serves(
                    zone.clone(),
                    &primary.name,
                    primary.addr,
                    serial,
                ));
                let members: Vec<String> = config
                    .group_secondaries(&r.op.group)
                    .iter()
                    .map(|s| s.name.clone())
                    .collect();
                let quorum = config
                    .groups
                    .get(&r.op.group)
                    .map_or(members.len(), |g| g.quorum);
                let (asked, missing) =
                    crate::procedures::quorum::waited_for(&members, quorum, &zones.absent);
                r.missing = missing;
                for (server, addr) in group_sockets(config, &r.op.group) {
                    if asked.contains(&server) {
                        checks.push(Check::serves(zone.clone(), &server, addr, serial));
                    }
                }
            }
            Some(Gate::GroupStopped { group, .. }) => {
                if groups.is_none() {
                    groups = Some(ctx.store.groups().await?);
                }
                let members = groups
                    .iter()
                    .flatten()
                    .find(|g| &g.name == group)
                    .map(|g| g.secondaries.clone())
                    .unwrap_or_default();
                for s in members.iter().filter_map(|s| config.secondaries.get(s)) {
                    r.stopping.push(s.name.clone());
                    for addr in s.sockets() {
                        checks.push(Check::refuses(zone.clone(), &s.name, addr));
                    }
                }
            }
            Some(Gate::PrimaryStopped) => {
                r.stopping = vec![primary.name.clone()];
                checks.push(Check::refuses(zone, &primary.name, primary.addr));
            }
            Some(Gate::ContentEquals) => transfers.push(zone),
            _ => {}
        }
        asked.extend(checks.into_iter().map(|c| (i, None, c)));
    }
    let fx = &ctx.opts.effects;
    let checks: Vec<Check> = asked.iter().map(|(_, _, c)| c.clone()).collect();
    // A deadline of zero is one round, with no wait after it.
    let outcomes = live::verify(
        fx.prober.as_ref(),
        fx.clock.as_ref(),
        checks,
        Duration::ZERO,
        Duration::ZERO,
    )
    .await;
    let mut progressed = false;
    for ((i, k, _), o) in asked.into_iter().zip(outcomes) {
        let probe = Probe::from(o);
        progressed |= probe.holds();
        let probes = &mut zones.ops[i].probes;
        match k {
            Some(k) => probes[k] = probe,
            None => probes.push(probe),
        }
    }
    if progressed {
        // A server began to serve (or stopped, for a deletion): progress.
        zones.progress = Some(fx.clock.now());
    }
    let mut served: BTreeMap<Name, _> = if transfers.is_empty() {
        BTreeMap::new()
    } else {
        content::transfer_all(ctx.updater, &transfers).await
    };
    Ok(due
        .iter()
        .map(|&i| {
            let r = &zones.ops[i];
            let mut obs = Observations {
                zones: 1,
                probes: r.probes.clone(),
                stopping: r.stopping.clone(),
                ..Observations::default()
            };
            if let (Some(Gate::ContentEquals), Some(sent)) = (r.gate(), &r.sent) {
                obs.content = Some(Content {
                    zone: r.op.zone.clone(),
                    target: sent.target.clone(),
                    serial: sent.serial,
                    served: match served.remove(&name(&r.op.zone)) {
                        Some(got) => got.map_err(|e| e.to_string()),
                        None => Err("not transferred".into()),
                    },
                });
            }
            obs
        })
        .collect())
}
