//! The servers and groups of the fleet, as desired: the hidden primary, the secondaries and
//! the server groups that bind secondaries, a catalog zone and apex NS names together.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use hickory_proto::rr::Name;

/// The fleet's servers and groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The hidden primary every change goes to.
    pub primary: Primary,
    /// Secondaries by name.
    pub secondaries: BTreeMap<String, Secondary>,
    /// Server groups by name.
    pub groups: BTreeMap<String, Group>,
    /// The most records of one type at one name the servers accept (BIND's
    /// `max-records-per-type`, 100 by default since 9.18.28); 0: no limit. A larger RRset
    /// makes BIND refuse the whole zone, so validation refuses it first.
    pub max_records_per_type: u32,
    /// Whether the servers refuse names that are not host names where BIND's
    /// `check-names primary fail` (its default) does; validation then refuses them first.
    pub check_names: bool,
    /// Where the daemon reports what needs a person.
    pub webhooks: Vec<Webhook>,
}

/// What the daemon reports to a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WebhookEvent {
    /// A pass did not apply the revision (servers, store, a refused change).
    ApplyFailed,
    /// A server turned BROKEN: it serves none of its zones.
    ServerBroken,
}

impl WebhookEvent {
    /// Every event, as written in YAML.
    pub const ALL: [(WebhookEvent, &'static str); 2] = [
        (WebhookEvent::ApplyFailed, "apply-failed"),
        (WebhookEvent::ServerBroken, "server-broken"),
    ];

    /// As written in YAML and in the JSON body.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::ApplyFailed => "apply-failed",
            WebhookEvent::ServerBroken => "server-broken",
        }
    }
}

/// A webhook: where its URL is read from (never the repository), and what it is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Where the URL comes from.
    pub url: SecretSource,
    /// The events it is told of.
    pub events: Vec<WebhookEvent>,
}

/// BIND's default `max-records-per-type`.
pub const DEFAULT_MAX_RECORDS_PER_TYPE: u32 = 100;

/// Where the TSIG secret is read from. Never the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// A file outside the repository: a BIND key file, or the base64 secret alone.
    File(PathBuf),
    /// An environment variable holding the base64 secret.
    Env(String),
}

/// A TSIG key by name; the secret stays outside the desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigKeyRef {
    /// The key's name, as configured on the servers.
    pub name: Name,
    /// The algorithm; zonekeeper signs with hmac-sha256.
    pub algorithm: String,
    /// Where the secret comes from.
    pub secret: SecretSource,
}

/// The hidden primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Primary {
    /// A label for messages.
    pub name: String,
    /// Where it answers DNS (UPDATE, SOA queries, AXFR).
    pub addr: SocketAddr,
    /// The key that signs UPDATEs.
    pub tsig: TsigKeyRef,
    /// The `rndc` program.
    pub rndc: PathBuf,
    /// The rndc configuration file that reaches the primary's control channel.
    pub rndc_conf: PathBuf,
    /// The directory where zonekeeper writes `zones.conf` (included by the primary's
    /// named.conf) and the zone files of new zones.
    pub config_dir: PathBuf,
}

/// A primary as recorded: where it answers and how its control channel is reached. Paths
/// only; no secret. A primary move (`procedures::move_primary`) carries the old and new one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrimaryRef {
    /// Its name, for messages.
    pub name: String,
    /// Where it answers DNS.
    pub addr: SocketAddr,
    /// The rndc program.
    pub rndc: PathBuf,
    /// The rndc configuration reaching it.
    pub rndc_conf: PathBuf,
    /// Where zonekeeper writes its zones.conf and zone files.
    pub config_dir: PathBuf,
}

impl Primary {
    /// What is recorded of it.
    pub fn recorded(&self) -> PrimaryRef {
        PrimaryRef {
            name: self.name.clone(),
            addr: self.addr,
            rndc: self.rndc.clone(),
            rndc_conf: self.rndc_conf.clone(),
            config_dir: self.config_dir.clone(),
        }
    }
}

/// The software a secondary runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Software {
    /// ISC BIND 9.18 or later.
    Bind,
    /// CZ.NIC Knot DNS 3.
    Knot,
}

impl Software {
    /// Its name as written in YAML.
    pub fn as_str(self) -> &'static str {
        match self {
            Software::Bind => "bind",
            Software::Knot => "knot",
        }
    }
}

/// A secondary server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secondary {
    /// Its name in the desired state.
    pub name: String,
    /// Its IPv4 and IPv6 addresses.
    pub addresses: Vec<IpAddr>,
    /// Its DNS port (53 but in labs).
    pub port: u16,
    /// What it runs.
    pub software: Software,
    /// The name published for it in NS RRsets; `None` for a stealth secondary.
    pub nameserver: Option<Name>,
}

impl Secondary {
    /// Every address it answers on, with the port.
    pub fn sockets(&self) -> Vec<SocketAddr> {
        self.addresses
            .iter()
            .map(|a| SocketAddr::new(*a, self.port))
            .collect()
    }
}

/// SOA values a group gives its zones unless a zone overrides them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoaDefaults {
    /// MNAME.
    pub mname: Name,
    /// RNAME.
    pub rname: Name,
    /// Refresh, seconds.
    pub refresh: u32,
    /// Retry, seconds.
    pub retry: u32,
    /// Expire, seconds.
    pub expire: u32,
    /// Negative-caching TTL, seconds.
    pub minimum: u32,
    /// TTL of the SOA record (default: the zone's TTL).
    pub ttl: Option<u32>,
}

/// A server group: the secondaries that serve a set of zones, fed by one catalog zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group's name.
    pub name: String,
    /// Its catalog zone name (RFC 9432): each secondary consumes `<secondary>.<catalog>`
    /// (see [`member_catalog`]), served by the primary.
    pub catalog: Name,
    /// Names of its member secondaries.
    pub secondaries: Vec<String>,
    /// The NS names published at the apex of its zones.
    pub nameservers: Vec<Name>,
    /// Default TTL of its zones' records.
    pub ttl: u32,
    /// Default SOA values.
    pub soa: SoaDefaults,
    /// How many of its secondaries must serve a change of a zone for the change to count
    /// as served (with the primary); the others are shown lagging and verified by sweeps
    /// once they answer. Never used by the gates of staged procedures, which need each
    /// server itself. See [`default_quorum`].
    pub quorum: usize,
}

/// The quorum of a group of `members` secondaries when zonekeeper.yaml sets none: all but
/// one for groups of three or more (one secondary down or in maintenance holds nothing
/// back), all of them for smaller groups.
pub fn default_quorum(members: usize) -> usize {
    if members >= 3 { members - 1 } else { members }
}

/// The catalog zone secondary `server` consumes for the group whose catalog is `catalog`:
/// `<server>.<catalog>`. Secondary names are DNS labels (validation says so).
pub fn member_catalog(catalog: &Name, server: &str) -> Name {
    Name::from_ascii(server)
        .and_then(|label| label.append_domain(catalog))
        .map(|n| n.to_lowercase())
        .unwrap_or_else(|_| catalog.clone())
}

/// Whether `name` can be a secondary's name: one DNS label of letters, digits and `-`.
pub fn is_server_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

impl Config {
    /// The catalog zones of group `group`, one per secondary: (secondary, catalog).
    pub fn member_catalogs(&self, group: &str) -> Vec<(String, Name)> {
        self.groups
            .get(group)
            .map(|g| {
                g.secondaries
                    .iter()
                    .map(|s| (s.clone(), member_catalog(&g.catalog, s)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The secondaries of a group (unknown names are skipped; validation reports them).
    pub fn group_secondaries(&self, group: &str) -> Vec<&Secondary> {
        self.groups
            .get(group)
            .map(|g| {
                g.secondaries
                    .iter()
                    .filter_map(|s| self.secondaries.get(s))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A JSON summary of the groups and servers as they would be recorded (no secrets).
    pub fn summary_json(&self) -> serde_json::Value {
        let groups: serde_json::Map<String, serde_json::Value> = self
            .groups
            .values()
            .map(|g| {
                (
                    g.name.clone(),
                    serde_json::json!({
                        "catalog": g.catalog.to_ascii(),
                        "secondaries": g.secondaries,
                        "nameservers": g.nameservers.iter().map(Name::to_ascii).collect::<Vec<_>>(),
                    }),
                )
            })
            .collect();
        serde_json::json!({ "primary": self.primary.addr.to_string(), "groups": groups })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_secondary_has_its_own_catalog_under_the_groups() {
        let cat = Name::from_ascii("Catalog.Default.zonekeeper.").unwrap();
        assert_eq!(
            member_catalog(&cat, "ns1").to_string(),
            "ns1.catalog.default.zonekeeper."
        );
        assert!(cat.zone_of(&member_catalog(&cat, "ns-2")));
    }

    #[test]
    fn secondary_names_are_labels() {
        for ok in ["ns1", "NS-2", "a", &"x".repeat(63)] {
            assert!(is_server_label(ok), "{ok}");
        }
        for bad in ["", "-ns", "ns-", "ns.1", "ns_1", "ns 1", &"x".repeat(64)] {
            assert!(!is_server_label(bad), "{bad}");
        }
    }
}
