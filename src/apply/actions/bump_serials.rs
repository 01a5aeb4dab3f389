//! `bump-serials` (move-primary step 4): every zone's serial raised once on the new primary
//! alone, to prove the secondaries follow it.

use super::primaries::{Connected, soa_only};
use std::time::Duration;

use crate::apply::ctx::{Ctx, name};
use crate::apply::step_error::StepError;
use crate::live::{SoaAnswer, Transport};
use crate::model::config::PrimaryRef;
use crate::model::serial::next_serial;
use crate::model::zone::with_rrset;
use crate::store::OperationRow;

/// Step 4: every zone's serial +1 on `on` alone. A zone whose recorded serial is already
/// ahead of the old primary's was bumped by an earlier attempt.
pub(super) async fn bump_serials(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    on: &PrimaryRef,
) -> Result<(), StepError> {
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
