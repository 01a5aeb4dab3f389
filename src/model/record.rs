//! RRsets, the parsing of record values as operators write them in YAML, and the canonical
//! presentation form zonekeeper uses for diffs, content hashes and rendered zone files.
//!
//! Values are written in zone-file presentation form, with names relative to the zone
//! unless they end in a dot (`10 mail`, `10 60 5060 sip.example.net.`), except TXT, whose
//! value is the text itself: no quotes, and strings longer than 255 bytes are split into
//! several character-strings as RFC 1035 requires, or a list of character-strings kept as
//! given ([`txt_strings`]). DS, HINFO, NAPTR, OPENPGPKEY, SMIMEA, SSHFP and TLSA are read
//! by hickory's zone-file parser, relative to the zone; DNAME, LOC, RP, URI, SPF, CERT,
//! HTTPS and SVCB by [`super::rdata`]; any other type in RFC 3597's generic form only.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, PTR, SRV, TXT};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::rdata::{self, fields::quoted};
use super::types::{self, type_name};

pub use super::types::supported_list;
use super::types::{LOC, RP, SPF, URI};

/// The largest TTL RFC 2181 allows: 2^31 - 1 seconds.
pub const MAX_TTL: u64 = (1 << 31) - 1;

/// A key whose byte order is the canonical order of names (RFC 4034 §6.1: labels from the
/// root, each compared as lower-case octets, a shorter label first), for sorting many
/// RRsets with one key each instead of a name comparison per pair.
pub fn canonical_key(name: &Name) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 * name.len() + 2);
    for label in name.iter().rev() {
        for b in label {
            key.extend([1, b.to_ascii_lowercase()]);
        }
        key.push(0);
    }
    key
}

/// A name as text, the one form zonekeeper writes everywhere (zone files, the store,
/// UPDATE bookkeeping, catalogs): lower case, A-labels (`xn--…`) as they are, never the
/// Unicode form hickory's `Display` gives. Only messages for people may show U-labels.
pub fn ascii(name: &Name) -> String {
    name.to_lowercase().to_ascii()
}

/// A name from canonical text, as [`ascii`] writes it (the root when it does not parse:
/// canonical text always parses).
pub fn name_of(text: &str) -> Name {
    name_from_text(text).unwrap_or_else(Name::root)
}

/// A name from text in ASCII (escapes read), RFC 2317's `/` in labels included (written
/// `\/` by [`ascii`]); `None` when it is no name.
pub fn name_from_text(text: &str) -> Option<Name> {
    Name::from_ascii(text)
        .ok()
        .or_else(|| classless(&text.replace("\\/", "/")))
}

/// Why a value could not be read; the caller puts it on the value's span.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    /// What is wrong with the value.
    pub message: String,
    /// What to write instead.
    pub help: String,
}

fn bad(message: impl Into<String>, help: impl Into<String>) -> ValueError {
    ValueError {
        message: message.into(),
        help: help.into(),
    }
}

/// The hint given with a name that cannot be read.
const NAME_HINT: &str = "labels are letters, digits, `-` and `_`, at most 63 bytes, names at most 255; end a name with a dot to make it absolute";

/// Reads a domain name as written in YAML: `@` is the origin, a name ending in a dot is
/// absolute, anything else is relative to `origin`.
pub fn parse_name(text: &str, origin: &Name) -> Result<Name, ValueError> {
    let text = text.trim();
    if text == "@" {
        return Ok(origin.clone());
    }
    if text.is_empty() {
        return Err(bad(
            "empty domain name",
            "write a host name, or @ for the zone apex",
        ));
    }
    // UTS 46: UTF-8 labels become A-labels; a name it refuses is an error here
    let ascii_text = super::idn::name_to_ascii(text).map_err(|m| bad(m, super::idn::HINT))?;
    let name = Name::from_ascii(&ascii_text)
        .or_else(|e| classless(&ascii_text.replace("\\/", "/")).ok_or(e))
        .map_err(|e| bad(format!("invalid domain name `{text}`: {e}"), NAME_HINT))?;
    if let Some(problem) = super::idn::name_problem(&name) {
        return Err(bad(problem, super::idn::HINT));
    }
    if name.is_fqdn() {
        return Ok(name);
    }
    name.append_domain(origin).map_err(|e| {
        bad(
            format!("domain name `{text}` is too long in this zone: {e}"),
            "shorten the name",
        )
    })
}

/// A name with RFC 2317 classless labels (`64/26.2.0.192.in-addr.arpa`), which hickory's
/// parser refuses: labels of letters, digits, `-`, `_` and `/`, none empty.
fn classless(text: &str) -> Option<Name> {
    let body = text.strip_suffix('.').unwrap_or(text);
    let labels: Vec<&[u8]> = body.split('.').map(str::as_bytes).collect();
    let fine = |l: &&[u8]| {
        !l.is_empty()
            && l.len() <= 63
            && l.iter()
                .all(|b| b.is_ascii_alphanumeric() || b"-_/".contains(b))
    };
    if !text.contains('/') || !labels.iter().all(fine) {
        return None;
    }
    let mut name = Name::from_labels(labels).ok()?;
    name.set_fqdn(text.ends_with('.'));
    Some(name)
}

fn number<T: std::str::FromStr>(
    field: &str,
    what: &str,
    rtype: RecordType,
) -> Result<T, ValueError> {
    field.parse::<T>().map_err(|_| {
        bad(
            format!("invalid {what} `{field}` in {rtype} value"),
            format!("{rtype} values are written as {}", example(rtype)),
        )
    })
}

/// An example value of a type, used in hints.
pub fn example(rtype: RecordType) -> &'static str {
    match rtype {
        RecordType::A => "`192.0.2.1`",
        RecordType::AAAA => "`2001:db8::1`",
        RecordType::CNAME => "`target` or `target.example.net.`",
        RecordType::MX => "`PREFERENCE EXCHANGE`, e.g. `10 mail`",
        RecordType::NS => "`ns1.example.net.`",
        RecordType::PTR => "`host.example.net.`",
        RecordType::SRV => "`PRIORITY WEIGHT PORT TARGET`, e.g. `10 60 5060 sip`",
        RecordType::TXT => "plain text without quotes, e.g. `v=spf1 mx -all`",
        RecordType::CAA => "`FLAGS TAG \"VALUE\"`, e.g. `0 issue \"letsencrypt.org\"`",
        RecordType::DS => {
            "`KEY-TAG ALGORITHM DIGEST-TYPE DIGEST`, e.g. `60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118`"
        }
        RecordType::HINFO => "`CPU OS`, e.g. `\"INTEL-386\" \"Linux\"`",
        RecordType::NAPTR => {
            "`ORDER PREFERENCE FLAGS SERVICE REGEXP REPLACEMENT`, e.g. `100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp`"
        }
        RecordType::OPENPGPKEY => "the key in base64",
        RecordType::SMIMEA | RecordType::TLSA => {
            "`USAGE SELECTOR MATCHING-TYPE DATA`, e.g. `3 1 1 <hex>`"
        }
        RecordType::SSHFP => "`ALGORITHM FP-TYPE FINGERPRINT`, e.g. `4 2 <hex>`",
        RecordType::DNAME => "`target.example.net.`",
        RecordType::CERT => "`TYPE KEY-TAG ALGORITHM BASE64`, e.g. `PKIX 0 0 MIIB…`",
        RecordType::HTTPS | RecordType::SVCB => {
            "`PRIORITY TARGET [key=value …]`, e.g. `1 . alpn=h2,h3 port=443`"
        }
        t if t == LOC => "`52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m`",
        t if t == RP => "`MAILBOX TXT-NAME`, e.g. `hostmaster.example.com. info`",
        t if t == URI => "`PRIORITY WEIGHT \"TARGET\"`, e.g. `10 1 \"https://example.com/\"`",
        t if t == SPF => "plain text without quotes, as TXT",
        _ => "RFC 3597 generic form, `\\# LENGTH HEX`, e.g. `\\# 4 0a000001`",
    }
}

/// Reads one record value of type `rtype`, as written in YAML, relative to `origin`: in
/// its presentation form, or (any type but TXT and SPF, whose value is the text itself) in
/// RFC 3597's generic form.
pub fn parse_rdata(rtype: RecordType, text: &str, origin: &Name) -> Result<RData, ValueError> {
    if let Some(why) = types::refused(rtype) {
        return Err(bad(
            format!("record type {} is not managed here", type_name(rtype)),
            why,
        ));
    }
    let generic = text.trim_start().starts_with("\\#");
    if generic && rtype != RecordType::TXT && rtype != SPF {
        return from_wire(rtype, rdata::parse_generic(text));
    }
    if rdata::is_own(rtype) {
        return from_wire(rtype, rdata::parse(rtype, text, origin));
    }
    if !types::is_named(rtype) {
        return Err(bad(
            format!(
                "{} values are written in RFC 3597 generic form",
                type_name(rtype)
            ),
            format!(
                "write `\\# LENGTH HEX`, e.g. `\\# 4 0a000001`; types zonekeeper reads in their own form: {}",
                supported_list()
            ),
        ));
    }
    typed_rdata(rtype, text, origin)
}

/// Reads RDATA as an RFC 1035 master file writes it: as [`parse_rdata`], except that TXT
/// and SPF are character-strings, quoted or not (`"v=spf1" " -all"`), kept as given, and
/// the generic form is read for every type.
pub fn parse_master(rtype: RecordType, text: &str, origin: &Name) -> Result<RData, ValueError> {
    let generic = text.trim_start().starts_with("\\#");
    if generic && types::refused(rtype).is_none() {
        return from_wire(rtype, rdata::parse_generic(text));
    }
    if rtype != RecordType::TXT && rtype != SPF {
        return parse_rdata(rtype, text, origin);
    }
    let fields = rdata::fields::fields(text).map_err(|m| bad(m, example(rtype)))?;
    let strings: Vec<Vec<u8>> = fields.into_iter().map(|f| f.bytes).collect();
    txt_strings(rtype, &strings)
}

/// A TXT (or SPF) record of the character-strings given, kept as they are: each at most
/// 255 octets.
pub fn txt_strings(rtype: RecordType, strings: &[Vec<u8>]) -> Result<RData, ValueError> {
    if let Some(long) = strings.iter().find(|s| s.len() > 255) {
        return Err(bad(
            format!(
                "a character-string of {} octets: each string of a {} record is at most 255",
                long.len(),
                type_name(rtype)
            ),
            "split it into several strings of the list, or give the text as one value and let zonekeeper split it",
        ));
    }
    if strings.is_empty() {
        return Err(bad(
            format!("a {} record holds at least one string", type_name(rtype)),
            "write `\"\"` for an empty one",
        ));
    }
    let slices: Vec<&[u8]> = strings.iter().map(Vec::as_slice).collect();
    if rtype == RecordType::TXT {
        return Ok(RData::TXT(TXT::from_bytes(slices)));
    }
    from_wire(rtype, Ok(rdata::strings_wire(&slices)))
}

/// RDATA of `rtype` from its wire octets (hickory's value where it has one).
fn from_wire(rtype: RecordType, wire: Result<Vec<u8>, String>) -> Result<RData, ValueError> {
    let help = || {
        format!(
            "{} values are written as {}",
            type_name(rtype),
            example(rtype)
        )
    };
    let wire = wire.map_err(|m| bad(format!("invalid {} value: {m}", type_name(rtype)), help()))?;
    super::rrset::decode(rtype, &wire)
        .map_err(|e| bad(format!("invalid {} value: {e}", type_name(rtype)), help()))
}

/// The types written in their own presentation form and read here or by hickory.
fn typed_rdata(rtype: RecordType, text: &str, origin: &Name) -> Result<RData, ValueError> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let want = |n: usize| -> Result<(), ValueError> {
        if fields.len() == n {
            Ok(())
        } else {
            Err(bad(
                format!(
                    "{rtype} value needs {n} field{}, found {}",
                    if n == 1 { "" } else { "s" },
                    fields.len()
                ),
                format!("{rtype} values are written as {}", example(rtype)),
            ))
        }
    };
    Ok(match rtype {
        RecordType::A => {
            want(1)?;
            let ip: Ipv4Addr = fields[0].parse().map_err(|_| {
                bad(
                    format!("`{}` is not an IPv4 address", fields[0]),
                    "write a dotted quad such as 192.0.2.1; IPv6 addresses go in AAAA",
                )
            })?;
            RData::A(A(ip))
        }
        RecordType::AAAA => {
            want(1)?;
            let ip: Ipv6Addr = fields[0].parse().map_err(|_| {
                bad(
                    format!("`{}` is not an IPv6 address", fields[0]),
                    "write an address such as 2001:db8::1; IPv4 addresses go in A",
                )
            })?;
            RData::AAAA(AAAA(ip))
        }
        RecordType::CNAME => {
            want(1)?;
            RData::CNAME(CNAME(parse_name(fields[0], origin)?))
        }
        RecordType::NS => {
            want(1)?;
            RData::NS(NS(parse_name(fields[0], origin)?))
        }
        RecordType::PTR => {
            want(1)?;
            RData::PTR(PTR(parse_name(fields[0], origin)?))
        }
        RecordType::MX => {
            want(2)?;
            RData::MX(MX::new(
                number(fields[0], "preference", rtype)?,
                parse_name(fields[1], origin)?,
            ))
        }
        RecordType::SRV => {
            want(4)?;
            RData::SRV(SRV::new(
                number(fields[0], "priority", rtype)?,
                number(fields[1], "weight", rtype)?,
                number(fields[2], "port", rtype)?,
                parse_name(fields[3], origin)?,
            ))
        }
        RecordType::TXT => {
            let bytes = text.as_bytes();
            if bytes.len() > 65_000 {
                return Err(bad(
                    "TXT value is too long for one DNS message",
                    "split it into several TXT records",
                ));
            }
            let chunks: Vec<&[u8]> = if bytes.is_empty() {
                vec![&[][..]]
            } else {
                bytes.chunks(255).collect()
            };
            RData::TXT(TXT::from_bytes(chunks))
        }
        RecordType::CAA => {
            if fields.len() < 3 {
                return Err(bad(
                    format!("CAA value needs 3 fields, found {}", fields.len()),
                    format!("CAA values are written as {}", example(rtype)),
                ));
            }
            RData::try_from_str(RecordType::CAA, text).map_err(|e| {
                bad(
                    format!("invalid CAA value: {e}"),
                    format!("CAA values are written as {}", example(rtype)),
                )
            })?
        }
        other => zone_file_rdata(other, text, origin)?,
    })
}

/// Whether `text` holds one of `chars` outside a quoted string (a `\` escapes the next
/// character): a comment or parentheses there would cut or join a zone-file line.
fn outside_quotes(text: &str, chars: &[char]) -> bool {
    let (mut quoted, mut escaped) = (false, false);
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            '\n' | '\r' => return true,
            c if !quoted && chars.contains(&c) => return true,
            _ => {}
        }
    }
    false
}

/// The RDATA of `rtype` written `text` in zone-file presentation form, read by hickory's
/// zone-file parser with `origin` (relative names are relative to the zone): the types
/// whose fields zonekeeper does not spell out itself (DS, HTTPS, NAPTR, SSHFP, TLSA, …).
fn zone_file_rdata(rtype: RecordType, text: &str, origin: &Name) -> Result<RData, ValueError> {
    let help = || format!("{rtype} values are written as {}", example(rtype));
    if outside_quotes(text, &['\n', '\r', ';', '(', ')']) {
        return Err(bad(
            format!("a {rtype} value is one line of its fields, without comments or parentheses"),
            help(),
        ));
    }
    let line = format!("@ 0 IN {rtype} {text}\n");
    let parsed =
        hickory_proto::serialize::txt::Parser::new(line.as_str(), None, Some(origin.clone()))
            .parse()
            .map_err(|e| bad(format!("invalid {rtype} value: {e}"), help()))?;
    parsed
        .1
        .into_values()
        .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>())
        .map(|r| r.data)
        .find(|d| d.record_type() == rtype)
        .ok_or_else(|| bad(format!("invalid {rtype} value"), help()))
}

/// The canonical presentation form of RDATA: names lower-cased and fully qualified, TXT and
/// CAA values quoted and escaped, exactly as a BIND zone file reads it back.
pub fn presentation(rdata: &RData) -> String {
    let rtype = rdata.record_type();
    if rtype != RecordType::SOA && (rdata::is_own(rtype) || !types::is_named(rtype)) {
        return rdata::present(rtype, &wire_of(rdata));
    }
    let name = ascii;
    match rdata {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(n) => name(&n.0),
        RData::NS(n) => name(&n.0),
        RData::PTR(n) => name(&n.0),
        RData::MX(mx) => format!("{} {}", mx.preference, name(&mx.exchange)),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            name(&srv.target)
        ),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|c| quoted(c))
            .collect::<Vec<_>>()
            .join(" "),
        RData::CAA(caa) => format!("{} {} {}", caa.flags(), caa.tag, quoted(&caa.value)),
        RData::HINFO(h) => format!("{} {}", quoted(&h.cpu), quoted(&h.os)),
        RData::NAPTR(n) => format!(
            "{} {} {} {} {} {}",
            n.order,
            n.preference,
            quoted(&n.flags),
            quoted(&n.services),
            quoted(&n.regexp),
            name(&n.replacement)
        ),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            name(&soa.mname),
            name(&soa.rname),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        ),
        other => other.to_string(),
    }
}

/// RDATA's wire octets, names uncompressed (empty when hickory cannot write it).
fn wire_of(rdata: &RData) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    match rdata.emit(&mut encoder) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// The names an RDATA points at (NS, CNAME, MX, SRV, PTR targets).
pub fn target(rdata: &RData) -> Option<&Name> {
    match rdata {
        RData::CNAME(n) => Some(&n.0),
        RData::NS(n) => Some(&n.0),
        RData::PTR(n) => Some(&n.0),
        RData::MX(mx) => Some(&mx.exchange),
        RData::SRV(srv) => Some(&srv.target),
        _ => None,
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
