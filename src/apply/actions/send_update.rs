//! `send` of update-zone operations: each zone's change from its recorded content (read
//! for the batch: the zone index holds none) as signed UPDATEs, written ahead in the
//! store, with the recorded SOA as prerequisite (see `apply::change`). Zone by
//! zone, in plan order, so that a crash always leaves the same writes behind; a zone whose
//! UPDATE fails fails alone, named. A stop asked for ends the batch after the zone being
//! sent: the others are not started.

use tracing::debug;

use crate::apply::change;
use crate::apply::ctx::Ctx;
use crate::apply::zones::Zones;

/// How many zones' recorded content is read at a time: a batch of 40,000 updates holds
/// 500 zones' old content at once, not all of it.
const READ_AT_ONCE: usize = 500;

/// Sends the changes of operations `batch`.
pub(crate) async fn send(ctx: &Ctx<'_>, zones: &mut Zones<'_>, batch: &[usize]) {
    for part in batch.chunks(READ_AT_ONCE) {
        if ctx.opts.stopping() {
            return;
        }
        send_part(ctx, zones, part).await;
    }
}

/// Sends the changes of `part` of a batch. Each goes from the zone as recorded now (the
/// index holds no content, and a staged operation of this apply may have changed the zone
/// since it was planned): its RRsets removed are deleted, and its SOA is the prerequisite.
async fn send_part(ctx: &Ctx<'_>, zones: &mut Zones<'_>, batch: &[usize]) {
    let sender = change::Sender::of(ctx);
    let names: Vec<String> = batch
        .iter()
        .map(|&i| zones.ops[i].op.zone.clone())
        .collect();
    let recorded: std::collections::BTreeMap<String, (String, u32)> =
        match ctx.store.zones(&names).await {
            Ok(c) => c
                .into_iter()
                .map(|z| (z.name, (z.content, z.serial)))
                .collect(),
            Err(e) => {
                for &i in batch {
                    let zone = zones.ops[i].op.zone.clone();
                    zones.fail(
                        i,
                        format!("zone {zone}: its recorded content cannot be read: {e}"),
                    );
                }
                return;
            }
        };
    for &i in batch {
        if ctx.opts.stopping() {
            // asked to stop: the zones not sent yet stay ready, for the next apply
            return;
        }
        let r = &zones.ops[i];
        let zone = r.op.zone.clone();
        let Some(desired) = ctx.desired.zones.get(&zone) else {
            zones.fail(i, format!("zone {zone} is planned but not desired"));
            continue;
        };
        let (old_text, expected) = match recorded.get(&zone) {
            Some((text, serial)) => (text.clone(), Some(*serial)),
            None => (String::new(), r.change.expected_serial),
        };
        debug!(zone = %zone, "sending UPDATE");
        match sender.send(desired, &old_text, expected, "update").await {
            Ok(s) => {
                zones.ops[i].sent = Some(s);
                zones.acted(ctx, i);
            }
            Err(e) => zones.fail(i, e),
        }
    }
}
