//! The one-line types: DNAME (RFC 6672), RP (RFC 1183), URI (RFC 7553), SPF (RFC 7208,
//! TXT's format) and CERT (RFC 4398).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hickory_proto::rr::Name;

use super::fields::{Field, fields, quoted};
use super::{name_text, name_wire, read_name};
use crate::model::record::parse_name;

fn count(f: &[Field], n: usize, what: &str) -> Result<(), String> {
    if f.len() == n {
        Ok(())
    } else {
        Err(format!("a {what} value has {n} fields, found {}", f.len()))
    }
}

fn name(field: &Field, origin: &Name) -> Result<Name, String> {
    parse_name(&field.raw, origin).map_err(|e| e.message)
}

fn number<T: std::str::FromStr>(field: &Field, what: &str) -> Result<T, String> {
    std::str::from_utf8(&field.bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("`{}` is not a valid {what}", field.raw))
}

/// DNAME: the target name.
pub fn dname(text: &str, origin: &Name) -> Result<Vec<u8>, String> {
    let f = fields(text)?;
    count(&f, 1, "DNAME")?;
    let mut out = Vec::new();
    name_wire(&name(&f[0], origin)?, &mut out);
    Ok(out)
}

pub fn write_dname(wire: &[u8]) -> Option<String> {
    let mut at = 0;
    let n = read_name(wire, &mut at)?;
    (at == wire.len()).then(|| name_text(&n))
}

/// RP: the mailbox and the name holding TXT records about the person.
pub fn rp(text: &str, origin: &Name) -> Result<Vec<u8>, String> {
    let f = fields(text)?;
    count(&f, 2, "RP")?;
    let mut out = Vec::new();
    name_wire(&name(&f[0], origin)?, &mut out);
    name_wire(&name(&f[1], origin)?, &mut out);
    Ok(out)
}

pub fn write_rp(wire: &[u8]) -> Option<String> {
    let mut at = 0;
    let mbox = read_name(wire, &mut at)?;
    let txt = read_name(wire, &mut at)?;
    (at == wire.len()).then(|| format!("{} {}", name_text(&mbox), name_text(&txt)))
}

/// URI: priority, weight, and the quoted target.
pub fn uri(text: &str) -> Result<Vec<u8>, String> {
    let f = fields(text)?;
    count(&f, 3, "URI")?;
    let mut out = Vec::new();
    out.extend(number::<u16>(&f[0], "priority (0-65535)")?.to_be_bytes());
    out.extend(number::<u16>(&f[1], "weight (0-65535)")?.to_be_bytes());
    if !f[2].quoted || f[2].bytes.is_empty() {
        return Err("the URI target is a quoted, non-empty string".into());
    }
    out.extend(&f[2].bytes);
    Ok(out)
}

pub fn write_uri(wire: &[u8]) -> Option<String> {
    let (head, target) = wire.split_at_checked(4)?;
    let priority = u16::from_be_bytes([head[0], head[1]]);
    let weight = u16::from_be_bytes([head[2], head[3]]);
    (!target.is_empty()).then(|| format!("{priority} {weight} {}", quoted(target)))
}

/// TXT's RDATA (for SPF): the text, split every 255 octets into character-strings.
pub fn txt(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let chunks: Vec<&[u8]> = if bytes.is_empty() {
        vec![&[][..]]
    } else {
        bytes.chunks(255).collect()
    };
    Ok(strings_wire(&chunks))
}

/// Character-strings in wire form (each at most 255 octets).
pub fn strings_wire(strings: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for s in strings {
        out.push(s.len() as u8);
        out.extend(*s);
    }
    out
}

/// The character-strings of TXT-format RDATA.
pub fn read_strings(wire: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut rest = wire;
    while let Some((&len, after)) = rest.split_first() {
        let (s, after) = after.split_at_checked(usize::from(len))?;
        out.push(s);
        rest = after;
    }
    (!out.is_empty()).then_some(out)
}

pub fn write_txt(wire: &[u8]) -> Option<String> {
    let strings = read_strings(wire)?;
    Some(
        strings
            .iter()
            .map(|s| quoted(s))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// CERT type mnemonics (RFC 4398 §2.1).
const CERT_TYPES: &[(&str, u16)] = &[
    ("PKIX", 1),
    ("SPKI", 2),
    ("PGP", 3),
    ("IPKIX", 4),
    ("ISPKI", 5),
    ("IPGP", 6),
    ("ACPKIX", 7),
    ("IACPKIX", 8),
    ("URI", 253),
    ("OID", 254),
];

/// DNSSEC algorithm mnemonics (RFC 4034 Appendix A.1 and its successors).
const ALGORITHMS: &[(&str, u8)] = &[
    ("RSAMD5", 1),
    ("DH", 2),
    ("DSA", 3),
    ("RSASHA1", 5),
    ("DSA-NSEC3-SHA1", 6),
    ("RSASHA1-NSEC3-SHA1", 7),
    ("RSASHA256", 8),
    ("RSASHA512", 10),
    ("ECC-GOST", 12),
    ("ECDSAP256SHA256", 13),
    ("ECDSAP384SHA384", 14),
    ("ED25519", 15),
    ("ED448", 16),
    ("INDIRECT", 252),
    ("PRIVATEDNS", 253),
    ("PRIVATEOID", 254),
];

fn mnemonic<T: Copy + std::str::FromStr>(
    field: &Field,
    table: &[(&str, T)],
    what: &str,
) -> Result<T, String> {
    let text = field.raw.to_ascii_uppercase();
    table
        .iter()
        .find(|(m, _)| *m == text)
        .map(|(_, v)| *v)
        .or_else(|| text.parse().ok())
        .ok_or_else(|| format!("`{}` is not a {what}", field.raw))
}

/// CERT: type, key tag, algorithm, and the certificate in base64 (may be split by blanks).
pub fn cert(text: &str) -> Result<Vec<u8>, String> {
    let f = fields(text)?;
    if f.len() < 4 {
        return Err(format!("a CERT value has 4 fields, found {}", f.len()));
    }
    let ctype = mnemonic(
        &f[0],
        CERT_TYPES,
        "certificate type (PKIX, PGP, … or 0-65535)",
    )?;
    let tag: u16 = number(&f[1], "key tag (0-65535)")?;
    let alg = mnemonic(&f[2], ALGORITHMS, "algorithm (RSASHA256, … or 0-255)")?;
    let b64: String = f[3..].iter().map(|f| f.raw.as_str()).collect();
    let data = STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| format!("the certificate is not valid base64: {e}"))?;
    let mut out = Vec::with_capacity(5 + data.len());
    out.extend(ctype.to_be_bytes());
    out.extend(tag.to_be_bytes());
    out.push(alg);
    out.extend(data);
    Ok(out)
}

pub fn write_cert(wire: &[u8]) -> Option<String> {
    let (head, data) = wire.split_at_checked(5)?;
    let ctype = u16::from_be_bytes([head[0], head[1]]);
    let tag = u16::from_be_bytes([head[2], head[3]]);
    if data.is_empty() {
        return None;
    }
    Some(format!(
        "{ctype} {tag} {} {}",
        head[4],
        STANDARD.encode(data)
    ))
}
