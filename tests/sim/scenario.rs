//! The scenarios: for each procedure, a repository of two revisions (a fleet serving two
//! zones, then the change that calls for the procedure), run on a fresh fleet and store;
//! and what a run leaves ([`Summary`]), to compare a crashed and resumed run with a clean
//! one.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::harness::{Repo, Sim};
use super::world::Role;

/// The procedures, and plain zone changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Procedure {
    /// A zone created, one updated, one deleted.
    Zones,
    /// ns3 joins the group.
    AddSecondary,
    /// ns2 leaves the group.
    RemoveSecondary,
    /// b.test moves to the group served by ns3.
    MoveZone,
    /// a.test's mail address changes as a planned cut-over.
    Renumber,
    /// The primary moves from p0 to p1.
    MovePrimary,
}

pub(super) fn config(primary: (&str, &str), groups: &[(&str, &str, &[&str])]) -> String {
    let (pname, paddr) = primary;
    let ip = paddr.split(':').next().unwrap_or(paddr);
    let mut out = format!(
        "primary:\n  name: {pname}\n  address: {ip}\n  port: 53\n  tsig:\n    name: zonekeeper\n    secret_file: {{key}}\n  control:\n    rndc_conf: /nonexistent/{pname}/rndc.conf\n    config_dir: /nonexistent/{pname}\nsecondaries:\n"
    );
    for (s, a) in super::harness::SECONDARIES {
        let ip = a.split(':').next().unwrap_or(a);
        out.push_str(&format!(
            "  {s}:\n    addresses: [{ip}]\n    port: 53\n    nameserver: {s}.example.net.\n"
        ));
    }
    out.push_str("groups:\n");
    for (g, catalog, members) in groups {
        let ns: Vec<String> = members
            .iter()
            .map(|m| format!("{m}.example.net."))
            .collect();
        out.push_str(&format!(
            "  {g}:\n    catalog: {catalog}\n    secondaries: [{}]\n    nameservers: [{}]\n    ttl: 2\n    soa:\n      mname: ns0.example.net.\n      rname: hostmaster@example.net\n      refresh: 3600\n      retry: 60\n      expire: 1209600\n      minimum: 60\n",
            members.join(", "),
            ns.join(", ")
        ));
    }
    out
}

pub(super) fn zone(group: &str, www: &str, mail: &str, cutover: bool) -> String {
    let cut = if cutover {
        "\n      cutover: {short_ttl: 1, soak: 2}"
    } else {
        ""
    };
    format!(
        "group: {group}\ndelegation:\n  parent_servers: [\"{}\"]\nsoa: {{refresh: 2, retry: 1}}\nrecords:\n  \"@\":\n    MX: 10 mail\n  www:\n    A: {www}\n  mail:\n    A:\n      ttl: 3\n      value: {mail}{cut}\n",
        super::harness::REGISTRY
    )
}

pub(super) fn files(conf: String, zones: &[(&str, String)]) -> Vec<(String, String)> {
    let mut out = vec![("zonekeeper.yaml".to_string(), conf)];
    out.extend(
        zones
            .iter()
            .map(|(z, y)| (format!("zones/{z}.yaml"), y.clone())),
    );
    out
}

pub(super) const P0: (&str, &str) = ("p0", super::harness::P0);
const P1: (&str, &str) = ("p1", super::harness::P1);
pub(super) const CATALOG: &str = "catalog.test.";
const OTHER: &str = "other.test.";

impl Procedure {
    /// The secondaries of the default group before the change.
    pub fn before(self) -> &'static [&'static str] {
        match self {
            Procedure::RemoveSecondary => &["ns1", "ns2", "ns3"],
            _ => &["ns1", "ns2"],
        }
    }

    /// The repository: revision 0 (two zones on a serving fleet), revision 1 (the change).
    pub fn repo(self) -> Repo {
        let a = |mail: &str, cut: bool| ("a.test", zone("default", "192.0.2.1", mail, cut));
        let b = |group: &str| ("b.test", zone(group, "192.0.2.2", "192.0.2.26", false));
        let old = "192.0.2.25";
        let default = |m: &'static [&'static str]| vec![("default", CATALOG, m)];
        let two = |m: &'static [&'static str]| {
            vec![("default", CATALOG, m), ("other", OTHER, &["ns3"][..])]
        };
        let (rev0, rev1) = match self {
            Procedure::Zones => (
                files(
                    config(P0, &default(self.before())),
                    &[a(old, false), b("default")],
                ),
                files(
                    config(P0, &default(self.before())),
                    &[
                        ("a.test", zone("default", "192.0.2.9", old, false)),
                        ("c.test", zone("default", "192.0.2.3", "192.0.2.27", false)),
                    ],
                ),
            ),
            Procedure::AddSecondary => (
                files(
                    config(P0, &default(self.before())),
                    &[a(old, false), b("default")],
                ),
                files(
                    config(P0, &default(&["ns1", "ns2", "ns3"])),
                    &[a(old, false), b("default")],
                ),
            ),
            Procedure::RemoveSecondary => (
                files(
                    config(P0, &default(self.before())),
                    &[a(old, false), b("default")],
                ),
                files(
                    config(P0, &default(&["ns1", "ns3"])),
                    &[a(old, false), b("default")],
                ),
            ),
            Procedure::MoveZone => (
                files(
                    config(P0, &two(self.before())),
                    &[a(old, false), b("default")],
                ),
                files(
                    config(P0, &two(self.before())),
                    &[a(old, false), b("other")],
                ),
            ),
            Procedure::Renumber => (
                files(
                    config(P0, &default(self.before())),
                    &[a(old, false), b("default")],
                ),
                files(
                    config(P0, &default(self.before())),
                    &[a("198.51.100.25", true), b("default")],
                ),
            ),
            Procedure::MovePrimary => (
                files(
                    config(P0, &default(self.before())),
                    &[a(old, false), b("default")],
                ),
                files(
                    config(P1, &default(self.before())),
                    &[a(old, false), b("default")],
                ),
            ),
        };
        let catalogs: &[&str] = match self {
            Procedure::MoveZone => &[CATALOG, OTHER],
            _ => &[CATALOG],
        };
        Repo::new(&[rev0, rev1], catalogs)
    }

    /// Whether the change deletes zones.
    pub fn allow_delete(self) -> bool {
        self == Procedure::Zones
    }

    /// The zones the change deletes (nothing is promised about them).
    pub fn deleted(self) -> &'static [&'static str] {
        match self {
            Procedure::Zones => &["b.test."],
            _ => &[],
        }
    }
}

/// What a run left: enough to tell that every change happened exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Each zone's recorded serial and content hash.
    pub recorded: BTreeMap<String, (u32, String)>,
    /// Every version each primary served of each zone (serial and content; catalogs by
    /// content only: their first serial is the time they were made).
    pub history: BTreeMap<(SocketAddr, String), Vec<String>>,
    /// Each member catalog's members on each primary.
    pub members: BTreeMap<(SocketAddr, String), Vec<String>>,
    /// The operations: kind and state, in order of creation.
    pub operations: Vec<(String, String)>,
    /// What each server serves at the end: zone and serial.
    pub served: BTreeMap<String, Vec<(String, u32)>>,
}

/// The summary of `sim` now.
pub async fn summary(sim: &Sim<'_>) -> Summary {
    let zones = sim.store.zone_index().await.expect("zone index");
    let mut recorded = BTreeMap::new();
    for z in &zones {
        recorded.insert(z.name.clone(), (z.serial, z.content_hash.clone()));
    }
    let operations = sim
        .store
        .operations(true)
        .await
        .expect("operations")
        .into_iter()
        .map(|o| (o.kind, o.state))
        .collect();
    let w = sim.fleet.world();
    let is_zone = |z: &str| z.ends_with(".test.") && z.matches('.').count() == 2;
    let history = w
        .history
        .iter()
        .map(|(k, versions)| {
            let zone = is_zone(&k.1);
            let v = versions
                .iter()
                .map(|(serial, content)| {
                    if zone {
                        format!("{serial} {content}")
                    } else {
                        content.clone()
                    }
                })
                .collect();
            (k.clone(), v)
        })
        .collect();
    let mut members = BTreeMap::new();
    let mut served = BTreeMap::new();
    for (a, s) in &w.servers {
        if let Role::Primary { .. } = s.role {
            for (z, h) in &s.zones {
                if !is_zone(z) {
                    members.insert((*a, z.clone()), h.data.members().to_vec());
                }
            }
        }
        served.insert(
            s.name.clone(),
            s.zones
                .iter()
                .filter(|(z, _)| is_zone(z))
                .map(|(z, h)| (z.clone(), h.data.serial()))
                .collect(),
        );
    }
    Summary {
        recorded,
        history,
        members,
        operations,
        served,
    }
}
