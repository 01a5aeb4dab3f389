//! The lab's readiness probe: one non-recursive SOA query over UDP, asked through
//! zonekeeper's one query function (`zonekeeper_query`), telling "answers" (any rcode)
//! from "silent".

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use zonekeeper_query::hickory_proto::rr::{Name, RecordType};
use zonekeeper_query::{QueryError, Transport, query_blocking};

/// What a server answered to [`probe_soa`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeAnswer {
    /// The response code (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, ...).
    pub rcode: u8,
    /// The AA (authoritative answer) bit.
    pub authoritative: bool,
    /// The TC (truncated) bit.
    pub truncated: bool,
    /// Number of records in the answer section.
    pub answer_count: u16,
}

/// Sends one non-recursive `qname IN SOA` query over UDP (no TSIG) and returns the
/// header of the answer. Errors: the name is not valid (`InvalidInput`), nothing answered
/// within `timeout` (`TimedOut`), or the query failed otherwise.
pub fn probe_soa(server: SocketAddr, qname: &str, timeout: Duration) -> io::Result<ProbeAnswer> {
    let name = Name::from_ascii(qname).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad name {qname:?}: {e}"),
        )
    })?;
    let reply = query_blocking(server, &name, RecordType::SOA, Transport::Udp, timeout).map_err(
        |e| match e {
            QueryError::TimedOut | QueryError::NoResponse => {
                io::Error::new(io::ErrorKind::TimedOut, "no answer")
            }
            other => io::Error::other(other),
        },
    )?;
    Ok(ProbeAnswer {
        // The header's 4-bit RCODE: extended codes (from EDNS) keep their low bits.
        rcode: (u16::from(reply.rcode) & 0x0f) as u8,
        authoritative: reply.authoritative,
        truncated: reply.truncated,
        answer_count: u16::try_from(reply.answers.len()).unwrap_or(u16::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_name_is_invalid_input() {
        let err = probe_soa(
            "127.0.0.1:9".parse().unwrap(),
            &"x".repeat(64),
            Duration::from_millis(100),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_silent_server_is_timed_out() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let err = probe_soa(
            socket.local_addr().unwrap(),
            ".",
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
