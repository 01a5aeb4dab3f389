//! RFC 2136 UPDATE messages, signed with TSIG, sent to the primary over TCP.
//!
//! Every zone change is one UPDATE: a prerequisite that the zone's SOA is exactly the
//! recorded one (so an out-of-band change aborts instead of being overwritten), then the
//! RRset replacements and the new SOA. Whole RRsets are replaced (delete RRset, add its
//! records), which needs no knowledge of the old records, except at the apex NS RRset,
//! which RFC 2136 3.4.2.4 forbids deleting as a whole: there records are deleted one by one.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use hickory_net::client::{Client, ClientHandle};
use hickory_net::runtime::TokioRuntimeProvider;
use hickory_net::tcp::TcpClientStream;
use hickory_net::xfer::{DnsHandle, DnsMultiplexer};
use hickory_proto::op::{
    DnsRequest, DnsRequestOptions, Message, MessageType, OpCode, Query, ResponseCode,
};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigner};

/// Why an UPDATE failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// No connection to the primary.
    #[error("cannot reach the primary at {addr}: {message}")]
    Unreachable {
        /// The primary's address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
    /// The prerequisite failed: someone changed the zone outside zonekeeper.
    #[error(
        "zone {zone} on the primary is not at the recorded serial {serial}: it was changed outside zonekeeper (drift); nothing was sent"
    )]
    Drift {
        /// The zone.
        zone: String,
        /// The serial zonekeeper expected.
        serial: u32,
    },
    /// The primary refused or failed the UPDATE.
    #[error("the primary answered {rcode} to the UPDATE of {zone}")]
    Rejected {
        /// The zone.
        zone: String,
        /// The response code.
        rcode: String,
    },
}

/// One UPDATE to send: a zone, prerequisites and changes.
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// Prerequisite records (answer section).
    pub prerequisites: Vec<Record>,
    /// Changes (authority section), applied in order.
    pub changes: Vec<Record>,
}

impl Update {
    /// Prerequisite: the RRset exists exactly with this value (RFC 2136 2.4.2).
    pub fn require(&mut self, record: Record) -> &mut Self {
        let mut r = record;
        r.ttl = 0;
        r.dns_class = DNSClass::IN;
        self.prerequisites.push(r);
        self
    }

    /// Deletes an RRset (RFC 2136 2.5.2).
    pub fn delete_rrset(&mut self, owner: Name, rtype: RecordType) -> &mut Self {
        let mut r = Record::update0(owner, 0, rtype);
        r.dns_class = DNSClass::ANY;
        self.changes.push(r);
        self
    }

    /// Deletes one record (RFC 2136 2.5.4).
    pub fn delete_record(&mut self, owner: Name, rdata: RData) -> &mut Self {
        let mut r = Record::from_rdata(owner, 0, rdata);
        r.dns_class = DNSClass::NONE;
        self.changes.push(r);
        self
    }

    /// Adds a record (RFC 2136 2.5.1).
    pub fn add(&mut self, record: Record) -> &mut Self {
        self.changes.push(record);
        self
    }
}

/// A TSIG-signed connection to the primary.
pub struct Updater {
    addr: SocketAddr,
    client: Client<TokioRuntimeProvider>,
}

impl Updater {
    /// Connects to the primary over TCP.
    pub async fn connect(
        addr: SocketAddr,
        signer: TSigner,
        timeout: Duration,
    ) -> Result<Updater, UpdateError> {
        let provider = TokioRuntimeProvider::default();
        let (connect, handle) = TcpClientStream::new(addr, None, Some(timeout), provider);
        let stream = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| UpdateError::Unreachable {
                addr,
                message: "timed out".into(),
            })?
            .map_err(|e| UpdateError::Unreachable {
                addr,
                message: e.to_string(),
            })?;
        let mux = DnsMultiplexer::new(stream, handle)
            .with_timeout(timeout)
            .with_signer(signer);
        let (client, bg) = Client::<TokioRuntimeProvider>::from_sender(mux);
        tokio::spawn(bg);
        Ok(Updater { addr, client })
    }

    /// The zone's records as the primary serves them (AXFR, TSIG-signed), as canonical
    /// presentation lines, sorted: what tells whether an UPDATE whose answer was lost took
    /// effect.
    pub async fn zone_lines(&self, zone: &Name) -> Result<Vec<String>, UpdateError> {
        let mut client = self.client.clone();
        let mut stream = client.zone_transfer(zone.clone(), None);
        let mut lines = Vec::new();
        let mut soa_seen = 0;
        while let Some(response) = stream.next().await {
            let response = response.map_err(|e| UpdateError::Unreachable {
                addr: self.addr,
                message: e.to_string(),
            })?;
            for r in &response.answers {
                if r.record_type() == RecordType::SOA {
                    soa_seen += 1;
                    if soa_seen > 1 {
                        continue;
                    }
                }
                let owner = r.name.to_lowercase().to_string();
                lines.push(format!(
                    "{owner} {} IN {} {}",
                    r.ttl,
                    r.record_type(),
                    crate::model::presentation(&r.data)
                ));
            }
        }
        lines.sort();
        Ok(lines)
    }

    /// Sends one UPDATE for `zone`. `expected_serial` names the serial of the SOA
    /// prerequisite, for the drift message.
    pub async fn send(
        &self,
        zone: &Name,
        update: &Update,
        expected_serial: Option<u32>,
    ) -> Result<(), UpdateError> {
        let mut msg = Message::new(0, MessageType::Query, OpCode::Update);
        msg.add_query(Query::query(zone.clone(), RecordType::SOA));
        msg.add_answers(update.prerequisites.clone());
        msg.add_authorities(update.changes.clone());
        let mut opts = DnsRequestOptions::default();
        opts.use_edns = false;
        opts.recursion_desired = false;
        let mut responses = self.client.send(DnsRequest::new(msg, opts));
        let response = match responses.next().await {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                return Err(UpdateError::Unreachable {
                    addr: self.addr,
                    message: e.to_string(),
                });
            }
            None => {
                return Err(UpdateError::Unreachable {
                    addr: self.addr,
                    message: "no response".into(),
                });
            }
        };
        match response.metadata.response_code {
            ResponseCode::NoError => Ok(()),
            ResponseCode::NXRRSet | ResponseCode::NXDomain if expected_serial.is_some() => {
                Err(UpdateError::Drift {
                    zone: zone.to_string(),
                    serial: expected_serial.unwrap_or(0),
                })
            }
            rcode => Err(UpdateError::Rejected {
                zone: zone.to_string(),
                rcode: rcode.to_string(),
            }),
        }
    }
}
