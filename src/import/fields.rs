//! The fields of a master-file record as the reader ([`super::zonefile`]) reads them:
//! names (`@`, relative to the origin), TTLs (`1h30m`), the class (IN only), the RDATA's
//! text (an unquoted `@` written out), and the SOA's RDATA.

use hickory_proto::rr::{Name, RData, RecordType};

use super::lexer::Token;
use crate::model::record::ascii;
use crate::model::types::type_name;

/// A name as written: `@` is the origin, a relative name is relative to it.
pub fn name(text: &str, origin: Option<&Name>) -> Result<Name, (String, String)> {
    let unnamed = || {
        (
            format!("`{text}` is relative, and no origin is known here"),
            "give the zone's name (--zone), or start the file with $ORIGIN".to_string(),
        )
    };
    if text == "@" {
        return origin.cloned().ok_or_else(unnamed);
    }
    let n = Name::from_ascii(text).map_err(|e| {
        (
            format!("`{text}` is not a domain name: {e}"),
            "labels are at most 63 bytes, names at most 255; write other bytes as \\DDD".into(),
        )
    })?;
    if n.is_fqdn() {
        return Ok(n);
    }
    let origin = origin.ok_or_else(unnamed)?;
    n.append_domain(origin).map_err(|e| {
        (
            format!("`{text}` is too long below {}: {e}", ascii(origin)),
            "shorten the name".into(),
        )
    })
}

/// A TTL as written (`3600`, `1h30m`), if the token is one.
pub fn ttl(text: &str) -> Option<u32> {
    if !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    hickory_proto::serialize::txt::parse_ttl(text).ok()
}

/// Whether the token is a class; `Err` for a class other than IN.
pub fn class(text: &str) -> Option<Result<(), String>> {
    let upper = text.to_ascii_uppercase();
    match upper.as_str() {
        "IN" | "CLASS1" => Some(Ok(())),
        "CH" | "CS" | "HS" | "NONE" | "ANY" => Some(Err(upper)),
        c if c.starts_with("CLASS") && c[5..].parse::<u16>().is_ok() => Some(Err(upper)),
        _ => None,
    }
}

/// The RDATA tokens as one text; an unquoted `@` is the origin (RFC 1035 §5.1), written
/// out for the RDATA's parser, except in types of character-strings.
pub fn rdata_text(tokens: &[Token], rtype: RecordType, origin: Option<&Name>) -> String {
    let strings = matches!(type_name(rtype).as_str(), "TXT" | "SPF" | "HINFO" | "CAA");
    let words: Vec<String> = tokens
        .iter()
        .map(|k| match (k.text.as_str(), k.quoted, origin) {
            ("@", false, Some(o)) if !strings => ascii(o),
            (text, ..) => text.to_string(),
        })
        .collect();
    words.join(" ")
}

/// The SOA's RDATA (which the zone YAML never states, so `parse_master` does not read
/// it), read by hickory's zone-file parser relative to `origin`.
pub fn soa(text: &str, origin: &Name) -> Result<RData, (String, String)> {
    let help = || "SOA MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM".to_string();
    let line = format!("@ 0 IN SOA {text}\n");
    let parsed =
        hickory_proto::serialize::txt::Parser::new(line.as_str(), None, Some(origin.clone()))
            .parse()
            .map_err(|e| (format!("invalid SOA value: {e}"), help()))?;
    parsed
        .1
        .into_values()
        .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>())
        .map(|r| r.data)
        .find(|d| d.record_type() == RecordType::SOA)
        .ok_or_else(|| ("invalid SOA value".to_string(), help()))
}
