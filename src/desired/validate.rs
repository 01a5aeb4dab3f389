//! Turns the YAML shapes into the model, checking schema-level values and DNS rules on
//! the way. Every rule reports on the span of the offending value; all problems of a
//! revision are collected, none stops the others from being found.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use hickory_proto::rr::{Name, RData, RecordType};
use serde_saphyr::Spanned;

use super::problem::{Place, Problem, SourceFile};
use super::yaml::{ConfigFile, GroupYaml, SoaYaml, ZoneFile};
use crate::model::config::{
    Group, Primary, Secondary, SecretSource, SoaDefaults, Software, TsigKeyRef,
};
use crate::model::record::{
    MAX_TTL, Rrset, SUPPORTED_TYPES, example, parse_name, parse_rdata, presentation, target,
};
use crate::model::{Config, Soa, Zone};

fn at<T>(s: &Spanned<T>) -> Place {
    Place::of(&s.referenced)
}

/// Collects problems for one file.
struct Checker<'a> {
    file: &'a SourceFile,
    problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    fn report(
        &mut self,
        code: &'static str,
        place: Place,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.problems
            .push(Problem::new(code, self.file, place, message).help(help));
    }

    fn ttl(&mut self, v: &Spanned<u64>) -> u32 {
        if v.value > MAX_TTL {
            self.report(
                "value::ttl",
                at(v),
                format!("TTL {} is out of range", v.value),
                "TTLs are 0 to 2147483647 seconds (RFC 2181)",
            );
            return 0;
        }
        v.value as u32
    }

    fn absolute_name(&mut self, v: &Spanned<String>, what: &str) -> Option<Name> {
        match parse_name(&v.value, &Name::root()) {
            Ok(n) if v.value.trim().ends_with('.') => Some(n),
            Ok(_) => {
                self.report(
                    "value::relative-name",
                    at(v),
                    format!("{what} `{}` must be absolute", v.value),
                    format!("end it with a dot: `{}.`", v.value.trim()),
                );
                None
            }
            Err(e) => {
                self.report("value::name", at(v), e.message, e.help);
                None
            }
        }
    }

    fn address(&mut self, v: &Spanned<String>) -> Option<IpAddr> {
        match v.value.trim().parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.report("value::address", at(v), format!("`{}` is not an IP address", v.value), "write an IPv4 address such as 192.0.2.1 or an IPv6 address such as 2001:db8::1");
                None
            }
        }
    }

    /// RFC 1912 sanity of SOA timers; `place` is where to point for each field.
    fn soa_timers(&mut self, soa: &Soa, place: &dyn Fn(&str) -> Place) {
        if soa.refresh <= soa.retry {
            self.report("soa::retry", place("retry"), format!("SOA retry ({}) is not shorter than refresh ({})", soa.retry, soa.refresh), "secondaries retry a failed refresh sooner than the normal refresh: make retry smaller than refresh (RFC 1912 2.2)");
        }
        if soa.expire < 604_800 {
            self.report("soa::expire", place("expire"), format!("SOA expire ({}) is shorter than 7 days", soa.expire), "use at least 604800 (RFC 1912 recommends 2 to 4 weeks) so secondaries survive a long primary outage");
        } else if u64::from(soa.expire) <= u64::from(soa.refresh) + u64::from(soa.retry) {
            self.report(
                "soa::expire",
                place("expire"),
                format!(
                    "SOA expire ({}) is not longer than refresh + retry",
                    soa.expire
                ),
                "make expire much longer than refresh + retry",
            );
        }
        if soa.minimum > 86_400 {
            self.report(
                "soa::minimum",
                place("minimum"),
                format!("SOA minimum ({}) is longer than 1 day", soa.minimum),
                "the negative-caching TTL should be at most 86400 (RFC 2308); 300 to 3600 is usual",
            );
        }
    }
}

/// RNAME as written: a domain name, or a mail address `user@domain`.
fn rname(text: &str) -> String {
    match text.trim().split_once('@') {
        Some((user, domain)) => {
            let domain = domain.trim_end_matches('.');
            format!("{}.{domain}.", user.replace('.', "\\."))
        }
        None => text.trim().to_string(),
    }
}

/// Whether `path` lies inside `dir` (both made absolute against the working directory).
fn is_inside(path: &Path, dir: &Path) -> bool {
    let abs = |p: &Path| {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_default().join(p)
        };
        std::fs::canonicalize(&p).unwrap_or(p)
    };
    abs(path).starts_with(abs(dir))
}

/// Builds the fleet's configuration from `zonekeeper.yaml`.
pub fn build_config(
    file: &SourceFile,
    y: &ConfigFile,
    repo_workdir: Option<&Path>,
    problems: &mut Vec<Problem>,
) -> Config {
    let mut c = Checker { file, problems };
    let p = &y.primary;
    let addr = c
        .address(&p.address)
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let key_name = parse_name(p.tsig.name.value.trim_end_matches('.'), &Name::root())
        .unwrap_or_else(|e| {
            c.report("value::name", at(&p.tsig.name), e.message, e.help);
            Name::root()
        });
    if let Some(alg) = &p.tsig.algorithm
        && !alg.value.eq_ignore_ascii_case("hmac-sha256")
    {
        c.report(
            "tsig::algorithm",
            at(alg),
            format!("TSIG algorithm `{}` is not supported", alg.value),
            "use hmac-sha256",
        );
    }
    if let Some(secret) = &p.tsig.secret {
        c.report("tsig::secret-in-repository", at(secret), "a TSIG secret must never be written in the repository", "remove it, rotate the key, and name a file outside the repository with `secret_file` or a variable with `secret_env`");
    }
    let secret = match (&p.tsig.secret_file, &p.tsig.secret_env) {
        (Some(f), None) => {
            let path = PathBuf::from(&f.value);
            if let Some(wd) = repo_workdir
                && is_inside(&path, wd)
            {
                c.report(
                    "tsig::secret-in-repository",
                    at(f),
                    format!("the TSIG secret file {} is inside the repository", f.value),
                    "keep secrets out of Git: move the file outside the repository",
                );
            }
            SecretSource::File(path)
        }
        (None, Some(e)) => SecretSource::Env(e.value.clone()),
        _ => {
            c.report("tsig::secret", at(&p.tsig.name), "give exactly one of `secret_file` or `secret_env`", "e.g. `secret_file: /etc/zonekeeper/tsig.key` (a BIND key file or the base64 secret alone)");
            SecretSource::Env(String::new())
        }
    };
    let primary = Primary {
        name: p.name.clone().unwrap_or_else(|| "primary".into()),
        addr: SocketAddr::new(addr, p.port.unwrap_or(53)),
        tsig: TsigKeyRef {
            name: key_name,
            algorithm: "hmac-sha256".into(),
            secret,
        },
        rndc: PathBuf::from(p.control.rndc.clone().unwrap_or_else(|| "rndc".into())),
        rndc_conf: PathBuf::from(&p.control.rndc_conf.value),
        config_dir: PathBuf::from(&p.control.config_dir.value),
    };

    let mut secondaries = BTreeMap::new();
    for (name, s) in &y.secondaries {
        if !crate::model::config::is_server_label(&name.value) {
            c.report(
                "secondary::name",
                at(name),
                format!("secondary name `{}` is not a DNS label", name.value),
                "use letters, digits and `-` (at most 63): it names the secondary's catalog zone, `<name>.<group catalog>`",
            );
        }
        let addresses: Vec<IpAddr> = s.addresses.iter().filter_map(|a| c.address(a)).collect();
        if s.addresses.is_empty() {
            c.report(
                "secondary::addresses",
                at(name),
                format!("secondary `{}` has no addresses", name.value),
                "list its IPv4 and IPv6 addresses under `addresses`",
            );
        }
        let software = match s.software.as_ref().map(|s| s.value.as_str()) {
            None | Some("bind") => Software::Bind,
            Some("knot") => Software::Knot,
            Some(other) => {
                if let Some(sw) = &s.software {
                    c.report(
                        "secondary::software",
                        at(sw),
                        format!("unknown software `{other}`"),
                        "write `bind` or `knot`",
                    );
                }
                Software::Bind
            }
        };
        let nameserver = s
            .nameserver
            .as_ref()
            .and_then(|n| c.absolute_name(n, "nameserver"));
        secondaries.insert(
            name.value.clone(),
            Secondary {
                name: name.value.clone(),
                addresses,
                port: s.port.unwrap_or(53),
                software,
                nameserver,
            },
        );
    }

    let mut groups = BTreeMap::new();
    let mut catalogs: HashMap<Name, String> = HashMap::new();
    for (name, g) in &y.groups {
        let group = build_group(&mut c, name, g, &secondaries);
        if let Some(other) = catalogs.insert(group.catalog.to_lowercase(), name.value.clone()) {
            c.report(
                "group::catalog",
                at(&g.catalog),
                format!(
                    "catalog zone {} is already used by group `{other}`",
                    group.catalog
                ),
                "give every group its own catalog zone",
            );
        }
        groups.insert(name.value.clone(), group);
    }
    Config {
        primary,
        secondaries,
        groups,
    }
}

fn build_group(
    c: &mut Checker<'_>,
    name: &Spanned<String>,
    g: &GroupYaml,
    secondaries: &BTreeMap<String, Secondary>,
) -> Group {
    let catalog = c
        .absolute_name(&g.catalog, "catalog zone")
        .unwrap_or_else(Name::root);
    for s in &g.secondaries {
        if !secondaries.contains_key(&s.value) {
            let known: Vec<&str> = secondaries.keys().map(String::as_str).collect();
            c.report(
                "group::unknown-secondary",
                at(s),
                format!("unknown secondary `{}` in group `{}`", s.value, name.value),
                format!(
                    "define it under `secondaries:`; known: {}",
                    known.join(", ")
                ),
            );
        }
    }
    if g.nameservers.is_empty() {
        c.report(
            "group::nameservers",
            at(name),
            format!("group `{}` lists no nameservers", name.value),
            "list the NS names published at the apex of its zones under `nameservers`",
        );
    }
    let nameservers = g
        .nameservers
        .iter()
        .filter_map(|n| c.absolute_name(n, "nameserver"))
        .collect();
    let ttl = g.ttl.as_ref().map(|t| c.ttl(t)).unwrap_or(3600);
    let num = |c: &mut Checker<'_>, v: &Option<Spanned<u64>>, default: u32| {
        v.as_ref().map(|t| c.ttl(t)).unwrap_or(default)
    };
    let mname = match &g.soa.mname {
        Some(m) => c.absolute_name(m, "SOA mname").unwrap_or_else(Name::root),
        None => {
            c.report(
                "group::soa",
                at(name),
                format!("group `{}` has no SOA mname", name.value),
                "set `soa.mname` (the primary's published name) and `soa.rname`",
            );
            Name::root()
        }
    };
    let rname_v = match &g.soa.rname {
        Some(r) => {
            let text = rname(&r.value);
            c.absolute_name(
                &Spanned {
                    value: text,
                    referenced: r.referenced,
                    defined: r.defined,
                },
                "SOA rname",
            )
            .unwrap_or_else(Name::root)
        }
        None => {
            c.report(
                "group::soa",
                at(name),
                format!("group `{}` has no SOA rname", name.value),
                "set `soa.rname`, e.g. hostmaster@example.net",
            );
            Name::root()
        }
    };
    let soa = SoaDefaults {
        mname,
        rname: rname_v,
        refresh: num(c, &g.soa.refresh, 3600),
        retry: num(c, &g.soa.retry, 600),
        expire: num(c, &g.soa.expire, 1_209_600),
        minimum: num(c, &g.soa.minimum, 300),
        ttl: g.soa.ttl.as_ref().map(|t| c.ttl(t)),
    };
    let as_soa = Soa {
        mname: soa.mname.clone(),
        rname: soa.rname.clone(),
        refresh: soa.refresh,
        retry: soa.retry,
        expire: soa.expire,
        minimum: soa.minimum,
        ttl,
    };
    let fallback = at(name);
    c.soa_timers(&as_soa, &|field| {
        soa_field(&g.soa, field).map(at).unwrap_or(fallback)
    });
    Group {
        name: name.value.clone(),
        catalog,
        secondaries: g.secondaries.iter().map(|s| s.value.clone()).collect(),
        nameservers,
        ttl,
        soa,
    }
}

fn soa_field<'a>(soa: &'a SoaYaml, field: &str) -> Option<&'a Spanned<u64>> {
    match field {
        "refresh" => soa.refresh.as_ref(),
        "retry" => soa.retry.as_ref(),
        "expire" => soa.expire.as_ref(),
        "minimum" => soa.minimum.as_ref(),
        _ => None,
    }
}

/// The zone a file stands for: `zones/example.com.yaml` is `example.com.`.
pub fn zone_name_of(path: &str) -> Option<String> {
    let file = path.strip_prefix("zones/")?.strip_suffix(".yaml")?;
    Some(format!("{file}."))
}

/// An RRset being built, with the places it came from.
struct Built {
    set: Rrset,
    type_place: Place,
    value_places: Vec<Place>,
}

/// Builds one zone from its file, checking DNS rules.
pub fn build_zone(
    file: &SourceFile,
    y: &ZoneFile,
    config: &Config,
    problems: &mut Vec<Problem>,
) -> Option<Zone> {
    let before = problems.len();
    let mut c = Checker { file, problems };
    let file_name = file.path.rsplit('/').next().unwrap_or(&file.path);
    let Some(zone_text) = zone_name_of(&file.path) else {
        c.report(
            "zone::file-name",
            Place::start(),
            format!("{} is not named after a zone", file.path),
            "name zone files zones/<zone>.yaml, e.g. zones/example.com.yaml",
        );
        return None;
    };
    let origin = match Name::from_ascii(&zone_text) {
        Ok(n)
            if zone_text != "."
                && !zone_text.ends_with("..")
                && zone_text == zone_text.to_lowercase() =>
        {
            n
        }
        _ => {
            c.report("zone::file-name", Place::start(), format!("file name `{file_name}` is not a zone name"), "name zone files after the zone in lower case, without a trailing dot: zones/example.com.yaml");
            return None;
        }
    };
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

    // SOA: the group's values, with the zone's overrides.
    let gsoa = group.map(|g| g.soa.clone());
    let num = |c: &mut Checker<'_>, v: &Option<Spanned<u64>>, d: u32| {
        v.as_ref().map(|t| c.ttl(t)).unwrap_or(d)
    };
    let soa = Soa {
        mname: match &y.soa.mname {
            Some(m) => c.absolute_name(m, "SOA mname").unwrap_or_else(Name::root),
            None => gsoa
                .as_ref()
                .map(|s| s.mname.clone())
                .unwrap_or_else(Name::root),
        },
        rname: match &y.soa.rname {
            Some(r) => c
                .absolute_name(
                    &Spanned {
                        value: rname(&r.value),
                        referenced: r.referenced,
                        defined: r.defined,
                    },
                    "SOA rname",
                )
                .unwrap_or_else(Name::root),
            None => gsoa
                .as_ref()
                .map(|s| s.rname.clone())
                .unwrap_or_else(Name::root),
        },
        refresh: num(
            &mut c,
            &y.soa.refresh,
            gsoa.as_ref().map_or(3600, |s| s.refresh),
        ),
        retry: num(&mut c, &y.soa.retry, gsoa.as_ref().map_or(600, |s| s.retry)),
        expire: num(
            &mut c,
            &y.soa.expire,
            gsoa.as_ref().map_or(1_209_600, |s| s.expire),
        ),
        minimum: num(
            &mut c,
            &y.soa.minimum,
            gsoa.as_ref().map_or(300, |s| s.minimum),
        ),
        ttl: y
            .soa
            .ttl
            .as_ref()
            .map(|t| c.ttl(t))
            .or(gsoa.as_ref().and_then(|s| s.ttl))
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

    // Where to ask whether the parent delegates as desired.
    let mut parent_servers = Vec::new();
    for s in y.delegation.iter().flat_map(|d| &d.parent_servers) {
        let text = s.value.trim();
        match text.parse::<std::net::SocketAddr>().or_else(|_| text.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53))) {
            Ok(a) => parent_servers.push(a),
            Err(_) => c.report("value::address", at(s), format!("`{text}` is not an address"), "write an IP address, optionally with a port: 192.0.2.1, 192.0.2.1:5353, [2001:db8::1]:53"),
        }
    }

    // Records.
    let mut cutovers = Vec::new();
    let mut built: Vec<Built> = Vec::new();
    let mut owners: HashMap<Name, Place> = HashMap::new();
    for (owner_y, types) in &y.records {
        let owner = match parse_name(&owner_y.value, &origin) {
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
        if let Some(first) = owners.insert(owner.to_lowercase(), at(owner_y)) {
            c.problems.push(
                Problem::new(
                    "record::duplicate-owner",
                    file,
                    at(owner_y),
                    format!("owner name {owner} is written twice"),
                )
                .also(first, "first written here")
                .help("merge the two entries under one owner name"),
            );
            continue;
        }
        for (type_y, rrset_y) in types {
            let Ok(rtype) = type_y.value.to_ascii_uppercase().parse::<RecordType>() else {
                c.report(
                    "record::type",
                    at(type_y),
                    format!("unknown record type `{}`", type_y.value),
                    "supported types: A, AAAA, CAA, CNAME, MX, NS, PTR, SRV, TXT",
                );
                continue;
            };
            if !SUPPORTED_TYPES.contains(&rtype) {
                let help = if rtype == RecordType::SOA {
                    "the SOA comes from the group's `soa` and the zone's `soa:` overrides; the serial is managed".to_string()
                } else {
                    "supported types: A, AAAA, CAA, CNAME, MX, NS, PTR, SRV, TXT".to_string()
                };
                c.report(
                    "record::type",
                    at(type_y),
                    format!("record type {rtype} is not managed here"),
                    help,
                );
                continue;
            }
            let rr = &rrset_y.value;
            let ttl = rr.ttl.as_ref().map(|t| c.ttl(t)).unwrap_or(default_ttl);
            let mut values: Vec<(String, Place)> =
                rr.values.iter().map(|v| (v.value.clone(), at(v))).collect();
            if let Some(s) = &rr.scalar {
                values.push((s.clone(), at(rrset_y)));
            }
            if values.is_empty() {
                c.report(
                    "record::empty",
                    at(type_y),
                    format!("{rtype} RRset at {owner} has no values"),
                    format!("write at least one value, e.g. {}", example(rtype)),
                );
                continue;
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
                    cutovers.push(crate::model::zone::Cutover {
                        owner: owner.to_lowercase().to_string(),
                        rtype,
                        short_ttl: cut.value.short_ttl.unwrap_or(300).min(MAX_TTL) as u32,
                        soak: cut.value.soak.unwrap_or(3600).min(MAX_TTL) as u32,
                    });
                } else {
                    c.report(
                        "record::cutover",
                        at(cut),
                        format!("a planned cut-over of a {rtype} RRset is not supported"),
                        "cut-overs apply to A, AAAA, CNAME, MX, PTR and SRV: the records a service moves with",
                    );
                }
            }
            let mut set = Rrset {
                owner: owner.clone(),
                rtype,
                ttl,
                rdatas: Vec::new(),
            };
            let mut value_places = Vec::new();
            let mut seen: HashMap<String, Place> = HashMap::new();
            for (text, place) in values {
                match parse_rdata(rtype, &text, &origin) {
                    Ok(rdata) => {
                        if let Some(first) = seen.insert(presentation(&rdata), place) {
                            c.problems.push(
                                Problem::new(
                                    "record::duplicate",
                                    file,
                                    place,
                                    format!("duplicate {rtype} record at {owner}"),
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
            built.push(Built {
                set,
                type_place: at(type_y),
                value_places,
            });
        }
    }

    // Apex NS from the group, unless the zone manages its own.
    let from_group = y
        .group_nameservers
        .as_ref()
        .map(|b| b.value)
        .unwrap_or(true);
    let apex_ns = built
        .iter()
        .position(|b| b.set.owner == origin && b.set.rtype == RecordType::NS);
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
            let set = Rrset {
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

    check_rules(&mut c, &origin, &built);

    if c.problems.len() > before {
        return None;
    }
    let mut rrsets: Vec<Rrset> = built.into_iter().map(|b| b.set).collect();
    rrsets.sort_by(|a, b| {
        a.owner
            .cmp(&b.owner)
            .then(u16::from(a.rtype).cmp(&u16::from(b.rtype)))
    });
    Some(Zone {
        name: origin,
        group: y.group.value.clone(),
        soa,
        rrsets,
        parent_servers,
        cutovers,
    })
}

/// CNAME exclusivity and in-zone targets.
fn check_rules(c: &mut Checker<'_>, origin: &Name, built: &[Built]) {
    let mut by_owner: HashMap<Name, Vec<&Built>> = HashMap::new();
    for b in built {
        by_owner
            .entry(b.set.owner.to_lowercase())
            .or_default()
            .push(b);
    }
    for b in built.iter().filter(|b| b.set.rtype == RecordType::CNAME) {
        if &b.set.owner == origin {
            c.report(
                "record::cname-apex",
                b.type_place,
                "a CNAME cannot be at the zone apex",
                "the apex holds SOA and NS; use A/AAAA records here",
            );
            continue;
        }
        if b.set.rdatas.len() > 1 {
            c.report(
                "record::cname-multiple",
                b.type_place,
                format!("CNAME at {} has {} values", b.set.owner, b.set.rdatas.len()),
                "a CNAME RRset holds exactly one record",
            );
        }
        if let Some(other) = by_owner[&b.set.owner.to_lowercase()]
            .iter()
            .find(|o| o.set.rtype != RecordType::CNAME)
        {
            c.problems.push(
                Problem::new("record::cname-conflict", c.file, b.type_place, format!("CNAME conflicts with {} at {}", other.set.rtype, b.set.owner))
                    .label("CNAME here")
                    .also(other.type_place, "other record here")
                    .help("a name with a CNAME can have no other data (RFC 1034 3.6.2): remove one of them"),
            );
        }
    }
    for b in built {
        let rtype = b.set.rtype;
        if !matches!(rtype, RecordType::MX | RecordType::NS | RecordType::SRV) {
            continue;
        }
        for (rdata, place) in b.set.rdatas.iter().zip(&b.value_places) {
            let Some(t) = target(rdata) else { continue };
            if t.is_root() || !origin.zone_of(t) {
                continue;
            }
            let at_target = by_owner.get(&t.to_lowercase());
            let has =
                |ty: RecordType| at_target.is_some_and(|v| v.iter().any(|o| o.set.rtype == ty));
            if has(RecordType::CNAME) {
                c.report("record::target-cname", *place, format!("{rtype} target {t} is a CNAME"), format!("{rtype} targets must be names with address records, never aliases (RFC 2181 10.3)"));
            } else if !has(RecordType::A) && !has(RecordType::AAAA) {
                let (what, help) = if rtype == RecordType::NS {
                    (
                        "needs glue",
                        format!("add an A or AAAA record for {t} in this zone"),
                    )
                } else {
                    (
                        "has no address",
                        format!(
                            "add an A or AAAA record for {t}, or point the {rtype} at an existing host"
                        ),
                    )
                };
                c.report(
                    "record::target-missing",
                    *place,
                    format!("{rtype} target {t} {what}: it has no A or AAAA record in this zone"),
                    help,
                );
            }
        }
    }
}
