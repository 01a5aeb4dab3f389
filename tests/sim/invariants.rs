//! The invariants of the staged procedures, checked by the simulated fleet at every event
//! (every UPDATE, reconfig, transfer, catalog change and clock step), never only at the end:
//!
//! - **No lame NS**: once every server a zone's NS RRset names serves the zone, an NS
//!   record naming a server (at the zone's apex, or as a delegation in its parent) is never
//!   served by any server before the named server answers authoritatively for the zone.
//! - **TTL wait**: a server stops serving a zone (it left the catalog) only once every NS
//!   record naming it, as the primaries and the parent's servers published it, has
//!   expired from caches: the last moment it was published plus its TTL. (A secondary
//!   that lags keeps serving its old copy, NS records included, longer; the procedures
//!   count their wait from the moment the servers of the zone's new NS set serve the
//!   change, so that case is not covered: see the report of issue 8.)
//!
//! Servers whose switches make them not answer (down, hung, refusing) neither serve NS
//! records nor count as lame: those are faults of the fleet, not decisions of the driver.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use super::world::{Role, Server};

/// What the invariants have seen.
#[derive(Debug, Clone, Default)]
pub struct Invariants {
    /// zone → NS name → until when resolvers may hold an NS record naming it.
    expires: BTreeMap<String, BTreeMap<String, Duration>>,
    /// Zones every named server served at some point.
    established: BTreeSet<String>,
    /// Zones being deleted: nothing is promised about them.
    pub exempt: BTreeSet<String>,
    /// What broke, with when and at which event.
    pub violations: Vec<String>,
    /// How many times they were checked.
    pub checks: usize,
}

impl Invariants {
    /// Checks the fleet as it is now, after `what`.
    pub fn check(&mut self, servers: &BTreeMap<SocketAddr, Server>, now: Duration, what: &str) {
        self.checks += 1;
        let by_ns: BTreeMap<&str, &Server> = servers
            .values()
            .filter_map(|s| Some((s.ns_name.as_deref()?, s)))
            .collect();
        let mut listed: BTreeMap<(&str, &str), u32> = BTreeMap::new();
        for s in servers.values().filter(|s| s.sw.answers()) {
            for h in s.zones.values() {
                for (owner, target, ttl) in h.data.ns_records() {
                    let e = listed.entry((owner, target)).or_default();
                    *e = (*e).max(*ttl);
                }
            }
        }
        // The NS change happens on the primaries and at the parent: what they served is
        // what resolvers may hold (a lagging secondary's old copy is not counted: see the
        // module doc).
        let mut published: BTreeMap<(&str, &str), u32> = BTreeMap::new();
        for s in servers
            .values()
            .filter(|s| s.sw.answers() && !matches!(s.role, Role::Secondary { .. }))
        {
            for h in s.zones.values() {
                for (owner, target, ttl) in h.data.ns_records() {
                    let e = published.entry((owner, target)).or_default();
                    *e = (*e).max(*ttl);
                }
            }
        }
        for ((zone, ns), ttl) in &published {
            let until = now + Duration::from_secs(u64::from(*ttl));
            if !self.expires.contains_key(*zone) {
                self.expires.insert(zone.to_string(), BTreeMap::new());
            }
            let Some(by_ns) = self.expires.get_mut(*zone) else {
                continue;
            };
            match by_ns.get_mut(*ns) {
                Some(e) => *e = (*e).max(until),
                None => {
                    by_ns.insert(ns.to_string(), until);
                }
            }
        }
        let zones: BTreeSet<&str> = listed.keys().map(|(z, _)| *z).collect();
        for zone in zones {
            let all = listed
                .keys()
                .filter(|(z, _)| *z == zone)
                .filter_map(|(_, n)| by_ns.get(n))
                .all(|s| s.zones.contains_key(zone));
            if all && !self.established.contains(zone) {
                self.established.insert(zone.to_string());
            }
        }
        for (zone, ns) in listed.keys() {
            if !self.established.contains(*zone) || self.exempt.contains(*zone) {
                continue;
            }
            if let Some(s) = by_ns.get(ns)
                && s.sw.answers()
                && !s.zones.contains_key(*zone)
            {
                let by: Vec<String> = servers
                    .values()
                    .filter(|l| l.sw.answers())
                    .filter(|l| {
                        l.zones.values().any(|h| {
                            h.data
                                .ns_records()
                                .iter()
                                .any(|(o, t, _)| o == zone && t == ns)
                        })
                    })
                    .map(|l| l.name.clone())
                    .collect();
                self.violations.push(format!(
                    "lame NS at {:?} after {what}: {ns} is listed for {zone} (by {}) but {} does not serve it",
                    now,
                    by.join(", "),
                    s.name
                ));
            }
        }
    }

    /// `server` is about to stop serving `zone` at `now`.
    pub fn dropping(&mut self, server: &Server, zone: &str, now: Duration) {
        if self.exempt.contains(zone) {
            return;
        }
        let Some(ns) = &server.ns_name else { return };
        if let Some(until) = self.expires.get(zone).and_then(|by_ns| by_ns.get(ns))
            && now < *until
        {
            self.violations.push(format!(
                "TTL wait broken: {} stopped serving {zone} at {:?}, but resolvers may hold NS {ns} until {:?}",
                server.name, now, until
            ));
        }
    }
}
