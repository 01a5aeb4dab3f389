//! `raise-expire` (move-primary step 1): every zone's SOA expire raised, through the old
//! primary, so secondaries keep serving while the primaries change over.

use super::primaries::soa_only;
use crate::apply::ctx::Ctx;
use crate::apply::step_error::StepError;
use crate::model::serial::next_serial;
use crate::model::zone::{soa_of, with_rrset};
use crate::store::OperationRow;

/// Step 1: SOA expire of at least `seconds` on every zone, through the old primary.
pub(super) async fn raise_expire(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    seconds: u32,
) -> Result<(), StepError> {
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
