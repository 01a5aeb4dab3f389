//! Resolving drift, always the operator's choice (I/O, under the apply lock):
//!
//! - `apply --overwrite-drift ZONE` puts the desired state back: [`inspect`] transfers each
//!   named zone (one that does not drift now is an error before anything is sent), the
//!   plan shown for approval takes the zone from what the primary serves to the desired
//!   content ([`overwrite_in_plan`]), and once approved [`rebase`] records what the
//!   primary serves as the zone's base; the apply's own UPDATE (SOA prerequisite: the
//!   served serial; new serial: above it) then brings the desired content, verified by
//!   transfer as every change is.
//! - `import --zone ZONE --from-primary`, committed, makes the desired state what the
//!   primary serves: [`inspect`] finds such zones among the drift rows (desired content =
//!   served content), confirms it by transfer, and [`rebase`] records it; nothing is sent
//!   to the primary, and the apply verifies the secondaries serve it.

use std::collections::BTreeMap;

use crate::apply::content::{self, Served, same_content};
use crate::backend::seam::Sender;
use crate::desired::DesiredState;
use crate::model::serial::next_serial;
use crate::model::zone::text_hash;
use crate::plan::{Plan, ZoneAction, ZoneChange};
use crate::store::{AuditEntry, DriftRow, RecordedZone, Store, StoreError};

/// Why a drift cannot be resolved as asked; nothing was sent or recorded.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A zone named to overwrite does not drift.
    #[error(
        "zone {0} does not drift: the primary serves it as recorded (serial {1}); nothing was sent. Leave it out of --overwrite-drift"
    )]
    NoDrift(String, u32),
    /// A zone named to overwrite is not recorded.
    #[error(
        "zone {0} is not recorded, so it cannot drift; nothing was sent. Check the name (`zonekeeper status`), or apply it as a new zone"
    )]
    NotRecorded(String),
    /// A zone named to overwrite is not in the desired state.
    #[error(
        "zone {0} is not in the desired state at this revision, so there is nothing to put back; nothing was sent. Delete it with `apply --allow-delete`, or import it with `zonekeeper import --zone {0} --from-primary`"
    )]
    NotDesired(String),
    /// A zone could not be transferred.
    #[error(
        "zone {zone}: cannot transfer it from the primary to compare it: {source}; nothing was sent"
    )]
    Transfer {
        /// The zone.
        zone: String,
        /// Why.
        #[source]
        source: crate::backend::update::UpdateError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a zone is rebased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// `--overwrite-drift`: the desired content goes back on the primary.
    Overwrite,
    /// The desired state was made what the primary serves (`import`, committed).
    Accepted,
}

/// A drifting zone to record as the primary serves it.
#[derive(Debug, Clone)]
pub struct Rebase {
    /// Why.
    pub why: Why,
    /// The zone as recorded now.
    pub recorded: RecordedZone,
    /// The zone as the primary serves it.
    pub served: Served,
}

/// The zone names as the store writes them: lower case, with the trailing dot.
pub fn normalize(zone: &str) -> String {
    let z = zone.trim().to_ascii_lowercase();
    if z.ends_with('.') { z } else { format!("{z}.") }
}

/// The drift rows whose served content the desired state now holds (and which are not to
/// be overwritten): resolved by `import`, to be recorded.
pub fn accepted<'a>(
    rows: &'a [DriftRow],
    desired: &DesiredState,
    overwrite: &[String],
) -> Vec<&'a DriftRow> {
    rows.iter()
        .filter(|r| !overwrite.contains(&r.name))
        .filter(|r| {
            desired
                .zones
                .get(&r.name)
                .is_some_and(|z| super::content_key(&z.canonical_text(0)) == r.served_hash)
        })
        .collect()
}

/// Transfers the zones to `overwrite` (each must be recorded, desired and drift now) and
/// those `accepted` (kept when the primary still serves the desired content), and says
/// what to rebase. What the transfers show is written to the drift table: a zone clean
/// now loses its row, an accepted zone the primary changed again gets its new one.
pub async fn inspect(
    store: &Store,
    sender: &dyn Sender,
    overwrite: &[String],
    accepted: &[&DriftRow],
    desired: &DesiredState,
    now: i64,
) -> Result<Vec<Rebase>, ResolveError> {
    let mut out = Vec::new();
    let wanted: Vec<(String, Why)> = overwrite
        .iter()
        .map(|z| (z.clone(), Why::Overwrite))
        .chain(accepted.iter().map(|r| (r.name.clone(), Why::Accepted)))
        .collect();
    for (zone, why) in wanted {
        let Some(recorded) = store.zone(&zone).await? else {
            return Err(ResolveError::NotRecorded(zone));
        };
        if why == Why::Overwrite && !desired.zones.contains_key(&zone) {
            return Err(ResolveError::NotDesired(zone));
        }
        let served = content::transfer(sender, &crate::model::name_of(&zone))
            .await
            .map_err(|source| ResolveError::Transfer {
                zone: zone.clone(),
                source,
            })?;
        let drift = super::compare(&zone, &recorded.content, recorded.serial, &served);
        match (why, &drift) {
            (Why::Overwrite, None) => {
                // what was seen now: a drift row left from an earlier check goes
                store
                    .write_drift(&[], std::slice::from_ref(&zone), None)
                    .await?;
                return Err(ResolveError::NoDrift(zone, recorded.serial));
            }
            (Why::Accepted, None) => {
                store
                    .write_drift(&[], std::slice::from_ref(&zone), None)
                    .await?;
                continue;
            }
            (Why::Accepted, Some(d)) => {
                let still = desired
                    .zones
                    .get(&zone)
                    .is_some_and(|z| same_content(&z.canonical_text(0), &served));
                if !still {
                    // the primary changed again: the drift as it is now, left to the operator
                    store.write_drift(&[d.row(now)], &[], None).await?;
                    continue;
                }
            }
            (Why::Overwrite, Some(_)) => {}
        }
        out.push(Rebase {
            why,
            recorded,
            served,
        });
    }
    Ok(out)
}

/// Shows the zones to overwrite in `plan` as `apply` will carry them out: an update from
/// what the primary serves (at its serial) to the desired content, at a serial above the
/// served one, whether or not the desired state changed. `desired` must hold the zones.
pub fn overwrite_in_plan(plan: &mut Plan, desired: &DesiredState, rebases: &[Rebase], today: u32) {
    for r in rebases.iter().filter(|r| r.why == Why::Overwrite) {
        let name = &r.recorded.name;
        let Some(zone) = desired.zones.get(name) else {
            continue;
        };
        let serial = next_serial(r.served.serial.or(Some(r.recorded.serial)), today);
        let change = ZoneChange {
            zone: name.clone(),
            action: ZoneAction::Update,
            group: zone.group.clone(),
            old_group: (r.recorded.group != zone.group).then(|| r.recorded.group.clone()),
            expected_serial: r.served.serial,
            new_serial: Some(serial),
            continues_from: None,
            rrsets: Vec::new(),
            old_text: canonical_order(&r.served.text),
            new_text: zone.canonical_text(serial),
        };
        match plan.zones.iter_mut().find(|z| &z.zone == name) {
            Some(z) => *z = change,
            None => {
                let at = plan.zones.partition_point(|z| z.zone < *name);
                plan.zones.insert(at, change);
            }
        }
    }
}

/// A transfer's text (lines sorted as text) in the order a desired zone's canonical text
/// has (SOA, then RRsets by owner in canonical name order and by type), so a plan's diff
/// of the two shows only what changes.
fn canonical_order(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_by_cached_key(|l| {
        let mut f = l.split_whitespace();
        let owner =
            crate::model::record::canonical_key(&crate::model::name_of(f.next().unwrap_or("")));
        let rtype = f.nth(2).unwrap_or("");
        let code = crate::model::types::type_from_name(rtype).map_or(u16::MAX, u16::from);
        (rtype != "SOA", owner, code, l.to_string())
    });
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Records each zone of `rebases` as the primary serves it (not yet verified on every
/// server; its source unknown, so the next plan reads its file again), with an audit
/// entry saying why; the drift rows go with it.
pub async fn rebase(
    store: &Store,
    rebases: &[Rebase],
    desired: &DesiredState,
    now: i64,
) -> Result<(), StoreError> {
    let rows: Vec<(RecordedZone, AuditEntry)> = rebases
        .iter()
        .map(|r| {
            let serial = r.served.serial.unwrap_or(r.recorded.serial);
            // accepted: the desired content (the same as served), in its canonical order
            let content = match (r.why, desired.zones.get(&r.recorded.name)) {
                (Why::Accepted, Some(z)) => z.canonical_text(serial),
                _ => canonical_order(&r.served.text),
            };
            let detail = match r.why {
                Why::Overwrite => format!(
                    "drift: the primary served serial {serial} (recorded {}), changed outside zonekeeper; recorded as served, to be overwritten with the desired state (--overwrite-drift)",
                    r.recorded.serial
                ),
                Why::Accepted => format!(
                    "drift accepted: the desired state now holds what the primary serves at serial {serial} (recorded {}); recorded as served, nothing sent",
                    r.recorded.serial
                ),
            };
            let row = RecordedZone {
                serial,
                content_hash: text_hash(&content),
                content,
                verified: false,
                source: String::new(),
                ..r.recorded.clone()
            };
            let audit = AuditEntry {
                at: now,
                commit_id: desired.revision.id.clone(),
                author: desired.revision.author.clone(),
                action: "drift".into(),
                target: r.recorded.name.clone(),
                detail,
            };
            (row, audit)
        })
        .collect();
    store.record_zones(&rows).await
}

/// After the apply: an audit entry for each overwritten zone now recorded at its desired
/// content (`updated`: the zones the apply updated), saying the drift was overwritten.
pub async fn audit_overwritten(
    store: &Store,
    rebases: &[Rebase],
    desired: &DesiredState,
    updated: &[String],
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let mut done = Vec::new();
    let mut entries = Vec::new();
    let serials: BTreeMap<String, u32> = store
        .zones(updated)
        .await?
        .into_iter()
        .map(|z| (z.name, z.serial))
        .collect();
    for r in rebases.iter().filter(|r| r.why == Why::Overwrite) {
        let Some(serial) = serials.get(&r.recorded.name) else {
            continue;
        };
        entries.push(AuditEntry {
            at: now,
            commit_id: desired.revision.id.clone(),
            author: desired.revision.author.clone(),
            action: "overwrite-drift".into(),
            target: r.recorded.name.clone(),
            detail: format!(
                "drift overwritten: the primary served serial {} changed outside zonekeeper; it serves the desired state at serial {serial}",
                r.served.serial.map(|s| s.to_string()).unwrap_or("none".into())
            ),
        });
        done.push(r.recorded.name.clone());
    }
    store.audit(&entries).await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_is_put_in_canonical_order_soa_first() {
        let served = "a.test. 300 IN MX 10 mail.a.test.\n\
                      a.test. 300 IN SOA ns0. h. 7 1 1 1 1\n\
                      b.a.test. 300 IN A 192.0.2.2\n\
                      a.test. 300 IN A 192.0.2.1\n\
                      a.a.test. 300 IN A 192.0.2.3\n";
        assert_eq!(
            canonical_order(served),
            "a.test. 300 IN SOA ns0. h. 7 1 1 1 1\n\
             a.test. 300 IN A 192.0.2.1\n\
             a.test. 300 IN MX 10 mail.a.test.\n\
             a.a.test. 300 IN A 192.0.2.3\n\
             b.a.test. 300 IN A 192.0.2.2\n"
        );
    }

    #[test]
    fn zone_names_are_written_as_the_store_writes_them() {
        assert_eq!(normalize("Example.COM"), "example.com.");
        assert_eq!(normalize("a.test."), "a.test.");
    }
}
