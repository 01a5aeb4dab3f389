//! Stage 3 of an apply: changed zones, and zones adopted in stage 2.
//!
//! Each goes as signed UPDATEs, written ahead in the store (see `change`); then every zone
//! sent (or loaded from a new file) is transferred and must hold exactly the desired
//! RRsets (see `content`) before it is recorded.

use std::collections::BTreeMap;

use hickory_proto::rr::Name;
use tracing::{debug, warn};

use super::create::Created;
use super::ctx::{Report, Stage, name};
use super::error::ApplyError;
use super::{change, content};
use crate::plan::{ZoneAction, ZoneChange};

/// Sends the changed and adopted zones, verifies and records them with those `created`
/// loaded; fills `report.created`, `report.updated` and its failures. Returns the serial
/// each zone is to be served at: those recorded now, and those the plan only verifies.
pub(super) async fn changed_zones(
    stage: &Stage<'_>,
    created: Created<'_>,
    report: &mut Report,
) -> Result<BTreeMap<String, u32>, ApplyError> {
    let (desired, opts) = (stage.ctx.desired, stage.ctx.opts);
    let sender = change::Sender {
        store: stage.ctx.store,
        updater: stage.ctx.updater,
        desired,
        now: opts.now,
        today: opts.today,
        effects: &opts.effects,
    };
    let mut sent = created.loaded;
    let adopted: Vec<Name> = created.adopted.iter().map(|z| name(&z.zone)).collect();
    let mut served = content::transfer_all(stage.ctx.updater, &adopted).await;
    let mut jobs: Vec<(&ZoneChange, String, Option<u32>, &'static str)> = Vec::new();
    for z in &created.adopted {
        match served.remove(&name(&z.zone)) {
            Some(Ok(s)) => jobs.push((z, s.text, s.serial, "adopt")),
            Some(Err(e)) => report.failures.push(format!(
                "zone {} is already served by the primary, but its content could not be transferred to adopt it: {e}",
                z.zone
            )),
            None => {}
        }
    }
    for z in stage
        .plan
        .zones
        .iter()
        .filter(|z| z.action == ZoneAction::Update && !stage.held.contains(&z.zone))
    {
        let old_text = stage
            .index
            .get(&z.zone)
            .map(|r| r.content.clone())
            .unwrap_or_default();
        jobs.push((z, old_text, z.expected_serial, "update"));
    }
    for (z, old_text, expected, action) in jobs {
        let Some(zone) = desired.zones.get(&z.zone) else {
            report
                .failures
                .push(format!("zone {} is planned but not desired", z.zone));
            continue;
        };
        debug!(zone = %z.zone, action, "sending UPDATE");
        match sender.send(zone, &old_text, expected, action).await {
            Ok(s) => sent.push(s),
            Err(e) => {
                warn!(zone = %z.zone, error = %e, "UPDATE failed");
                report.failures.push(e);
            }
        }
    }
    let (recorded_now, failures) = sender.verify_and_record(&sent).await?;
    report.failures.extend(failures);
    let mut serials: BTreeMap<String, u32> = BTreeMap::new();
    for s in &sent {
        let key = crate::model::ascii(&s.name);
        if !recorded_now.contains(&key) {
            continue;
        }
        serials.insert(key.clone(), s.serial);
        if s.action == "create" {
            report.created.push(key);
        } else {
            report.updated.push(key);
        }
    }
    for z in stage
        .plan
        .zones
        .iter()
        .filter(|z| z.action == ZoneAction::Verify)
    {
        if let Some(s) = z.new_serial.or(z.expected_serial) {
            serials.entry(z.zone.clone()).or_insert(s);
        }
    }
    Ok(serials)
}
