//! What a gate says ([`Verdict`]) and why, typed: what proved a step ([`Proof`]), what
//! a closed gate of time or confirmation waits for ([`Waiting`]), why observations do not
//! prove a step ([`Unmet`]). Each `Display` is the text the step records and the operator
//! reads. Pure data.

use std::fmt;
use std::net::SocketAddr;

use super::{Probe, utc};
use crate::live::SoaAnswer;

/// What a gate says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Verdict {
    /// It holds: the step is proven.
    Holds(Proof),
    /// Only time or an operator opens it.
    Waits(Wait),
    /// What was observed does not prove the step.
    Fails(Unmet),
}

/// A closed gate of time or confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// When to look again; `None`: when an operator acts.
    pub until: Option<i64>,
    /// Why.
    pub reason: Waiting,
}

/// What proved a step (its message once done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proof {
    /// A gate of time or confirmation opened.
    Passed,
    /// Every check held.
    Checks {
        /// How many.
        count: usize,
    },
    /// The parents delegate as desired.
    Delegated,
    /// The servers stopped serving the zones.
    Stopped {
        /// The servers.
        servers: Vec<String>,
        /// How many zones.
        zones: usize,
    },
    /// Every secondary follows the catalogs.
    CatalogsFollowed,
    /// The primary serves exactly the desired RRsets.
    Content {
        /// At this serial.
        serial: u32,
    },
    /// Both primaries hold the same RRsets.
    SameData {
        /// In how many zones.
        zones: usize,
    },
}

impl fmt::Display for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proof::Passed => f.write_str("gate passed"),
            Proof::Checks { count } => write!(f, "{count} check(s) passed"),
            Proof::Delegated => f.write_str("the parents delegate as desired"),
            Proof::Stopped { servers, zones } => write!(
                f,
                "{} no longer serve(s) the {zones} zone(s)",
                servers.join(", ")
            ),
            Proof::CatalogsFollowed => f.write_str("every secondary follows the catalogs"),
            Proof::Content { serial } => {
                write!(
                    f,
                    "the primary serves the desired RRsets at serial {serial}"
                )
            }
            Proof::SameData { zones } => write!(
                f,
                "the new primary holds the same RRsets as the old one in {zones} zone(s)"
            ),
        }
    }
}

/// Why a gate of time or confirmation is closed; the text is the step's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Waiting {
    /// A [`Gate::Wait`](crate::procedures::Gate::Wait) before its end.
    #[error("{why}; waiting until {}", utc(*until))]
    Time {
        /// Why it waits.
        why: String,
        /// Its end.
        until: i64,
    },
    /// A [`Gate::Manual`](crate::procedures::Gate::Manual) an operator has not confirmed.
    #[error("{what}; then run: zonekeeper confirm {op} {step}")]
    Confirmation {
        /// What must be true first.
        what: String,
        /// The operation.
        op: i64,
        /// The step.
        step: i64,
    },
    /// A failed check before its back-off ended: the step's message stays as it was.
    #[error("{last}")]
    Backoff {
        /// What the failed check said.
        last: String,
        /// When it may be checked again.
        until: i64,
    },
}

impl Waiting {
    /// One line for the apply's summary: what operation `op` waits for.
    pub fn summary(&self, op: i64) -> String {
        match self {
            Waiting::Time { why, until } => format!("op {op} waits: {why} (until {})", utc(*until)),
            Waiting::Confirmation { what, op, step } => {
                format!("op {op} waits: {what} (confirm with `zonekeeper confirm {op} {step}`)")
            }
            Waiting::Backoff { last, until } => format!(
                "op {op} waits: {last} (not checked again before {})",
                utc(*until)
            ),
        }
    }
}

/// Why what was observed does not prove a step; the text is what the operator reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unmet {
    /// A server does not serve a zone at the serial it must.
    #[error("{server} must serve {zone} serial {serial} with AA: it {}", answer.describe())]
    NotServing {
        /// The server.
        server: String,
        /// The zone.
        zone: String,
        /// The serial.
        serial: u32,
        /// What it answered.
        answer: SoaAnswer,
    },
    /// A server still serves a zone it must stop serving.
    #[error("{server} must stop serving {zone}: it {}", answer.describe())]
    StillServing {
        /// The server.
        server: String,
        /// The zone.
        zone: String,
        /// What it answered.
        answer: SoaAnswer,
    },
    /// A server of a managed parent does not serve the parent at its recorded serial.
    #[error("{server} must serve the parent zone {zone} serial {serial}: it {}", answer.describe())]
    ParentNotServing {
        /// The server.
        server: String,
        /// The parent zone.
        zone: String,
        /// The serial.
        serial: u32,
        /// What it answered.
        answer: SoaAnswer,
    },
    /// A managed parent's recorded content delegates a zone to another NS set.
    #[error("the parent zone {parent} delegates {zone} to {}; write NS {} for it in zones/{parent}yaml", names_or_nothing(found), desired.join(" "))]
    ParentRecords {
        /// The parent zone.
        parent: String,
        /// The child zone.
        zone: String,
        /// The NS set recorded.
        found: Vec<String>,
        /// The NS set desired.
        desired: Vec<String>,
    },
    /// A server of an unmanaged parent refers to another NS set.
    #[error("the parent's server {server} delegates {zone} to {}; it must delegate to {}", names_or_nothing(found), desired.join(" "))]
    Referral {
        /// The parent's server.
        server: String,
        /// The child zone.
        zone: String,
        /// The NS set it gave.
        found: Vec<String>,
        /// The NS set desired.
        desired: Vec<String>,
    },
    /// A server of an unmanaged parent gave no NS set.
    #[error("the parent's server {server} does not answer for {zone}: {error}")]
    NoReferral {
        /// The parent's server.
        server: String,
        /// The child zone.
        zone: String,
        /// Why.
        error: String,
    },
    /// A delegation only an operator can check is not confirmed.
    #[error("the registrar must publish {instructions}; then run `zonekeeper confirm {op} {step}`")]
    Registrar {
        /// What to publish.
        instructions: String,
        /// The operation.
        op: i64,
        /// The step.
        step: i64,
    },
    /// The primary does not serve a catalog zone.
    #[error("the primary at {primary} does not serve {catalog}")]
    CatalogNotServed {
        /// Where the primary answers.
        primary: SocketAddr,
        /// The catalog zone.
        catalog: String,
    },
    /// A zone could not be transferred from a primary (the transfer's error).
    #[error("{error}")]
    Untransferable {
        /// The zone.
        zone: String,
        /// The transfer's error.
        error: String,
    },
    /// The new primary's copy of a zone differs from the old primary's.
    #[error(
        "the new primary's {zone} differs from the old primary's: {difference}; the old primary was changed outside zonekeeper, or the new one holds an older copy (remove its zone file and apply again)"
    )]
    Differs {
        /// The zone.
        zone: String,
        /// The first RRset that differs ([`first_difference`](super::first_difference)).
        difference: String,
    },
    /// The primary's copy of a zone is not the desired content (what differs, and what to
    /// do).
    #[error("{message}")]
    Content {
        /// The difference.
        message: String,
    },
    /// Another reason, with what the operator does about it.
    #[error("{unmet} — {how}")]
    With {
        /// The reason.
        unmet: Box<Unmet>,
        /// What to do.
        how: String,
    },
}

impl Unmet {
    /// Whether observing again within the same check may find it holds: servers that do
    /// not serve (or still serve) a zone converge in seconds; recorded content, referrals,
    /// transfers that differ and confirmations do not, so they are checked once per check.
    pub fn polled(&self) -> bool {
        match self {
            Unmet::NotServing { .. }
            | Unmet::StillServing { .. }
            | Unmet::ParentNotServing { .. } => true,
            Unmet::With { unmet, .. } => unmet.polled(),
            _ => false,
        }
    }

    /// The reason a failed probe gives.
    pub(super) fn of(p: &Probe) -> Unmet {
        let (server, zone) = (p.check.server.clone(), p.check.zone.to_string());
        match p.check.serial {
            Some(serial) => Unmet::NotServing {
                server,
                zone,
                serial,
                answer: p.answer.clone(),
            },
            None => Unmet::StillServing {
                server,
                zone,
                answer: p.answer.clone(),
            },
        }
    }

    /// This reason, with what the operator does (nothing added when `how` is empty).
    pub(super) fn with(self, how: &str) -> Unmet {
        if how.is_empty() {
            self
        } else {
            Unmet::With {
                unmet: Box::new(self),
                how: how.to_string(),
            }
        }
    }
}

/// `a b c`, or `nothing` for an empty set.
fn names_or_nothing(set: &[String]) -> String {
    if set.is_empty() {
        "nothing".to_string()
    } else {
        set.join(" ")
    }
}
