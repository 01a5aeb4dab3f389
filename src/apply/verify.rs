//! Stage 5 of an apply: every server of each zone's group (and the primary) must answer
//! SOA with AA and the new serial, over UDP and TCP, within the verify timeout. The zones
//! that held are marked verified; what each server did is kept for its health record.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tracing::{info, warn};

use super::ctx::{Health, Report, Stage, group_sockets, name};
use super::error::ApplyError;
use crate::live::{self, Check};
use crate::plan::ZoneAction;

/// Verifies the zones created or updated in this run and those the plan only verifies
/// (except those a staged operation holds), each at its serial in `serials`. Fills
/// `report.verified` and its failures; returns each server's checks passed and failed.
pub(super) async fn servers(
    stage: &Stage<'_>,
    serials: &BTreeMap<String, u32>,
    report: &mut Report,
) -> Result<Health, ApplyError> {
    let (config, opts) = (&stage.ctx.desired.config, stage.ctx.opts);
    let primary = &config.primary;
    let mut checks = Vec::new();
    for z in &stage.plan.zones {
        let verify = (z.action == ZoneAction::Verify && !stage.held.contains(&z.zone))
            || report.created.contains(&z.zone)
            || report.updated.contains(&z.zone);
        let (true, Some(serial)) = (verify, serials.get(&z.zone)) else {
            continue;
        };
        checks.push(Check::serves(
            name(&z.zone),
            &primary.name,
            primary.addr,
            *serial,
        ));
        for (server, addr) in group_sockets(config, &z.group) {
            checks.push(Check::serves(name(&z.zone), &server, addr, *serial));
        }
    }
    info!(checks = checks.len(), "verifying every server");
    let outcomes = live::verify(
        opts.effects.prober.as_ref(),
        opts.effects.clock.as_ref(),
        checks,
        opts.verify_timeout,
        Duration::from_millis(100),
    )
    .await;
    let mut health: Health = BTreeMap::new();
    let mut failed_zones = BTreeSet::new();
    for o in &outcomes {
        let entry = health.entry(o.check.server.clone()).or_default();
        if o.ok {
            entry.0 += 1;
        } else {
            let msg = format!(
                "{} did not serve {} serial {} within {} s: it {}",
                o.check.server,
                o.check.zone,
                o.check.serial.unwrap_or(0),
                opts.verify_timeout.as_secs(),
                o.answer.describe()
            );
            warn!("{msg}");
            entry.1.push(msg.clone());
            report.failures.push(msg);
            failed_zones.insert(crate::model::ascii(&o.check.zone));
        }
    }
    let verified: Vec<String> = outcomes
        .iter()
        .map(|o| crate::model::ascii(&o.check.zone))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|z| !failed_zones.contains(z))
        .collect();
    stage.ctx.store.set_verified(&verified, true).await?;
    stage.ctx.boundary("zones verified").await;
    report.verified = verified;
    Ok(health)
}
