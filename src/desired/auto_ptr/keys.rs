//! The keys a zone file writes for reverse mapping, checked where they are written:
//! `auto_ptr:` only on a reverse zone of whole octets or nibbles, `ptr:` only on an A or
//! AAAA RRset.

use hickory_proto::rr::{Name, RecordType};

use super::{is_reverse, prefix_of};
use crate::desired::validate::{Checker, at};
use crate::desired::yaml::ZoneFile;
use crate::model::record::{ascii, parse_name};
use crate::model::types::type_from_name;
use crate::model::zone::PtrSettings;

/// The reverse-mapping settings of zone `origin` as its file `y` writes them; a key
/// written where it means nothing is a problem at its place.
pub fn settings(c: &mut Checker<'_>, y: &ZoneFile, origin: &Name) -> PtrSettings {
    let mut out = PtrSettings::default();
    if let Some(auto) = y.auto_ptr.as_ref().filter(|a| a.value) {
        if !is_reverse(origin) {
            c.report(
                "zone::auto-ptr",
                at(auto),
                format!("{origin} is not a reverse zone: `auto_ptr` derives PTR records, which live under in-addr.arpa. and ip6.arpa."),
                "remove `auto_ptr` here; set it on the reverse zones that should follow this zone's A/AAAA records",
            );
        } else if prefix_of(origin).is_none() {
            c.report(
                "zone::auto-ptr",
                at(auto),
                format!("{origin} holds no address's reverse name: its labels below in-addr.arpa. / ip6.arpa. are not whole octets (0-255) or nibbles (one hex digit)"),
                "set `auto_ptr` on the reverse zone of whole octets or nibbles that holds the addresses (for an RFC 2317 classless zone, its parent), or write the PTRs here",
            );
        } else {
            out.auto = true;
        }
    }
    for (owner_y, types) in &y.records {
        for (type_y, rrset_y) in types {
            let Some(ptr) = &rrset_y.value.ptr else {
                continue;
            };
            let rtype = type_from_name(&type_y.value);
            if !matches!(rtype, Some(RecordType::A | RecordType::AAAA)) {
                c.report(
                    "record::ptr",
                    at(ptr),
                    format!("`ptr:` is written on a {} RRset: only A and AAAA records have PTRs derived from them", type_y.value),
                    "remove `ptr:` here; `ptr: false` on an A or AAAA RRset keeps reverse zones with `auto_ptr` from deriving a PTR from it",
                );
                continue;
            }
            if let (false, Some(rtype), Ok(owner)) =
                (ptr.value, rtype, parse_name(&owner_y.value, origin))
            {
                out.opted_out.push((ascii(&owner), rtype));
            }
        }
    }
    out
}
