//! The seam between the executor and the primary it changes: [`Control`] is the primary's
//! configuration and control channel (zone files, `zones.conf`, `rndc`), [`Sender`] its
//! signed DNS connection (UPDATE and AXFR). [`PrimaryControl`] and [`Updater`] are the
//! real BIND ones; the simulated fleet of the tests implements both in memory.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use hickory_proto::rr::Name;

use super::bind::{BindError, PrimaryControl, Stanza};
use super::update::{Update, UpdateError, Updater};

/// The primary's zone configuration and control channel.
#[async_trait]
pub trait Control: Send + Sync {
    /// Whether zonekeeper already wrote a zone file for `zone`.
    fn has_zone_file(&self, zone: &Name) -> bool;
    /// Writes a new zone's file.
    fn write_zone_file(&self, zone: &Name, text: &str) -> Result<(), BindError>;
    /// Removes a deleted zone's file and journal.
    fn remove_zone_files(&self, zone: &Name);
    /// Writes `zones.conf` for these zones if it differs; whether the primary must
    /// reconfigure: it changed now, or it changed earlier and no [`Control::reconfig`]
    /// succeeded since (one failed or timed out, or the process died before it).
    fn write_conf(&self, stanzas: &[Stanza]) -> Result<bool, BindError>;
    /// The primary loads new zones and drops removed ones (`rndc reconfig`); on success
    /// nothing is owed any more (see [`Control::write_conf`]).
    async fn reconfig(&self) -> Result<(), BindError>;
    /// The primary sends NOTIFY for `zone` (`rndc notify`).
    async fn notify(&self, zone: &Name) -> Result<(), BindError>;
    /// The primary transfers its copy of `zone` again (`rndc refresh`).
    async fn refresh(&self, zone: &Name) -> Result<(), BindError>;
}

#[async_trait]
impl Control for PrimaryControl {
    fn has_zone_file(&self, zone: &Name) -> bool {
        PrimaryControl::has_zone_file(self, zone)
    }

    fn write_zone_file(&self, zone: &Name, text: &str) -> Result<(), BindError> {
        PrimaryControl::write_zone_file(self, zone, text)
    }

    fn remove_zone_files(&self, zone: &Name) {
        PrimaryControl::remove_zone_files(self, zone)
    }

    fn write_conf(&self, stanzas: &[Stanza]) -> Result<bool, BindError> {
        PrimaryControl::write_conf(self, stanzas)
    }

    async fn reconfig(&self) -> Result<(), BindError> {
        PrimaryControl::reconfig(self).await
    }

    async fn notify(&self, zone: &Name) -> Result<(), BindError> {
        self.rndc(&["notify", &zone.to_string()], Duration::from_secs(10))
            .await
            .map(|_| ())
    }

    async fn refresh(&self, zone: &Name) -> Result<(), BindError> {
        self.rndc(&["refresh", &zone.to_string()], Duration::from_secs(10))
            .await
            .map(|_| ())
    }
}

/// A signed DNS connection to a primary.
#[async_trait]
pub trait Sender: Send + Sync {
    /// Where the primary answers.
    fn addr(&self) -> SocketAddr;
    /// Sends one UPDATE for `zone` (see [`Updater::send`]).
    async fn send(
        &self,
        zone: &Name,
        update: &Update,
        expected_serial: Option<u32>,
    ) -> Result<(), UpdateError>;
    /// The zone as the primary serves it (AXFR): canonical presentation lines, sorted, the
    /// SOA once.
    async fn zone_lines(&self, zone: &Name) -> Result<Vec<String>, UpdateError>;
    /// Another connection to the same primary with the same key.
    async fn reopen(&self) -> Result<Box<dyn Sender>, UpdateError>;
}

#[async_trait]
impl Sender for Updater {
    fn addr(&self) -> SocketAddr {
        Updater::addr(self)
    }

    async fn send(
        &self,
        zone: &Name,
        update: &Update,
        expected_serial: Option<u32>,
    ) -> Result<(), UpdateError> {
        Updater::send(self, zone, update, expected_serial).await
    }

    async fn zone_lines(&self, zone: &Name) -> Result<Vec<String>, UpdateError> {
        Updater::zone_lines(self, zone).await
    }

    async fn reopen(&self) -> Result<Box<dyn Sender>, UpdateError> {
        Ok(Box::new(Updater::reopen(self).await?))
    }
}
