//! Turns `zonekeeper.yaml` into the model's [`Config`], checking values on the way, and
//! the helpers every file's checks share (zone files: [`super::zone`]; zone file names:
//! [`super::names`]; secrets: [`super::secrets`]). Every rule reports on the span of the
//! offending value; all problems of a revision are collected, none stops the others.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use super::yaml::At;
use hickory_proto::rr::Name;

use super::problem::{Place, Problem, SourceFile};
use super::source::Source;
use super::yaml::{ConfigFile, GroupYaml, PrimaryYaml, SecondaryYaml, SoaYaml, WebhookYaml};
use crate::model::config::{
    DEFAULT_MAX_RECORDS_PER_TYPE, Group, Primary, Secondary, SecretSource, SoaDefaults, Software,
    TsigKeyRef, Webhook,
};
use crate::model::record::{MAX_TTL, parse_name};
use crate::model::{Config, Soa};

pub(super) fn at<T>(s: &At<T>) -> Place {
    s.place
}

/// Collects problems for one file.
pub(super) struct Checker<'a> {
    pub(super) file: &'a SourceFile,
    pub(super) problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    pub(super) fn report(
        &mut self,
        code: &'static str,
        place: Place,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.problems
            .push(Problem::new(code, self.file, place, message).help(help));
    }

    pub(super) fn ttl(&mut self, v: &At<u64>) -> u32 {
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

    pub(super) fn absolute_name(&mut self, v: &At<String>, what: &str) -> Option<Name> {
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

    fn address(&mut self, v: &At<String>) -> Option<IpAddr> {
        match v.value.trim().parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.report("value::address", at(v), format!("`{}` is not an IP address", v.value), "write an IPv4 address such as 192.0.2.1 or an IPv6 address such as 2001:db8::1");
                None
            }
        }
    }

    /// A server's DNS port: 53 when not given; 0 is refused (no server listens there).
    fn port(&mut self, port: Option<&At<u16>>) -> u16 {
        match port {
            None => 53,
            Some(p) if p.value == 0 => {
                self.report("value::port", at(p), "port 0 is not a port a server answers on", "write the server's DNS port, 1 to 65535 (53 unless it listens elsewhere), or leave `port` out for 53");
                53
            }
            Some(p) => p.value,
        }
    }

    /// RFC 1912 sanity of SOA timers; `place` is where to point for each field.
    pub(super) fn soa_timers(&mut self, soa: &Soa, place: &dyn Fn(&str) -> Place) {
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
pub(super) fn rname(text: &str) -> String {
    match text.trim().split_once('@') {
        Some((user, domain)) => {
            let domain = domain.trim_end_matches('.');
            format!("{}.{domain}.", user.replace('.', "\\."))
        }
        None => text.trim().to_string(),
    }
}

/// Builds the fleet's configuration from `zonekeeper.yaml`.
pub fn build_config(
    file: &SourceFile,
    y: &ConfigFile,
    source: &Source,
    problems: &mut Vec<Problem>,
) -> Config {
    let mut c = Checker { file, problems };
    let p = &y.primary;
    let primary = build_primary(&mut c, p, source);
    let secondaries: BTreeMap<String, Secondary> = y
        .secondaries
        .iter()
        .map(|(name, s)| (name.value.clone(), build_secondary(&mut c, name, s)))
        .collect();

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
    let max_records_per_type = match &p.max_records_per_type {
        None => DEFAULT_MAX_RECORDS_PER_TYPE,
        Some(v) => u32::try_from(v.value).unwrap_or_else(|_| {
            c.report(
                "primary::max-records-per-type",
                at(v),
                format!("max_records_per_type {} is out of range", v.value),
                "write BIND's max-records-per-type of the servers (default 100), or 0 for no limit",
            );
            DEFAULT_MAX_RECORDS_PER_TYPE
        }),
    };
    Config {
        primary,
        secondaries,
        groups,
        max_records_per_type,
        check_names: p.check_names.unwrap_or(true),
        webhooks: y
            .webhooks
            .iter()
            .map(|w| build_webhook(&mut c, w, source))
            .collect(),
    }
}

/// One webhook of zonekeeper.yaml: its URL from a file outside the repository or a
/// variable, never written in it (it may carry a token).
fn build_webhook(c: &mut Checker<'_>, item: &At<WebhookYaml>, source: &Source) -> Webhook {
    use crate::model::config::WebhookEvent;
    let w = &item.value;
    if let Some(url) = &w.url {
        c.report(
            "webhook::url-in-repository",
            at(url),
            "a webhook URL must not be written in the repository: it may carry a token",
            "name a file outside the repository with `url_file`, or a variable with `url_env`",
        );
    }
    let url = match (&w.url_file, &w.url_env) {
        (Some(f), None) => {
            if let Some((message, help)) = super::secrets::secret_file_problem(f, source) {
                c.report("webhook::url-in-repository", at(f), message, help);
            }
            SecretSource::File(source.resolve(&f.value))
        }
        (None, Some(e)) => SecretSource::Env(e.value.clone()),
        (Some(f), Some(_)) => {
            c.report(
                "webhook::url",
                at(f),
                "give exactly one of `url_file` or `url_env`",
                "e.g. `url_env: ZONEKEEPER_WEBHOOK_URL`",
            );
            SecretSource::Env(String::new())
        }
        (None, None) => {
            if w.url.is_none() {
                c.report(
                    "webhook::url",
                    item.place,
                    "a webhook needs `url_file` or `url_env`",
                    "e.g. `url_env: ZONEKEEPER_WEBHOOK_URL`",
                );
            }
            SecretSource::Env(String::new())
        }
    };
    let events = match &w.events {
        None => WebhookEvent::ALL.iter().map(|(e, _)| *e).collect(),
        Some(list) => list
            .iter()
            .filter_map(|e| {
                let found = WebhookEvent::ALL
                    .iter()
                    .find(|(_, n)| *n == e.value)
                    .map(|(ev, _)| *ev);
                if found.is_none() {
                    let known: Vec<&str> = WebhookEvent::ALL.iter().map(|(_, n)| *n).collect();
                    c.report(
                        "webhook::event",
                        at(e),
                        format!("unknown webhook event `{}`", e.value),
                        format!("use one of: {}", known.join(", ")),
                    );
                }
                found
            })
            .collect(),
    };
    Webhook { url, events }
}

/// The primary of zonekeeper.yaml.
fn build_primary(c: &mut Checker<'_>, p: &PrimaryYaml, source: &Source) -> Primary {
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
            if let Some((message, help)) = super::secrets::secret_file_problem(f, source) {
                c.report("tsig::secret-in-repository", at(f), message, help);
            }
            SecretSource::File(source.resolve(&f.value))
        }
        (None, Some(e)) => SecretSource::Env(e.value.clone()),
        _ => {
            c.report("tsig::secret", at(&p.tsig.name), "give exactly one of `secret_file` or `secret_env`", "e.g. `secret_file: /etc/zonekeeper/tsig.key` (a BIND key file or the base64 secret alone)");
            SecretSource::Env(String::new())
        }
    };
    Primary {
        name: p.name.clone().unwrap_or_else(|| "primary".into()),
        addr: SocketAddr::new(addr, c.port(p.port.as_ref())),
        tsig: TsigKeyRef {
            name: key_name,
            algorithm: "hmac-sha256".into(),
            secret,
        },
        // a program name is looked up in PATH; a path is read from the repository's top
        rndc: match &p.control.rndc {
            Some(r) if r.contains('/') => source.resolve(r),
            Some(r) => PathBuf::from(r),
            None => PathBuf::from("rndc"),
        },
        rndc_conf: source.resolve(&p.control.rndc_conf.value),
        config_dir: source.resolve(&p.control.config_dir.value),
    }
}

/// One secondary of zonekeeper.yaml.
fn build_secondary(c: &mut Checker<'_>, name: &At<String>, s: &SecondaryYaml) -> Secondary {
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
    Secondary {
        name: name.value.clone(),
        addresses,
        port: c.port(s.port.as_ref()),
        software,
        nameserver,
    }
}

fn build_group(
    c: &mut Checker<'_>,
    name: &At<String>,
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
    let num = |c: &mut Checker<'_>, v: &Option<At<u64>>, default: u32| {
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
                &At {
                    value: text,
                    place: r.place,
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
    let members = g.secondaries.len();
    let quorum = match &g.quorum {
        None => crate::model::config::default_quorum(members),
        Some(q) if q.value >= 1 && q.value <= members as u64 => q.value as usize,
        Some(q) => {
            c.report(
                "group::quorum",
                at(q),
                format!(
                    "group `{}` has a quorum of {} but {members} secondaries",
                    name.value, q.value
                ),
                format!(
                    "set `quorum` between 1 and {members}: how many secondaries must serve a change for it to count as served"
                ),
            );
            members
        }
    };
    Group {
        name: name.value.clone(),
        quorum,
        catalog,
        secondaries: g.secondaries.iter().map(|s| s.value.clone()).collect(),
        nameservers,
        ttl,
        soa,
    }
}

pub(super) fn soa_field<'a>(soa: &'a SoaYaml, field: &str) -> Option<&'a At<u64>> {
    match field {
        "refresh" => soa.refresh.as_ref(),
        "retry" => soa.retry.as_ref(),
        "expire" => soa.expire.as_ref(),
        "minimum" => soa.minimum.as_ref(),
        _ => None,
    }
}
