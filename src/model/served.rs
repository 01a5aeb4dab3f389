//! A zone as a primary serves it ([`Served`], from a transfer) against desired content:
//! whether they are the same RRsets ([`same_content`]) and, when not, why
//! ([`difference`]). Pure: the transfers are `apply::content`'s.

use crate::model::zone::{lines_by_rrset, soa_of};

/// A zone as the primary serves it: canonical text (SOA first) and its serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// Canonical text, SOA first, then every other line sorted.
    pub text: String,
    /// The SOA serial.
    pub serial: Option<u32>,
}

impl Served {
    /// From the sorted lines of a transfer.
    pub fn of(lines: Vec<String>) -> Served {
        let (soa, rest): (Vec<String>, Vec<String>) = lines
            .into_iter()
            .partition(|l| l.split_whitespace().nth(3) == Some("SOA"));
        let mut text = String::new();
        for l in soa.iter().take(1).chain(rest.iter()) {
            text.push_str(l);
            text.push('\n');
        }
        let serial = soa_of(&text).and_then(|(_, f)| f.get(2)?.parse().ok());
        Served { text, serial }
    }
}

/// The SOA line of a canonical text without its serial.
pub fn soa_values(text: &str) -> Option<String> {
    soa_of(text).map(|(ttl, mut f)| {
        if let Some(s) = f.get_mut(2) {
            *s = "-".into();
        }
        format!("{ttl} {}", f.join(" "))
    })
}

/// Whether `served` holds exactly the content of `desired` (a canonical text), the serial
/// aside.
pub fn same_content(desired: &str, served: &Served) -> bool {
    soa_values(desired) == soa_values(&served.text)
        && lines_by_rrset(desired) == lines_by_rrset(&served.text)
}

/// The first three RRsets (`owner TYPE: <a> …; <b> …`) whose lines differ between the
/// canonical texts `a` and `b`, each side named by `names`.
pub fn differing_rrsets(a: &str, b: &str, names: (&str, &str)) -> Vec<String> {
    let shown = |l: Option<&Vec<String>>| l.map_or("nothing".to_string(), |l| l.join(" | "));
    let (left, right) = (lines_by_rrset(a), lines_by_rrset(b));
    let keys: std::collections::BTreeSet<_> = left.keys().chain(right.keys()).collect();
    keys.into_iter()
        .filter(|k| left.get(*k) != right.get(*k))
        .take(3)
        .map(|k| {
            format!(
                "{} {}: {} {}; {} {}",
                k.0,
                k.1,
                names.0,
                shown(left.get(k)),
                names.1,
                shown(right.get(k))
            )
        })
        .collect()
}

/// Why `served` is not `desired` at `serial`: the first differing RRsets (desired vs
/// served), or the serial. None when they are equal.
pub fn difference(zone: &str, desired: &str, served: &Served, serial: u32) -> Option<String> {
    if soa_values(desired) != soa_values(&served.text) {
        return Some(format!(
            "zone {zone}: the primary serves SOA {}, desired {}",
            soa_values(&served.text).unwrap_or("nothing".into()),
            soa_values(desired).unwrap_or_default()
        ));
    }
    let differing = differing_rrsets(desired, &served.text, ("desired", "served"));
    if !differing.is_empty() {
        return Some(format!(
            "zone {zone}: the primary does not serve the desired content: {}. The zone is not recorded as applied; find out who changed it (or what the primary did not take), then apply again",
            differing.join("; ")
        ));
    }
    match served.serial {
        Some(s) if s == serial => None,
        other => Some(format!(
            "zone {zone}: the primary serves the desired content at serial {}, expected {serial}. The zone is not recorded as applied; apply again",
            other.map(|s| s.to_string()).unwrap_or("none".into())
        )),
    }
}
