//! One way to ask a DNS server one question: `name` `type` class IN, recursion off, EDNS0
//! with a 1232-byte buffer, over UDP or TCP, within a timeout. The answer is what the
//! server said (response code, the AA and TC bits, the answer and authority sections),
//! whatever the response code; only "nothing usable came back" is an error.
//!
//! zonekeeper's probes (`live::soa`, `live::ns_set_ttl`), the lab's readiness probe and
//! the tests' witness of what servers answer (`support::dig_short`) all ask through
//! [`query`] (or [`query_blocking`] from code without a runtime). It is its own crate so
//! that the library and the lab crate share it without depending on each other.
//!
//! Errors (as [`QueryError`]): the TCP connection failed or timed out, nothing answered
//! within the timeout, or the client failed otherwise. Their texts are the ones the
//! probes show in "does not answer (…)".

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use hickory_net::client::Client;
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::udp::UdpClientStream;
use hickory_net::xfer::{DnsHandle, DnsMultiplexer};
use hickory_net::{DnsError, NetError};
use hickory_proto::op::{DnsRequestOptions, Query, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};

pub use hickory_proto;

/// The EDNS0 buffer size every query offers (the DNS flag day 2020 value).
pub const EDNS_BUFFER: u16 = 1232;

/// How a query travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP, EDNS0 with a [`EDNS_BUFFER`]-byte buffer.
    Udp,
    /// TCP.
    Tcp,
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Its response code.
    pub rcode: ResponseCode,
    /// The AA (authoritative answer) bit.
    pub authoritative: bool,
    /// The TC (truncated) bit: over UDP, the answer did not fit; ask again over TCP.
    pub truncated: bool,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section (a referral's NS records, a negative answer's SOA).
    pub authorities: Vec<Record>,
}

/// Why no answer came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The TCP connection was not made within the timeout.
    #[error("TCP connect timed out")]
    ConnectTimedOut,
    /// The TCP connection failed (refused, unreachable).
    #[error("{0}")]
    Connect(String),
    /// Nothing answered within the timeout.
    #[error("timed out")]
    TimedOut,
    /// The client gave up without a response.
    #[error("no response")]
    NoResponse,
    /// Any other failure of the client (sending, reading, a malformed response).
    #[error("{0}")]
    Failed(String),
}

/// Asks `server` for `name` `rtype` (class IN) over `transport`, recursion off, EDNS0.
/// `timeout` bounds the connection and the wait for the response (a little slack is
/// given on top, so that the client's own timeout is the one that fires).
pub async fn query(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    transport: Transport,
    timeout: Duration,
) -> Result<Reply, QueryError> {
    let client = connect(server, transport, timeout).await?;
    let mut opts = DnsRequestOptions::default();
    opts.recursion_desired = false;
    opts.use_edns = true;
    opts.edns_payload_len = EDNS_BUFFER;
    let mut responses = client.lookup(Query::query(name.clone(), rtype), opts);
    let response =
        match tokio::time::timeout(timeout + Duration::from_millis(100), responses.next()).await {
            Ok(Some(Ok(r))) => r,
            // An error response code reported as an error (hickory's resolver layers do):
            // still an answer, without its sections.
            Ok(Some(Err(NetError::Dns(DnsError::ResponseCode(rcode))))) => {
                return Ok(Reply {
                    rcode,
                    authoritative: false,
                    truncated: false,
                    answers: Vec::new(),
                    authorities: Vec::new(),
                });
            }
            Ok(Some(Err(NetError::Timeout))) | Err(_) => return Err(QueryError::TimedOut),
            Ok(Some(Err(e))) => return Err(QueryError::Failed(e.to_string())),
            Ok(None) => return Err(QueryError::NoResponse),
        };
    let metadata = &response.metadata;
    Ok(Reply {
        rcode: metadata.response_code,
        authoritative: metadata.authoritative,
        truncated: metadata.truncation,
        answers: response.answers.clone(),
        authorities: response.authorities.clone(),
    })
}

/// [`query`] for code without an async runtime (the lab, the tests): runs it on a
/// runtime of its own, on a thread of its own, so that it may also be called from inside
/// another runtime.
pub fn query_blocking(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    transport: Transport,
    timeout: Duration,
) -> Result<Reply, QueryError> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| QueryError::Failed(format!("no runtime: {e}")))?;
                runtime.block_on(query(server, name, rtype, transport, timeout))
            })
            .join()
            .unwrap_or_else(|_| Err(QueryError::Failed("the query's thread panicked".into())))
    })
}

/// A client for one query to `server`; its background task runs on the current runtime.
async fn connect(
    server: SocketAddr,
    transport: Transport,
    timeout: Duration,
) -> Result<Client<TokioRuntimeProvider>, QueryError> {
    let provider = TokioRuntimeProvider::default();
    match transport {
        Transport::Udp => {
            let stream = UdpClientStream::builder(server, provider)
                .with_timeout(Some(timeout))
                .build();
            let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(stream);
            tokio::spawn(bg);
            Ok(client)
        }
        Transport::Tcp => {
            let (connect, handle) = TcpClientStream::new(server, None, Some(timeout), provider);
            let stream = match tokio::time::timeout(timeout, connect).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => return Err(QueryError::Connect(e.to_string())),
                Err(_) => return Err(QueryError::ConnectTimedOut),
            };
            let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(
                DnsMultiplexer::new(stream, handle).with_timeout(timeout),
            );
            tokio::spawn(bg);
            Ok(client)
        }
    }
}

#[cfg(test)]
mod tests;
