//! Zones transferred from a running server (AXFR, TSIG-signed with a key from a BIND key
//! file), [`IN_FLIGHT`] at a time, each lane over its own connection taking the next zone
//! when it is done, so one slow or refused zone holds up only its lane; and the members
//! of a catalog zone (RFC 9432: the targets of the PTR records under `zones.<catalog>`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, TSigner};

use super::named_conf::KeyFile;
use crate::backend::update::Updater;
use crate::model::record::ascii;
use crate::model::served::Served;

/// Transfers at once.
pub const IN_FLIGHT: usize = 16;

/// How long one message of a transfer may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The signer of `key`; the message names the key, never its secret.
pub fn signer(key: &KeyFile) -> Result<TSigner, String> {
    let algorithm = match key.algorithm.as_str() {
        "hmac-sha256" => TsigAlgorithm::HmacSha256,
        "hmac-sha384" => TsigAlgorithm::HmacSha384,
        "hmac-sha512" => TsigAlgorithm::HmacSha512,
        other => {
            return Err(format!(
                "key {}: algorithm {other} is not supported; use hmac-sha256, hmac-sha384 or hmac-sha512",
                key.name
            ));
        }
    };
    let secret = base64::engine::general_purpose::STANDARD
        .decode(key.secret.trim())
        .map_err(|_| format!("key {}: its secret is not base64", key.name))?;
    let name = Name::from_ascii(&key.name)
        .map_err(|e| format!("key name `{}` is not a domain name: {e}", key.name))?;
    TSigner::new(secret, algorithm, name, 300).map_err(|e| format!("key {}: {e}", key.name))
}

/// The server's address from `ADDR[:PORT]` (port 53 by default; IPv6 as `[::1]:53`).
pub fn address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    text.trim_matches(['[', ']'])
        .parse::<std::net::IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("`{text}` is not an address: write ADDR or ADDR:PORT, e.g. 192.0.2.1:53 or [2001:db8::1]:53"))
}

/// A zone's transfer: its content, or why there is none.
pub type Transferred = Result<Served, String>;

/// Transfers `zones` from `addr`, [`IN_FLIGHT`] at a time, handing each to `each` as it
/// arrives (in no particular order); what `each` returns, in the zones' order. `Err` when
/// the server cannot be reached at all.
pub async fn transfer_each<R: Send>(
    addr: SocketAddr,
    signer: TSigner,
    zones: &[Name],
    each: &(dyn Fn(&Name, Transferred) -> R + Sync),
) -> Result<Vec<R>, String> {
    let first = Updater::connect(addr, signer, TIMEOUT)
        .await
        .map_err(|e| format!("cannot reach {addr}: {e}"))?;
    let next = AtomicUsize::new(0);
    let lanes = zones.len().clamp(1, IN_FLIGHT);
    let first = &first;
    let next = &next;
    let work = (0..lanes).map(|lane| async move {
        let own = match lane {
            0 => None,
            _ => Some(first.reopen().await),
        };
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let Some(zone) = zones.get(i) else { break };
            let result = match &own {
                None => one(first, zone).await,
                Some(Ok(u)) => one(u, zone).await,
                Some(Err(e)) => Err(format!("cannot reach {addr}: {e}")),
            };
            out.push((i, each(zone, result)));
        }
        out
    });
    let mut all: Vec<(usize, R)> = futures_util::future::join_all(work)
        .await
        .into_iter()
        .flatten()
        .collect();
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}

/// One zone's transfer; a zone the server does not serve is an error.
async fn one(u: &Updater, zone: &Name) -> Transferred {
    let served = u
        .zone_lines(zone)
        .await
        .map(Served::of)
        .map_err(|e| e.to_string())?;
    match served.serial {
        Some(_) => Ok(served),
        None => Err(format!(
            "{} does not serve zone {} (its transfer has no SOA): check the name and that the key may transfer it",
            u.addr(),
            ascii(zone)
        )),
    }
}

/// The member zones of the catalog zone `catalog` as transferred: the targets of the
/// PTR records at `<id>.zones.<catalog>` (RFC 9432), sorted, each once.
pub fn catalog_members(catalog: &Name, served: &Served) -> Vec<String> {
    let suffix = format!(".zones.{}", ascii(catalog));
    let mut out: Vec<String> = served
        .text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.splitn(5, ' ').collect();
            match f.as_slice() {
                [owner, _, _, "PTR", target]
                    if owner.ends_with(&suffix)
                        && owner.matches('.').count() == suffix.matches('.').count() =>
                {
                    Some(target.to_string())
                }
                _ => None,
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_the_ptr_targets_right_under_zones() {
        let served = Served::of(
            [
                "cat.test. 0 IN SOA invalid. invalid. 1 3600 600 86400 0",
                "cat.test. 0 IN NS invalid.",
                "version.cat.test. 0 IN TXT \"2\"",
                "m1.zones.cat.test. 0 IN PTR b.test.",
                "m2.zones.cat.test. 0 IN PTR a.test.",
                "group.m2.zones.cat.test. 0 IN TXT \"g\"",
                "ext.m2.zones.cat.test. 0 IN PTR not-a-member.test.",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        );
        let cat = Name::from_ascii("cat.test.").unwrap();
        assert_eq!(catalog_members(&cat, &served), ["a.test.", "b.test."]);
    }

    #[test]
    fn addresses() {
        assert_eq!(address("192.0.2.1").unwrap().to_string(), "192.0.2.1:53");
        assert_eq!(address("192.0.2.1:5353").unwrap().port(), 5353);
        assert_eq!(address("[2001:db8::1]:53").unwrap().port(), 53);
        assert_eq!(address("2001:db8::1").unwrap().port(), 53);
        assert!(address("ns1.example.net").is_err());
    }
}
