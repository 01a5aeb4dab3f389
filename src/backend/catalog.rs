//! Catalog zones (RFC 9432, version 2): one per server group, served by the primary and
//! edited by TSIG-signed UPDATEs. A member is `<label>.zones.<catalog> PTR <zone>`; the
//! secondaries of the group add a zone when its member appears and drop it when it goes.
//!
//! The label is derived from the zone name (a hash), so adding a member twice is the same
//! record and a no-op, and removing needs nothing but the zone name.

use hickory_proto::rr::rdata::PTR;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use sha2::{Digest, Sha256};

use super::update::Update;

/// Members per UPDATE: 500 PTRs are about 20 KB, well inside one TCP DNS message.
pub const MEMBERS_PER_UPDATE: usize = 500;

/// The unique member label of a zone: 16 hex digits of the SHA-256 of its lower-case name.
pub fn member_label(zone: &Name) -> String {
    let digest = Sha256::digest(zone.to_lowercase().to_string().as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
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
    zones
        .chunks(MEMBERS_PER_UPDATE)
        .map(|chunk| {
            let mut u = Update::default();
            for z in chunk {
                if let Some(owner) = member_owner(catalog, z) {
                    u.add(Record::from_rdata(owner, 0, RData::PTR(PTR(z.clone()))));
                }
            }
            u
        })
        .collect()
}

/// UPDATEs removing `zones` from `catalog`, batched.
pub fn remove_members(catalog: &Name, zones: &[Name]) -> Vec<Update> {
    zones
        .chunks(MEMBERS_PER_UPDATE)
        .map(|chunk| {
            let mut u = Update::default();
            for z in chunk {
                if let Some(owner) = member_owner(catalog, z) {
                    u.delete_rrset(owner, RecordType::PTR);
                }
            }
            u
        })
        .collect()
}

/// The zone file of a new, empty catalog zone.
pub fn initial_text(catalog: &Name) -> String {
    let c = catalog.to_lowercase();
    format!(
        "{c} 0 IN SOA invalid. invalid. 1 60 5 1209600 0\n{c} 0 IN NS invalid.\nversion.{c} 0 IN TXT \"2\"\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
