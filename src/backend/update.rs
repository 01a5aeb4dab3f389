//! RFC 2136 UPDATE messages, signed with TSIG, sent to the primary over TCP.
//!
//! Every UPDATE carries a prerequisite that the zone's SOA is exactly the one expected (so
//! an out-of-band change aborts instead of being overwritten), then RRset replacements and
//! the new SOA. A message is never truncated: its encoded size is measured before it is
//! sent (see [`MAX_UPDATE_BYTES`]), and a change too large for one is split by the caller.
//!
//! The connection is (re)opened when needed: a primary closes idle TCP connections
//! (`tcp-idle-timeout`, 30 s by default), so a request that fails on the transport is sent
//! once more on a new connection. That is safe because every zone UPDATE has its SOA
//! prerequisite and every catalog edit is idempotent. Whole RRsets are replaced (delete RRset, add its
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
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use tokio::sync::Mutex;

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
        "zone {zone} on the primary is not at the recorded serial {serial}: it was changed outside zonekeeper (drift); nothing was sent. `zonekeeper drift --zone {zone}` shows what changed; resolve it either way: `zonekeeper apply --overwrite-drift {zone}` puts the desired state back, or `zonekeeper import --zone {zone} --from-primary` (then review and commit) keeps what the primary serves"
    )]
    Drift {
        /// The zone.
        zone: String,
        /// The serial zonekeeper expected.
        serial: u32,
    },
    /// The UPDATE cannot be encoded into one DNS message: a bug in the splitting, or one
    /// RRset larger than a message. Nothing was sent.
    #[error("the UPDATE of {zone} cannot be sent as one DNS message: {message}; nothing was sent")]
    Encode {
        /// The zone.
        zone: String,
        /// Why.
        message: String,
    },
    /// The TSIG key to sign with cannot be read.
    #[error(transparent)]
    Key(#[from] super::tsig::TsigError),
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

/// The largest encoded UPDATE sent: a TCP DNS message holds 65,535 bytes, less room for
/// the TSIG record hickory appends when signing (key and algorithm names, a 32-byte MAC and
/// fixed fields: well under 512 bytes).
pub const MAX_UPDATE_BYTES: usize = 65_535 - 512;

/// The encoded size of one record on its own (no name compression): an upper bound of
/// what it adds to a message.
pub fn record_len(record: &Record) -> Result<usize, String> {
    let mut buf = Vec::with_capacity(64);
    let mut enc = BinEncoder::new(&mut buf);
    record.emit(&mut enc).map_err(|e| e.to_string())?;
    Ok(buf.len())
}

/// The header and question of an UPDATE of `zone`.
pub fn header_len(zone: &Name) -> usize {
    12 + zone.len() + 1 + 4
}

/// A TSIG-signed connection to the primary, reopened when needed.
pub struct Updater {
    addr: SocketAddr,
    signer: TSigner,
    timeout: Duration,
    client: Mutex<Option<Client<TokioRuntimeProvider>>>,
}

async fn open(
    addr: SocketAddr,
    signer: TSigner,
    timeout: Duration,
) -> Result<Client<TokioRuntimeProvider>, UpdateError> {
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
    Ok(client)
}

impl Updater {
    /// Connects to the primary over TCP (so that an unreachable primary is known before
    /// anything is changed).
    pub async fn connect(
        addr: SocketAddr,
        signer: TSigner,
        timeout: Duration,
    ) -> Result<Updater, UpdateError> {
        let client = open(addr, signer.clone(), timeout).await?;
        Ok(Updater {
            addr,
            signer,
            timeout,
            client: Mutex::new(Some(client)),
        })
    }

    /// Another connection to the same primary with the same key (for parallel transfers).
    pub async fn reopen(&self) -> Result<Updater, UpdateError> {
        Updater::connect(self.addr, self.signer.clone(), self.timeout).await
    }

    /// Where the primary answers.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The current connection, opened if there is none.
    async fn client(&self) -> Result<Client<TokioRuntimeProvider>, UpdateError> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = open(self.addr, self.signer.clone(), self.timeout).await?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Forgets the current connection: the next request opens a new one.
    async fn drop_client(&self) {
        *self.client.lock().await = None;
    }

    /// The zone's records as the primary serves them (AXFR, TSIG-signed), as canonical
    /// presentation lines, sorted (the SOA once). Tried twice, the second time on a new
    /// connection.
    pub async fn zone_lines(&self, zone: &Name) -> Result<Vec<String>, UpdateError> {
        match self.transfer(zone).await {
            Err(UpdateError::Unreachable { .. }) => {
                self.drop_client().await;
                self.transfer(zone).await
            }
            other => other,
        }
    }

    async fn transfer(&self, zone: &Name) -> Result<Vec<String>, UpdateError> {
        let mut client = self.client().await?;
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
                let owner = crate::model::ascii(&r.name);
                lines.push(format!(
                    "{owner} {} IN {} {}",
                    r.ttl,
                    crate::model::types::type_name(r.record_type()),
                    crate::model::presentation(&r.data)
                ));
            }
        }
        lines.sort();
        Ok(lines)
    }

    /// Sends one UPDATE for `zone`. `expected_serial` names the serial of the SOA
    /// prerequisite, for the drift message. A message that would not fit is never sent
    /// ([`UpdateError::Encode`]); a transport failure is retried once on a new connection.
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
        check_fits(zone, &msg, update)?;
        match self.send_once(zone, &msg, expected_serial).await {
            Err(UpdateError::Unreachable { message, .. }) => {
                tracing::debug!(zone = %zone, %message, "UPDATE failed on the transport: sending it again on a new connection");
                self.drop_client().await;
                self.send_once(zone, &msg, expected_serial).await
            }
            other => other,
        }
    }

    async fn send_once(
        &self,
        zone: &Name,
        msg: &Message,
        expected_serial: Option<u32>,
    ) -> Result<(), UpdateError> {
        let mut opts = DnsRequestOptions::default();
        opts.use_edns = false;
        opts.recursion_desired = false;
        let client = self.client().await?;
        let mut responses = client.send(DnsRequest::new(msg.clone(), opts));
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

/// Refuses a message that the encoder would truncate or that leaves no room for TSIG.
fn check_fits(zone: &Name, msg: &Message, update: &Update) -> Result<(), UpdateError> {
    let err = |message: String| UpdateError::Encode {
        zone: zone.to_string(),
        message,
    };
    let bytes = msg.to_vec().map_err(|e| err(e.to_string()))?;
    let count = |i: usize| {
        bytes
            .get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    if count(6) != Some(update.prerequisites.len() as u16)
        || count(8) != Some(update.changes.len() as u16)
    {
        return Err(err(format!(
            "{} prerequisite(s) and {} change(s) do not fit in one message",
            update.prerequisites.len(),
            update.changes.len()
        )));
    }
    if bytes.len() > MAX_UPDATE_BYTES {
        return Err(err(format!(
            "{} bytes, more than {MAX_UPDATE_BYTES}",
            bytes.len()
        )));
    }
    Ok(())
}
