//! Content verification: after every change, the primary's zone (AXFR, TSIG-signed) must
//! be exactly the desired RRsets, serial included. Serials alone prove nothing: a record
//! added out of band, or lost on the way, leaves the serial as expected.
//!
//! Transfers of many zones run at most [`MAX_TRANSFERS`] at a time, each lane over one
//! TCP connection of its own that carries its zones' transfers in turn: few enough
//! connections not to crowd the primary (BIND's default `tcp-clients` is 150), enough to
//! verify thousands of changed zones in seconds.

use std::collections::BTreeMap;

use hickory_proto::rr::Name;

use crate::backend::seam::Sender;
use crate::backend::update::UpdateError;
pub use crate::model::served::{Served, difference, same_content, soa_values};
use crate::model::zone::lines_by_rrset;

/// At most this many zone transfers (and connections for them) at once.
pub const MAX_TRANSFERS: usize = 8;

/// Whether `served` is part of the way from `base` (recorded, at serial `base_serial`) to
/// the content `intent` brings: a change split over several UPDATEs whose run was
/// interrupted between two of them. Each UPDATE replaces whole RRsets and requires the SOA
/// the previous one set, so such a zone has every RRset (and the SOA's values) either as
/// recorded or as intended, and a serial after the recorded one and not after the intended
/// one (RFC 1982). Anything else is not zonekeeper's own doing.
pub fn part_way(
    base: &str,
    base_serial: Option<u32>,
    intent: &crate::store::ZoneIntent,
    served: &Served,
) -> bool {
    use crate::model::serial::{serial_ge, serial_gt};
    let (Some(from), Some(now)) = (base_serial, served.serial) else {
        return false;
    };
    if !(serial_gt(now, from) && serial_ge(intent.serial, now)) {
        return false;
    }
    let soa = soa_values(&served.text);
    if soa != soa_values(base) && soa != soa_values(&intent.content) {
        return false;
    }
    let (b, t, s) = (
        lines_by_rrset(base),
        lines_by_rrset(&intent.content),
        lines_by_rrset(&served.text),
    );
    b.keys()
        .chain(t.keys())
        .chain(s.keys())
        .all(|k| s.get(k) == b.get(k) || s.get(k) == t.get(k))
}

/// Transfers every zone of `zones` from the primary, [`MAX_TRANSFERS`] at a time.
pub async fn transfer_all(
    updater: &dyn Sender,
    zones: &[Name],
) -> BTreeMap<Name, Result<Served, UpdateError>> {
    let lanes = zones.len().min(MAX_TRANSFERS);
    let work = (0..lanes).map(|lane| async move {
        let mine: Vec<&Name> = zones.iter().skip(lane).step_by(lanes).collect();
        let mut out = Vec::with_capacity(mine.len());
        // the first lane uses the existing connection; the others open their own
        let own = if lane == 0 {
            None
        } else {
            Some(updater.reopen().await)
        };
        for z in mine {
            let result = match &own {
                None => updater.zone_lines(z).await,
                Some(Ok(u)) => u.zone_lines(z).await,
                Some(Err(e)) => Err(UpdateError::Unreachable {
                    addr: updater.addr(),
                    message: e.to_string(),
                }),
            };
            out.push((z.clone(), result.map(Served::of)));
        }
        out
    });
    futures_util::future::join_all(work)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Transfers one zone.
pub async fn transfer(updater: &dyn Sender, zone: &Name) -> Result<Served, UpdateError> {
    updater.zone_lines(zone).await.map(Served::of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ZoneIntent;

    fn text(serial: u32, lines: &[&str]) -> String {
        let mut t = format!(
            "a.test. 300 IN SOA ns0.example.net. hostmaster.example.net. {serial} 3600 60 1209600 60\n"
        );
        for l in lines {
            t.push_str(l);
            t.push('\n');
        }
        t
    }

    fn intent(serial: u32, content: String) -> ZoneIntent {
        ZoneIntent {
            name: "a.test.".into(),
            group: "default".into(),
            serial,
            content,
            commit_id: "c1".into(),
        }
    }

    const OLD_A: &str = "a.a.test. 300 IN A 192.0.2.1";
    const NEW_A: &str = "a.a.test. 300 IN A 192.0.2.2";
    const NEW_B: &str = "b.a.test. 300 IN TXT \"b\"";
    const OTHER: &str = "c.a.test. 300 IN A 192.0.2.99";

    #[test]
    fn part_way_is_every_rrset_as_recorded_or_intended_inside_the_serial_range() {
        let base = text(10, &[OLD_A]);
        let i = intent(12, text(12, &[NEW_A, NEW_B]));
        let served = |serial, lines: &[&str]| {
            Served::of(text(serial, lines).lines().map(String::from).collect())
        };
        // the first of two UPDATEs landed: one RRset new, the other not yet there
        assert!(part_way(&base, Some(10), &i, &served(11, &[NEW_A])));
        assert!(part_way(&base, Some(10), &i, &served(11, &[OLD_A, NEW_B])));
        // a record nobody intended: drift
        assert!(!part_way(&base, Some(10), &i, &served(11, &[NEW_A, OTHER])));
        // a serial outside the interrupted run's range: not ours
        assert!(!part_way(&base, Some(10), &i, &served(13, &[NEW_A])));
        assert!(!part_way(&base, Some(10), &i, &served(10, &[NEW_A])));
        // nothing recorded to start from
        assert!(!part_way(&base, None, &i, &served(11, &[NEW_A])));
    }
}
