//! The seam between the executor and the network it probes: [`Prober`] asks a server one
//! question and returns what it answered. [`Network`] asks real servers over UDP and TCP;
//! the simulated fleet of the tests answers from memory behind the same trait.

use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use hickory_proto::rr::Name;

use super::{SoaAnswer, Transport};

/// Asks servers about zones. Every answer is an observation, never an error.
#[async_trait]
pub trait Prober: Send + Sync {
    /// The SOA `server` gives for `zone`, recursion off (see [`super::soa`]).
    async fn soa(
        &self,
        server: SocketAddr,
        zone: &Name,
        transport: Transport,
        timeout: Duration,
    ) -> SoaAnswer;

    /// The NS set `server` gives for `zone` (referral or answer), sorted, lower case, with
    /// the longest TTL of those records (see [`super::ns_set_ttl`]).
    async fn ns_set_ttl(
        &self,
        server: SocketAddr,
        zone: &Name,
        timeout: Duration,
    ) -> Result<(Vec<String>, u32), String>;
}

/// The real network.
#[derive(Debug, Clone, Copy, Default)]
pub struct Network;

#[async_trait]
impl Prober for Network {
    async fn soa(
        &self,
        server: SocketAddr,
        zone: &Name,
        transport: Transport,
        timeout: Duration,
    ) -> SoaAnswer {
        super::soa(server, zone, transport, timeout).await
    }

    async fn ns_set_ttl(
        &self,
        server: SocketAddr,
        zone: &Name,
        timeout: Duration,
    ) -> Result<(Vec<String>, u32), String> {
        super::ns_set_ttl(server, zone, timeout).await
    }
}

/// No network at all: every question is answered "not asked". `plan` uses it, so that it
/// never touches a server (a CI job plans without network access to the fleet): what a
/// staged operation would learn from the parents' servers shows as unknown until `apply`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offline;

#[async_trait]
impl Prober for Offline {
    async fn soa(
        &self,
        _server: SocketAddr,
        _zone: &Name,
        _transport: Transport,
        _timeout: Duration,
    ) -> SoaAnswer {
        SoaAnswer::NoAnswer("not asked: plan asks no server".into())
    }

    async fn ns_set_ttl(
        &self,
        _server: SocketAddr,
        _zone: &Name,
        _timeout: Duration,
    ) -> Result<(Vec<String>, u32), String> {
        Err("not asked: plan asks no server".into())
    }
}
