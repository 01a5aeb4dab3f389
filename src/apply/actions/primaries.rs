//! What the primary move's actions share: the other primary of the move as the executor
//! knows primaries, connected so changes can go to it, and the catalogs it serves.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use hickory_proto::rr::Name;

use crate::apply::catalogs::{self, MemberCatalog};
use crate::apply::ctx::{Ctx, connect, name};
use crate::apply::error::ApplyError;
use crate::apply::publish::{self, Change, stanzas};
use crate::apply::step_error::StepError;
use crate::backend::seam::{Control, Sender};
use crate::backend::update::Update;
use crate::model::Primary;
use crate::model::config::PrimaryRef;
use crate::store::RecordedZone;

/// A primary of the move, as the rest of the executor knows primaries.
pub(super) fn primary_of(ctx: &Ctx<'_>, p: &PrimaryRef) -> Primary {
    Primary {
        name: p.name.clone(),
        addr: p.addr,
        tsig: ctx.desired.config.primary.tsig.clone(),
        rndc: p.rndc.clone(),
        rndc_conf: p.rndc_conf.clone(),
        config_dir: p.config_dir.clone(),
    }
}

/// Another primary of the move, connected: changes can go to it instead of `ctx`'s.
pub(super) struct Connected {
    pub(super) primary: Primary,
    pub(super) control: Box<dyn Control>,
    pub(super) updater: Box<dyn Sender>,
}

impl Connected {
    pub(super) async fn to(ctx: &Ctx<'_>, p: &PrimaryRef) -> Result<Connected, StepError> {
        let primary = primary_of(ctx, p);
        let (control, updater) = connect(ctx.opts, &primary).await?;
        Ok(Connected {
            primary,
            control,
            updater,
        })
    }

    /// `base`, with changes going to this primary.
    pub(super) fn ctx<'a>(&'a self, base: &Ctx<'a>) -> Ctx<'a> {
        Ctx {
            primary: &self.primary,
            control: self.control.as_ref(),
            updater: self.updater.as_ref(),
            ..*base
        }
    }
}

/// The member catalogs the old primary serves: those of the recorded groups.
pub(super) async fn member_catalogs(ctx: &Ctx<'_>) -> Result<Vec<MemberCatalog>, ApplyError> {
    catalogs::recorded(&ctx.desired.config, ctx.store).await
}

/// Their names.
pub(super) async fn catalog_names(ctx: &Ctx<'_>) -> Result<Vec<Name>, StepError> {
    Ok(member_catalogs(ctx)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect())
}

/// The control channel of primary `p` of the move.
pub(super) fn control_of(ctx: &Ctx<'_>, p: &PrimaryRef) -> Box<dyn Control> {
    ctx.opts.effects.connector.control(&primary_of(ctx, p))
}

/// Sends `zone` from its recorded content to `target` (its SOA changed only) through
/// `ctx`'s primary, and records it.
pub(super) async fn soa_only(
    ctx: &Ctx<'_>,
    recorded: &RecordedZone,
    target: &str,
    new_serial: u32,
    detail: &str,
) -> Result<(), StepError> {
    let origin = name(&recorded.name);
    let (Some(old_soa), Some(new_soa)) = (
        crate::apply::update::recorded_soa(&origin, &recorded.content),
        crate::apply::update::recorded_soa(&origin, target),
    ) else {
        return Err(StepError::RecordedSoa {
            zone: Some(recorded.name.clone()),
        });
    };
    let mut update = Update::default();
    update.require(old_soa);
    update.add(new_soa);
    let change = Change {
        zone: &origin,
        group: &recorded.group,
        target,
        update: &update,
        recorded_serial: recorded.serial,
        new_serial,
    };
    publish::send_and_record(ctx, &change, detail).await
}

/// Renders the configuration of the move's other primary (`control`): every recorded zone
/// as a primary zone, and every member catalog as a copy transferred from `copies_from`
/// or, without it, as a primary zone too; reconfigures it when that changed. Returns the
/// member catalogs.
pub(super) async fn render_on(
    ctx: &Ctx<'_>,
    control: &dyn Control,
    index: &BTreeMap<String, RecordedZone>,
    copies_from: Option<SocketAddr>,
) -> Result<Vec<MemberCatalog>, StepError> {
    let cats = member_catalogs(ctx).await?;
    let mut all = stanzas(
        &ctx.desired.config,
        index,
        &Default::default(),
        &Default::default(),
        &cats,
    );
    for s in all
        .iter_mut()
        .filter(|s| cats.iter().any(|c| c.name == s.zone))
    {
        s.copy_of = copies_from;
    }
    if control.write_conf(&all)? {
        control.reconfig().await?;
    }
    Ok(cats)
}

/// AXFR lines as canonical text: the SOA first.
pub(super) fn soa_first(lines: &[String]) -> String {
    let is_soa = |l: &&String| l.split_whitespace().nth(3) == Some("SOA");
    let mut out: Vec<&String> = lines.iter().filter(is_soa).take(1).collect();
    out.extend(lines.iter().filter(|l| !is_soa(l)));
    out.iter().map(|l| format!("{l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn soa_goes_first() {
        let t = soa_first(&lines(
            "b. 1 IN NS x.\nb. 1 IN SOA m. r. 1 1 1 1 1\nc.b. 1 IN A 192.0.2.1",
        ));
        assert!(t.starts_with("b. 1 IN SOA"));
        assert_eq!(t.lines().count(), 3);
    }
}
