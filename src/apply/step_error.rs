//! Why a step's action failed: [`StepError`], the typed error of the step layer
//! (`actions/`, `publish.rs`). Its text (`Display`) is what
//! the step records as its message and the operator reads, so each variant names what
//! failed and where; wrapped errors keep their own text.

use crate::backend::bind::BindError;
use crate::backend::tsig::TsigError;
use crate::backend::update::UpdateError;
use crate::model::record::ValueError;
use crate::store::StoreError;

use super::error::ApplyError;

/// Why a step's action failed; the step then waits and is tried again.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A primary's control channel or configuration failed (rndc, `zones.conf`, zone files).
    #[error(transparent)]
    Control(#[from] BindError),
    /// An UPDATE, or a transfer from a primary, failed.
    #[error(transparent)]
    Update(#[from] UpdateError),
    /// The TSIG key could not be loaded.
    #[error(transparent)]
    Tsig(#[from] TsigError),
    /// Connecting to a primary, or reading the member catalogs, failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// A zone operation's action in a stored operation: the store holds a step this
    /// release does not carry out there.
    #[error("a stored operation cannot {action}; cancel it")]
    NotStaged {
        /// What the action does.
        action: String,
    },
    /// A value of the step's RRset cannot be read.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// The UPDATE's SOA prerequisite failed, and what the primary serves could not be read.
    #[error("{drift}; and its content could not be read: {source}")]
    DriftUnreadable {
        /// The failed prerequisite.
        drift: UpdateError,
        /// Why the transfer failed.
        #[source]
        source: UpdateError,
    },
    /// An interrupted apply's change had landed on the primary: it is recorded now, and the
    /// step is sent again from it.
    #[error(
        "zone {zone}: an interrupted apply's change had landed and is recorded now; this step is sent again from it"
    )]
    Landed {
        /// The zone.
        zone: String,
    },
    /// After its UPDATE, a zone's content could not be transferred to verify it.
    #[error("zone {zone}: its content could not be transferred to verify it: {source}")]
    Untransferable {
        /// The zone.
        zone: String,
        /// Why the transfer failed.
        #[source]
        source: UpdateError,
    },
    /// After its UPDATE, the primary serves other RRsets than desired (the difference).
    #[error("{0}")]
    Mismatch(String),
    /// A zone's change could not be sent, or was not verified, by the stages' sender
    /// (`change.rs`), whose errors are text naming the zone.
    #[error("{0}")]
    Zone(String),
    /// Editing a catalog zone failed (`catalogs::edit`, text naming the catalogs).
    #[error("{0}")]
    Catalog(String),
    /// The group has no catalog (of that secondary) to edit.
    #[error("group {group} has no catalog{} to edit", only.as_ref().map(|s| format!(" of {s}")).unwrap_or_default())]
    NoCatalog {
        /// The group.
        group: String,
        /// The one secondary whose catalog was to be edited.
        only: Option<String>,
    },
    /// The operation names no zone.
    #[error("the operation names no zone")]
    NoZone,
    /// The zone is not recorded in the store.
    #[error("{zone} is not recorded")]
    NotRecorded {
        /// The zone.
        zone: String,
    },
    /// The step names a record type zonekeeper does not know.
    #[error("unknown type {rtype}")]
    UnknownType {
        /// The type as the step names it.
        rtype: String,
    },
    /// A zone's recorded SOA cannot be read.
    #[error("the recorded SOA{} is unreadable", zone.as_ref().map(|z| format!(" of {z}")).unwrap_or_default())]
    RecordedSoa {
        /// The zone, when the message names it.
        zone: Option<String>,
    },
    /// The SOA a primary serves for a zone cannot be read.
    #[error("the SOA of {zone} on {primary} is unreadable")]
    ServedSoa {
        /// The zone.
        zone: String,
        /// The primary.
        primary: String,
    },
    /// The old primary of a move no longer serves a zone at its recorded serial.
    #[error("the old primary {primary} must still serve {zone}: it {answer}")]
    OldPrimaryNotServing {
        /// The old primary.
        primary: String,
        /// The zone.
        zone: String,
        /// What it answered, described.
        answer: String,
    },
    /// The new primary of a move does not serve a zone (yet).
    #[error("the new primary {primary} does not serve {zone}")]
    NotServing {
        /// The new primary.
        primary: String,
        /// The zone.
        zone: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variants whose text is put together from optional parts read as the strings
    /// the step layer wrote before it had typed errors.
    #[test]
    fn messages_read_as_before() {
        let no_catalog = |only: Option<&str>| StepError::NoCatalog {
            group: "g1".into(),
            only: only.map(str::to_string),
        };
        assert_eq!(
            no_catalog(None).to_string(),
            "group g1 has no catalog to edit"
        );
        assert_eq!(
            no_catalog(Some("ns2")).to_string(),
            "group g1 has no catalog of ns2 to edit"
        );
        let soa = |zone: Option<&str>| StepError::RecordedSoa {
            zone: zone.map(str::to_string),
        };
        assert_eq!(soa(None).to_string(), "the recorded SOA is unreadable");
        assert_eq!(
            soa(Some("example.com.")).to_string(),
            "the recorded SOA of example.com. is unreadable"
        );
        assert_eq!(
            StepError::NotServing {
                primary: "p2".into(),
                zone: "cat.invalid.".into()
            }
            .to_string(),
            "the new primary p2 does not serve cat.invalid."
        );
    }
}
