//! Record types by name: the types zonekeeper manages, their mnemonics as zone files write
//! them, and RFC 3597's `TYPEnnn` for any other.
//!
//! hickory names most types, but not LOC, RP, URI and SPF, and it calls every type it
//! does not know `Unknown`: the names here are the ones BIND reads and writes, so that the
//! canonical lines (`owner ttl IN TYPE rdata`) of a zone read back the same type.

use hickory_proto::rr::RecordType;

/// LOC (RFC 1876), which hickory has no name for.
pub const LOC: RecordType = RecordType::Unknown(29);
/// RP (RFC 1183).
pub const RP: RecordType = RecordType::Unknown(17);
/// URI (RFC 7553).
pub const URI: RecordType = RecordType::Unknown(256);
/// SPF (RFC 7208 §3.1: TXT's format under its own type, deprecated but still served).
pub const SPF: RecordType = RecordType::Unknown(99);

/// The types zonekeeper reads in their own presentation form. Any other type (but the
/// ones in [`refused`]) is written in RFC 3597's generic form: `TYPE65534` with `\# 4
/// 0a000001`.
pub const NAMED: &[RecordType] = &[
    RecordType::A,
    RecordType::AAAA,
    RecordType::CAA,
    RecordType::CERT,
    RecordType::CNAME,
    RecordType::DNAME,
    RecordType::DS,
    RecordType::HINFO,
    RecordType::HTTPS,
    LOC,
    RecordType::MX,
    RecordType::NAPTR,
    RecordType::NS,
    RecordType::OPENPGPKEY,
    RecordType::PTR,
    RP,
    RecordType::SMIMEA,
    SPF,
    RecordType::SRV,
    RecordType::SSHFP,
    RecordType::SVCB,
    RecordType::TLSA,
    RecordType::TXT,
    URI,
];

/// The mnemonic of a type as zone files write it; `TYPEnnn` when it has none.
pub fn type_name(rtype: RecordType) -> String {
    match rtype {
        LOC => "LOC".into(),
        RP => "RP".into(),
        URI => "URI".into(),
        SPF => "SPF".into(),
        RecordType::Unknown(code) => format!("TYPE{code}"),
        other => other.to_string(),
    }
}

/// The type a mnemonic or `TYPEnnn` names (any case); `None` when it names none.
pub fn type_from_name(text: &str) -> Option<RecordType> {
    let upper = text.trim().to_ascii_uppercase();
    match upper.as_str() {
        "LOC" => return Some(LOC),
        "RP" => return Some(RP),
        "URI" => return Some(URI),
        "SPF" => return Some(SPF),
        _ => {}
    }
    if let Some(code) = upper.strip_prefix("TYPE")
        && !code.is_empty()
        && code.bytes().all(|b| b.is_ascii_digit())
    {
        return code.parse::<u16>().ok().map(RecordType::from);
    }
    upper
        .parse::<RecordType>()
        .ok()
        .filter(|t| !matches!(t, RecordType::Unknown(_)))
}

/// Why a type cannot be managed in a zone's records, or `None` when it can: the SOA is
/// managed, DNSSEC signatures and denial records are the signer's, and meta-types
/// (RFC 6895 §3.1) are no data at all.
pub fn refused(rtype: RecordType) -> Option<&'static str> {
    let code = u16::from(rtype);
    match rtype {
        RecordType::SOA => Some(
            "the SOA comes from the group's `soa` and the zone's `soa:` overrides; the serial is managed",
        ),
        RecordType::RRSIG
        | RecordType::NSEC
        | RecordType::NSEC3
        | RecordType::NSEC3PARAM
        | RecordType::SIG => Some(
            "signatures and denial-of-existence records are made by the signer (BIND's inline signing), never written by hand",
        ),
        _ if code == 0 || code == 41 || (128..=255).contains(&code) => {
            Some("it is a meta-type or a question type (RFC 6895), not data a zone holds")
        }
        _ => None,
    }
}

/// Whether RDATA of `rtype` is written in its own presentation form (else RFC 3597's).
pub fn is_named(rtype: RecordType) -> bool {
    NAMED.contains(&rtype)
}

/// The named types as a list for messages: `A, AAAA, CAA, …`, then the generic form.
pub fn supported_list() -> String {
    let mut names: Vec<String> = NAMED.iter().map(|t| type_name(*t)).collect();
    names.sort();
    format!(
        "{}; any other type as TYPEnnn in RFC 3597 form (`\\# LENGTH HEX`)",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for t in NAMED {
            assert_eq!(type_from_name(&type_name(*t)), Some(*t), "{t:?}");
        }
        assert_eq!(type_from_name("loc"), Some(LOC));
        assert_eq!(
            type_from_name("TYPE65534"),
            Some(RecordType::Unknown(65534))
        );
        assert_eq!(type_from_name("type1"), Some(RecordType::A));
        assert_eq!(type_name(RecordType::Unknown(65534)), "TYPE65534");
        assert_eq!(type_from_name("TYPE65536"), None);
        assert_eq!(type_from_name("TYPE"), None);
        assert_eq!(type_from_name("BOGUS"), None);
        assert_eq!(type_from_name("Unknown"), None);
    }

    #[test]
    fn meta_and_signer_types_are_refused() {
        for t in [
            RecordType::SOA,
            RecordType::RRSIG,
            RecordType::OPT,
            RecordType::AXFR,
            RecordType::ANY,
            RecordType::TSIG,
        ] {
            assert!(refused(t).is_some(), "{t}");
        }
        for t in [RecordType::A, RecordType::DNAME, RecordType::Unknown(65534)] {
            assert!(refused(t).is_none(), "{t}");
        }
    }
}
