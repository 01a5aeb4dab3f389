//! What the servers really answer. Probes return observations, never errors: "not yet
//! authoritative", "serial behind", "no answer" are states the caller decides about. Every
//! question goes through the one query function, `zonekeeper_query::query` (the workspace
//! crate `crates/query`, which the lab and the tests use too).
//!
//! A server serves a zone only when all of these hold (a bare AA check is fooled by a
//! served parent zone answering NXDOMAIN with AA): rcode NOERROR, the AA bit, an SOA in
//! the answer section owned by the zone itself, and the expected serial or a later one.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, RecordType};
use zonekeeper_query as query;

use crate::clock::Clock;
use crate::model::serial::serial_ge;

pub mod batch;
mod prober;
pub use prober::{Network, Offline, Prober};

/// At most this many probes are in flight at once: enough to check 40,000 zones × 3
/// servers in well under a minute, few enough not to flood a secondary's UDP buffer.
pub const MAX_PROBES_IN_FLIGHT: usize = 64;

/// UDP with EDNS0 (buffer 1232), or TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP, EDNS0 with a 1232-byte buffer.
    Udp,
    /// TCP.
    Tcp,
}

/// What a server answered to `SOA` for a zone, recursion off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoaAnswer {
    /// NOERROR, AA, the zone's SOA in the answer: it serves the zone at `serial`.
    Serves {
        /// The serial it serves.
        serial: u32,
    },
    /// It answered, but not as an authority for the zone.
    NotAuthoritative {
        /// Its response code.
        rcode: String,
        /// Whether AA was set.
        aa: bool,
    },
    /// No answer: refused connection, timeout.
    NoAnswer(String),
}

impl SoaAnswer {
    /// Whether it serves the zone at `serial` or later.
    pub fn serves_at_least(&self, serial: u32) -> bool {
        matches!(self, SoaAnswer::Serves { serial: s } if serial_ge(*s, serial))
    }

    /// A short description for messages.
    pub fn describe(&self) -> String {
        match self {
            SoaAnswer::Serves { serial } => format!("serves serial {serial}"),
            SoaAnswer::NotAuthoritative { rcode, aa } => format!(
                "answers {rcode}{}",
                if *aa { " with AA" } else { " without AA" }
            ),
            SoaAnswer::NoAnswer(why) => format!("does not answer ({why})"),
        }
    }
}

/// Asks `server` for the SOA of `zone`, recursion off (through [`zonekeeper_query::query`]:
/// EDNS0 with a 1232-byte buffer).
pub async fn soa(
    server: SocketAddr,
    zone: &Name,
    transport: Transport,
    timeout: Duration,
) -> SoaAnswer {
    let transport = match transport {
        Transport::Udp => query::Transport::Udp,
        Transport::Tcp => query::Transport::Tcp,
    };
    let reply = match query::query(server, zone, RecordType::SOA, transport, timeout).await {
        Ok(reply) => reply,
        Err(e) => return SoaAnswer::NoAnswer(e.to_string()),
    };
    judge_soa(zone, reply.rcode, reply.authoritative, &reply.answers)
}

/// What an answer to `SOA zone` says: the zone is served only with NOERROR, AA and the
/// zone's own SOA in the answer section.
pub fn judge_soa(
    zone: &Name,
    rcode: ResponseCode,
    authoritative: bool,
    answers: &[hickory_proto::rr::Record],
) -> SoaAnswer {
    let soa = answers.iter().find_map(|r| match &r.data {
        RData::SOA(soa) if r.name.to_lowercase() == zone.to_lowercase() => Some(soa.serial),
        _ => None,
    });
    match (rcode, authoritative, soa) {
        (ResponseCode::NoError, true, Some(serial)) => SoaAnswer::Serves { serial },
        (rcode, aa, _) => SoaAnswer::NotAuthoritative {
            rcode: rcode.to_string(),
            aa,
        },
    }
}

/// The NS set `server` gives for `zone` with recursion off: the referral of a parent's
/// server (authority section), or the answer of one that serves the zone itself. Sorted,
/// lower case.
pub async fn ns_set(
    server: SocketAddr,
    zone: &Name,
    timeout: Duration,
) -> Result<Vec<String>, String> {
    ns_set_ttl(server, zone, timeout)
        .await
        .map(|(names, _)| names)
}

/// [`ns_set`], with the longest TTL of those NS records: how long resolvers may hold them.
pub async fn ns_set_ttl(
    server: SocketAddr,
    zone: &Name,
    timeout: Duration,
) -> Result<(Vec<String>, u32), String> {
    let reply = query::query(server, zone, RecordType::NS, query::Transport::Udp, timeout)
        .await
        .map_err(|e| e.to_string())?;
    let records: Vec<_> = reply
        .answers
        .iter()
        .chain(reply.authorities.iter())
        .filter(|r| r.name.to_lowercase() == zone.to_lowercase())
        .filter(|r| matches!(r.data, RData::NS(_)))
        .collect();
    let ttl = records.iter().map(|r| r.ttl).max().unwrap_or(0);
    let mut names: Vec<String> = records
        .iter()
        .filter_map(|r| match &r.data {
            RData::NS(ns) => Some(crate::model::ascii(&ns.0)),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    Ok((names, ttl))
}

/// One check to make: does `server` serve `zone` at `serial` (or, with `serial` None,
/// has it stopped serving it)?
#[derive(Debug, Clone)]
pub struct Check {
    /// The zone.
    pub zone: Name,
    /// Server name, for messages.
    pub server: String,
    /// Where it answers.
    pub addr: SocketAddr,
    /// The serial it must serve, or None when it must no longer serve the zone.
    pub serial: Option<u32>,
    /// With `serial` None: whether no answer at all (a stopped server) also counts as
    /// no longer serving.
    pub silent_ok: bool,
}

impl Check {
    /// `server` at `addr` must serve `zone` at `serial` or later.
    pub fn serves(zone: Name, server: &str, addr: SocketAddr, serial: u32) -> Check {
        Check {
            zone,
            server: server.into(),
            addr,
            serial: Some(serial),
            silent_ok: false,
        }
    }

    /// `server` at `addr` must answer, but not as an authority for `zone`.
    pub fn refuses(zone: Name, server: &str, addr: SocketAddr) -> Check {
        Check {
            zone,
            server: server.into(),
            addr,
            serial: None,
            silent_ok: false,
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The check.
    pub check: Check,
    /// The last answer seen.
    pub answer: SoaAnswer,
    /// Whether the check holds.
    pub ok: bool,
}

/// Whether `answer` meets `check` (the gates of `procedures::gates` judge probes by it).
pub fn holds(check: &Check, answer: &SoaAnswer) -> bool {
    match check.serial {
        Some(serial) => answer.serves_at_least(serial),
        None => match answer {
            SoaAnswer::NotAuthoritative { .. } => true,
            SoaAnswer::NoAnswer(_) => check.silent_ok,
            SoaAnswer::Serves { .. } => false,
        },
    }
}

/// Polls every check until it holds or `deadline` passes on `clock`, in rounds: each
/// round asks every pending check's server (at most [`MAX_PROBES_IN_FLIGHT`] at a time),
/// then, while some check is pending and time is left, waits `interval`. Returns every
/// outcome, in the order of `checks`.
pub async fn verify(
    prober: &dyn Prober,
    clock: &dyn Clock,
    checks: Vec<Check>,
    deadline: Duration,
    interval: Duration,
) -> Vec<Outcome> {
    let start = clock.now();
    let mut outcomes: Vec<Outcome> = checks
        .into_iter()
        .map(|check| Outcome {
            check,
            answer: SoaAnswer::NoAnswer("not asked yet".into()),
            ok: false,
        })
        .collect();
    loop {
        let pending: Vec<usize> = (0..outcomes.len()).filter(|i| !outcomes[*i].ok).collect();
        let answers: Vec<(usize, SoaAnswer)> = stream::iter(pending)
            .map(|i| {
                let check = outcomes[i].check.clone();
                async move { (i, probe_once(prober, &check).await) }
            })
            .buffered(MAX_PROBES_IN_FLIGHT)
            .collect()
            .await;
        for (i, answer) in answers {
            outcomes[i].ok = holds(&outcomes[i].check, &answer);
            outcomes[i].answer = answer;
        }
        let elapsed = clock.now().saturating_sub(start);
        if outcomes.iter().all(|o| o.ok) || elapsed >= deadline {
            return outcomes;
        }
        clock.sleep(interval.min(deadline - elapsed)).await;
    }
}

/// One answer for `check`: over UDP, and when that holds for a serial, over TCP too (a
/// server must serve the zone over both).
async fn probe_once(prober: &dyn Prober, check: &Check) -> SoaAnswer {
    let timeout = Duration::from_millis(1000);
    let a = prober
        .soa(check.addr, &check.zone, Transport::Udp, timeout)
        .await;
    if holds(check, &a) && check.serial.is_some() {
        prober
            .soa(check.addr, &check.zone, Transport::Tcp, timeout)
            .await
    } else {
        a
    }
}
