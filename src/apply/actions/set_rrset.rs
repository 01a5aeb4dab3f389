//! `set-rrset`: one RRset of a zone given new values and TTL (a planned cut-over's steps),
//! as one UPDATE with the recorded SOA as prerequisite.

use crate::apply::ctx::{Ctx, name};
use crate::apply::publish::{Change, send_and_record};
use crate::apply::step_error::StepError;
use crate::model::serial::next_serial;
use crate::model::zone::lines_by_rrset;
use crate::store::OperationRow;

/// Gives one RRset of the operation's zone `values` with `ttl`, the rest as recorded: one
/// UPDATE, unless the RRset already is so (a repeated step sends nothing).
pub(super) async fn set_rrset(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    owner: &str,
    rtype: &str,
    ttl: u32,
    values: &[String],
) -> Result<(), StepError> {
    use crate::model::zone::with_rrset;
    let zone = op.zones.first().ok_or(StepError::NoZone)?;
    let recorded = ctx
        .store
        .zone(zone)
        .await?
        .ok_or_else(|| StepError::NotRecorded { zone: zone.clone() })?;
    let origin = name(zone);
    let owner_name = name(owner);
    let t = crate::model::types::type_from_name(rtype).ok_or_else(|| StepError::UnknownType {
        rtype: rtype.to_string(),
    })?;
    let mut rdatas = Vec::new();
    for v in values {
        rdatas.push(crate::model::record::parse_rdata(t, v, &origin)?);
    }
    let set = crate::model::ParsedRrset {
        owner: owner_name.clone(),
        rtype: t,
        ttl,
        rdatas,
    }
    .into_wire()
    .map_err(|(_, e)| e)?;
    let key = (owner.to_string(), rtype.to_string());
    let lines = set.lines();
    if lines_by_rrset(&recorded.content).get(&key) == Some(&lines) {
        return Ok(());
    }
    let new_serial = next_serial(Some(recorded.serial), ctx.opts.today);
    let target = with_rrset(&recorded.content, &key, &lines, new_serial);
    let soa = crate::apply::update::recorded_soa(&origin, &recorded.content)
        .ok_or(StepError::RecordedSoa { zone: None })?;
    let mut new_soa = soa.clone();
    if let hickory_proto::rr::RData::SOA(s) = &mut new_soa.data {
        s.serial = new_serial;
    }
    let mut update = crate::backend::update::Update::default();
    update.require(soa);
    update.delete_rrset(owner_name, t);
    for r in set.records() {
        update.add(r);
    }
    update.add(new_soa);
    let detail = format!(
        "op {} ({}): {owner} {rtype} TTL {ttl} → {}",
        op.id,
        op.kind,
        values.join(" ")
    );
    let change = Change {
        zone: &origin,
        group: &recorded.group,
        target: &target,
        update: &update,
        recorded_serial: recorded.serial,
        new_serial,
    };
    send_and_record(ctx, &change, &detail).await
}
