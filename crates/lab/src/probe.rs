//! The lab's own readiness probe: one hand-built, non-recursive SOA query over UDP, so
//! that the lab needs no DNS library and tells "answers" (any rcode) from "silent".

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

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

/// Sends one non-recursive `qname IN SOA` query over UDP (a hand-built message, no TSIG)
/// and returns the header of the answer. Errors: the name is not valid, nothing answered
/// within `timeout` (`TimedOut`), or the port is closed (`ConnectionRefused`).
pub fn probe_soa(server: SocketAddr, qname: &str, timeout: Duration) -> io::Result<ProbeAnswer> {
    static NEXT_ID: AtomicU32 = AtomicU32::new(0);
    let id = (NEXT_ID.fetch_add(1, Ordering::Relaxed) as u16) ^ (std::process::id() as u16);
    let query = build_query(id, qname, 6)?;
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)?;
    // Connected, so that an ICMP port-unreachable shows up as ConnectionRefused at once.
    socket.connect(server)?;
    socket.send(&query)?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer"));
        }
        socket.set_read_timeout(Some(left))?;
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer"));
            }
            Err(e) => return Err(e),
        };
        if n >= 12 && buf[0..2] == id.to_be_bytes() && buf[2] & 0x80 != 0 {
            return Ok(ProbeAnswer {
                rcode: buf[3] & 0x0f,
                authoritative: buf[2] & 0x04 != 0,
                truncated: buf[2] & 0x02 != 0,
                answer_count: u16::from_be_bytes([buf[6], buf[7]]),
            });
        }
    }
}

/// A DNS query message: header (one question, RD=0) and the question.
fn build_query(id: u16, qname: &str, qtype: u16) -> io::Result<Vec<u8>> {
    let mut msg = Vec::with_capacity(12 + qname.len() + 6);
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in qname
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        if label.len() > 63 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("label longer than 63 bytes in {qname:?}"),
            ));
        }
        msg.push(label.len() as u8);
        msg.extend_from_slice(label.as_bytes());
    }
    msg.push(0);
    if msg.len() > 12 + 255 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("name too long: {qname:?}"),
        ));
    }
    msg.extend_from_slice(&qtype.to_be_bytes());
    msg.extend_from_slice(&1u16.to_be_bytes()); // class IN
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_soa_query_is_17_bytes() {
        let q = build_query(0x1234, ".", 6).unwrap();
        assert_eq!(
            q,
            vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1]
        );
        let q = build_query(1, "catalog.test.", 6).unwrap();
        assert_eq!(&q[12..], b"\x07catalog\x04test\x00\x00\x06\x00\x01");
    }
}
