//! Reverse zones that follow forward data (OctoDNS's AutoArpa, DMS's auto reverse): a
//! reverse zone written with `auto_ptr: true` gets a PTR RRset for every address of the
//! desired state's A and AAAA records whose reverse name it holds.
//!
//! The rules, pure (no I/O), as an operator of many zones expects them:
//!
//! - **Which addresses.** Every A/AAAA record of every zone of the revision, whatever its
//!   group, except the RRsets written with `ptr: false` and wildcard owners (`*.example.`
//!   names no host; RFC 4592 synthesises it for names that do not exist).
//! - **Which zone.** The address's reverse name (RFC 1035 3.5 `d.c.b.a.in-addr.arpa.`, RFC
//!   3596 2.5 nibbles under `ip6.arpa.`) belongs to the most specific zone of the revision
//!   holding it. Only when that zone says `auto_ptr` is a PTR derived there: a more
//!   specific zone without it is the operator's to fill. Inside the zone, a name at or
//!   below a zone cut (the child's) or below a DNAME gets none.
//! - **Explicit data wins.** A PTR RRset or a CNAME (RFC 2317 classless delegation) the
//!   reverse zone writes at a name is kept as written, and nothing is derived there.
//! - **Several names for one address.** One PTR RRset holding each name (lower case, in
//!   canonical order, each once), at the smallest TTL of their A/AAAA RRsets (an RRset has
//!   one TTL, RFC 2181 5.2). More names than the servers' `max-records-per-type` is a
//!   problem naming the address: write the PTR at that name in the reverse zone (it wins),
//!   or mark the other RRsets `ptr: false`.
//! - **TTL.** The forward RRset's TTL: a PTR changes with the address it follows.
//!
//! A derived RRset is an ordinary RRset of the reverse zone from then on: plan, apply,
//! verification and drift treat it as any other.

mod keys;
mod load;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use hickory_proto::rr::rdata::PTR;
use hickory_proto::rr::{Name, RData, RecordType};

use crate::model::record::{ascii, canonical_key};
use crate::model::{ParsedRrset, Zone};

pub(super) use keys::settings;
pub(super) use load::{AutoSite, changed_zones, derive_checked, load_one};

/// Where a zone sits in the address space: a family (4 or 6), a length (octets or
/// nibbles below `in-addr.arpa.` / `ip6.arpa.`) and the address bits it fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    /// 4 or 6.
    pub family: u8,
    /// How many octets (IPv4) or nibbles (IPv6) the zone's name fixes.
    pub len: u8,
    /// Those octets or nibbles, most significant first, as one number.
    pub bits: u128,
}

impl Prefix {
    /// The prefix of `len` units of `ip`.
    fn of(ip: IpAddr, len: u8) -> Prefix {
        let (family, value, unit, total) = match ip {
            IpAddr::V4(a) => (4, u128::from(u32::from(a)), 8, 32),
            IpAddr::V6(a) => (6, u128::from(a), 4, 128),
        };
        let shift = total - u32::from(len) * unit;
        Prefix {
            family,
            len,
            bits: value.checked_shr(shift).unwrap_or(0),
        }
    }
}

/// Whether `zone` is a reverse zone (at or below `in-addr.arpa.` or `ip6.arpa.`).
pub fn is_reverse(zone: &Name) -> bool {
    reverse_parts(zone).is_some()
}

/// The family and the labels below `in-addr.arpa.` / `ip6.arpa.` of a reverse name, most
/// significant first.
fn reverse_parts(zone: &Name) -> Option<(u8, Vec<String>)> {
    let text = ascii(zone);
    let (family, rest) = if let Some(r) = text.strip_suffix("in-addr.arpa.") {
        (4, r)
    } else {
        (6, text.strip_suffix("ip6.arpa.")?)
    };
    if !(rest.is_empty() || rest.ends_with('.')) {
        return None;
    }
    let labels = rest
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
        .rev()
        .map(str::to_string)
        .collect();
    Some((family, labels))
}

/// The addresses a reverse zone's name covers, or `None` when it is not a reverse zone
/// made of whole octets (decimal, no leading zero) or nibbles (one hex digit): an RFC
/// 2317 classless zone (`0/26.2.0.192.in-addr.arpa.`) holds no address's reverse name.
pub fn prefix_of(zone: &Name) -> Option<Prefix> {
    let (family, labels) = reverse_parts(zone)?;
    let (unit, most) = if family == 4 { (8, 4) } else { (4, 32) };
    if labels.len() > most {
        return None;
    }
    let mut bits: u128 = 0;
    for label in &labels {
        let digit = if family == 4 {
            let canonical = label.len() == 1 || !label.starts_with('0');
            let all_digits = !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit());
            match (canonical && all_digits).then(|| label.parse::<u8>().ok()) {
                Some(Some(d)) => u128::from(d),
                _ => return None,
            }
        } else {
            match label.as_bytes() {
                [b] if b.is_ascii_hexdigit() => u128::from(char::from(*b).to_digit(16)?),
                _ => return None,
            }
        };
        bits = (bits << unit) | digit;
    }
    Some(Prefix {
        family,
        len: labels.len() as u8,
        bits,
    })
}

/// The reverse name of an address: RFC 1035 3.5 for IPv4, RFC 3596 2.5 for IPv6.
pub fn reverse_name(ip: IpAddr) -> Name {
    let mut name = Name::from(ip);
    name.set_fqdn(true);
    name
}

/// One address that asks for a PTR: its A/AAAA owner name and the RRset's TTL.
#[derive(Debug, Clone)]
struct Address {
    ip: IpAddr,
    target: Name,
    ttl: u32,
}

/// The addresses of a zone's A/AAAA records that ask for a PTR: not `ptr: false`, not a
/// wildcard owner.
fn addresses(zone: &Zone) -> Vec<Address> {
    let mut out = Vec::new();
    for set in &zone.rrsets {
        if !matches!(set.rtype, RecordType::A | RecordType::AAAA) {
            continue;
        }
        let owner = set.owner();
        if owner.is_wildcard() {
            continue;
        }
        let opted_out = !zone.ptr.opted_out.is_empty()
            && zone
                .ptr
                .opted_out
                .iter()
                .any(|(o, t)| *t == set.rtype && *o == ascii(&owner));
        if opted_out {
            continue;
        }
        let target = owner.to_lowercase();
        for rdata in set.rdatas() {
            let ip = match rdata {
                RData::A(a) => IpAddr::V4(a.0),
                RData::AAAA(a) => IpAddr::V6(a.0),
                _ => continue,
            };
            out.push(Address {
                ip,
                target: target.clone(),
                ttl: set.ttl,
            });
        }
    }
    out
}

/// What a derivation could not do, for the reverse zone at index `zone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Index of the reverse zone in the slice derived.
    pub zone: usize,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub help: String,
}

/// The zones of the slice by the addresses they cover, and the lengths to try, longest
/// first, per family.
struct Space {
    zones: HashMap<Prefix, usize>,
    lens: [Vec<u8>; 2],
}

impl Space {
    fn new(zones: &[Zone]) -> Space {
        let mut space = Space {
            zones: HashMap::new(),
            lens: [Vec::new(), Vec::new()],
        };
        for (i, z) in zones.iter().enumerate() {
            if let Some(p) = prefix_of(&z.name) {
                space.zones.insert(p, i);
                space.lens[usize::from(p.family == 6)].push(p.len);
            }
        }
        for lens in &mut space.lens {
            lens.sort_unstable_by(|a, b| b.cmp(a));
            lens.dedup();
        }
        space
    }

    /// The most specific zone holding `ip`'s reverse name.
    fn zone_of(&self, ip: IpAddr) -> Option<usize> {
        let lens = &self.lens[usize::from(ip.is_ipv6())];
        lens.iter()
            .find_map(|&len| self.zones.get(&Prefix::of(ip, len)).copied())
    }
}

/// The PTRs one reverse zone gets: by owner name, the smallest TTL and the targets.
type Wanted = HashMap<Name, (u32, Vec<Name>)>;

/// Adds to every `auto_ptr` zone of `zones` (every zone of the revision) the PTR RRsets
/// derived from the A/AAAA records of all of them. `max_records_per_type` is the servers'
/// limit (0: none); an RRset over it is not added but reported.
pub fn derive(zones: &mut [Zone], max_records_per_type: u32) -> Vec<Finding> {
    if !zones.iter().any(|z| z.ptr.auto) {
        return Vec::new();
    }
    let space = Space::new(zones);
    let mut wanted: HashMap<usize, Wanted> = HashMap::new();
    for zone in zones.iter() {
        for a in addresses(zone) {
            let Some(i) = space.zone_of(a.ip).filter(|&i| zones[i].ptr.auto) else {
                continue;
            };
            let entry = wanted
                .entry(i)
                .or_default()
                .entry(reverse_name(a.ip))
                .or_insert((a.ttl, Vec::new()));
            entry.0 = entry.0.min(a.ttl);
            entry.1.push(a.target);
        }
    }
    let mut findings = Vec::new();
    for (i, names) in wanted {
        add_ptrs(&mut zones[i], i, names, max_records_per_type, &mut findings);
    }
    findings.sort_by(|a, b| (a.zone, &a.message).cmp(&(b.zone, &b.message)));
    findings
}

/// The names of a zone that keep what is written, or belong elsewhere: explicit PTR or
/// CNAME owners, zone cuts below the apex, DNAME owners.
struct Written {
    explicit: HashSet<Name>,
    cuts: HashSet<Name>,
    dnames: HashSet<Name>,
}

impl Written {
    fn of(zone: &Zone) -> Written {
        let mut w = Written {
            explicit: HashSet::new(),
            cuts: HashSet::new(),
            dnames: HashSet::new(),
        };
        for set in &zone.rrsets {
            let owner = set.owner();
            match set.rtype {
                RecordType::PTR | RecordType::CNAME => w.explicit.insert(owner),
                RecordType::NS if owner != zone.name => w.cuts.insert(owner),
                RecordType::DNAME => w.dnames.insert(owner),
                _ => false,
            };
        }
        w
    }

    /// Whether nothing may be derived at `name` of zone `apex`.
    fn taken(&self, apex: &Name, name: &Name) -> bool {
        if self.explicit.contains(name) {
            return true;
        }
        if self.cuts.is_empty() && self.dnames.is_empty() {
            return false;
        }
        let mut at = name.clone();
        let mut below = false;
        while at.num_labels() > apex.num_labels() {
            if self.cuts.contains(&at) || (below && self.dnames.contains(&at)) {
                return true;
            }
            at = at.base_name();
            below = true;
        }
        false
    }
}

/// Adds the derived PTR RRsets to one zone (at index `i`), in canonical order.
fn add_ptrs(zone: &mut Zone, i: usize, names: Wanted, max: u32, findings: &mut Vec<Finding>) {
    let written = Written::of(zone);
    let mut added = false;
    for (owner, (ttl, mut targets)) in names {
        if written.taken(&zone.name, &owner) {
            continue;
        }
        targets.sort_by_cached_key(canonical_key);
        targets.dedup();
        if max != 0 && targets.len() > max as usize {
            findings.push(Finding {
                zone: i,
                message: format!(
                    "{} A/AAAA records name the address of {owner}: its derived PTR RRset would hold {} records, and the servers load at most {max} of one type at one name",
                    targets.len(),
                    targets.len()
                ),
                help: format!(
                    "write the PTR RRset at {owner} in this zone (written PTRs win over derived ones), or mark the other A/AAAA RRsets `ptr: false`"
                ),
            });
            continue;
        }
        let rdatas = targets.into_iter().map(|t| RData::PTR(PTR(t))).collect();
        let set = ParsedRrset {
            owner: owner.clone(),
            rtype: RecordType::PTR,
            ttl,
            rdatas,
        };
        match set.into_wire() {
            Ok(set) => {
                zone.rrsets.push(set);
                added = true;
            }
            Err((_, e)) => findings.push(Finding {
                zone: i,
                message: format!("the PTR RRset derived at {owner}: {}", e.message),
                help: e.help,
            }),
        }
    }
    if added {
        zone.rrsets
            .sort_by_cached_key(|s| (canonical_key(&s.owner()), u16::from(s.rtype)));
    }
}
