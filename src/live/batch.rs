//! Many SOA questions to one server over one UDP socket. The fleet sweep asks every server
//! about each of its zones (40,000 zones × 3 servers), so it cannot open a socket and a
//! client per question as single probes do ([`super::soa`]): here one socket carries a
//! window of questions in flight, told apart by message id, each asked again once when it
//! times out.
//!
//! A server that stops answering costs seconds, not a timeout per zone: once nothing has
//! come back for [`BatchOptions::silent_after`] while questions were in flight (or the
//! kernel reports the port unreachable), every question left is answered "no answer"
//! without being sent. An answer with the TC bit and no SOA is asked again over TCP.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::{SoaAnswer, Transport, judge_soa};

/// How a batch is asked.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Questions in flight at once on the socket.
    pub window: usize,
    /// How long an answer is waited for before the question is asked again.
    pub timeout: Duration,
    /// How many times a question is asked in all.
    pub tries: u32,
    /// How long a server may answer nothing at all before it counts as silent.
    pub silent_after: Duration,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            window: 128,
            timeout: Duration::from_millis(1000),
            tries: 2,
            silent_after: Duration::from_secs(4),
        }
    }
}

/// A question in flight.
struct Flight {
    zone: usize,
    tries: u32,
}

/// The state of one batch.
struct Batch<'a> {
    socket: UdpSocket,
    zones: &'a [Name],
    opts: BatchOptions,
    answers: Vec<Option<SoaAnswer>>,
    flights: HashMap<u16, Flight>,
    /// (id, tries when scheduled, deadline), in deadline order (every timeout is the same).
    timers: VecDeque<(u16, u32, Instant)>,
    next_zone: usize,
    next_id: u16,
    truncated: Vec<usize>,
}

/// Asks `addr` for the SOA of every zone of `zones`; the answers come back in the same
/// order. Never fails: what went wrong is each answer's [`SoaAnswer::NoAnswer`].
pub async fn soa_many(addr: SocketAddr, zones: &[Name], opts: &BatchOptions) -> Vec<SoaAnswer> {
    if zones.is_empty() {
        return Vec::new();
    }
    let local = if addr.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = match UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(e) => {
            return vec![SoaAnswer::NoAnswer(format!("cannot open a socket: {e}")); zones.len()];
        }
    };
    if let Err(e) = socket.connect(addr).await {
        return vec![SoaAnswer::NoAnswer(format!("cannot reach {addr}: {e}")); zones.len()];
    }
    let mut batch = Batch {
        socket,
        zones,
        opts: BatchOptions {
            window: opts.window.max(1),
            tries: opts.tries.max(1),
            ..*opts
        },
        answers: vec![None; zones.len()],
        flights: HashMap::new(),
        timers: VecDeque::new(),
        next_zone: 0,
        next_id: first_id(),
        truncated: Vec::new(),
    };
    batch.run().await;
    for i in std::mem::take(&mut batch.truncated) {
        let answer = super::soa(addr, &zones[i], Transport::Tcp, batch.opts.timeout).await;
        batch.answers[i] = Some(answer);
    }
    batch
        .answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| SoaAnswer::NoAnswer("not asked".into())))
        .collect()
}

/// A message id to start from that differs between runs.
fn first_id() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    (nanos ^ (nanos >> 16)) as u16
}

/// `SOA zone`, recursion off, EDNS0 with a 1232-byte buffer.
fn question(zone: &Name, id: u16) -> Option<Vec<u8>> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = false;
    msg.add_query(Query::query(zone.clone(), RecordType::SOA));
    let mut edns = Edns::new();
    edns.set_max_payload(zonekeeper_query::EDNS_BUFFER);
    msg.set_edns(edns);
    msg.to_vec().ok()
}

impl Batch<'_> {
    async fn run(&mut self) {
        let mut buf = vec![0u8; 4096];
        let mut last_heard = Instant::now();
        loop {
            if let Err(why) = self.fill().await {
                return self.give_up(&why);
            }
            // timers of questions answered since are stale
            while let Some(&(id, tries, _)) = self.timers.front() {
                if self.flights.get(&id).is_some_and(|f| f.tries == tries) {
                    break;
                }
                self.timers.pop_front();
            }
            let Some(&(_, _, deadline)) = self.timers.front() else {
                return;
            };
            match tokio::time::timeout_at(deadline, self.socket.recv(&mut buf)).await {
                Ok(Ok(len)) => {
                    last_heard = Instant::now();
                    self.receive(&buf[..len]);
                }
                Ok(Err(e)) => return self.give_up(&e.to_string()),
                Err(_) => {
                    if last_heard.elapsed() >= self.opts.silent_after {
                        let why = format!(
                            "no answer for {} s: the server stopped answering",
                            self.opts.silent_after.as_secs()
                        );
                        return self.give_up(&why);
                    }
                    if let Err(why) = self.expire().await {
                        return self.give_up(&why);
                    }
                }
            }
        }
    }

    /// Sends questions until the window is full or every zone was asked.
    async fn fill(&mut self) -> Result<(), String> {
        while self.flights.len() < self.opts.window && self.next_zone < self.zones.len() {
            let zone = self.next_zone;
            self.next_zone += 1;
            let id = self.free_id();
            self.send(id, zone, 1).await?;
        }
        Ok(())
    }

    /// An id no question in flight has.
    fn free_id(&mut self) -> u16 {
        while self.flights.contains_key(&self.next_id) {
            self.next_id = self.next_id.wrapping_add(1);
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    async fn send(&mut self, id: u16, zone: usize, tries: u32) -> Result<(), String> {
        let Some(bytes) = question(&self.zones[zone], id) else {
            self.answers[zone] = Some(SoaAnswer::NoAnswer("the question cannot be written".into()));
            return Ok(());
        };
        self.socket.send(&bytes).await.map_err(|e| e.to_string())?;
        self.flights.insert(id, Flight { zone, tries });
        self.timers
            .push_back((id, tries, Instant::now() + self.opts.timeout));
        Ok(())
    }

    /// An answer: judged when it answers a question in flight, ignored otherwise.
    fn receive(&mut self, bytes: &[u8]) {
        let Ok(msg) = Message::from_vec(bytes) else {
            return;
        };
        let id = msg.metadata.id;
        let Some(flight) = self.flights.get(&id) else {
            return;
        };
        let zone = &self.zones[flight.zone];
        let asked = msg.queries.first().is_some_and(|q| {
            q.query_type() == RecordType::SOA && q.name().to_lowercase() == zone.to_lowercase()
        });
        if !asked {
            return;
        }
        let i = flight.zone;
        self.flights.remove(&id);
        let answer = judge_soa(
            zone,
            msg.metadata.response_code,
            msg.metadata.authoritative,
            &msg.answers,
        );
        if msg.metadata.truncation && !matches!(answer, SoaAnswer::Serves { .. }) {
            self.truncated.push(i);
        }
        self.answers[i] = Some(answer);
    }

    /// Questions whose time is up: asked again, or answered "no answer".
    async fn expire(&mut self) -> Result<(), String> {
        let now = Instant::now();
        while let Some(&(id, tries, deadline)) = self.timers.front() {
            if deadline > now {
                break;
            }
            self.timers.pop_front();
            // a timer of a question answered since, or asked again since, is stale
            let Some(flight) = self.flights.get(&id).filter(|f| f.tries == tries) else {
                continue;
            };
            let zone = flight.zone;
            if tries < self.opts.tries {
                self.send(id, zone, tries + 1).await?;
            } else {
                self.flights.remove(&id);
                self.answers[zone] = Some(SoaAnswer::NoAnswer(format!(
                    "no answer to {tries} tries of {} ms",
                    self.opts.timeout.as_millis()
                )));
            }
        }
        Ok(())
    }

    /// Every question not answered yet is answered `why`.
    fn give_up(&mut self, why: &str) {
        for a in self.answers.iter_mut().filter(|a| a.is_none()) {
            *a = Some(SoaAnswer::NoAnswer(why.to_string()));
        }
        self.flights.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[tokio::test]
    async fn a_silent_server_costs_seconds_not_a_timeout_per_zone() {
        // a socket that reads nothing and answers nothing
        let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let zones: Vec<Name> = (0..5000).map(|i| name(&format!("z{i}.test."))).collect();
        let opts = BatchOptions {
            window: 50,
            timeout: Duration::from_millis(100),
            tries: 2,
            silent_after: Duration::from_millis(300),
        };
        let started = std::time::Instant::now();
        let answers = soa_many(addr, &zones, &opts).await;
        assert_eq!(answers.len(), 5000);
        // the first windows time out question by question; then the server counts as
        // silent and the rest are never sent
        assert!(answers.iter().all(|a| matches!(a, SoaAnswer::NoAnswer(_))));
        let given_up = answers
            .iter()
            .filter(|a| matches!(a, SoaAnswer::NoAnswer(w) if w.contains("stopped answering")))
            .count();
        assert!(given_up > 4000, "{given_up} of 5000 given up at once");
        // 5000 zones / 50 at a time × 200 ms would be 20 s
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(silent);
    }

    #[tokio::test]
    async fn a_closed_port_is_no_answer_for_every_zone() {
        let addr = {
            let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            s.local_addr().unwrap()
        };
        let zones = vec![name("a.test."), name("b.test.")];
        let answers = soa_many(addr, &zones, &BatchOptions::default()).await;
        assert!(
            answers.iter().all(|a| matches!(a, SoaAnswer::NoAnswer(_))),
            "{answers:?}"
        );
    }

    /// A server that answers `a.test.` with its SOA, refuses the rest, and drops the first
    /// question about `late.test.`.
    async fn responder() -> SocketAddr {
        use hickory_proto::op::ResponseCode;
        use hickory_proto::rr::rdata::SOA;
        use hickory_proto::rr::{RData, Record};
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let mut dropped = false;
            loop {
                let (n, from) = socket.recv_from(&mut buf).await.unwrap();
                let q = Message::from_vec(&buf[..n]).unwrap();
                let asked = q.queries[0].name().clone();
                if asked == name("late.test.") && !dropped {
                    dropped = true;
                    continue;
                }
                let mut m = Message::response(q.metadata.id, OpCode::Query);
                m.queries = q.queries.clone();
                if asked == name("a.test.") || asked == name("late.test.") {
                    m.metadata.authoritative = true;
                    let soa = SOA::new(name("ns."), name("h."), 7, 1, 1, 1, 1);
                    m.answers
                        .push(Record::from_rdata(asked, 60, RData::SOA(soa)));
                } else {
                    m.metadata.response_code = ResponseCode::Refused;
                }
                socket.send_to(&m.to_vec().unwrap(), from).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn answers_come_back_in_order_and_a_lost_question_is_asked_again() {
        let addr = responder().await;
        let zones = vec![name("b.test."), name("A.test."), name("late.test.")];
        let opts = BatchOptions {
            timeout: Duration::from_millis(200),
            ..BatchOptions::default()
        };
        let answers = soa_many(addr, &zones, &opts).await;
        assert!(
            matches!(answers[0], SoaAnswer::NotAuthoritative { .. }),
            "{answers:?}"
        );
        assert_eq!(answers[1], SoaAnswer::Serves { serial: 7 });
        assert_eq!(answers[2], SoaAnswer::Serves { serial: 7 });
        let once = BatchOptions { tries: 1, ..opts };
        let answers = soa_many(responder().await, &zones[2..], &once).await;
        assert!(
            matches!(&answers[0], SoaAnswer::NoAnswer(w) if w.contains("1 tries")),
            "{answers:?}"
        );
    }
}
