//! The simulated fleet's state: servers (primaries, secondaries, a registry serving parent
//! zones), what each holds, their fault switches, the simulated clock, and the invariants
//! checked at every event. Everything is plain data behind one lock; the effect traits in
//! `effects.rs` turn driver calls into calls of [`World`]'s methods.
//!
//! # How the servers behave
//!
//! - A **primary** holds the zone files and `zones.conf` the executor wrote; on reconfig it
//!   loads every stanza: a primary zone from its file (a file it cannot parse is not
//!   loaded), a `copy_of` zone by transfer from that primary (retried at every tick until
//!   it has data, as BIND retries a secondary zone's first transfer); a copy turning into a
//!   primary zone keeps its data; zones no longer listed are dropped.
//! - A **secondary** consumes its configured member catalogs, each from a configured
//!   primary (`default-primaries`, which its operator may re-point). On every tick of the
//!   clock it transfers newer catalogs, adds the members listed (from the catalog's
//!   `primaries.ext`, else the default), drops members no longer listed, and transfers
//!   newer serials of its members. A `slow` secondary does each of these only once it has
//!   seen it for [`SLOW_DELAY`].
//! - The **registry** serves parent zones whose delegations the test (as the registrar)
//!   edits.
//!
//! Time moves only when the driver sleeps or a probe times out ([`World::advance`]), or
//! when the test waits between applies. Faults: `down` (no answer at once), `hung` (the
//! request costs its timeout), `slow` (transfers late), `lossy` (drops a fraction of
//! probes, from a seeded RNG), `refusing` (REFUSED), `truncating` (UPDATEs larger than
//! [`TRUNCATE_BYTES`] come back FORMERR, applied not at all, as BIND does for a message it
//! cannot parse).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use zonekeeper::backend::bind::Stanza;

use super::invariants::Invariants;
use super::rng::Rng;
use super::zone::ZoneData;

/// How late a `slow` secondary transfers.
pub const SLOW_DELAY: Duration = Duration::from_secs(3);

/// The largest UPDATE a `truncating` primary takes.
pub const TRUNCATE_BYTES: usize = 200;

/// One server's fault switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Switches {
    /// No answer at all, at once.
    pub down: bool,
    /// Every request times out.
    pub hung: bool,
    /// Transfers take [`SLOW_DELAY`].
    pub slow: bool,
    /// Drops about half of the probes.
    pub lossy: bool,
    /// Answers REFUSED.
    pub refusing: bool,
    /// Refuses UPDATEs over [`TRUNCATE_BYTES`].
    pub truncating: bool,
}

impl Switches {
    /// Whether it answers queries as it should.
    pub fn answers(&self) -> bool {
        !(self.down || self.hung || self.refusing)
    }
}

/// Where a held zone came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A primary zone, loaded from its file or changed by UPDATEs.
    File,
    /// A primary's copy transferred from another primary.
    Copy(SocketAddr),
    /// A secondary's catalog zone.
    Catalog,
    /// A secondary's member zone, listed by this catalog.
    Member(String),
    /// The registry's own zone.
    Static,
}

/// A zone a server holds.
#[derive(Debug, Clone)]
pub struct Held {
    /// Its content.
    pub data: ZoneData,
    /// Where it came from.
    pub source: Source,
}

/// What kind of server.
#[derive(Debug, Clone)]
pub enum Role {
    /// A primary: its files and `zones.conf` as written.
    Primary {
        /// Zone files by zone.
        files: BTreeMap<String, String>,
        /// `zones.conf`.
        conf: Vec<Stanza>,
    },
    /// A secondary: the catalogs it consumes, each from a primary.
    Secondary {
        /// Member catalog → where it transfers it from.
        catalogs: BTreeMap<String, SocketAddr>,
        /// When it first saw each pending transfer (zone, serial).
        seen: BTreeMap<(String, u32), Duration>,
    },
    /// The registry of the parent zones.
    Registry,
}

/// One server.
#[derive(Debug, Clone)]
pub struct Server {
    /// Its name (`ns1`, `p0`, ...).
    pub name: String,
    /// Its name in NS records, when it has one.
    pub ns_name: Option<String>,
    /// Its role.
    pub role: Role,
    /// Its zones.
    pub zones: BTreeMap<String, Held>,
    /// Its switches.
    pub sw: Switches,
    /// Whether it was down when last looked at (a primary coming back restarts).
    pub was_down: bool,
}

/// The fleet and its clock.
#[derive(Debug, Clone)]
pub struct World {
    /// Time since the epoch.
    pub now: Duration,
    /// Every server by address.
    pub servers: BTreeMap<SocketAddr, Server>,
    /// The probes' and faults' randomness.
    pub rng: Rng,
    /// Invariants, checked at every event.
    pub inv: Invariants,
    /// Every version each primary served of each zone, in order: (primary, zone) →
    /// (serial, content).
    pub history: BTreeMap<(SocketAddr, String), Vec<(u32, String)>>,
    /// Boundaries the driver reached.
    pub boundaries: usize,
    /// What each boundary was, in order.
    pub trail: Vec<String>,
    /// Stop the driver at this boundary.
    pub crash_at: Option<usize>,
    /// The driver was stopped.
    pub crashed: bool,
    /// Events so far (UPDATEs, catalog and member changes, clock steps).
    pub events: usize,
    /// Random fault flips: (probability per event in per mille, until this many events).
    pub chaos: Option<(u32, usize)>,
    /// Copies a primary's last reconfig configured, by (primary, zone, source primary):
    /// those without data yet are transferred again at every tick.
    pub awaiting: BTreeSet<(SocketAddr, String, SocketAddr)>,
    /// When set, a secondary transfers at most one member zone per this much time (a
    /// secondary taking thousands of new zones a few at a time); when each last did.
    pub transfer_gap: Option<Duration>,
    /// Each secondary's last member transfer, for `transfer_gap`.
    pub last_transfer: BTreeMap<SocketAddr, Duration>,
}

impl World {
    /// An empty fleet at `now`.
    pub fn new(now: Duration, seed: u64) -> World {
        World {
            now,
            servers: BTreeMap::new(),
            rng: Rng::new(seed),
            inv: Invariants::default(),
            history: BTreeMap::new(),
            boundaries: 0,
            trail: Vec::new(),
            crash_at: None,
            crashed: false,
            events: 0,
            chaos: None,
            awaiting: BTreeSet::new(),
            transfer_gap: None,
            last_transfer: BTreeMap::new(),
        }
    }

    /// Adds a server.
    pub fn add(&mut self, addr: SocketAddr, name: &str, ns_name: Option<&str>, role: Role) {
        self.servers.insert(
            addr,
            Server {
                name: name.into(),
                ns_name: ns_name.map(String::from),
                role,
                zones: BTreeMap::new(),
                sw: Switches::default(),
                was_down: false,
            },
        );
    }

    /// The zone `zone` as the server at `addr` gives it (to a transfer or a query): `None`
    /// when it does not answer or does not hold it.
    pub fn serving(&self, addr: SocketAddr, zone: &str) -> Option<&ZoneData> {
        let s = self.servers.get(&addr)?;
        if !s.sw.answers() {
            return None;
        }
        s.zones.get(zone).map(|h| &h.data)
    }

    /// Something happened: count it, maybe flip a fault, check the invariants.
    pub fn event(&mut self, what: &str) {
        self.events += 1;
        if let Some((per_mille, until)) = self.chaos {
            if self.events >= until {
                self.clear_faults();
                self.chaos = None;
            } else if self.rng.below(1000) < u64::from(per_mille) {
                self.flip();
            }
        }
        let mut inv = std::mem::take(&mut self.inv);
        inv.check(&self.servers, self.now, what);
        self.inv = inv;
    }

    /// Flips one random switch of one random server.
    fn flip(&mut self) {
        let addrs: Vec<SocketAddr> = self.servers.keys().copied().collect();
        let addr = addrs[self.rng.below(addrs.len() as u64) as usize];
        // Hung primaries too: a reconfig that times out after zones.conf was written is
        // done again by the next write of zones.conf (the marker of a reconfig owed).
        let which = self.rng.below(6);
        if let Some(s) = self.servers.get_mut(&addr) {
            let sw = &mut s.sw;
            let f = match which {
                0 => &mut sw.down,
                1 => &mut sw.hung,
                2 => &mut sw.slow,
                3 => &mut sw.lossy,
                4 => &mut sw.refusing,
                _ => &mut sw.truncating,
            };
            *f = !*f;
        }
        self.restarted(addr);
    }

    /// A primary that was down and answers again has restarted: named loads its
    /// `zones.conf` at start.
    fn restarted(&mut self, addr: SocketAddr) {
        let Some(s) = self.servers.get_mut(&addr) else {
            return;
        };
        let was_down = s.was_down;
        s.was_down = s.sw.down;
        if was_down && !s.sw.down && matches!(s.role, Role::Primary { .. }) {
            self.reconfig(addr);
        }
    }

    /// Every switch off.
    pub fn clear_faults(&mut self) {
        let addrs: Vec<SocketAddr> = self.servers.keys().copied().collect();
        for addr in addrs {
            if let Some(s) = self.servers.get_mut(&addr) {
                s.sw = Switches::default();
            }
            self.restarted(addr);
        }
    }

    /// Moves the clock forward by `d`; the secondaries and copies catch up.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.tick();
        self.event("clock step");
    }

    /// Every secondary and primary copy catches up with its sources.
    pub fn tick(&mut self) {
        let addrs: Vec<SocketAddr> = self.servers.keys().copied().collect();
        for addr in addrs {
            let (sw, is_secondary) = match self.servers.get(&addr) {
                Some(s) => (s.sw, matches!(s.role, Role::Secondary { .. })),
                None => continue,
            };
            if sw.down || sw.hung {
                continue;
            }
            if is_secondary {
                self.sync_catalogs(addr);
                self.sync_members(addr);
            } else {
                self.sync_copies(addr);
            }
        }
    }

    /// Whether a `slow` server may make a transfer of (zone, serial) yet.
    fn due(&mut self, addr: SocketAddr, zone: &str, serial: u32) -> bool {
        let now = self.now;
        let Some(s) = self.servers.get_mut(&addr) else {
            return false;
        };
        let slow = s.sw.slow;
        let Role::Secondary { seen, .. } = &mut s.role else {
            return true;
        };
        let first = *seen.entry((zone.to_string(), serial)).or_insert(now);
        !slow || now >= first + SLOW_DELAY
    }

    fn newer(held: Option<&Held>, offered: &ZoneData) -> bool {
        match held {
            None => true,
            Some(h) => zonekeeper::model::serial::serial_gt(offered.serial(), h.data.serial()),
        }
    }

    /// What `from` serves of `zone` when it is newer than what `addr` holds (a copy: only
    /// then is it transferred).
    fn offered(&self, addr: SocketAddr, zone: &str, from: SocketAddr) -> Option<ZoneData> {
        let offered = self.serving(from, zone)?;
        let held = self.servers.get(&addr)?.zones.get(zone);
        Self::newer(held, offered).then(|| offered.clone())
    }

    fn sync_catalogs(&mut self, addr: SocketAddr) {
        let catalogs = match &self.servers[&addr].role {
            Role::Secondary { catalogs, .. } => catalogs.clone(),
            _ => return,
        };
        for (cat, from) in catalogs {
            let Some(offered) = self.offered(addr, &cat, from) else {
                continue;
            };
            if self.due(addr, &cat, offered.serial()) {
                self.hold(addr, &cat, offered, Source::Catalog);
                self.event("catalog transferred");
            }
        }
    }

    /// The member zones of `addr`'s catalogs, each with its catalog and primaries.
    fn wanted(&self, addr: SocketAddr) -> BTreeMap<String, (String, Vec<SocketAddr>)> {
        let s = &self.servers[&addr];
        let Role::Secondary { catalogs, .. } = &s.role else {
            return BTreeMap::new();
        };
        let mut out = BTreeMap::new();
        for (cat, from) in catalogs {
            let Some(h) = s.zones.get(cat) else { continue };
            let ext: Vec<SocketAddr> = h
                .data
                .ext_primaries()
                .iter()
                .map(|ip| SocketAddr::new(*ip, from.port()))
                .collect();
            let primaries = if ext.is_empty() { vec![*from] } else { ext };
            for m in h.data.members() {
                out.entry(m.clone())
                    .or_insert((cat.clone(), primaries.clone()));
            }
        }
        out
    }

    fn sync_members(&mut self, addr: SocketAddr) {
        let wanted = self.wanted(addr);
        let gone: Vec<String> = self.servers[&addr]
            .zones
            .iter()
            .filter(|(z, h)| matches!(h.source, Source::Member(_)) && !wanted.contains_key(*z))
            .map(|(z, _)| z.clone())
            .collect();
        for z in gone {
            let now = self.now;
            let server = self.servers[&addr].clone();
            self.inv.dropping(&server, &z, now);
            if let Some(s) = self.servers.get_mut(&addr) {
                s.zones.remove(&z);
            }
            self.event("member dropped");
        }
        for (zone, (cat, primaries)) in wanted {
            let Some(p) = primaries
                .iter()
                .find(|p| self.serving(**p, &zone).is_some())
            else {
                continue;
            };
            let Some(offered) = self.offered(addr, &zone, *p) else {
                continue;
            };
            if let (Some(gap), Some(last)) = (self.transfer_gap, self.last_transfer.get(&addr))
                && self.now < *last + gap
            {
                break;
            }
            if self.due(addr, &zone, offered.serial()) {
                self.hold(addr, &zone, offered, Source::Member(cat));
                self.last_transfer.insert(addr, self.now);
                self.event("member transferred");
            }
        }
    }

    /// A primary's copies catch up: those it holds, and those its last reconfig loaded that
    /// it never got (BIND retries the first transfer of a secondary zone without data, on
    /// its retry timer, until one succeeds).
    fn sync_copies(&mut self, addr: SocketAddr) {
        let s = &self.servers[&addr];
        let mut copies: BTreeSet<(String, SocketAddr)> = s
            .zones
            .iter()
            .filter_map(|(z, h)| match h.source {
                Source::Copy(from) => Some((z.clone(), from)),
                _ => None,
            })
            .collect();
        copies.extend(
            self.awaiting
                .iter()
                .filter(|(a, z, _)| *a == addr && !s.zones.contains_key(z))
                .map(|(_, z, from)| (z.clone(), *from)),
        );
        for (zone, from) in copies {
            self.refresh_copy(addr, &zone, from);
        }
    }

    /// A primary's copy transfers `zone` from `from` when that serves a newer one (or it
    /// holds none).
    pub fn refresh_copy(&mut self, addr: SocketAddr, zone: &str, from: SocketAddr) {
        if let Some(offered) = self.offered(addr, zone, from) {
            self.hold(addr, zone, offered, Source::Copy(from));
            self.event("copy transferred");
        }
    }

    /// `addr` now holds `data` as `zone`.
    pub fn hold(&mut self, addr: SocketAddr, zone: &str, data: ZoneData, source: Source) {
        if let Some(s) = self.servers.get_mut(&addr) {
            s.zones.insert(zone.to_string(), Held { data, source });
        }
    }

    /// The primary at `addr` loads its `zones.conf` (`rndc reconfig`).
    pub fn reconfig(&mut self, addr: SocketAddr) {
        let Some(Role::Primary { files, conf }) = self.servers.get(&addr).map(|s| s.role.clone())
        else {
            return;
        };
        let listed: BTreeSet<String> = conf.iter().map(|s| ascii_of(&s.zone)).collect();
        self.awaiting.retain(|(a, _, _)| *a != addr);
        self.awaiting.extend(
            conf.iter()
                .filter_map(|s| Some((addr, ascii_of(&s.zone), s.copy_of?))),
        );
        if let Some(s) = self.servers.get_mut(&addr) {
            s.zones.retain(|z, _| listed.contains(z));
        }
        for stanza in conf {
            let zone = ascii_of(&stanza.zone);
            let held = self.servers[&addr].zones.get(&zone).cloned();
            match (stanza.copy_of, held) {
                (None, Some(h)) if h.source != Source::File => {
                    self.hold(addr, &zone, h.data, Source::File);
                }
                (None, Some(_)) => {}
                (None, None) => {
                    if let Some(d) = files.get(&zone).and_then(|t| ZoneData::parse(&zone, t)) {
                        self.record(addr, &zone, &d);
                        self.hold(addr, &zone, d, Source::File);
                    }
                }
                (Some(from), Some(h)) => self.hold(addr, &zone, h.data, Source::Copy(from)),
                (Some(from), None) => self.refresh_copy(addr, &zone, from),
            }
        }
        self.event("reconfig");
    }

    /// Adds the version `d` the primary at `addr` serves of `zone` to its history.
    pub fn record(&mut self, addr: SocketAddr, zone: &str, d: &ZoneData) {
        self.history
            .entry((addr, zone.to_string()))
            .or_default()
            .push((d.serial(), d.content_key()));
    }

    /// The registrar publishes `ns` as the delegation of `zone` in the registry's parent
    /// zone (`parent`), with `ttl`.
    pub fn delegate(
        &mut self,
        registry: SocketAddr,
        parent: &str,
        zone: &str,
        ns: &[String],
        ttl: u32,
    ) {
        let Some(h) = self
            .servers
            .get_mut(&registry)
            .and_then(|s| s.zones.get_mut(parent))
        else {
            return;
        };
        h.data.set_ns(zone, ns, ttl);
        self.event("registrar");
    }

    /// The secondaries' operators point their catalog zones at `to`.
    pub fn repoint_catalogs(&mut self, to: SocketAddr) {
        for s in self.servers.values_mut() {
            if let Role::Secondary { catalogs, .. } = &mut s.role {
                for from in catalogs.values_mut() {
                    *from = to;
                }
            }
        }
        self.event("catalogs re-pointed");
    }
}

/// A name as the fleet keys zones: lower case, final dot.
pub fn ascii_of(name: &hickory_proto::rr::Name) -> String {
    zonekeeper::model::ascii(name)
}
