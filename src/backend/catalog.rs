//! Catalog zones (RFC 9432, version 2): one per server group, served by the primary and
//! edited by TSIG-signed UPDATEs. A member is `<label>.zones.<catalog> PTR <zone>`; the
//! secondaries of the group add a zone when its member appears and drop it when it goes.
//!
//! The label is derived from the zone name (a hash), so adding a member twice is the same
//! record and a no-op, and removing needs nothing but the zone name.

use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::rdata::{PTR, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use sha2::{Digest, Sha256};

use super::update::Update;

/// Members per UPDATE: 500 PTRs are about 20 KB, well inside one TCP DNS message.
pub const MEMBERS_PER_UPDATE: usize = 500;

/// The unique member label of a zone: 16 hex digits of the SHA-256 of its lower-case name.
pub fn member_label(zone: &Name) -> String {
    let digest = Sha256::digest(crate::model::ascii(zone).as_bytes());
    crate::model::hex(&digest[..8])
}

/// `<label>.zones.<catalog>`.
pub fn member_owner(catalog: &Name, zone: &Name) -> Option<Name> {
    Name::from_ascii(format!("{}.zones", member_label(zone)))
        .ok()?
        .append_domain(catalog)
        .ok()
}

/// UPDATEs adding `zones` to `catalog`, batched.
pub fn add_members(catalog: &Name, zones: &[Name]) -> Vec<Update> {
    batched(catalog, zones, |u, owner, zone| {
        u.add(Record::from_rdata(owner, 0, RData::PTR(PTR(zone.clone()))));
    })
}

/// UPDATEs removing `zones` from `catalog`, batched.
pub fn remove_members(catalog: &Name, zones: &[Name]) -> Vec<Update> {
    batched(catalog, zones, |u, owner, _| {
        u.delete_rrset(owner, RecordType::PTR);
    })
}

/// UPDATEs of at most [`MEMBERS_PER_UPDATE`] members each, `change` writing one member
/// (its owner in `catalog`, the zone) into the UPDATE.
fn batched(
    catalog: &Name,
    zones: &[Name],
    change: impl Fn(&mut Update, Name, &Name),
) -> Vec<Update> {
    zones
        .chunks(MEMBERS_PER_UPDATE)
        .map(|chunk| {
            let mut u = Update::default();
            for z in chunk {
                if let Some(owner) = member_owner(catalog, z) {
                    change(&mut u, owner, z);
                }
            }
            u
        })
        .collect()
}

/// How many `primaries.ext` labels [`set_primaries`] clears: more primaries than this are
/// never named.
pub const MAX_PRIMARIES: usize = 8;

/// The UPDATE that makes `catalog` name `primaries` (first tried first) as the primaries
/// of all its members, each with TSIG key `key`: the catalog-level custom property
/// `p<N>.primaries.ext.<catalog>` (A or AAAA, and TXT with the key name), which BIND 9.18
/// reads in label order and prefers to its own `default-primaries`. Earlier labels are
/// cleared first, so the same list sent twice is the same catalog. The port is not
/// carried: secondaries use their default port.
pub fn set_primaries(catalog: &Name, primaries: &[SocketAddr], key: &Name) -> Update {
    let mut u = Update::default();
    let owner = |i: usize| {
        Name::from_ascii(format!("p{i}.primaries.ext"))
            .ok()?
            .append_domain(catalog)
            .ok()
    };
    for i in 1..=MAX_PRIMARIES {
        if let Some(o) = owner(i) {
            u.delete_rrset(o, RecordType::ANY);
        }
    }
    let key_text = crate::model::ascii(key);
    let key_text = key_text.trim_end_matches('.');
    for (i, p) in primaries.iter().take(MAX_PRIMARIES).enumerate() {
        let Some(o) = owner(i + 1) else { continue };
        let address = match p.ip() {
            IpAddr::V4(a) => RData::A(a.into()),
            IpAddr::V6(a) => RData::AAAA(a.into()),
        };
        u.add(Record::from_rdata(o.clone(), 0, address));
        u.add(Record::from_rdata(
            o,
            0,
            RData::TXT(TXT::new(vec![key_text.to_string()])),
        ));
    }
    u
}

/// The zone file of a new catalog zone at `serial`, listing `members`.
pub fn initial_text_with(catalog: &Name, serial: u32, members: &[Name]) -> String {
    let c = catalog.to_lowercase();
    let mut text = format!(
        "{c} 0 IN SOA invalid. invalid. {serial} 60 5 1209600 0\n{c} 0 IN NS invalid.\nversion.{c} 0 IN TXT \"2\"\n"
    );
    for z in members {
        if let Some(owner) = member_owner(catalog, z) {
            text.push_str(&format!(
                "{} 0 IN PTR {}\n",
                owner.to_lowercase(),
                z.to_lowercase()
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primaries_are_labelled_in_order_with_their_key() {
        let cat = Name::from_ascii("catalog.test.").unwrap();
        let key = Name::from_ascii("zonekeeper.").unwrap();
        let new: SocketAddr = "127.0.0.4:53".parse().unwrap();
        let old: SocketAddr = "[2001:db8::1]:53".parse().unwrap();
        let u = set_primaries(&cat, &[new, old], &key);
        // every label is cleared first, whatever was there
        let cleared: Vec<String> = u.changes[..MAX_PRIMARIES]
            .iter()
            .map(|r| format!("{} {:?} {}", r.name, r.dns_class, r.record_type()))
            .collect();
        assert_eq!(cleared[0], "p1.primaries.ext.catalog.test. ANY ANY");
        assert_eq!(cleared[7], "p8.primaries.ext.catalog.test. ANY ANY");
        let added: Vec<String> = u.changes[MAX_PRIMARIES..]
            .iter()
            .map(|r| format!("{} {}", r.name, r.data))
            .collect();
        assert_eq!(
            added,
            [
                "p1.primaries.ext.catalog.test. 127.0.0.4",
                "p1.primaries.ext.catalog.test. zonekeeper",
                "p2.primaries.ext.catalog.test. 2001:db8::1",
                "p2.primaries.ext.catalog.test. zonekeeper",
            ]
        );
        assert_eq!(set_primaries(&cat, &[], &key).changes.len(), MAX_PRIMARIES);
    }

    #[test]
    fn labels_are_stable_and_case_blind() {
        let a = Name::from_ascii("Example.COM.").unwrap();
        let b = Name::from_ascii("example.com.").unwrap();
        assert_eq!(member_label(&a), member_label(&b));
        assert_eq!(member_label(&a).len(), 16);
        let cat = Name::from_ascii("catalog.test.").unwrap();
        let owner = member_owner(&cat, &a).unwrap().to_string();
        assert!(owner.ends_with(".zones.catalog.test."), "{owner}");
    }

    #[test]
    fn members_are_batched() {
        let cat = Name::from_ascii("catalog.test.").unwrap();
        let zones: Vec<Name> = (0..1200)
            .map(|i| Name::from_ascii(format!("z{i}.test.")).unwrap())
            .collect();
        let ups = add_members(&cat, &zones);
        assert_eq!(
            ups.iter().map(|u| u.changes.len()).collect::<Vec<_>>(),
            vec![500, 500, 200]
        );
        assert_eq!(remove_members(&cat, &zones[..3])[0].changes.len(), 3);
    }
}
