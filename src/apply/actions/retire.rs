//! `retire` (move-primary, last step): the old primary stops serving every zone and
//! catalog zonekeeper gave it.

use super::primaries::control_of;
use crate::apply::ctx::Ctx;
use crate::apply::step_error::StepError;
use crate::model::config::PrimaryRef;

/// Empties the old primary's zone configuration and reconfigures it (once: an empty
/// configuration written already is not written again).
pub(super) async fn retire(ctx: &Ctx<'_>, old: &PrimaryRef) -> Result<(), StepError> {
    let control = control_of(ctx, old);
    if control.write_conf(&[])? {
        control.reconfig().await?;
    }
    Ok(())
}
