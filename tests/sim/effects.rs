//! The simulated fleet behind zonekeeper's effect traits: [`Fleet`] is the [`Connector`]
//! (control channels and signed connections to primaries), the [`Prober`], the [`Clock`]
//! and the crash-test [`Boundary`] hook, all on one [`World`] behind a lock (never held
//! across an await).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use hickory_proto::rr::Name;
use zonekeeper::apply::effects::{Boundary, Clock, Connector, Control, Effects, Prober, Sender};
use zonekeeper::backend::bind::{BindError, Stanza};
use zonekeeper::backend::update::{Update, UpdateError, record_len};
use zonekeeper::live::{SoaAnswer, Transport};
use zonekeeper::model::Primary;
use zonekeeper::model::config::TsigKeyRef;

use super::world::{Role, Source, TRUNCATE_BYTES, World, ascii_of};
use super::zone::Outcome;

/// How long a signed connection waits for a hung primary.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The simulated fleet, shared.
#[derive(Clone)]
pub struct Fleet(pub Arc<Mutex<World>>);

impl Fleet {
    /// The world, locked.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Effects on this fleet for the driver.
    pub fn effects(&self) -> Effects {
        Effects {
            connector: Arc::new(self.clone()),
            prober: Arc::new(self.clone()),
            clock: Arc::new(self.clone()),
            boundary: Arc::new(self.clone()),
        }
    }

    /// Whether the server at `addr` does not answer: down answers at once, hung after
    /// `timeout` (which passes on the clock). `Some(why)` when it does not.
    fn silent(&self, addr: SocketAddr, timeout: Duration) -> Option<String> {
        let mut w = self.world();
        let Some(s) = w.servers.get(&addr) else {
            return Some("connection refused".into());
        };
        if s.sw.down {
            return Some("connection refused".into());
        }
        if s.sw.hung {
            w.advance(timeout);
            return Some("timed out".into());
        }
        None
    }
}

#[async_trait]
impl Clock for Fleet {
    fn now(&self) -> Duration {
        self.world().now
    }

    async fn sleep(&self, d: Duration) {
        self.world().advance(d);
    }
}

#[async_trait]
impl Boundary for Fleet {
    async fn reached(&self, what: &str) {
        let stop = {
            let mut w = self.world();
            w.boundaries += 1;
            w.trail.push(what.to_string());
            let stop = w.crash_at == Some(w.boundaries);
            if stop {
                w.crashed = true;
                tracing::debug!(at = w.boundaries, what, "simulated crash");
            }
            stop
        };
        if stop {
            std::future::pending::<()>().await;
        }
    }
}

#[async_trait]
impl Prober for Fleet {
    async fn soa(
        &self,
        server: SocketAddr,
        zone: &Name,
        _transport: Transport,
        timeout: Duration,
    ) -> SoaAnswer {
        if let Some(why) = self.silent(server, timeout) {
            return SoaAnswer::NoAnswer(why);
        }
        let mut w = self.world();
        let s = &w.servers[&server];
        let (lossy, refusing) = (s.sw.lossy, s.sw.refusing);
        if lossy && w.rng.below(2) == 0 {
            w.advance(timeout);
            return SoaAnswer::NoAnswer("timed out".into());
        }
        if refusing {
            return SoaAnswer::NotAuthoritative {
                rcode: "REFUSED".into(),
                aa: false,
            };
        }
        match w.serving(server, &ascii_of(zone)) {
            Some(d) => SoaAnswer::Serves { serial: d.serial() },
            None => SoaAnswer::NotAuthoritative {
                rcode: "REFUSED".into(),
                aa: false,
            },
        }
    }

    async fn ns_set_ttl(
        &self,
        server: SocketAddr,
        zone: &Name,
        timeout: Duration,
    ) -> Result<(Vec<String>, u32), String> {
        if let Some(why) = self.silent(server, timeout) {
            return Err(why);
        }
        let w = self.world();
        let zone = ascii_of(zone);
        let s = &w.servers[&server];
        if !s.sw.answers() {
            return Err("REFUSED".into());
        }
        // Its own zone answers; else the closest enclosing zone it holds refers.
        let mut best: Option<&super::zone::ZoneData> = None;
        for (name, h) in &s.zones {
            let encloses = zone == *name || zone.ends_with(&format!(".{name}"));
            if encloses && best.is_none_or(|b| b.origin.len() < name.len()) {
                best = Some(&h.data);
            }
        }
        best.and_then(|d| d.ns_at(&zone))
            .ok_or_else(|| "REFUSED".to_string())
    }
}

#[async_trait]
impl Connector for Fleet {
    fn control(&self, primary: &Primary) -> Box<dyn Control> {
        Box::new(SimControl {
            fleet: self.clone(),
            addr: primary.addr,
        })
    }

    async fn sender(
        &self,
        addr: SocketAddr,
        _tsig: &TsigKeyRef,
    ) -> Result<Box<dyn Sender>, UpdateError> {
        if let Some(message) = self.silent(addr, CONNECT_TIMEOUT) {
            return Err(UpdateError::Unreachable { addr, message });
        }
        Ok(Box::new(SimSender {
            fleet: self.clone(),
            addr,
        }))
    }
}

/// The primary's marker of a reconfig owed (`zones.conf.pending` on BIND).
const RECONFIG_OWED: &str = "zones.conf.pending";

/// A primary's configuration and control channel.
struct SimControl {
    fleet: Fleet,
    addr: SocketAddr,
}

impl SimControl {
    fn with_files<T>(
        &self,
        f: impl FnOnce(&mut std::collections::BTreeMap<String, String>, &mut Vec<Stanza>) -> T,
    ) -> Option<T> {
        let mut w = self.fleet.world();
        match &mut w.servers.get_mut(&self.addr)?.role {
            Role::Primary { files, conf } => Some(f(files, conf)),
            _ => None,
        }
    }

    fn rndc(&self, what: &str, timeout: Duration) -> Result<(), BindError> {
        match self.fleet.silent(self.addr, timeout) {
            Some(message) => Err(BindError::Rndc {
                command: format!("rndc {what}"),
                message,
            }),
            None => Ok(()),
        }
    }
}

#[async_trait]
impl Control for SimControl {
    fn has_zone_file(&self, zone: &Name) -> bool {
        self.with_files(|files, _| files.contains_key(&ascii_of(zone)))
            .unwrap_or(false)
    }

    fn write_zone_file(&self, zone: &Name, text: &str) -> Result<(), BindError> {
        self.with_files(|files, _| files.insert(ascii_of(zone), text.to_string()));
        Ok(())
    }

    fn remove_zone_files(&self, zone: &Name) {
        self.with_files(|files, _| files.remove(&ascii_of(zone)));
    }

    fn write_conf(&self, stanzas: &[Stanza]) -> Result<bool, BindError> {
        // A reconfig owed is a file beside the zone files, as on BIND (no zone's key ends
        // without its dot).
        Ok(self
            .with_files(|files, conf| {
                if conf.as_slice() != stanzas {
                    files.insert(RECONFIG_OWED.into(), String::new());
                    *conf = stanzas.to_vec();
                }
                files.contains_key(RECONFIG_OWED)
            })
            .unwrap_or(false))
    }

    async fn reconfig(&self) -> Result<(), BindError> {
        self.rndc("reconfig", Duration::from_secs(60))?;
        self.fleet.world().reconfig(self.addr);
        self.with_files(|files, _| files.remove(RECONFIG_OWED));
        Ok(())
    }

    async fn notify(&self, _zone: &Name) -> Result<(), BindError> {
        self.rndc("notify", Duration::from_secs(10))
    }

    async fn refresh(&self, zone: &Name) -> Result<(), BindError> {
        self.rndc("refresh", Duration::from_secs(10))?;
        let mut w = self.fleet.world();
        let zone = ascii_of(zone);
        let from = match w.servers.get(&self.addr).and_then(|s| s.zones.get(&zone)) {
            Some(h) => match h.source {
                Source::Copy(from) => from,
                _ => return Ok(()),
            },
            None => return Ok(()),
        };
        w.refresh_copy(self.addr, &zone, from);
        Ok(())
    }
}

/// A signed connection to a primary.
struct SimSender {
    fleet: Fleet,
    addr: SocketAddr,
}

impl SimSender {
    fn unreachable(&self, message: String) -> UpdateError {
        UpdateError::Unreachable {
            addr: self.addr,
            message,
        }
    }
}

#[async_trait]
impl Sender for SimSender {
    fn addr(&self) -> SocketAddr {
        self.addr
    }

    async fn send(
        &self,
        zone: &Name,
        update: &Update,
        expected_serial: Option<u32>,
    ) -> Result<(), UpdateError> {
        if let Some(why) = self.fleet.silent(self.addr, CONNECT_TIMEOUT) {
            return Err(self.unreachable(why));
        }
        let key = ascii_of(zone);
        let rejected = |rcode: &str| UpdateError::Rejected {
            zone: key.clone(),
            rcode: rcode.into(),
        };
        let mut w = self.fleet.world();
        let sw = w.servers[&self.addr].sw;
        if sw.refusing {
            return Err(rejected("REFUSED"));
        }
        let size: usize = update
            .prerequisites
            .iter()
            .chain(&update.changes)
            .filter_map(|r| record_len(r).ok())
            .sum();
        if sw.truncating && size > TRUNCATE_BYTES {
            return Err(rejected("FORMERR"));
        }
        let Some(held) = w
            .servers
            .get_mut(&self.addr)
            .and_then(|s| s.zones.get_mut(&key))
        else {
            return Err(rejected("NOTAUTH"));
        };
        if held.source != Source::File {
            return Err(rejected("REFUSED"));
        }
        match held.data.update(update) {
            Outcome::NxRrset => match expected_serial {
                Some(serial) => Err(UpdateError::Drift { zone: key, serial }),
                None => Err(rejected("NXRRSET")),
            },
            Outcome::Applied(changed) => {
                if changed {
                    let data = held.data.clone();
                    w.record(self.addr, &key, &data);
                    w.event("UPDATE");
                }
                Ok(())
            }
        }
    }

    async fn zone_lines(&self, zone: &Name) -> Result<Vec<String>, UpdateError> {
        if let Some(why) = self.fleet.silent(self.addr, CONNECT_TIMEOUT) {
            return Err(self.unreachable(why));
        }
        let w = self.fleet.world();
        match w.serving(self.addr, &ascii_of(zone)) {
            Some(d) => Ok(d.axfr()),
            None => Err(self.unreachable("transfer refused".into())),
        }
    }

    async fn reopen(&self) -> Result<Box<dyn Sender>, UpdateError> {
        if let Some(why) = self.fleet.silent(self.addr, CONNECT_TIMEOUT) {
            return Err(self.unreachable(why));
        }
        Ok(Box::new(SimSender {
            fleet: self.fleet.clone(),
            addr: self.addr,
        }))
    }
}
