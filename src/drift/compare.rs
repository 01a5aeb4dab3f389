//! One zone as the primary serves it against its recorded content (pure). The difference
//! is kept by RRset, with the lines recorded and the lines served, so it can be shown
//! record by record (`-` recorded, no longer served; `+` served, never recorded) and
//! stored as one JSON object per line.

use serde::{Deserialize, Serialize};

use crate::model::served::{Served, same_content, soa_values};
use crate::model::zone::content_hash;

/// One RRset that differs: its recorded and its served lines (either may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftChange {
    /// Owner name (the zone's apex for its SOA values).
    pub owner: String,
    /// Record type.
    #[serde(rename = "type")]
    pub rtype: String,
    /// The lines recorded (and desired when zonekeeper last applied the zone).
    pub recorded: Vec<String>,
    /// The lines the primary serves.
    pub served: Vec<String>,
}

/// A zone that drifts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// Zone name, lower case with the trailing dot.
    pub zone: String,
    /// The serial the primary serves.
    pub served_serial: Option<u32>,
    /// The serial recorded.
    pub recorded_serial: u32,
    /// The served content's [`content_key`].
    pub served_hash: String,
    /// The RRsets that differ (empty when only the serial does).
    pub changes: Vec<DriftChange>,
}

impl Drift {
    /// The store's row of this drift, found at `now`.
    pub fn row(&self, now: i64) -> crate::store::DriftRow {
        crate::store::DriftRow {
            name: self.zone.clone(),
            detected_at: now,
            served_serial: self.served_serial,
            recorded_serial: self.recorded_serial,
            served_hash: self.served_hash.clone(),
            changes: encode(&self.changes),
        }
    }
}

/// Whether `served` is the zone as recorded (`recorded`, at `recorded_serial`); when not,
/// the drift. A serial moved without a change of content is drift too: the next UPDATE's
/// SOA prerequisite would fail on it.
pub fn compare(zone: &str, recorded: &str, recorded_serial: u32, served: &Served) -> Option<Drift> {
    if same_content(recorded, served) && served.serial == Some(recorded_serial) {
        return None;
    }
    let changes = crate::plan::rrset_changes(recorded, &served.text)
        .into_iter()
        .map(|c| DriftChange {
            owner: c.owner,
            rtype: c.rtype,
            recorded: c.old,
            served: c.new,
        })
        .collect();
    Some(Drift {
        zone: zone.to_string(),
        served_serial: served.serial,
        recorded_serial,
        served_hash: content_key(&served.text),
        changes,
    })
}

/// A hash of a canonical text's content whatever the order of its lines, serial aside:
/// a transfer's lines come sorted as text, a desired zone's in canonical DNS order, and
/// the same content gives the same key.
pub fn content_key(text: &str) -> String {
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| l.split_whitespace().nth(3) != Some("SOA"))
        .collect();
    lines.sort_unstable();
    let mut all = soa_values(text).unwrap_or_default();
    for l in lines {
        all.push('\n');
        all.push_str(l);
    }
    content_hash(&all)
}

/// The changes as the store keeps them: one JSON object per line.
pub fn encode(changes: &[DriftChange]) -> String {
    changes
        .iter()
        .filter_map(|c| serde_json::to_string(c).ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The changes a drift row stores (lines zonekeeper did not write are left out).
pub fn decode(lines: &str) -> Vec<DriftChange> {
    lines
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The drift of one zone for people, record by record: `-` recorded but no longer
/// served, `+` served but never recorded; each line indented by `indent`.
pub fn text(changes: &[DriftChange], indent: &str) -> String {
    let mut out = String::new();
    for c in changes {
        for l in c.recorded.iter().filter(|l| !c.served.contains(l)) {
            out.push_str(&format!("{indent}- {l}\n"));
        }
        for l in c.served.iter().filter(|l| !c.recorded.contains(l)) {
            out.push_str(&format!("{indent}+ {l}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(serial: u32, lines: &[&str]) -> String {
        let mut t = format!(
            "a.test. 300 IN SOA ns0.example.net. hostmaster.example.net. {serial} 3600 60 1209600 60\n"
        );
        for l in lines {
            t.push_str(l);
            t.push('\n');
        }
        t
    }

    fn served(serial: u32, lines: &[&str]) -> Served {
        Served::of(zone(serial, lines).lines().map(String::from).collect())
    }

    const WWW: &str = "www.a.test. 300 IN A 192.0.2.1";
    const WWW2: &str = "www.a.test. 300 IN A 192.0.2.2";
    const MAIL: &str = "mail.a.test. 300 IN A 192.0.2.25";
    const ROGUE: &str = "rogue.a.test. 300 IN TXT \"oob\"";

    #[test]
    fn the_zone_as_recorded_is_no_drift() {
        let recorded = zone(7, &[MAIL, WWW]);
        assert_eq!(
            compare("a.test.", &recorded, 7, &served(7, &[MAIL, WWW])),
            None
        );
    }

    #[test]
    fn drift_is_every_rrset_added_removed_or_changed_record_by_record() {
        let recorded = zone(7, &[MAIL, WWW]);
        let d = compare("a.test.", &recorded, 7, &served(8, &[ROGUE, WWW, WWW2])).unwrap();
        assert_eq!((d.served_serial, d.recorded_serial), (Some(8), 7));
        let keys: Vec<(&str, &str)> = d
            .changes
            .iter()
            .map(|c| (c.owner.as_str(), c.rtype.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("mail.a.test.", "A"),
                ("rogue.a.test.", "TXT"),
                ("www.a.test.", "A")
            ]
        );
        let shown = text(&d.changes, "  ");
        assert_eq!(
            shown,
            format!("  - {MAIL}\n  + {ROGUE}\n  + {WWW2}\n"),
            "only the records that differ, - recorded, + served"
        );
        // stored and read back as it was
        assert_eq!(decode(&encode(&d.changes)), d.changes);
        // the same content in another order, at another serial: the same key
        assert_eq!(d.served_hash, content_key(&zone(3, &[WWW2, ROGUE, WWW])));
        assert_ne!(d.served_hash, content_key(&zone(3, &[WWW2, WWW])));
    }

    #[test]
    fn a_serial_moved_alone_is_drift_without_rrsets() {
        let recorded = zone(7, &[WWW]);
        let d = compare("a.test.", &recorded, 7, &served(9, &[WWW])).unwrap();
        assert!(d.changes.is_empty());
        assert_eq!(d.served_serial, Some(9));
    }

    #[test]
    fn soa_values_changed_show_as_the_soa_rrset() {
        let recorded = zone(7, &[WWW]);
        let other = zone(8, &[WWW]).replace(" 3600 60 ", " 7200 60 ");
        let s = Served::of(other.lines().map(String::from).collect());
        let d = compare("a.test.", &recorded, 7, &s).unwrap();
        assert_eq!(d.changes.len(), 1);
        assert_eq!(d.changes[0].rtype, "SOA");
    }
}
