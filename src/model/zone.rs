//! A zone as desired: its SOA values, its group and its RRsets, and the canonical text
//! that stands for its content everywhere else (store, diffs, hashes, zone files).

use std::collections::BTreeMap;

use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use sha2::{Digest, Sha256};

use super::record::{ascii, presentation};
use super::rrset::Rrset;

/// The SOA values zonekeeper writes; the serial is managed separately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    /// MNAME: the primary's name as published.
    pub mname: Name,
    /// RNAME: the mailbox of the person responsible, as a domain name.
    pub rname: Name,
    /// Refresh interval of the secondaries, in seconds.
    pub refresh: u32,
    /// Retry interval after a failed refresh, in seconds.
    pub retry: u32,
    /// How long secondaries keep serving without reaching the primary, in seconds.
    pub expire: u32,
    /// Negative-caching TTL (RFC 2308), in seconds.
    pub minimum: u32,
    /// TTL of the SOA record itself.
    pub ttl: u32,
}

/// A zone as desired: fully validated, names absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    /// The zone's apex.
    pub name: Name,
    /// The server group that serves it.
    pub group: String,
    /// The SOA values (without serial).
    pub soa: Soa,
    /// Every RRset but the SOA, apex NS included, in canonical order.
    pub rrsets: Vec<Rrset>,
    /// Servers of the parent zone to ask whether the delegation was updated, when the
    /// parent is not managed here (empty: an operator confirms it).
    pub parent_servers: Vec<std::net::SocketAddr>,
    /// RRsets whose change is a planned cut-over, by (lower-case owner, type).
    pub cutovers: Vec<Cutover>,
    /// Reverse-mapping settings: whether its PTRs are derived from forward data, and
    /// which of its A/AAAA RRsets ask for none (`desired::auto_ptr`).
    pub ptr: PtrSettings,
    /// What it was built from: its file's Git blob and the configuration's zone settings,
    /// hashed (`desired::source_id`); the same source builds the same zone. Empty when
    /// it was not read from a commit.
    pub source: String,
}

/// A planned cut-over of one RRset (migration document section 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cutover {
    /// Owner name, lower case.
    pub owner: String,
    /// Record type.
    pub rtype: RecordType,
    /// TTL while the change is under way.
    pub short_ttl: u32,
    /// How long the short TTL stays after the switch.
    pub soak: u32,
}

/// A zone's reverse-mapping settings (`auto_ptr:` on a reverse zone, `ptr: false` on an
/// A/AAAA RRset).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PtrSettings {
    /// `auto_ptr: true`: a reverse zone whose PTRs are derived from the A/AAAA records of
    /// the desired state's zones.
    pub auto: bool,
    /// A/AAAA RRsets written with `ptr: false`, by (lower-case owner, type): no PTR is
    /// derived from them.
    pub opted_out: Vec<(String, RecordType)>,
}

/// An RRset's identity: lower-cased owner and type, as they appear in canonical lines.
pub type RrsetKey = (String, String);

impl Zone {
    /// The SOA record with a given serial.
    pub fn soa_record(&self, serial: u32) -> Record {
        Record::from_rdata(
            self.name.clone(),
            self.soa.ttl,
            RData::SOA(self.soa_rdata(serial)),
        )
    }

    /// The SOA RDATA with a given serial.
    pub fn soa_rdata(&self, serial: u32) -> SOA {
        let s = &self.soa;
        SOA::new(
            s.mname.clone(),
            s.rname.clone(),
            serial,
            s.refresh as i32,
            s.retry as i32,
            s.expire as i32,
            s.minimum,
        )
    }

    /// The zone's content as canonical presentation lines, SOA first, then every RRset in
    /// canonical order. It is also a zone file BIND loads as it is.
    pub fn canonical_text(&self, serial: u32) -> String {
        let soa = self.soa_record(serial);
        let mut out = format!(
            "{} {} IN SOA {}\n",
            ascii(&self.name),
            soa.ttl,
            presentation(&soa.data)
        );
        for set in &self.rrsets {
            for line in set.lines() {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    /// A hash of the content that ignores the serial: equal hashes mean nothing to send.
    pub fn content_hash(&self) -> String {
        content_hash(&self.canonical_text(0))
    }

    /// The RRset with this owner and type, if any.
    pub fn rrset(&self, owner: &Name, rtype: RecordType) -> Option<&Rrset> {
        self.rrsets
            .iter()
            .find(|s| s.rtype == rtype && s.owner() == *owner)
    }
}

/// A canonical text with one RRset's lines replaced (in place; they keep their position)
/// and the SOA serial set to `serial`.
pub fn with_rrset(text: &str, key: &RrsetKey, lines: &[String], serial: u32) -> String {
    let mut out = String::with_capacity(text.len());
    let mut written = false;
    for (i, line) in text.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if i == 0 && f.len() == 11 && f[3] == "SOA" {
            let mut f = f.clone();
            let s = serial.to_string();
            f[6] = &s;
            out.push_str(&f.join(" "));
            out.push('\n');
            continue;
        }
        if f.len() > 3 && f[0] == key.0 && f[3] == key.1 {
            if !written {
                for l in lines {
                    out.push_str(l);
                    out.push('\n');
                }
                written = true;
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The content hash of a canonical text (its serial ignored), as [`Zone::content_hash`]
/// computes it for the desired content.
pub fn text_hash(text: &str) -> String {
    let key = (String::new(), String::new());
    content_hash(&with_rrset(text, &key, &[], 0))
}

/// SHA-256 (hex) of a canonical text.
pub fn content_hash(canonical_text: &str) -> String {
    let digest = Sha256::digest(canonical_text.as_bytes());
    super::hex(&digest)
}

/// A canonical text with its SOA serial set to `serial`: what `canonical_text(serial)`
/// makes, from the text made once for its hash. `None` when the first line is not an SOA
/// of the usual eleven fields.
pub fn with_serial(canonical_text: &str, serial: u32) -> Option<String> {
    let (first, rest) = canonical_text.split_once('\n')?;
    let mut fields: Vec<&str> = first.split(' ').collect();
    if fields.len() != 11 || fields[3] != "SOA" {
        return None;
    }
    let serial = serial.to_string();
    fields[6] = &serial;
    let mut out = String::with_capacity(canonical_text.len() + serial.len());
    out.push_str(&fields.join(" "));
    out.push('\n');
    out.push_str(rest);
    Some(out)
}

/// Groups canonical lines by RRset, leaving out the SOA (whose serial is managed apart).
pub fn lines_by_rrset(canonical_text: &str) -> BTreeMap<RrsetKey, Vec<String>> {
    let mut map: BTreeMap<RrsetKey, Vec<String>> = BTreeMap::new();
    for line in canonical_text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(owner), Some(_ttl), Some(_class), Some(rtype)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if rtype == "SOA" {
            continue;
        }
        map.entry((owner.to_string(), rtype.to_string()))
            .or_default()
            .push(line.to_string());
    }
    map
}

/// The SOA line's fields (mname rname serial refresh retry expire minimum) of a canonical text.
pub fn soa_of(canonical_text: &str) -> Option<(u32, Vec<String>)> {
    let line = canonical_text.lines().next()?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() != 11 || fields[3] != "SOA" {
        return None;
    }
    let ttl = fields[1].parse().ok()?;
    Some((ttl, fields[4..].iter().map(|s| s.to_string()).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::parse_rdata;

    pub(crate) fn zone() -> Zone {
        let origin = Name::from_ascii("example.com.").unwrap();
        let rr = |owner: &str, t: RecordType, ttl: u32, vals: &[&str]| {
            crate::model::ParsedRrset {
                owner: Name::from_ascii(owner).unwrap(),
                rtype: t,
                ttl,
                rdatas: vals
                    .iter()
                    .map(|v| parse_rdata(t, v, &origin).unwrap())
                    .collect(),
            }
            .into_wire()
            .unwrap()
        };
        Zone {
            name: origin.clone(),
            group: "default".into(),
            soa: Soa {
                mname: Name::from_ascii("ns1.example.net.").unwrap(),
                rname: Name::from_ascii("hostmaster.example.net.").unwrap(),
                refresh: 3600,
                retry: 600,
                expire: 1_209_600,
                minimum: 300,
                ttl: 3600,
            },
            rrsets: vec![
                rr(
                    "example.com.",
                    RecordType::NS,
                    3600,
                    &["ns1.example.net.", "ns2.example.net."],
                ),
                rr("www.example.com.", RecordType::A, 300, &["192.0.2.1"]),
            ],
            parent_servers: Vec::new(),
            cutovers: Vec::new(),
            ptr: Default::default(),
            source: String::new(),
        }
    }

    #[test]
    fn canonical_text_starts_with_soa() {
        let text = zone().canonical_text(2026112100);
        assert_eq!(
            text.lines().next().unwrap(),
            "example.com. 3600 IN SOA ns1.example.net. hostmaster.example.net. 2026112100 3600 600 1209600 300"
        );
        assert_eq!(text.lines().count(), 4);
        assert_eq!(soa_of(&text).unwrap().1[2], "2026112100");
    }

    #[test]
    fn hash_ignores_serial_but_not_content() {
        let a = zone();
        let mut b = zone();
        assert_eq!(a.content_hash(), b.content_hash());
        b.rrsets[1].ttl = 60;
        assert_ne!(a.content_hash(), b.content_hash());
        assert_eq!(content_hash(&a.canonical_text(0)), a.content_hash());
    }

    #[test]
    fn a_serial_is_set_in_a_text_made_for_its_hash() {
        let z = zone();
        let set = with_serial(&z.canonical_text(0), 2026112107);
        assert_eq!(set.as_deref(), Some(z.canonical_text(2026112107).as_str()));
        assert_eq!(with_serial("not a zone\n", 1), None);
    }

    #[test]
    fn lines_group_by_rrset_without_soa() {
        let map = lines_by_rrset(&zone().canonical_text(1));
        assert_eq!(map.len(), 2);
        assert_eq!(
            map[&("example.com.".to_string(), "NS".to_string())].len(),
            2
        );
    }
}
