//! Builds the UPDATEs that take a zone from one content (recorded, or as served) to the
//! desired one. Pure: no I/O.
//!
//! A change that does not fit in one DNS message is split into several, never truncated.
//! The pieces are ordered so that no state in between breaks the zone's rules:
//!
//! 1. address records (A, AAAA) added or replaced, so glue exists before anything points
//!    at it;
//! 2. every other RRset added or replaced; all changes at an owner that gains or loses a
//!    CNAME travel together in one message (deletions first), so a CNAME swap is atomic;
//! 3. RRsets deleted whole, references (NS, MX, SRV, ...) first;
//! 4. address RRsets deleted whole, last.
//!
//! Each message carries an SOA prerequisite, so drift is detected at every step: the
//! first requires the SOA the zone is known at (serial `s0`), message `i` sets serial
//! `s0 + i + 1` and the next one requires exactly that. The last sets the planned serial,
//! or `s0 + n` when the planned one leaves no room (the primary never accepts a lower
//! serial); [`Planned::final_serial`] is what the primary serves afterwards.

use hickory_proto::rr::rdata::{NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::backend::update::{MAX_UPDATE_BYTES, Update, header_len, record_len};
use crate::model::Zone;
use crate::model::serial::serial_gt;
use crate::model::zone::soa_of;
use crate::plan::RrsetChange;

/// A record that cannot be sent: an error naming zone, owner and type, never a skip.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "zone {zone}: the {rtype} RRset at {owner} cannot be sent: {why}. Nothing of this zone was sent; correct the zone file and apply again"
)]
pub struct BuildError {
    /// The zone.
    pub zone: String,
    /// The owner name, as written in the change.
    pub owner: String,
    /// The record type.
    pub rtype: String,
    /// Why.
    pub why: String,
}

/// The UPDATEs of one zone change, to send in order.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Each UPDATE with the serial its SOA prerequisite requires (None: no prerequisite).
    pub updates: Vec<(Update, Option<u32>)>,
    /// The serial the primary serves once all were applied.
    pub final_serial: u32,
}

/// The recorded SOA record, rebuilt from the recorded canonical text.
pub fn recorded_soa(zone: &Name, old_text: &str) -> Option<Record> {
    let (ttl, f) = soa_of(old_text)?;
    let n = |i: usize| f.get(i).and_then(|s| s.parse::<i64>().ok());
    let soa = SOA::new(
        crate::model::record::name_from_text(f.first()?)?,
        crate::model::record::name_from_text(f.get(1)?)?,
        n(2)? as u32,
        n(3)? as i32,
        n(4)? as i32,
        n(5)? as i32,
        n(6)? as u32,
    );
    Some(Record::from_rdata(zone.clone(), ttl, RData::SOA(soa)))
}

/// One indivisible piece of a change: records that go in the same message.
struct Unit {
    order: u8,
    records: Vec<Record>,
    owner: String,
    rtype: String,
}

fn is_address(rtype: &str) -> bool {
    rtype == "A" || rtype == "AAAA"
}

/// The records that replace one RRset (`c`) by its desired value, and whether it is
/// deleted whole.
fn rrset_records(zone: &Zone, c: &RrsetChange) -> Result<(Vec<Record>, Vec<Record>), BuildError> {
    let bad = |why: String| BuildError {
        zone: zone.name.to_string(),
        owner: c.owner.clone(),
        rtype: c.rtype.clone(),
        why,
    };
    let owner = crate::model::record::name_from_text(&c.owner)
        .ok_or_else(|| bad("the owner name is not a valid ASCII domain name".to_string()))?;
    let rtype = crate::model::types::type_from_name(&c.rtype)
        .ok_or_else(|| bad("unknown record type".to_string()))?;
    let desired = zone.rrset(&owner, rtype);
    if !c.new.is_empty() && desired.is_none() {
        return Err(bad(
            "its desired records are not in the desired zone (owner name not in ASCII?)".into(),
        ));
    }
    let adds: Vec<Record> = desired.map(|s| s.records()).unwrap_or_default();
    let mut deletes = Vec::new();
    if owner == zone.name && rtype == RecordType::NS {
        // RFC 2136 3.4.2.4: the apex NS RRset is never deleted whole; delete what is no
        // longer wanted, record by record (after the adds: see `units`).
        for line in c.old.iter().filter(|l| !c.new.contains(l)) {
            let target = line
                .split_whitespace()
                .nth(4)
                .and_then(crate::model::record::name_from_text)
                .ok_or_else(|| bad(format!("the recorded NS record `{line}` is unreadable")))?;
            if desired.is_none_or(|s| !s.rdatas().any(|r| r == RData::NS(NS(target.clone())))) {
                let mut r = Record::from_rdata(owner.clone(), 0, RData::NS(NS(target)));
                r.dns_class = hickory_proto::rr::DNSClass::NONE;
                deletes.push(r);
            }
        }
        return Ok((adds, deletes));
    }
    let mut u = Update::default();
    u.delete_rrset(owner, rtype);
    Ok((adds, u.changes))
}

/// The change's pieces, in the order they must be sent.
fn units(zone: &Zone, changes: &[RrsetChange]) -> Result<Vec<Unit>, BuildError> {
    let cname_owners: std::collections::BTreeSet<&str> = changes
        .iter()
        .filter(|c| c.rtype == "CNAME")
        .map(|c| c.owner.as_str())
        .collect();
    let mut out: Vec<Unit> = Vec::new();
    let mut merged: std::collections::BTreeMap<&str, (Vec<Record>, Vec<Record>)> =
        Default::default();
    for c in changes.iter().filter(|c| c.rtype != "SOA") {
        let (adds, deletes) = rrset_records(zone, c)?;
        if cname_owners.contains(c.owner.as_str()) {
            let m = merged.entry(c.owner.as_str()).or_default();
            m.0.extend(deletes);
            m.1.extend(adds);
            continue;
        }
        let apex_ns = c.rtype == "NS"
            && crate::model::record::name_from_text(&c.owner).as_ref() == Some(&zone.name);
        let (order, records) = match (adds.is_empty(), apex_ns) {
            (_, true) => (1, adds.into_iter().chain(deletes).collect()),
            (false, _) if is_address(&c.rtype) => (0, deletes.into_iter().chain(adds).collect()),
            (false, _) => (1, deletes.into_iter().chain(adds).collect()),
            (true, _) if is_address(&c.rtype) => (3, deletes),
            (true, _) => (2, deletes),
        };
        out.push(Unit {
            order,
            records,
            owner: c.owner.clone(),
            rtype: c.rtype.clone(),
        });
    }
    for (owner, (deletes, adds)) in merged {
        out.push(Unit {
            order: 1,
            records: deletes.into_iter().chain(adds).collect(),
            owner: owner.to_string(),
            rtype: "CNAME".into(),
        });
    }
    out.sort_by_key(|u| u.order);
    Ok(out)
}

/// The UPDATEs for `zone`: from `old_text` (recorded, or as served) to the desired content
/// at `new_serial` (or later, see the module documentation). `expected` is the serial the
/// prerequisite requires when `old_text` has no SOA.
pub fn zone_update(
    zone: &Zone,
    old_text: &str,
    changes: &[RrsetChange],
    expected: Option<u32>,
    new_serial: u32,
) -> Result<Planned, BuildError> {
    let first_prereq =
        recorded_soa(&zone.name, old_text).or_else(|| expected.map(|s| zone.soa_record(s)));
    let s0 = first_prereq.as_ref().and_then(|r| match &r.data {
        RData::SOA(s) => Some(s.serial),
        _ => None,
    });
    let too_large = |owner: &str, rtype: &str, why: String| BuildError {
        zone: zone.name.to_string(),
        owner: owner.into(),
        rtype: rtype.into(),
        why,
    };
    let soa_len = record_len(&zone.soa_record(new_serial)).map_err(|e| too_large("@", "SOA", e))?;
    let budget = MAX_UPDATE_BYTES.saturating_sub(header_len(&zone.name) + 2 * soa_len + 64);
    // Pack the pieces, in order, into messages of at most `budget` bytes.
    let mut batches: Vec<Vec<Record>> = vec![Vec::new()];
    let mut used = 0;
    for unit in units(zone, changes)? {
        let mut size = 0;
        for r in &unit.records {
            size += record_len(r).map_err(|e| too_large(&unit.owner, &unit.rtype, e))?;
        }
        if size > budget {
            return Err(too_large(
                &unit.owner,
                &unit.rtype,
                format!(
                    "its records take {size} bytes, more than one DNS message holds ({budget}); split it into smaller RRsets"
                ),
            ));
        }
        if used + size > budget {
            batches.push(Vec::new());
            used = 0;
        }
        used += size;
        if let Some(b) = batches.last_mut() {
            b.extend(unit.records);
        }
    }
    let n = batches.len() as u32;
    let final_serial = match s0 {
        Some(s0) if !serial_gt(new_serial, s0.wrapping_add(n - 1)) => s0.wrapping_add(n),
        _ => new_serial,
    };
    let serial_after = |i: u32| match s0 {
        Some(s0) if i + 1 < n => s0.wrapping_add(i + 1),
        _ => final_serial,
    };
    let updates = batches
        .into_iter()
        .enumerate()
        .map(|(i, records)| {
            let i = i as u32;
            let mut u = Update::default();
            let required = if i == 0 {
                s0
            } else {
                Some(serial_after(i - 1))
            };
            match (i, &first_prereq) {
                (0, Some(soa)) => {
                    u.require(soa.clone());
                }
                (0, None) => {}
                _ => {
                    u.require(zone.soa_record(serial_after(i - 1)));
                }
            }
            for r in records {
                u.add(r);
            }
            u.add(zone.soa_record(serial_after(i)));
            (u, required)
        })
        .collect();
    Ok(Planned {
        updates,
        final_serial,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ParsedRrset;
    use crate::model::zone::Soa;

    fn zone(n: usize) -> Zone {
        let origin = Name::from_ascii("big.test.").unwrap();
        let txt = "x".repeat(230);
        let rrsets = (0..n)
            .map(|i| {
                ParsedRrset {
                    owner: Name::from_ascii(format!("t{i:04}.big.test.")).unwrap(),
                    rtype: RecordType::TXT,
                    ttl: 300,
                    rdatas: vec![RData::TXT(hickory_proto::rr::rdata::TXT::new(vec![
                        txt.clone(),
                    ]))],
                }
                .into_wire()
                .unwrap()
            })
            .collect();
        Zone {
            name: origin,
            group: "default".into(),
            soa: Soa {
                mname: Name::from_ascii("ns0.example.net.").unwrap(),
                rname: Name::from_ascii("hostmaster.example.net.").unwrap(),
                refresh: 3600,
                retry: 60,
                expire: 1_209_600,
                minimum: 60,
                ttl: 300,
            },
            rrsets,
            parent_servers: Vec::new(),
            cutovers: Vec::new(),
            source: String::new(),
        }
    }

    #[test]
    fn large_change_is_split_with_a_serial_chain() {
        let z = zone(600);
        let old = zone(0).canonical_text(10);
        let changes = crate::plan::rrset_changes(&old, &z.canonical_text(11));
        let p = zone_update(&z, &old, &changes, Some(10), 11).unwrap();
        assert!(p.updates.len() >= 3, "{}", p.updates.len());
        assert_eq!(p.final_serial, 10 + p.updates.len() as u32);
        let adds: usize = p.updates.iter().map(|(u, _)| u.changes.len() - 1).sum();
        assert_eq!(adds, 1200, "each RRset deleted then added, nothing lost");
        for (i, (u, req)) in p.updates.iter().enumerate() {
            assert_eq!(*req, Some(10 + i as u32));
            let bytes: usize = u.changes.iter().map(|r| record_len(r).unwrap()).sum();
            assert!(bytes <= MAX_UPDATE_BYTES);
        }
    }

    #[test]
    fn unreadable_owner_is_an_error_not_a_skip() {
        let z = zone(1);
        let old = zone(0).canonical_text(10);
        let changes = vec![RrsetChange {
            owner: "caf\u{e9}.big.test.".into(),
            rtype: "A".into(),
            old: vec![],
            new: vec!["café.big.test. 300 IN A 192.0.2.1".into()],
        }];
        let e = zone_update(&z, &old, &changes, Some(10), 11).unwrap_err();
        assert!(
            e.to_string().contains("big.test.") && e.to_string().contains("A RRset"),
            "{e}"
        );
    }
}
