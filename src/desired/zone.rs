//! Turns a zone file into a [`Zone`], checking DNS rules on the way: owner names and
//! values, duplicates, the apex NS, host names (BIND's `check-names`), and the rules
//! between RRsets in [`super::zone_rules`] (CNAME exclusivity, in-zone targets, zone cuts,
//! DNAME, the servers' `max-records-per-type`). Every rule reports on the span of the
//! offending value.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::yaml::At;
use hickory_proto::rr::{Name, RData, RecordType};

use super::problem::{Place, Problem, SourceFile};
use super::validate::{Checker, at, rname, soa_field};
use super::yaml::{RrsetYaml, ZoneFile};
use super::zone_rules;
use crate::model::config::{Group, SoaDefaults};
use crate::model::record::{
    MAX_TTL, ascii, canonical_key, example, parse_name, parse_rdata, presentation,
};
use crate::model::record::{ValueError, txt_strings};
use crate::model::types::{SPF, type_name};
use crate::model::zone::Cutover;
use crate::model::{Config, ParsedRrset, Rrset, Soa, Zone};

/// An RRset being built, with the places it came from.
pub(super) struct Built {
    /// The RRset.
    pub(super) set: ParsedRrset,
    /// Where its type is written (for an apex NS from the group: the zone's `group:`).
    pub(super) type_place: Place,
    /// Where each of its values is written, in the order of `set.rdatas`.
    pub(super) value_places: Vec<Place>,
}

/// Builds one zone (whose name, from the file name, is `origin`) from its file, checking
/// DNS rules.
pub fn build_zone(
    file: &SourceFile,
    origin: Name,
    y: &ZoneFile,
    config: &Config,
    problems: &mut Vec<Problem>,
) -> Option<Zone> {
    let before = problems.len();
    let mut c = Checker { file, problems };
    let group = config.groups.get(&y.group.value);
    if group.is_none() {
        let known: Vec<&str> = config.groups.keys().map(String::as_str).collect();
        c.report(
            "zone::unknown-group",
            at(&y.group),
            format!("unknown group `{}`", y.group.value),
            format!(
                "use a group defined in zonekeeper.yaml: {}",
                known.join(", ")
            ),
        );
    }
    let default_ttl = y
        .ttl
        .as_ref()
        .map(|t| c.ttl(t))
        .or(group.map(|g| g.ttl))
        .unwrap_or(3600);
    let soa = zone_soa(&mut c, y, group.map(|g| &g.soa), default_ttl);
    let parent_servers = parent_servers(&mut c, y);
    let (mut built, cutovers) = build_records(&mut c, y, &origin, default_ttl);
    apex_ns(&mut c, y, &origin, group, default_ttl, &mut built);
    zone_rules::check_limits(&mut c, &origin, &built, config.max_records_per_type);
    zone_rules::check_rules(&mut c, &origin, &built);
    if config.check_names {
        check_hostnames(&mut c, &origin, &built);
    }

    if c.problems.len() > before {
        return None;
    }
    // in canonical order, then kept in wire form for the whole run: each name and record
    // is written and read back here
    built.sort_by_cached_key(|b| (canonical_key(&b.set.owner), u16::from(b.set.rtype)));
    let mut rrsets: Vec<Rrset> = Vec::with_capacity(built.len());
    for b in built {
        match b.set.into_wire() {
            Ok(set) => rrsets.push(set),
            Err((i, e)) => {
                let place = b.value_places.get(i).copied().unwrap_or(b.type_place);
                c.report("record::value", place, e.message, e.help)
            }
        }
    }
    if c.problems.len() > before {
        return None;
    }
    Some(Zone {
        name: origin,
        group: y.group.value.clone(),
        soa,
        rrsets,
        parent_servers,
        cutovers,
        source: String::new(),
    })
}

/// SOA: the group's values, with the zone's overrides.
fn zone_soa(
    c: &mut Checker<'_>,
    y: &ZoneFile,
    gsoa: Option<&SoaDefaults>,
    default_ttl: u32,
) -> Soa {
    let num = |c: &mut Checker<'_>, v: &Option<At<u64>>, d: u32| {
        v.as_ref().map(|t| c.ttl(t)).unwrap_or(d)
    };
    let soa = Soa {
        mname: match &y.soa.mname {
            Some(m) => c.absolute_name(m, "SOA mname").unwrap_or_else(Name::root),
            None => gsoa.map(|s| s.mname.clone()).unwrap_or_else(Name::root),
        },
        rname: match &y.soa.rname {
            Some(r) => c
                .absolute_name(
                    &At {
                        value: rname(&r.value),
                        place: r.place,
                    },
                    "SOA rname",
                )
                .unwrap_or_else(Name::root),
            None => gsoa.map(|s| s.rname.clone()).unwrap_or_else(Name::root),
        },
        refresh: num(c, &y.soa.refresh, gsoa.map_or(3600, |s| s.refresh)),
        retry: num(c, &y.soa.retry, gsoa.map_or(600, |s| s.retry)),
        expire: num(c, &y.soa.expire, gsoa.map_or(1_209_600, |s| s.expire)),
        minimum: num(c, &y.soa.minimum, gsoa.map_or(300, |s| s.minimum)),
        ttl: y
            .soa
            .ttl
            .as_ref()
            .map(|t| c.ttl(t))
            .or(gsoa.and_then(|s| s.ttl))
            .unwrap_or(default_ttl),
    };
    let overrides = [&y.soa.refresh, &y.soa.retry, &y.soa.expire, &y.soa.minimum];
    if overrides.iter().any(|o| o.is_some()) {
        let first = overrides
            .iter()
            .find_map(|o| o.as_ref().map(at))
            .unwrap_or(Place::start());
        c.soa_timers(&soa, &|field| {
            soa_field(&y.soa, field).map(at).unwrap_or(first)
        });
    }
    soa
}

/// Where to ask whether the parent delegates as desired.
fn parent_servers(c: &mut Checker<'_>, y: &ZoneFile) -> Vec<SocketAddr> {
    let mut parent_servers = Vec::new();
    for s in y.delegation.iter().flat_map(|d| &d.parent_servers) {
        let text = s.value.trim();
        match text.parse::<std::net::SocketAddr>().or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53))) {
            Ok(a) => parent_servers.push(a),
            Err(_) => c.report("value::address", at(s), format!("`{text}` is not an address"), "write an IP address, optionally with a port: 192.0.2.1, 192.0.2.1:5353, [2001:db8::1]:53"),
        }
    }
    parent_servers
}

/// The RRsets written in the file, and the planned cut-overs among them.
fn build_records(
    c: &mut Checker<'_>,
    y: &ZoneFile,
    origin: &Name,
    default_ttl: u32,
) -> (Vec<Built>, Vec<Cutover>) {
    let mut cutovers = Vec::new();
    let mut built: Vec<Built> = Vec::new();
    // hickory's names hash and compare without regard to case
    let mut owners: HashMap<Name, Place> = HashMap::with_capacity(y.records.len());
    for (owner_y, types) in &y.records {
        let owner = match parse_name(&owner_y.value, origin) {
            Ok(n) => n,
            Err(e) => {
                c.report("record::owner", at(owner_y), e.message, e.help);
                continue;
            }
        };
        if !origin.zone_of(&owner) {
            c.report("record::outside-zone", at(owner_y), format!("owner name {owner} is not inside zone {origin}"), format!("write names relative to the zone (e.g. `www`), or absolute names ending in .{origin}"));
            continue;
        }
        if let Some(first) = owners.insert(owner.clone(), at(owner_y)) {
            c.problems.push(
                Problem::new(
                    "record::duplicate-owner",
                    c.file,
                    at(owner_y),
                    format!("owner name {owner} is written twice"),
                )
                .also(first, "first written here")
                .help("merge the two entries under one owner name"),
            );
            continue;
        }
        for (type_y, rrset_y) in types {
            if let Some(b) = build_rrset(
                c,
                &owner,
                origin,
                type_y,
                rrset_y,
                default_ttl,
                &mut cutovers,
            ) {
                built.push(b);
            }
        }
    }
    (built, cutovers)
}

/// One RRset as written under an owner name.
fn build_rrset(
    c: &mut Checker<'_>,
    owner: &Name,
    origin: &Name,
    type_y: &At<String>,
    rrset_y: &At<RrsetYaml>,
    default_ttl: u32,
    cutovers: &mut Vec<Cutover>,
) -> Option<Built> {
    let Some(rtype) = crate::model::types::type_from_name(&type_y.value) else {
        c.report(
            "record::type",
            at(type_y),
            format!("unknown record type `{}`", type_y.value),
            format!(
                "supported types: {}",
                crate::model::record::supported_list()
            ),
        );
        return None;
    };
    if let Some(why) = crate::model::types::refused(rtype) {
        c.report(
            "record::type",
            at(type_y),
            format!("record type {} is not managed here", type_name(rtype)),
            why,
        );
        return None;
    }
    let tname = type_name(rtype);
    let rr = &rrset_y.value;
    let ttl = rr.ttl.as_ref().map(|t| c.ttl(t)).unwrap_or(default_ttl);
    let mut values: Vec<(Value<'_>, Place)> = rr
        .values
        .iter()
        .map(|v| (Value::Text(&v.value), at(v)))
        .collect();
    if let Some(s) = &rr.scalar {
        values.push((Value::Text(s), at(rrset_y)));
    }
    values.extend(rr.strings.iter().map(|v| (Value::Strings(&v.value), at(v))));
    if values.is_empty() {
        c.report(
            "record::empty",
            at(type_y),
            format!("{tname} RRset at {owner} has no values"),
            format!("write at least one value, e.g. {}", example(rtype)),
        );
        return None;
    }
    if let Some(cut) = &rr.cutover {
        if matches!(
            rtype,
            RecordType::A
                | RecordType::AAAA
                | RecordType::CNAME
                | RecordType::MX
                | RecordType::PTR
                | RecordType::SRV
        ) {
            cutovers.push(Cutover {
                owner: ascii(owner),
                rtype,
                short_ttl: cut.value.short_ttl.unwrap_or(300).min(MAX_TTL) as u32,
                soak: cut.value.soak.unwrap_or(3600).min(MAX_TTL) as u32,
            });
        } else {
            c.report(
                "record::cutover",
                at(cut),
                format!("a planned cut-over of a {tname} RRset is not supported"),
                "cut-overs apply to A, AAAA, CNAME, MX, PTR and SRV: the records a service moves with",
            );
        }
    }
    // Sized for its values: most RRsets hold one record, and a zone is kept for the whole
    // run (a vector grown by push would hold room for four).
    let mut set = ParsedRrset {
        owner: owner.clone(),
        rtype,
        ttl,
        rdatas: Vec::with_capacity(values.len()),
    };
    let mut value_places = Vec::with_capacity(values.len());
    // a lone value cannot be a duplicate: most RRsets are spared the map
    let mut seen: HashMap<String, Place> = HashMap::new();
    let several = values.len() > 1;
    for (value, place) in values {
        match value.parse(rtype, origin) {
            Ok(rdata) => {
                let first = several
                    .then(|| seen.insert(presentation(&rdata), place))
                    .flatten();
                if let Some(first) = first {
                    c.problems.push(
                        Problem::new(
                            "record::duplicate",
                            c.file,
                            place,
                            format!("duplicate {tname} record at {owner}"),
                        )
                        .also(first, "same record here")
                        .help("remove one of them"),
                    );
                    continue;
                }
                set.rdatas.push(rdata);
                value_places.push(place);
            }
            Err(e) => c.report("record::value", place, e.message, e.help),
        }
    }
    Some(Built {
        set,
        type_place: at(type_y),
        value_places,
    })
}

/// One value as written: its text, or a list of character-strings (TXT, SPF).
enum Value<'a> {
    Text(&'a str),
    Strings(&'a [String]),
}

impl Value<'_> {
    fn parse(&self, rtype: RecordType, origin: &Name) -> Result<RData, ValueError> {
        match self {
            Value::Text(text) => parse_rdata(rtype, text, origin),
            Value::Strings(list) if rtype == RecordType::TXT || rtype == SPF => {
                let strings: Vec<Vec<u8>> = list.iter().map(|s| s.as_bytes().to_vec()).collect();
                txt_strings(rtype, &strings)
            }
            Value::Strings(_) => Err(ValueError {
                message: format!(
                    "a list of strings is the value of a TXT or SPF record, not of {}",
                    type_name(rtype)
                ),
                help: format!("write the value as one text: {}", example(rtype)),
            }),
        }
    }
}

/// Apex NS from the group, unless the zone manages its own.
fn apex_ns(
    c: &mut Checker<'_>,
    y: &ZoneFile,
    origin: &Name,
    group: Option<&Group>,
    default_ttl: u32,
    built: &mut Vec<Built>,
) {
    let from_group = y
        .group_nameservers
        .as_ref()
        .map(|b| b.value)
        .unwrap_or(true);
    let apex_ns = built
        .iter()
        .position(|b| &b.set.owner == origin && b.set.rtype == RecordType::NS);
    match (from_group, apex_ns, group) {
        (true, Some(i), _) => {
            let b = &built[i];
            c.report("zone::apex-ns", b.type_place, "the apex NS RRset comes from the group", "remove it here, or set `group_nameservers: false` to manage the apex NS in this file");
        }
        (true, None, Some(g)) => {
            let rdatas = g
                .nameservers
                .iter()
                .map(|n| RData::NS(hickory_proto::rr::rdata::NS(n.clone())))
                .collect();
            let set = ParsedRrset {
                owner: origin.clone(),
                rtype: RecordType::NS,
                ttl: default_ttl,
                rdatas,
            };
            let places = vec![at(&y.group); g.nameservers.len()];
            built.push(Built {
                set,
                type_place: at(&y.group),
                value_places: places,
            });
        }
        (false, None, _) => {
            let place = y
                .group_nameservers
                .as_ref()
                .map(at)
                .unwrap_or(Place::start());
            c.report(
                "zone::apex-ns",
                place,
                "the zone has no apex NS RRset",
                "add NS records at `@`, or let the group provide them",
            );
        }
        _ => {}
    }
}

/// Names BIND's check-names refuses (see [`super::hostnames`]).
fn check_hostnames(c: &mut Checker<'_>, origin: &Name, built: &[Built]) {
    for b in built {
        for bad in super::hostnames::check(origin, &b.set.owner, b.set.rtype, &b.set.rdatas) {
            let place = bad
                .value
                .and_then(|i| b.value_places.get(i))
                .copied()
                .unwrap_or(b.type_place);
            c.report(
                "record::check-names",
                place,
                bad.message,
                super::hostnames::HELP,
            );
        }
    }
}
