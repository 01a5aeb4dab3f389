//! The verdict of a sweep, from its answers alone: each server's state, and the zones it
//! lags on. Pure: the same answers give the same verdict.

use crate::live::SoaAnswer;
use crate::store::{LagRow, ServerCheck};

use super::{Fleet, Role, State};

/// What a sweep heard from one server.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The server (an index into the fleet's servers).
    pub server: usize,
    /// The zones it was asked about (indexes into the fleet's zones).
    pub zones: Vec<usize>,
    /// For each of its addresses, the answer about each of `zones`, in their order.
    pub answers: Vec<Vec<SoaAnswer>>,
}

/// Judges every observed server at `now`: its state and message, and a [`LagRow`] for
/// each zone it does not serve at the expected serial on every address.
pub fn judge(fleet: &Fleet, observed: &[Observed], now: i64) -> (Vec<ServerCheck>, Vec<LagRow>) {
    let primary_serials = primary_serials(fleet, observed);
    let mut checks = Vec::new();
    let mut lags = Vec::new();
    for o in observed {
        let server = &fleet.servers[o.server];
        let mut served = 0i64;
        // zones it serves at some serial, if not the expected one
        let mut answering = 0usize;
        let before = lags.len();
        for (k, &zi) in o.zones.iter().enumerate() {
            let zone = &fleet.zones[zi];
            let expected = match server.role {
                Role::Primary => zone.serial,
                Role::Secondary => primary_serials
                    .as_ref()
                    .and_then(|p| p[zi])
                    .unwrap_or(zone.serial),
            };
            match lag(o, k, expected, server.role) {
                None => served += 1,
                Some((served_serial, detail)) => {
                    answering += usize::from(served_serial.is_some());
                    lags.push(LagRow {
                        zone: zone.name.clone(),
                        server: server.name.clone(),
                        expected,
                        served: served_serial,
                        since: now,
                        detail,
                    });
                }
            }
        }
        let lagging = lags.len() - before;
        let silent = lagging - answering;
        let (state, message) = verdict(o.zones.len(), lagging, silent, lags.get(before));
        checks.push(ServerCheck {
            name: server.name.clone(),
            state: state.as_str().into(),
            message,
            served,
            lagging: lagging as i64,
        });
    }
    (checks, lags)
}

/// The serial the primary serves for each zone, when the primary was asked.
fn primary_serials(fleet: &Fleet, observed: &[Observed]) -> Option<Vec<Option<u32>>> {
    let o = observed
        .iter()
        .find(|o| fleet.servers[o.server].role == Role::Primary)?;
    let mut serials = vec![None; fleet.zones.len()];
    for (k, &zi) in o.zones.iter().enumerate() {
        serials[zi] = o.answers.iter().find_map(|answers| match answers.get(k) {
            Some(SoaAnswer::Serves { serial }) => Some(*serial),
            _ => None,
        });
    }
    Some(serials)
}

/// Whether the `k`th zone of `o` lags behind `expected` on some address: the serial it
/// serves there (if any) and what it answered.
fn lag(o: &Observed, k: usize, expected: u32, role: Role) -> Option<(Option<u32>, String)> {
    if o.answers.is_empty() {
        return Some((None, "no address is recorded for the server".into()));
    }
    let several = o.answers.len() > 1;
    o.answers.iter().enumerate().find_map(|(a, answers)| {
        let answer = answers.get(k)?;
        if answer.serves_at_least(expected) {
            return None;
        }
        let at = if several {
            format!("address {}: ", a + 1)
        } else {
            String::new()
        };
        let whose = match role {
            Role::Primary => "recorded",
            Role::Secondary => "the primary's",
        };
        Some(match answer {
            SoaAnswer::Serves { serial } => (
                Some(*serial),
                format!("{at}serves serial {serial}, behind {whose} {expected}"),
            ),
            other => (None, format!("{at}{}", other.describe())),
        })
    })
}

/// A server's state and what to say of it, from how many zones it has, lags on, and does
/// not serve at all (`silent`): BROKEN only when it serves none of them at any serial.
fn verdict(zones: usize, lagging: usize, silent: usize, first: Option<&LagRow>) -> (State, String) {
    let first = first
        .map(|l| format!(": {} {}", l.zone, l.detail))
        .unwrap_or_default();
    if zones == 0 {
        (State::Ok, "has no zones to serve".into())
    } else if lagging == 0 {
        (State::Ok, format!("serves all {zones} zone(s)"))
    } else if silent == zones {
        (
            State::Broken,
            format!("serves none of its {zones} zone(s){first}"),
        )
    } else {
        (
            State::Retry,
            format!("lags on {lagging} of {zones} zone(s){first}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{SweptServer, SweptZone};

    fn fleet() -> Fleet {
        let server = |name: &str, role, addrs: usize| SweptServer {
            name: name.into(),
            role,
            addrs: (0..addrs)
                .map(|i| format!("127.0.0.{}:53", i + 1).parse().unwrap())
                .collect(),
            groups: vec!["g".into()],
            maintenance: false,
        };
        let zone = |name: &str, serial| SweptZone {
            name: name.into(),
            group: "g".into(),
            serial,
        };
        Fleet {
            servers: vec![
                server("p", Role::Primary, 1),
                server("s1", Role::Secondary, 1),
                server("s2", Role::Secondary, 2),
            ],
            zones: vec![zone("a.test.", 10), zone("b.test.", 20)],
        }
    }

    fn serves(serial: u32) -> SoaAnswer {
        SoaAnswer::Serves { serial }
    }

    fn observed(server: usize, answers: Vec<Vec<SoaAnswer>>) -> Observed {
        Observed {
            server,
            zones: vec![0, 1],
            answers,
        }
    }

    #[test]
    fn secondaries_are_judged_against_the_primarys_serial() {
        let f = fleet();
        let obs = vec![
            // the primary is one ahead of the record on b (an apply under way)
            observed(0, vec![vec![serves(10), serves(21)]]),
            observed(1, vec![vec![serves(10), serves(20)]]),
            observed(
                2,
                vec![vec![serves(10), serves(21)], vec![serves(10), serves(21)]],
            ),
        ];
        let (checks, lags) = judge(&f, &obs, 100);
        let states: Vec<&str> = checks.iter().map(|c| c.state.as_str()).collect();
        assert_eq!(states, ["OK", "RETRY", "OK"]);
        assert_eq!(lags.len(), 1);
        assert_eq!(
            (lags[0].zone.as_str(), lags[0].server.as_str()),
            ("b.test.", "s1")
        );
        assert_eq!((lags[0].expected, lags[0].served), (21, Some(20)));
        assert!(
            lags[0].detail.contains("behind the primary's 21"),
            "{}",
            lags[0].detail
        );
        assert_eq!((checks[1].served, checks[1].lagging), (1, 1));
    }

    #[test]
    fn a_silent_server_is_broken_and_one_bad_address_is_enough_to_lag() {
        let f = fleet();
        let silent = SoaAnswer::NoAnswer("timed out".into());
        let refused = SoaAnswer::NotAuthoritative {
            rcode: "Refused".into(),
            aa: false,
        };
        let obs = vec![
            observed(1, vec![vec![silent.clone(), silent]]),
            observed(
                2,
                vec![vec![serves(10), serves(20)], vec![serves(10), refused]],
            ),
        ];
        // the primary was not asked: the recorded serials are expected
        let (checks, lags) = judge(&f, &obs, 100);
        assert_eq!(checks[0].state, "BROKEN");
        assert!(checks[0].message.contains("serves none of its 2 zone(s)"));
        assert_eq!(checks[1].state, "RETRY");
        let s2: Vec<&LagRow> = lags.iter().filter(|l| l.server == "s2").collect();
        assert_eq!(s2.len(), 1);
        assert!(
            s2[0].detail.starts_with("address 2: answers Refused"),
            "{}",
            s2[0].detail
        );
    }

    #[test]
    fn a_server_behind_on_every_zone_lags_and_is_not_broken() {
        let f = fleet();
        let obs = vec![
            observed(0, vec![vec![serves(11), serves(21)]]),
            observed(1, vec![vec![serves(10), serves(20)]]),
        ];
        let (checks, lags) = judge(&f, &obs, 100);
        assert_eq!(checks[1].state, "RETRY", "{}", checks[1].message);
        assert!(checks[1].message.starts_with("lags on 2 of 2"));
        assert_eq!(lags.len(), 2);
    }

    #[test]
    fn the_primary_behind_its_record_lags_and_a_server_without_zones_is_ok() {
        let f = fleet();
        let obs = vec![
            observed(0, vec![vec![serves(9), serves(20)]]),
            Observed {
                server: 1,
                zones: vec![],
                answers: vec![vec![]],
            },
        ];
        let (checks, lags) = judge(&f, &obs, 100);
        assert_eq!(checks[0].state, "RETRY");
        assert!(lags[0].detail.contains("behind recorded 10"));
        assert_eq!(checks[1].state, "OK");
    }
}
