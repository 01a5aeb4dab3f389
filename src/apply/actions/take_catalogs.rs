//! `take-catalogs` (move-primary step 6): the catalog copies on the new primary become
//! primary zones, each bumped once there.

use super::primaries::{Connected, control_of, render_on, soa_first};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::apply::ctx::Ctx;
use crate::apply::step_error::StepError;
use crate::backend::update::Update;
use crate::live::{SoaAnswer, Transport};
use crate::model::config::PrimaryRef;
use crate::model::zone::with_rrset;
use crate::store::RecordedZone;

/// Step 6: the catalog copies on `to` become primary zones; each one's serial is bumped
/// there while it still equals the old primary's.
pub(super) async fn take_catalogs(
    ctx: &Ctx<'_>,
    to: &PrimaryRef,
    from: SocketAddr,
) -> Result<(), StepError> {
    let control = control_of(ctx, to);
    let index: BTreeMap<String, RecordedZone> = ctx.store.zone_map().await?;
    let cats = render_on(ctx, control.as_ref(), &index, None).await?;
    let updater = Connected::to(ctx, to).await?.updater;
    for cat in cats.into_iter().map(|c| c.name) {
        let serial = |addr| {
            let cat = cat.clone();
            async move {
                match ctx
                    .opts
                    .effects
                    .prober
                    .soa(addr, &cat, Transport::Tcp, Duration::from_secs(3))
                    .await
                {
                    SoaAnswer::Serves { serial } => Some(serial),
                    _ => None,
                }
            }
        };
        // The flip reloads the zone: give it a moment to answer again.
        let mut mine = None;
        for _ in 0..50 {
            mine = serial(to.addr).await;
            if mine.is_some() {
                break;
            }
            ctx.opts
                .effects
                .clock
                .sleep(Duration::from_millis(100))
                .await;
        }
        let Some(mine) = mine else {
            return Err(StepError::NotServing {
                primary: to.name.clone(),
                zone: cat.to_string(),
            });
        };
        if serial(from).await != Some(mine) {
            // Bumped already: NOTIFY again, so a secondary its operator has just pointed
            // here transfers now rather than at its next refresh.
            control.notify(&cat).await?;
            continue;
        }
        let lines = updater.zone_lines(&cat).await?;
        let text = soa_first(&lines);
        let (Some(old_soa), Some(new_soa)) = (
            crate::apply::update::recorded_soa(&cat, &text),
            crate::apply::update::recorded_soa(
                &cat,
                &with_rrset(
                    &text,
                    &(String::new(), String::new()),
                    &[],
                    mine.wrapping_add(1),
                ),
            ),
        ) else {
            return Err(StepError::ServedSoa {
                zone: cat.to_string(),
                primary: to.name.clone(),
            });
        };
        let mut update = Update::default();
        update.require(old_soa);
        update.add(new_soa);
        updater.send(&cat, &update, Some(mine)).await?;
    }
    Ok(())
}
