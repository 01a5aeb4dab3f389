//! [`query`] against a one-shot server on loopback that answers what each test says, and
//! records the question it was asked.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, NS};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

/// What the server saw of the query: RD, the EDNS buffer, the question.
#[derive(Debug, Default, Clone)]
struct Seen {
    recursion_desired: bool,
    edns_buffer: Option<u16>,
    question: Option<(String, RecordType)>,
}

/// A UDP server on loopback that answers one query with `answer(query)`.
async fn udp_server(
    answer: impl Fn(&Message) -> Message + Send + 'static,
) -> (SocketAddr, Arc<Mutex<Seen>>) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        let (n, from) = socket.recv_from(&mut buf).await.unwrap();
        let query = Message::from_vec(&buf[..n]).unwrap();
        *record.lock().unwrap() = Seen {
            recursion_desired: query.metadata.recursion_desired,
            edns_buffer: query.edns.as_ref().map(|e| e.max_payload()),
            question: query
                .queries
                .first()
                .map(|q| (q.name().to_ascii(), q.query_type())),
        };
        let reply = answer(&query);
        socket
            .send_to(&reply.to_vec().unwrap(), from)
            .await
            .unwrap();
    });
    (addr, seen)
}

/// A response to `query` with `rcode` and AA `aa`.
fn response(query: &Message, rcode: ResponseCode, aa: bool) -> Message {
    let mut m = Message::response(query.metadata.id, OpCode::Query);
    m.metadata.response_code = rcode;
    m.metadata.authoritative = aa;
    m.queries = query.queries.clone();
    m
}

#[tokio::test]
async fn an_answer_comes_back_with_its_sections_and_flags() {
    let (addr, seen) = udp_server(|q| {
        let mut m = response(q, ResponseCode::NoError, true);
        m.answers.push(Record::from_rdata(
            name("www.a.test."),
            300,
            RData::A(A::new(192, 0, 2, 1)),
        ));
        m.authorities.push(Record::from_rdata(
            name("a.test."),
            3600,
            RData::NS(NS(name("ns1.example.net."))),
        ));
        m
    })
    .await;
    let reply = query(
        addr,
        &name("www.a.test."),
        RecordType::A,
        Transport::Udp,
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    assert_eq!(reply.rcode, ResponseCode::NoError);
    assert!(reply.authoritative && !reply.truncated);
    assert_eq!(reply.answers.len(), 1);
    assert_eq!(reply.answers[0].data, RData::A(A::new(192, 0, 2, 1)));
    assert_eq!(reply.authorities.len(), 1);
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.recursion_desired, "recursion is off");
    assert_eq!(seen.edns_buffer, Some(EDNS_BUFFER));
    assert_eq!(
        seen.question,
        Some(("www.a.test.".to_string(), RecordType::A))
    );
}

#[tokio::test]
async fn an_error_rcode_is_an_answer_not_an_error() {
    let (addr, _) = udp_server(|q| response(q, ResponseCode::Refused, false)).await;
    let reply = query(
        addr,
        &name("a.test."),
        RecordType::SOA,
        Transport::Udp,
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    assert_eq!(reply.rcode, ResponseCode::Refused);
    assert!(!reply.authoritative);
    assert!(reply.answers.is_empty());
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Bound, never read: the query is received by nobody.
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let start = std::time::Instant::now();
    let err = query(
        addr,
        &name("a.test."),
        RecordType::SOA,
        Transport::Udp,
        Duration::from_millis(300),
    )
    .await
    .unwrap_err();
    // hickory's UDP stream ends without a response when its own timeout fires first.
    assert!(
        matches!(err, QueryError::TimedOut | QueryError::NoResponse),
        "{err:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_closed_tcp_port_is_a_connect_error() {
    // A port just freed: nothing listens there.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let err = query(
        addr,
        &name("a.test."),
        RecordType::SOA,
        Transport::Tcp,
        Duration::from_secs(1),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, QueryError::Connect(_)), "{err:?}");
}

#[test]
fn query_blocking_works_inside_a_runtime_too() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (addr, _) = udp_server(|q| response(q, ResponseCode::NXDomain, true)).await;
        // Called from inside this runtime: it runs on a runtime and thread of its own
        // while the server task runs here, so this must not block the server.
        let reply = tokio::task::spawn_blocking(move || {
            query_blocking(
                addr,
                &name("x.a.test."),
                RecordType::A,
                Transport::Udp,
                Duration::from_secs(2),
            )
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(reply.rcode, ResponseCode::NXDomain);
        assert!(reply.authoritative);
    });
}
