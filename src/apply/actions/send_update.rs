//! `send` of update-zone operations: each zone's change as signed UPDATEs, written ahead
//! in the store, with the recorded SOA as prerequisite (see `apply::change`). Zone by
//! zone, in plan order, so that a crash always leaves the same writes behind; a zone whose
//! UPDATE fails fails alone, named.

use tracing::debug;

use crate::apply::change;
use crate::apply::ctx::Ctx;
use crate::apply::zones::Zones;

/// Sends the changes of operations `batch`.
pub(crate) async fn send(ctx: &Ctx<'_>, zones: &mut Zones<'_>, batch: &[usize]) {
    let sender = change::Sender::of(ctx);
    for &i in batch {
        let r = &zones.ops[i];
        let zone = r.op.zone.clone();
        let Some(desired) = ctx.desired.zones.get(&zone) else {
            zones.fail(i, format!("zone {zone} is planned but not desired"));
            continue;
        };
        // what the plan went from when it holds it (the served content of a zone whose
        // drift is overwritten), else as indexed
        let old_text = match &r.change.old_text {
            t if !t.is_empty() => t.clone(),
            _ => zones
                .index
                .get(&zone)
                .map(|z| z.content.clone())
                .unwrap_or_default(),
        };
        debug!(zone = %zone, "sending UPDATE");
        match sender
            .send(desired, &old_text, r.change.expected_serial, "update")
            .await
        {
            Ok(s) => {
                zones.ops[i].sent = Some(s);
                zones.acted(ctx, i);
            }
            Err(e) => zones.fail(i, e),
        }
    }
}
