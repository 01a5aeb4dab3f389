//! A zone change as a saved plan holds it: its RRsets written out in full, also for a zone
//! created or deleted, whose RRsets are kept as its content only while planning.

use serde::{Serialize, Serializer};

use super::{RrsetChange, ZoneAction, ZoneChange};

/// The fields of [`ZoneChange`] a saved plan holds, borrowed.
#[derive(Serialize)]
struct Saved<'a> {
    zone: &'a str,
    action: ZoneAction,
    group: &'a str,
    old_group: Option<&'a str>,
    expected_serial: Option<u32>,
    new_serial: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    continues_from: Option<u32>,
    rrsets: &'a [RrsetChange],
}

impl Serialize for ZoneChange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Saved {
            zone: &self.zone,
            action: self.action,
            group: &self.group,
            old_group: self.old_group.as_deref(),
            expected_serial: self.expected_serial,
            new_serial: self.new_serial,
            continues_from: self.continues_from,
            rrsets: &self.rrset_changes(),
        }
        .serialize(s)
    }
}
