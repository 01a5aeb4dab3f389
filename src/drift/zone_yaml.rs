//! A zone as the primary serves it, written as the repository's zone YAML (pure): what
//! `zonekeeper import --zone ZONE --from-primary` writes. The file states what the group
//! does not: the zone's TTL when most RRsets have another, SOA values other than the
//! group's (the serial never: zonekeeper manages it), the apex NS when it is not the
//! group's (`group_nameservers: false`), and every other RRset, owners relative to the
//! zone (`@` the apex), sorted, types sorted, values sorted. Names in values are written
//! absolute (with their trailing dot), exactly as served.
//!
//! Every type zonekeeper manages is written (types without a form of their own in RFC
//! 3597's generic form, under `TYPEnnn`); a TXT record whose character-strings are not
//! split where zonekeeper splits a text is written as the list of its strings. A record
//! the format cannot state is an error naming it ([`Unexpressible`]), never skipped: the
//! signer's records (RRSIG, NSEC, …) and TXT that is not UTF-8. The caller still builds
//! the written file and compares it with what the primary serves.

use std::collections::BTreeMap;

use crate::model::config::Group;
use crate::model::served::Served;
use crate::model::types::{refused, type_from_name};
use crate::model::zone::{lines_by_rrset, soa_of};

/// A record the zone YAML cannot state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{owner} {rtype}: {why}")]
pub struct Unexpressible {
    /// Owner name.
    pub owner: String,
    /// Record type.
    pub rtype: String,
    /// Why.
    pub why: String,
}

/// An RRset to write: owner, type, TTL, values.
type Set = (String, String, u32, Vec<String>);

/// A YAML double-quoted scalar (JSON's string syntax is YAML's).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// An owner name relative to `zone` (`@` for the apex).
fn relative(owner: &str, zone: &str) -> String {
    if owner == zone {
        return "@".into();
    }
    owner
        .strip_suffix(zone)
        .and_then(|o| o.strip_suffix('.'))
        .map(String::from)
        .unwrap_or_else(|| owner.to_string())
}

/// The character-strings of a TXT record's presentation (`"a" "b\"c"`), as bytes.
fn txt_strings(rdata: &str) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut chars = rdata.bytes().peekable();
    loop {
        while chars.peek() == Some(&b' ') {
            chars.next();
        }
        match chars.next() {
            None => return Some(out),
            Some(b'"') => {}
            Some(_) => return None,
        }
        let mut s = Vec::new();
        loop {
            match chars.next()? {
                b'"' => break,
                b'\\' => {
                    let c = chars.next()?;
                    if c.is_ascii_digit() {
                        let d = [c, chars.next()?, chars.next()?];
                        let n: u16 = std::str::from_utf8(&d).ok()?.parse().ok()?;
                        s.push(u8::try_from(n).ok()?);
                    } else {
                        s.push(c);
                    }
                }
                c => s.push(c),
            }
        }
        out.push(s);
    }
}

/// A TXT (or SPF) record as the zone YAML states it: its text, when its character-strings
/// are split where zonekeeper splits a text (every 255 bytes), else the list of its
/// strings; either way as YAML.
fn txt_value(rdata: &str) -> Result<String, String> {
    let strings = txt_strings(rdata).ok_or("its value is not quoted character-strings")?;
    let n = strings.len();
    let split_as_written = strings.iter().enumerate().all(|(i, s)| {
        if i + 1 < n {
            s.len() == 255
        } else {
            s.len() <= 255
        }
    }) && !(n > 1 && strings[n - 1].is_empty());
    let texts = strings
        .into_iter()
        .map(String::from_utf8)
        .collect::<Result<Vec<String>, _>>()
        .map_err(|_| "its text is not UTF-8, which a YAML value must be".to_string())?;
    if split_as_written {
        return Ok(q(&texts.concat()));
    }
    Ok(format!(
        "[{}]",
        texts.iter().map(|t| q(t)).collect::<Vec<_>>().join(", ")
    ))
}

/// RDATA with the name at field `at` (0-based) written relative to `zone` when it is
/// inside it, as an operator writes it (`mail`, `@`); names elsewhere stay absolute.
fn relative_name_field(rdata: &str, at: usize, zone: &str) -> String {
    let mut fields: Vec<&str> = rdata.split(' ').collect();
    let rel;
    if let Some(f) = fields.get_mut(at) {
        rel = relative(f, zone);
        *f = &rel;
    }
    fields.join(" ")
}

/// One line's TTL and value, as YAML.
fn value(line: &str, rtype: &str, zone: &str) -> Result<(u32, String), String> {
    let mut f = line.splitn(5, ' ');
    let (_, ttl, _, _, rdata) = (f.next(), f.next(), f.next(), f.next(), f.next());
    let ttl: u32 = ttl
        .and_then(|t| t.parse().ok())
        .ok_or("its TTL is unreadable")?;
    let rdata = rdata.unwrap_or("");
    let v = match rtype {
        "TXT" | "SPF" => txt_value(rdata)?,
        "CNAME" | "DNAME" | "NS" | "PTR" => q(&relative_name_field(rdata, 0, zone)),
        "MX" => q(&relative_name_field(rdata, 1, zone)),
        "SRV" => q(&relative_name_field(rdata, 3, zone)),
        _ => q(rdata),
    };
    Ok((ttl, v))
}

/// The most common TTL of the RRsets, the group's on a tie.
fn zone_ttl(ttls: &[u32], group_ttl: u32) -> u32 {
    let mut count: BTreeMap<u32, usize> = BTreeMap::new();
    for t in ttls {
        *count.entry(*t).or_default() += 1;
    }
    let top = count.values().copied().max().unwrap_or(0);
    if count.get(&group_ttl) == Some(&top) || top == 0 {
        return group_ttl;
    }
    count
        .into_iter()
        .find(|(_, n)| *n == top)
        .map_or(group_ttl, |(t, _)| t)
}

/// The SOA values that differ from the group's, as `key: value` pairs.
fn soa_overrides(text: &str, group: &Group, zone_ttl: u32) -> Vec<String> {
    let Some((ttl, f)) = soa_of(text) else {
        return Vec::new();
    };
    let g = &group.soa;
    let mut out = Vec::new();
    let field = |i: usize| f.get(i).cloned().unwrap_or_default();
    if field(0) != g.mname.to_ascii().to_ascii_lowercase() {
        out.push(format!("mname: {}", q(&field(0))));
    }
    if field(1) != g.rname.to_ascii().to_ascii_lowercase() {
        out.push(format!("rname: {}", q(&field(1))));
    }
    for (i, key, default) in [
        (3, "refresh", g.refresh),
        (4, "retry", g.retry),
        (5, "expire", g.expire),
        (6, "minimum", g.minimum),
    ] {
        if field(i) != default.to_string() {
            out.push(format!("{key}: {}", field(i)));
        }
    }
    if ttl != g.ttl.unwrap_or(zone_ttl) {
        out.push(format!("ttl: {ttl}"));
    }
    out
}

/// `served` (zone `zone`, lower case with its trailing dot) as the zone YAML of a zone in
/// `group`; every record the format cannot state, when there is one.
pub fn write(zone: &str, served: &Served, group: &Group) -> Result<String, Vec<Unexpressible>> {
    let mut bad = Vec::new();
    // (owner, type) → (ttl, values)
    let mut sets: Vec<Set> = Vec::new();
    for ((owner, rtype), lines) in lines_by_rrset(&served.text) {
        let refused = match type_from_name(&rtype) {
            None => Some("its type has no name zonekeeper reads"),
            Some(t) => refused(t),
        };
        if let Some(why) = refused {
            bad.push(Unexpressible {
                owner,
                rtype: rtype.clone(),
                why: why.to_string(),
            });
            continue;
        }
        let mut ttl = 0;
        let mut values = Vec::new();
        for l in &lines {
            match value(l, &rtype, zone) {
                Ok((t, v)) => {
                    ttl = t;
                    values.push(v);
                }
                Err(why) => bad.push(Unexpressible {
                    owner: owner.clone(),
                    rtype: rtype.clone(),
                    why: format!("`{l}`: {why}"),
                }),
            }
        }
        values.sort();
        sets.push((owner, rtype, ttl, values));
    }
    if !bad.is_empty() {
        return Err(bad);
    }
    let ttls: Vec<u32> = sets.iter().map(|s| s.2).collect();
    let ttl = zone_ttl(&ttls, group.ttl);
    // the apex NS comes from the group when it is the group's, at the zone's TTL
    let mut group_ns: Vec<String> = group
        .nameservers
        .iter()
        .map(|n| q(&n.to_ascii().to_ascii_lowercase()))
        .collect();
    group_ns.sort();
    let apex_ns = sets.iter().position(|(o, t, _, _)| o == zone && t == "NS");
    let from_group = apex_ns.is_some_and(|i| sets[i].2 == ttl && sets[i].3 == group_ns);
    if from_group && let Some(i) = apex_ns {
        sets.remove(i);
    }
    let mut out = format!(
        "# Imported from the primary (serial {}) by `zonekeeper import --from-primary`: review, then commit.\n",
        served
            .serial
            .map(|s| s.to_string())
            .unwrap_or("none".into())
    );
    out.push_str(&format!("group: {}\n", q(&group.name)));
    if ttl != group.ttl {
        out.push_str(&format!("ttl: {ttl}\n"));
    }
    let soa = soa_overrides(&served.text, group, ttl);
    if !soa.is_empty() {
        out.push_str(&format!("soa: {{ {} }}\n", soa.join(", ")));
    }
    if !from_group {
        out.push_str("group_nameservers: false\n");
    }
    // a zone of the SOA and the group's NS alone has no records to list
    out.push_str(if sets.is_empty() {
        "records: {}\n"
    } else {
        "records:\n"
    });
    let mut by_owner: BTreeMap<(bool, String), Vec<&Set>> = BTreeMap::new();
    for s in &sets {
        let rel = relative(&s.0, zone);
        by_owner.entry((rel != "@", rel)).or_default().push(s);
    }
    for ((_, owner), sets) in by_owner {
        out.push_str(&format!("  {}:\n", q(&owner)));
        for (_, rtype, t, values) in sets {
            let list = values.join(", ");
            let line = match (values.len(), *t == ttl) {
                // one record given as its strings is a list inside the list
                (1, true) if values[0].starts_with('[') => format!("[{}]", values[0]),
                (1, true) => values[0].clone(),
                (_, true) => format!("[{list}]"),
                (_, false) => format!("{{ ttl: {t}, values: [{list}] }}"),
            };
            out.push_str(&format!("    {rtype}: {line}\n"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::Name;

    fn group() -> Group {
        Group {
            name: "default".into(),
            catalog: Name::from_ascii("catalog.test.").unwrap(),
            secondaries: vec!["ns1".into()],
            nameservers: vec![Name::from_ascii("ns1.example.net.").unwrap()],
            ttl: 300,
            quorum: 1,
            soa: crate::model::config::SoaDefaults {
                mname: Name::from_ascii("ns0.example.net.").unwrap(),
                rname: Name::from_ascii("hostmaster.example.net.").unwrap(),
                refresh: 3600,
                retry: 60,
                expire: 1_209_600,
                minimum: 60,
                ttl: None,
            },
        }
    }

    fn served(lines: &[&str]) -> Served {
        let mut all = vec![
            "a.test. 300 IN SOA ns0.example.net. hostmaster.example.net. 7 3600 60 1209600 60"
                .to_string(),
        ];
        all.extend(lines.iter().map(|l| l.to_string()));
        all.sort();
        Served::of(all)
    }

    #[test]
    fn the_group_s_values_are_left_out_and_the_rest_written_sorted() {
        let s = served(&[
            "a.test. 300 IN NS ns1.example.net.",
            "www.a.test. 300 IN A 192.0.2.2",
            "www.a.test. 300 IN A 192.0.2.1",
            "a.test. 300 IN MX 10 mail.a.test.",
            "mail.a.test. 60 IN A 192.0.2.25",
            "a.test. 300 IN TXT \"say \\\"hi\\\"\"",
        ]);
        let y = write("a.test.", &s, &group()).unwrap();
        let body: Vec<&str> = y.lines().skip(1).collect();
        assert_eq!(
            body,
            [
                "group: \"default\"",
                "records:",
                "  \"@\":",
                "    MX: \"10 mail\"",
                "    TXT: \"say \\\"hi\\\"\"",
                "  \"mail\":",
                "    A: { ttl: 60, values: [\"192.0.2.25\"] }",
                "  \"www\":",
                "    A: [\"192.0.2.1\", \"192.0.2.2\"]",
            ]
        );
    }

    #[test]
    fn other_soa_values_and_apex_ns_are_stated() {
        let mut s = served(&["a.test. 300 IN NS ns9.example.org."]);
        s.text = s.text.replace(" 3600 60 ", " 7200 60 ");
        let y = write("a.test.", &s, &group()).unwrap();
        assert!(y.contains("soa: { refresh: 7200 }\n"), "{y}");
        assert!(y.contains("group_nameservers: false\n"), "{y}");
        assert!(y.contains("    NS: \"ns9.example.org.\"\n"), "{y}");
    }

    #[test]
    fn what_the_format_cannot_state_is_named_not_skipped() {
        let s = served(&[
            "a.test. 300 IN NS ns1.example.net.",
            "a.test. 300 IN RRSIG SOA 8 2 300 20270101000000 20260101000000 1 a.test. AAAA",
            "t.a.test. 300 IN TXT \"\\255\"",
        ]);
        let bad = write("a.test.", &s, &group()).unwrap_err();
        let named: Vec<(&str, &str)> = bad
            .iter()
            .map(|b| (b.owner.as_str(), b.rtype.as_str()))
            .collect();
        assert_eq!(named, [("a.test.", "RRSIG"), ("t.a.test.", "TXT")]);
    }

    #[test]
    fn every_other_type_is_written_and_txt_keeps_its_strings() {
        let s = served(&[
            "a.test. 300 IN NS ns1.example.net.",
            "a.test. 300 IN SSHFP 1 1 0123456789abcdef",
            "a.test. 300 IN TYPE65534 \\# 1 0a",
            "t.a.test. 300 IN TXT \"a\" \"b\"",
            "s.a.test. 300 IN SPF \"v=spf1 -all\"",
        ]);
        let y = write("a.test.", &s, &group()).unwrap();
        assert!(y.contains("    SSHFP: \"1 1 0123456789abcdef\"\n"), "{y}");
        assert!(y.contains("    TYPE65534: \"\\\\# 1 0a\"\n"), "{y}");
        assert!(y.contains("    TXT: [[\"a\", \"b\"]]\n"), "{y}");
        assert!(y.contains("    SPF: \"v=spf1 -all\"\n"), "{y}");
    }

    #[test]
    fn a_long_txt_split_every_255_bytes_is_one_text() {
        let long = "x".repeat(300);
        let rdata = format!("\"{}\" \"{}\"", &long[..255], &long[255..]);
        assert_eq!(txt_value(&rdata), Ok(q(&long)));
        assert_eq!(txt_value("\"\\195\\169\""), Ok(q("é")));
        assert!(txt_value("\"\\255\"").is_err());
    }
}
