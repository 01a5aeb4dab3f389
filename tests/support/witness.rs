//! What the servers answer, as the tests see it: every question goes through zonekeeper's
//! one query function ([`zonekeeper_query::query_blocking`], recursion off, EDNS0), and
//! answers are printed the way `dig` prints them (presentation format, absolute names with
//! their trailing dot, TXT strings quoted), so tests read like the `dig` runs they replace.
//! Transfers (AXFR, TSIG-signed) go through the library's `Updater::zone_lines`.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, RecordType};
use zonekeeper_query::{Reply, Transport, query_blocking};

/// How long one try waits (dig's `+time=1`).
const TRY_TIMEOUT: Duration = Duration::from_secs(1);
/// Tries over UDP before giving up (dig's `+tries=2`).
const TRIES: usize = 2;

/// `name` `rtype` asked of `addr` as `dig +norec` asks it: over UDP, tried twice, and
/// again over TCP when the answer is truncated. None when nothing answered.
pub fn ask(addr: SocketAddr, name: &str, rtype: &str) -> Option<Reply> {
    let qname = Name::from_ascii(name).unwrap_or_else(|e| panic!("bad name {name:?}: {e}"));
    // RFC 3597: `TYPEnnn` for a type hickory has no name for
    let qtype: RecordType = match rtype.strip_prefix("TYPE") {
        Some(code) => RecordType::from(
            code.parse::<u16>()
                .unwrap_or_else(|e| panic!("bad type {rtype:?}: {e}")),
        ),
        None => rtype
            .parse()
            .unwrap_or_else(|e| panic!("bad type {rtype:?}: {e}")),
    };
    let udp = (0..TRIES)
        .find_map(|_| query_blocking(addr, &qname, qtype, Transport::Udp, TRY_TIMEOUT).ok())?;
    if !udp.truncated {
        return Some(udp);
    }
    query_blocking(addr, &qname, qtype, Transport::Tcp, TRY_TIMEOUT).ok()
}

/// `rdata` in presentation format, as `dig` prints it: names as A-labels with their
/// trailing dot, TXT and CAA values quoted with `"` and `\` escaped and bytes outside
/// printable ASCII as `\DDD`.
pub fn presentation(rdata: &RData) -> String {
    let name = |n: &Name| n.to_ascii();
    match rdata {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(n) => name(&n.0),
        RData::NS(n) => name(&n.0),
        RData::PTR(n) => name(&n.0),
        RData::MX(mx) => format!("{} {}", mx.preference, name(&mx.exchange)),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            name(&srv.target)
        ),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| quoted(s))
            .collect::<Vec<_>>()
            .join(" "),
        RData::CAA(caa) => format!("{} {} {}", caa.flags(), caa.tag, quoted(&caa.value)),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            name(&soa.mname),
            name(&soa.rname),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        ),
        // RFC 3597 §5, as `dig` prints a type it has no form for
        RData::Unknown { rdata, .. } => {
            let bytes = &rdata.anything;
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("\\# {} {hex}", bytes.len()).trim_end().to_string()
        }
        other => other.to_string(),
    }
}

/// A character-string as `dig` prints it.
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

/// `dig +short +norec` at `addr`: the answer's lines, trimmed and lower case, in the order
/// the server gave them.
pub fn dig_short(addr: SocketAddr, name: &str, rtype: &str) -> Vec<String> {
    answer_lines(addr, name, rtype)
        .into_iter()
        .map(|(_, data)| data.to_lowercase())
        .collect()
}

/// `dig +norec +noall +answer` at `addr`: (TTL, data) of each answer record, in the order
/// the server gave them, data as served.
pub fn answer_lines(addr: SocketAddr, name: &str, rtype: &str) -> Vec<(u32, String)> {
    ask(addr, name, rtype)
        .map(|reply| {
            reply
                .answers
                .iter()
                .map(|r| (r.ttl, presentation(&r.data)))
                .collect()
        })
        .unwrap_or_default()
}

/// One SOA answer, as `dig +norec` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    /// The response code's mnemonic (`NOERROR`, `REFUSED`, ...), or `NOANSWER`.
    pub status: String,
    pub aa: bool,
    pub serial: Option<u32>,
}

impl Soa {
    /// NOERROR, AA, with a serial.
    pub fn serving(&self) -> Option<u32> {
        (self.status == "NOERROR" && self.aa)
            .then_some(self.serial)
            .flatten()
    }
}

/// `dig @addr -p port +norec zone SOA`: the status, AA and the serial of the answer's SOA.
pub fn dig_soa(addr: SocketAddr, zone: &str) -> Soa {
    let Some(reply) = ask(addr, zone, "SOA") else {
        return Soa {
            status: "NOANSWER".into(),
            aa: false,
            serial: None,
        };
    };
    let serial = reply.answers.iter().find_map(|r| match &r.data {
        RData::SOA(soa) => Some(soa.serial),
        _ => None,
    });
    Soa {
        status: mnemonic(reply.rcode),
        aa: reply.authoritative,
        serial,
    }
}

/// The response code as `dig` names it in `status:`.
fn mnemonic(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::YXDomain => "YXDOMAIN".into(),
        ResponseCode::YXRRSet => "YXRRSET".into(),
        ResponseCode::NXRRSet => "NXRRSET".into(),
        ResponseCode::NotAuth => "NOTAUTH".into(),
        ResponseCode::NotZone => "NOTZONE".into(),
        other => format!("RCODE{}", u16::from(other)),
    }
}

/// The primary's records of `zone` by AXFR (TSIG-signed with the lab's key), through the
/// library's transfer: `owner ttl IN type data` lines, sorted, the SOA once.
pub fn axfr(lab: &zonekeeper_lab::Lab, zone: &str) -> Vec<String> {
    use zonekeeper::backend::update::Updater;
    use zonekeeper::model::config::{SecretSource, TsigKeyRef};
    let key = TsigKeyRef {
        name: Name::from_ascii("zonekeeper.").unwrap(),
        algorithm: "hmac-sha256".into(),
        secret: SecretSource::File(lab.spec().tsig_key_file.clone()),
    };
    let signer = zonekeeper::backend::tsig::signer(&key).unwrap();
    let primary = lab.dns_addr("ns0").unwrap();
    let zone = Name::from_ascii(zone).unwrap();
    super::block_on(async move {
        let updater = Updater::connect(primary, signer, Duration::from_secs(5))
            .await
            .unwrap();
        updater.zone_lines(&zone).await.unwrap()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_is_quoted_as_dig_quotes_it() {
        assert_eq!(quoted(b"v=spf1 -all"), "\"v=spf1 -all\"");
        assert_eq!(quoted(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quoted("é".as_bytes()), "\"\\195\\169\"");
    }
}
