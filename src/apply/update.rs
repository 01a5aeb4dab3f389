//! Builds the one UPDATE that takes a zone from its recorded content to the desired one.
//! Pure: no I/O.

use hickory_proto::rr::rdata::{NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::backend::update::Update;
use crate::model::Zone;
use crate::model::zone::soa_of;
use crate::plan::RrsetChange;

/// The recorded SOA record, rebuilt from the recorded canonical text.
pub fn recorded_soa(zone: &Name, old_text: &str) -> Option<Record> {
    let (ttl, f) = soa_of(old_text)?;
    let n = |i: usize| f.get(i).and_then(|s| s.parse::<i64>().ok());
    let soa = SOA::new(
        Name::from_ascii(f.first()?).ok()?,
        Name::from_ascii(f.get(1)?).ok()?,
        n(2)? as u32,
        n(3)? as i32,
        n(4)? as i32,
        n(5)? as i32,
        n(6)? as u32,
    );
    Some(Record::from_rdata(zone.clone(), ttl, RData::SOA(soa)))
}

/// The UPDATE for `zone`: prerequisite on the recorded SOA (or, for an adopted zone, on
/// nothing but its serial being the one probed), RRset replacements, the new SOA last.
pub fn zone_update(
    zone: &Zone,
    old_text: &str,
    changes: &[RrsetChange],
    expected: Option<u32>,
    new_serial: u32,
) -> Update {
    let mut u = Update::default();
    match recorded_soa(&zone.name, old_text) {
        Some(soa) => {
            u.require(soa);
        }
        None => {
            if let Some(serial) = expected {
                // adopted zone: its file held the desired SOA at `serial`
                u.require(zone.soa_record(serial));
            }
        }
    }
    for c in changes {
        if c.rtype == "SOA" {
            continue;
        }
        let Ok(owner) = Name::from_ascii(&c.owner) else {
            continue;
        };
        let Ok(rtype) = c.rtype.parse::<RecordType>() else {
            continue;
        };
        let desired = zone.rrset(&owner, rtype);
        if owner == zone.name && rtype == RecordType::NS {
            // RFC 2136 3.4.2.4: the apex NS RRset is never deleted whole; add first, then
            // delete what is no longer wanted, record by record.
            if let Some(set) = desired {
                for r in set.records() {
                    u.add(r);
                }
            }
            for line in c.old.iter().filter(|l| !c.new.contains(l)) {
                if let Some(target) = line
                    .split_whitespace()
                    .nth(4)
                    .and_then(|t| Name::from_ascii(t).ok())
                    && desired.is_none_or(|s| !s.rdatas.contains(&RData::NS(NS(target.clone()))))
                {
                    u.delete_record(owner.clone(), RData::NS(NS(target)));
                }
            }
            continue;
        }
        u.delete_rrset(owner.clone(), rtype);
        if let Some(set) = desired {
            for r in set.records() {
                u.add(r);
            }
        }
    }
    u.add(zone.soa_record(new_serial));
    u
}
