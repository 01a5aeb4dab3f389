//! What zone operations' gates decided, written: the steps proven in a pass, a batch per
//! kind (zones recorded once the primary holds their content, recorded verified once
//! every server serves them, forgotten once the primary stopped), each write a crash-test
//! boundary; and the steps that failed for good, each with a message naming zone, server
//! and what to do (a zone the primary refused to load leaves its configuration).

use super::{State, Zones};
use crate::apply::change::Sender;
use crate::apply::ctx::{Ctx, audit, name};
use crate::apply::error::ApplyError;
use crate::procedures::Gate;

/// Writes what the steps of operations `proven` proved, then moves each to its next step.
pub(super) async fn proven(
    ctx: &Ctx<'_>,
    zones: &mut Zones<'_>,
    proven: Vec<usize>,
) -> Result<(), ApplyError> {
    let (desired, now) = (ctx.desired, ctx.opts.now);
    let sender = Sender::of(ctx);
    let mut rows = Vec::new();
    let mut verified = Vec::new();
    let mut forgotten = Vec::new();
    let mut missed = Vec::new();
    for &i in &proven {
        let r = &zones.ops[i];
        match (r.gate(), &r.sent) {
            (Some(Gate::ContentEquals), Some(s)) => rows.push(sender.row(s)),
            (Some(Gate::AllServe), _) => {
                for p in &r.probes {
                    zones
                        .out
                        .health
                        .entry(p.check.server.clone())
                        .or_default()
                        .0 += 1;
                }
                for (server, why) in &r.missing {
                    missed.push(crate::store::LagRow {
                        zone: r.op.zone.clone(),
                        server: server.clone(),
                        expected: r.serial(),
                        served: None,
                        since: now,
                        detail: format!("not waited for: {why}"),
                    });
                    zones
                        .out
                        .missed
                        .entry(server.clone())
                        .or_insert((why.clone(), 0))
                        .1 += 1;
                }
                verified.push(r.op.zone.clone());
            }
            (Some(Gate::PrimaryStopped), _) => forgotten.push((
                r.op.zone.clone(),
                audit(
                    desired,
                    now,
                    "delete",
                    &r.op.zone,
                    "removed from the catalog and the primary".into(),
                ),
            )),
            _ => {}
        }
    }
    if !missed.is_empty() {
        ctx.store.add_lags(&missed).await?;
    }
    if !rows.is_empty() {
        sender.record(rows).await?;
        for i in &proven {
            if let (Some(Gate::ContentEquals), Some(s)) =
                (zones.ops[*i].gate(), &zones.ops[*i].sent)
            {
                let list = if s.action == "create" {
                    &mut zones.out.created
                } else {
                    &mut zones.out.updated
                };
                list.push(zones.ops[*i].op.zone.clone());
            }
        }
    }
    if !verified.is_empty() {
        ctx.store.set_verified(&verified, true).await?;
        ctx.boundary("zones verified").await;
        zones.out.verified.extend(verified);
    }
    if !forgotten.is_empty() {
        ctx.store.delete_zones(&forgotten).await?;
        ctx.boundary("zones deleted").await;
        zones
            .out
            .deleted
            .extend(forgotten.into_iter().map(|(z, _)| z));
    }
    for i in proven {
        let r = &mut zones.ops[i];
        r.step += 1;
        r.state = if r.step >= r.op.steps.len() {
            State::Done
        } else {
            State::Ready
        };
    }
    Ok(())
}

/// Fails each operation of `failed` with what its gate found (`why`: the verdict's
/// reason); zones the primary refused to load leave its configuration and files.
pub(super) async fn failed(
    ctx: &Ctx<'_>,
    zones: &mut Zones<'_>,
    failed: Vec<(usize, String)>,
) -> Result<(), ApplyError> {
    let primary = ctx.primary;
    let timeout = ctx.opts.verify_timeout.as_secs();
    let mut refused = Vec::new();
    for (i, why) in failed {
        let r = &zones.ops[i];
        let zone = r.op.zone.clone();
        let failing: Vec<_> = r.probes.iter().filter(|p| !p.holds()).cloned().collect();
        let mut messages = Vec::new();
        match r.gate() {
            Some(Gate::PrimaryServes) if !r.adopted => {
                let answer = failing
                    .first()
                    .map(|p| p.answer.describe())
                    .unwrap_or_else(|| why.clone());
                messages.push(format!(
                    "the primary {} ({}) did not load zone {zone}: it {answer}. The zone was taken out of its configuration and its zone file removed; the other zones went on. Look for `{}` in the primary's log (e.g. a record BIND refuses), correct the zone in the repository, then apply again",
                    primary.name,
                    primary.addr,
                    zone.trim_end_matches('.')
                ));
                refused.push(zone.clone());
            }
            Some(Gate::AllServe) => {
                for p in r.probes.iter().filter(|p| p.holds()) {
                    zones.out.health.entry(p.check.server.clone()).or_default().0 += 1;
                }
                for p in &failing {
                    let msg = format!(
                        "{} did not serve {} serial {} within {timeout} s: it {}",
                        p.check.server,
                        p.check.zone,
                        p.check.serial.unwrap_or(0),
                        p.answer.describe()
                    );
                    let entry = zones.out.health.entry(p.check.server.clone()).or_default();
                    entry.1.push(msg.clone());
                    messages.push(msg);
                }
            }
            Some(Gate::GroupStopped { .. }) => {
                for p in &failing {
                    let msg = format!(
                        "{} still serves {} after its removal from the catalog: it {}",
                        p.check.server,
                        p.check.zone,
                        p.answer.describe()
                    );
                    let entry = zones.out.health.entry(p.check.server.clone()).or_default();
                    entry.1.push(msg.clone());
                    messages.push(msg);
                }
            }
            Some(Gate::PrimaryStopped) => messages.push(format!(
                "the primary {} ({}) still serves zone {zone} after it left its configuration: {why}. It stays recorded; check the primary's log, then apply again",
                primary.name, primary.addr
            )),
            _ => messages.push(format!("zone {zone}: {why}")),
        }
        if messages.is_empty() {
            messages.push(format!("zone {zone}: {why}"));
        }
        let mut messages = messages.into_iter();
        if let Some(first) = messages.next() {
            zones.fail(i, first);
        }
        zones.out.failures.extend(messages);
    }
    if !refused.is_empty() {
        drop_from_primary(ctx, zones, &refused).await?;
    }
    Ok(())
}

/// Takes `gone` out of the primary's configuration (one `rndc reconfig`) and removes their
/// zone files; every later rendering of this apply leaves them out too.
pub(in crate::apply) async fn drop_from_primary(
    ctx: &Ctx<'_>,
    zones: &mut Zones<'_>,
    gone: &[String],
) -> Result<(), ApplyError> {
    zones.dropped.extend(gone.iter().cloned());
    let conf = zones.conf(&ctx.desired.config);
    let control_error = |source| ApplyError::Control {
        name: ctx.primary.name.clone(),
        addr: ctx.primary.addr,
        source,
    };
    ctx.control.write_conf(&conf).map_err(control_error)?;
    ctx.control.reconfig().await.map_err(control_error)?;
    for z in gone {
        ctx.control.remove_zone_files(&name(z));
    }
    Ok(())
}
