//! RDATA that zonekeeper reads and writes in presentation form itself, as wire octets:
//! the types hickory has no parser or no faithful presentation for (DNAME, LOC, RP, URI,
//! SPF, CERT, HTTPS, SVCB), and RFC 3597's generic form (`\# 4 0a000001`) for any type.
//!
//! Both directions go through the wire form: a value is parsed into octets, and the
//! canonical text is written from octets. What a server transfers and what the repository
//! holds are therefore written by the same code, and a value BIND would read differently
//! than it is shown cannot arise: where a presentation form could be ambiguous (an ALPN
//! identifier holding a comma), the generic form is written instead.

pub mod fields;
mod generic;
mod loc;
mod simple;
mod svcb;

use hickory_proto::rr::{Name, RecordType};

use super::types::{LOC, RP, SPF, URI};

pub use generic::{parse_generic, write_generic};
pub use simple::{read_strings, strings_wire};

/// Whether `rtype`'s values are read and written here (in presentation form).
pub fn is_own(rtype: RecordType) -> bool {
    matches!(
        rtype,
        RecordType::DNAME | RecordType::CERT | RecordType::HTTPS | RecordType::SVCB
    ) || [LOC, RP, URI, SPF].contains(&rtype)
}

/// The wire octets of an `rtype` value written in presentation form, names relative to
/// `origin`; the types of [`is_own`] only.
pub fn parse(rtype: RecordType, text: &str, origin: &Name) -> Result<Vec<u8>, String> {
    match rtype {
        RecordType::DNAME => simple::dname(text, origin),
        RecordType::CERT => simple::cert(text),
        RecordType::HTTPS | RecordType::SVCB => svcb::parse(text, origin),
        t if t == RP => simple::rp(text, origin),
        t if t == URI => simple::uri(text),
        t if t == LOC => loc::parse(text),
        t if t == SPF => simple::txt(text),
        other => Err(format!("{other} values are not read here")),
    }
}

/// The canonical presentation of `rtype`'s wire octets: its own form for the types of
/// [`is_own`] when the octets are well-formed, the generic form otherwise.
pub fn present(rtype: RecordType, wire: &[u8]) -> String {
    let own = match rtype {
        RecordType::DNAME => simple::write_dname(wire),
        RecordType::CERT => simple::write_cert(wire),
        RecordType::HTTPS | RecordType::SVCB => svcb::write(wire),
        t if t == RP => simple::write_rp(wire),
        t if t == URI => simple::write_uri(wire),
        t if t == LOC => loc::write(wire),
        t if t == SPF => simple::write_txt(wire),
        _ => None,
    };
    own.unwrap_or_else(|| write_generic(wire))
}

/// A name in wire form, uncompressed, lower case (names in RDATA are compared as such).
pub(crate) fn name_wire(name: &Name, out: &mut Vec<u8>) {
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
}

/// A name read from wire octets at `at`, uncompressed; moves `at` past it.
pub(crate) fn read_name(wire: &[u8], at: &mut usize) -> Option<Name> {
    let mut labels: Vec<&[u8]> = Vec::new();
    loop {
        let len = usize::from(*wire.get(*at)?);
        *at += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(wire.get(*at..*at + len)?);
        *at += len;
    }
    let mut name = Name::from_labels(labels).ok()?;
    name.set_fqdn(true);
    Some(name)
}

/// A name as canonical text (see [`super::record::ascii`]).
pub(crate) fn name_text(name: &Name) -> String {
    super::record::ascii(name)
}

#[cfg(test)]
mod tests;
