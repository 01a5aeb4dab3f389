//! One zone as a simulated server holds it: canonical presentation lines (the format the
//! executor writes zone files in and reads transfers as), and RFC 2136 UPDATE semantics on
//! them the way BIND applies them: prerequisites first (a failed one is NXRRSET and
//! nothing changes), then deletions and additions in order, atomically; the apex SOA and
//! NS RRsets are never deleted whole; an SOA added with a greater serial sets the serial
//! as sent, and any other change that leaves the serial alone increments it.
//!
//! What the fleet reads at every event (the serial, NS records, a catalog's members and
//! `primaries.ext`) is derived from the lines once per change and kept with them, so the
//! lines change only through methods that keep the two in step.

use std::collections::BTreeSet;
use std::net::IpAddr;

use hickory_proto::rr::{DNSClass, RData, Record, RecordType};
use zonekeeper::backend::update::Update;
use zonekeeper::model::serial::serial_gt;
use zonekeeper::model::{ascii, presentation};

/// A zone's content: its SOA line and every other line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneData {
    /// The zone's name, lower case, with the final dot.
    pub origin: String,
    /// `origin TTL IN SOA ...`.
    pub soa: String,
    /// Every other record, one canonical line each.
    lines: BTreeSet<String>,
    /// What is derived from `soa` and `lines`, kept in step with them.
    index: Index,
}

/// What the fleet reads of a zone at every event, derived from its lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Index {
    serial: u32,
    ns: Vec<(String, String, u32)>,
    members: Vec<String>,
    ext_primaries: Vec<IpAddr>,
}

/// What an UPDATE did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied; whether the content changed.
    Applied(bool),
    /// A prerequisite failed: nothing changed.
    NxRrset,
}

/// The fields of a canonical line: owner, TTL, type, data.
pub fn fields(line: &str) -> Option<(&str, u32, &str, String)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 5 || f[2] != "IN" {
        return None;
    }
    Some((f[0], f[1].parse().ok()?, f[3], f[4..].join(" ")))
}

fn in_zone(owner: &str, origin: &str) -> bool {
    owner == origin || owner.ends_with(&format!(".{origin}"))
}

impl ZoneData {
    /// Parses a zone file of canonical lines, as BIND would load it: exactly one SOA, at
    /// the apex; every owner inside the zone; every line readable. `None`: refused.
    pub fn parse(origin: &str, text: &str) -> Option<ZoneData> {
        let mut soa = None;
        let mut lines = BTreeSet::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (owner, _, rtype, _) = fields(line)?;
            if !in_zone(owner, origin) {
                return None;
            }
            if rtype == "SOA" {
                if owner != origin || soa.replace(line.to_string()).is_some() {
                    return None;
                }
            } else {
                lines.insert(line.to_string());
            }
        }
        let mut d = ZoneData {
            origin: origin.to_string(),
            soa: soa?,
            lines,
            index: Index::default(),
        };
        d.reindex();
        Some(d)
    }

    /// Derives the index from the SOA and the lines: after every change of either.
    fn reindex(&mut self) {
        let serial = self
            .soa
            .split_whitespace()
            .nth(6)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let parsed: Vec<(&str, u32, &str, String)> =
            self.lines.iter().filter_map(|l| fields(l)).collect();
        let ns = parsed
            .iter()
            .filter(|(_, _, t, _)| *t == "NS")
            .map(|(o, ttl, _, d)| (o.to_string(), d.clone(), *ttl))
            .collect();
        let suffix = format!(".zones.{}", self.origin);
        let mut members: Vec<String> = parsed
            .iter()
            .filter(|(o, _, t, _)| *t == "PTR" && o.ends_with(&suffix))
            .map(|(_, _, _, d)| d.clone())
            .collect();
        members.sort();
        let mut ext_primaries = Vec::new();
        for i in 1..=zonekeeper::backend::catalog::MAX_PRIMARIES {
            let owner = format!("p{i}.primaries.ext.{}", self.origin);
            for (o, _, t, d) in &parsed {
                if *o == owner
                    && matches!(*t, "A" | "AAAA")
                    && let Ok(ip) = d.parse()
                {
                    ext_primaries.push(ip);
                }
            }
        }
        self.index = Index {
            serial,
            ns,
            members,
            ext_primaries,
        };
    }

    /// The SOA serial.
    pub fn serial(&self) -> u32 {
        self.index.serial
    }

    /// Replaces the NS RRset at `owner` (a delegation, or the apex) with `ns` at `ttl`.
    pub fn set_ns(&mut self, owner: &str, ns: &[String], ttl: u32) {
        self.lines
            .retain(|l| !matches!(fields(l), Some((o, _, "NS", _)) if o == owner));
        for n in ns {
            self.lines.insert(format!("{owner} {ttl} IN NS {n}"));
        }
        self.reindex();
    }

    /// The zone as a transfer gives it: every line, sorted, the SOA once.
    pub fn axfr(&self) -> Vec<String> {
        let mut out: Vec<String> = self.lines.iter().cloned().collect();
        out.push(self.soa.clone());
        out.sort();
        out
    }

    /// Its content without the serial: what a change changes.
    pub fn content_key(&self) -> String {
        let mut soa: Vec<&str> = self.soa.split_whitespace().collect();
        if soa.len() > 6 {
            soa[6] = "-";
        }
        let mut out = soa.join(" ");
        for l in &self.lines {
            out.push('\n');
            out.push_str(l);
        }
        out
    }

    /// Every NS record: (owner, target, TTL).
    pub fn ns_records(&self) -> &[(String, String, u32)] {
        &self.index.ns
    }

    /// The NS targets at `owner` with their longest TTL.
    pub fn ns_at(&self, owner: &str) -> Option<(Vec<String>, u32)> {
        let recs: Vec<(String, String, u32)> = self
            .ns_records()
            .iter()
            .filter(|(o, _, _)| o == owner)
            .cloned()
            .collect();
        if recs.is_empty() {
            return None;
        }
        let ttl = recs.iter().map(|r| r.2).max().unwrap_or(0);
        let mut names: Vec<String> = recs.into_iter().map(|r| r.1).collect();
        names.sort();
        names.dedup();
        Some((names, ttl))
    }

    /// A catalog zone's members (RFC 9432 PTRs under `zones.`), sorted.
    pub fn members(&self) -> &[String] {
        &self.index.members
    }

    /// A catalog zone's `primaries.ext` addresses, in label order (p1, p2, ...).
    pub fn ext_primaries(&self) -> &[IpAddr] {
        &self.index.ext_primaries
    }

    fn rrset(&self, owner: &str, rtype: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .lines
            .iter()
            .filter_map(|l| fields(l))
            .filter(|(o, _, t, _)| *o == owner && *t == rtype)
            .map(|(_, _, _, d)| d)
            .collect();
        out.sort();
        out
    }

    fn holds_prerequisites(&self, update: &Update) -> bool {
        for p in &update.prerequisites {
            let owner = ascii(&p.name);
            let rtype = p.record_type().to_string();
            let want: Vec<String> = update
                .prerequisites
                .iter()
                .filter(|q| ascii(&q.name) == owner && q.record_type().to_string() == rtype)
                .map(|q| presentation(&q.data))
                .collect();
            let have = if rtype == "SOA" {
                if owner != self.origin {
                    return false;
                }
                fields(&self.soa).map(|f| vec![f.3]).unwrap_or_default()
            } else {
                self.rrset(&owner, &rtype)
            };
            let mut want = want;
            want.sort();
            if want != have {
                return false;
            }
        }
        true
    }

    /// Applies an UPDATE (see the module doc).
    pub fn update(&mut self, update: &Update) -> Outcome {
        if !self.holds_prerequisites(update) {
            return Outcome::NxRrset;
        }
        let before = self.clone();
        let mut serial_set = false;
        for r in &update.changes {
            serial_set |= self.change(r);
        }
        self.reindex();
        let changed = before.content_key() != self.content_key();
        if changed && !serial_set {
            let next = self.serial().wrapping_add(1);
            self.set_serial(next);
        }
        Outcome::Applied(changed || before.serial() != self.serial())
    }

    fn set_serial(&mut self, serial: u32) {
        let mut f: Vec<String> = self.soa.split_whitespace().map(String::from).collect();
        if f.len() > 6 {
            f[6] = serial.to_string();
        }
        self.soa = f.join(" ");
        self.reindex();
    }

    /// One change of an UPDATE; whether it set the serial.
    fn change(&mut self, r: &Record) -> bool {
        let owner = ascii(&r.name);
        let rtype = r.record_type();
        let tname = rtype.to_string();
        let apex = owner == self.origin;
        match r.dns_class {
            DNSClass::ANY => {
                let keep = |t: &str| apex && (t == "SOA" || t == "NS");
                self.lines.retain(|l| match fields(l) {
                    Some((o, _, t, _)) => {
                        o != owner || keep(t) || (rtype != RecordType::ANY && t != tname)
                    }
                    None => true,
                });
                false
            }
            DNSClass::NONE => {
                let data = presentation(&r.data);
                if tname == "SOA" || (apex && tname == "NS" && self.rrset(&owner, "NS").len() <= 1)
                {
                    return false;
                }
                self.lines.retain(|l| match fields(l) {
                    Some((o, _, t, d)) => !(o == owner && t == tname && d == data),
                    None => true,
                });
                false
            }
            _ => {
                let data = presentation(&r.data);
                if let RData::SOA(soa) = &r.data {
                    if apex && serial_gt(soa.serial, self.serial()) {
                        self.soa = format!("{owner} {} IN SOA {data}", r.ttl);
                        return true;
                    }
                    return false;
                }
                // BIND gives the whole RRset the TTL of the record added.
                let same: Vec<String> = self
                    .lines
                    .iter()
                    .filter(|l| matches!(fields(l), Some((o, _, t, _)) if o == owner && t == tname))
                    .cloned()
                    .collect();
                for l in same {
                    self.lines.remove(&l);
                    if let Some((o, _, t, d)) = fields(&l)
                        && d != data
                    {
                        self.lines.insert(format!("{o} {} IN {t} {d}", r.ttl));
                    }
                }
                self.lines
                    .insert(format!("{owner} {} IN {tname} {data}", r.ttl));
                false
            }
        }
    }
}
