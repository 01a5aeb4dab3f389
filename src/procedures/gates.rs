//! Gates, decided: whether a step's [`Gate`] holds, from plain-data [`Observations`] and
//! the time `now`, as a [`Verdict`]. Pure: no I/O, no clock, no store. The driver
//! (`apply::operations`) observes (one round of probes, transfers, store reads), calls
//! [`holds`], and records what it says.
//!
//! # Verdicts
//!
//! - [`Verdict::Holds`]: the step is proven ([`Proof`]).
//! - [`Verdict::Waits`]: only time or an operator opens the gate ([`Waiting`]): a
//!   [`Gate::Wait`] before its end, a [`Gate::Manual`] not confirmed, a failed check before
//!   its back-off ended. `until` is when to look again (`None`: when an operator acts).
//! - [`Verdict::Fails`]: what was observed does not prove the step ([`Unmet`]). Servers
//!   converge, so the driver observes again while the check's budget lasts when
//!   [`Unmet::polled`] says that is worth it, then backs off ([`next_check`]).
//!
//! # Time
//!
//! A wait ends no earlier than the previous step's finish plus its length
//! ([`wait_until`]); a failed check is not repeated before its back-off ([`next_check`])
//! by an apply of the same revision. Times are whole Unix seconds, always arguments.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::Gate;
use super::delegation::ZoneDelegation;
use crate::live::{self, Check, Outcome, SoaAnswer};
use crate::model::served::{Served, difference};
use crate::model::zone::lines_by_rrset;

mod polling;
mod verdict;
pub use polling::{MAX_POLL_INTERVAL, next_poll, poll_interval, polls_until};
pub use verdict::{Proof, Unmet, Verdict, Wait, Waiting};

/// The longest back-off between two checks of a failing gate.
pub const MAX_BACKOFF: i64 = 300;

/// When a wait of `seconds` that starts at `finished` (whole Unix seconds, read when the
/// previous step finished, so up to 1 s before it really did) may end: never earlier than
/// the real finish plus `seconds`.
pub fn wait_until(finished: i64, seconds: u64) -> i64 {
    finished
        .saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX))
        .saturating_add(1)
}

/// When a gate whose check started at `started` and failed, for the `attempts`-th time,
/// is checked again: 2, 4, 8 … seconds after that check started, at most
/// [`MAX_BACKOFF`]. Counted from the start, so the check's own polling (up to the verify
/// timeout) is part of the back-off, not added to it.
pub fn next_check(started: i64, attempts: i64) -> i64 {
    let backoff = 2_i64
        .saturating_pow(attempts.clamp(1, 16) as u32)
        .min(MAX_BACKOFF);
    started.saturating_add(backoff)
}

/// When the wait of a [`Gate::Wait`] of `seconds` ends for `step`: as fixed when it began,
/// else counted from the previous step's finish (or from `now` without one).
pub fn wait_end(seconds: u64, step: &StepRecord, now: i64) -> i64 {
    step.not_before
        .unwrap_or_else(|| wait_until(step.previous_finished.unwrap_or(now), seconds))
}

/// Whether a step proven by `gate` proves its zones verified on every server of the group.
pub fn verifies_zones(gate: &Gate) -> bool {
    matches!(
        gate,
        Gate::Serves { .. } | Gate::AllServe | Gate::GroupServes { .. }
    )
}

/// A Unix time as messages show it: UTC, RFC 3339 (`2026-12-06T21:50:00Z`).
pub fn utc(t: i64) -> String {
    crate::model::text::utc(t)
}

/// What a step's record says, as the gates of time, back-off and confirmation read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepRecord {
    /// The operation's id.
    pub op: i64,
    /// The step's position.
    pub idx: i64,
    /// When the step before it finished (Unix seconds).
    pub previous_finished: Option<i64>,
    /// The end of its wait, once fixed.
    pub not_before: Option<i64>,
    /// Whether an operator confirmed it.
    pub confirmed: bool,
    /// After a failed check: not checked again before this…
    pub next_check_at: Option<i64>,
    /// … when the check failed for the revision being applied (a new commit may be the fix).
    pub same_revision: bool,
    /// The last thing it said.
    pub message: String,
}

/// One probe of one server for one zone: what it had to answer, and what it answered.
#[derive(Debug, Clone)]
pub struct Probe {
    /// What it had to answer.
    pub check: Check,
    /// What it answered.
    pub answer: SoaAnswer,
}

impl Probe {
    /// Whether the answer meets the check.
    pub fn holds(&self) -> bool {
        live::holds(&self.check, &self.answer)
    }
}

impl From<Outcome> for Probe {
    fn from(o: Outcome) -> Probe {
        Probe {
            check: o.check,
            answer: o.answer,
        }
    }
}

/// What a server of an unmanaged parent answered for a zone's NS set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    /// The child zone.
    pub zone: String,
    /// The parent's server, as configured.
    pub server: String,
    /// The NS set it gave (sorted, lower case), or why it gave none.
    pub answer: Result<Vec<String>, String>,
}

/// A zone transferred from the new and the old primary of a move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The zone.
    pub zone: String,
    /// The new primary's records (presentation lines), or why the transfer failed.
    pub new: Result<Vec<String>, String>,
    /// The old primary's, or why the transfer failed.
    pub old: Result<Vec<String>, String>,
}

/// What one round of observation saw, for one gate. Each gate reads the parts it needs;
/// the others stay empty.
#[derive(Debug, Clone, Default)]
pub struct Observations {
    /// The step's record.
    pub step: StepRecord,
    /// How many of the operation's zones are recorded (those the probes ask about).
    pub zones: usize,
    /// Servers asked, in order of the checks.
    pub probes: Vec<Probe>,
    /// The servers that must stop serving the zones.
    pub stopping: Vec<String>,
    /// The primary's answer for each catalog zone ([`Gate::CatalogsServed`]).
    pub catalogs: Vec<(String, SoaAnswer)>,
    /// Managed parents' recorded content, by name ([`Gate::Delegation`]).
    pub parents: BTreeMap<String, String>,
    /// Unmanaged parents' referrals ([`Gate::Delegation`]).
    pub referrals: Vec<Referral>,
    /// Transfers from both primaries ([`Gate::SameData`]), made once the probes held.
    pub transfers: Vec<Transfer>,
    /// The zone transferred from the primary ([`Gate::ContentEquals`]).
    pub content: Option<Content>,
}

/// A zone transferred from the primary, and what it must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The zone.
    pub zone: String,
    /// The desired content (canonical text).
    pub target: String,
    /// The serial it must have.
    pub serial: u32,
    /// What the transfer gave, or why it failed.
    pub served: Result<Served, String>,
}

impl Observations {
    /// Only the step's record: all the gates of time and confirmation read.
    pub fn of(step: StepRecord) -> Observations {
        Observations {
            step,
            ..Observations::default()
        }
    }

    /// Whether every probe held (true without probes).
    pub fn probes_hold(&self) -> bool {
        self.probes.iter().all(Probe::holds)
    }
}

/// Whether `gate` holds, given what was observed and the time.
pub fn holds(gate: &Gate, obs: &Observations, now: i64) -> Verdict {
    match gate {
        Gate::Wait { seconds, why } => {
            let until = wait_end(*seconds, &obs.step, now);
            if now < until {
                Verdict::Waits(Wait {
                    until: Some(until),
                    reason: Waiting::Time {
                        why: why.clone(),
                        until,
                    },
                })
            } else {
                Verdict::Holds(Proof::Passed)
            }
        }
        Gate::Manual { what } if !obs.step.confirmed => Verdict::Waits(Wait {
            until: None,
            reason: Waiting::Confirmation {
                what: what.clone(),
                op: obs.step.op,
                step: obs.step.idx,
            },
        }),
        Gate::Manual { .. } => Verdict::Holds(Proof::Passed),
        Gate::Serves { .. }
        | Gate::AllServe
        | Gate::GroupServes { .. }
        | Gate::Propagated { .. }
        | Gate::Retired { .. }
        | Gate::PrimaryServes => match first_failure(obs) {
            Some(unmet) => Verdict::Fails(unmet),
            None => Verdict::Holds(Proof::Checks {
                count: obs.probes.len(),
            }),
        },
        Gate::StoppedServing { how, .. } => stopped(obs, how),
        Gate::PrimaryStopped => stopped(
            obs,
            "it left the primary's configuration; check the primary's log if it keeps serving",
        ),
        Gate::ContentEquals => content_equals(obs.content.as_ref()),
        Gate::GroupStopped { group, .. } => stopped(
            obs,
            &format!(
                "they left the catalog of group {group}; check their logs if they keep serving"
            ),
        ),
        Gate::Delegation { zones, manual, .. } => delegated(obs, zones, *manual),
        Gate::SameData { .. } => same_data(obs),
        Gate::CatalogsServed { primary, how, .. } => catalogs_followed(obs, *primary, how),
    }
}

/// The gates of time, back-off and confirmation, before a step acts: `Some` when it may
/// not act yet.
pub fn before_acting(gate: &Gate, step: &StepRecord, now: i64) -> Option<Wait> {
    if let Some(at) = step
        .next_check_at
        .filter(|at| now < *at && step.same_revision)
    {
        return Some(Wait {
            until: Some(at),
            reason: Waiting::Backoff {
                last: step.message.clone(),
                until: at,
            },
        });
    }
    match gate {
        Gate::Wait { .. } | Gate::Manual { .. } => {
            match holds(gate, &Observations::of(step.clone()), now) {
                Verdict::Waits(w) => Some(w),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The zone transferred holds exactly its target at its serial.
fn content_equals(content: Option<&Content>) -> Verdict {
    let Some(c) = content else {
        return Verdict::Fails(Unmet::Content {
            message: "the zone was not transferred".into(),
        });
    };
    let message = match &c.served {
        Ok(served) => match difference(&c.zone, &c.target, served, c.serial) {
            None => return Verdict::Holds(Proof::Content { serial: c.serial }),
            Some(diff) => diff,
        },
        Err(e) => format!(
            "zone {}: its content could not be transferred from the primary to verify it: {e}. It is not recorded as applied; apply again",
            c.zone
        ),
    };
    Verdict::Fails(Unmet::Content { message })
}

/// The first probe that failed, as a reason.
fn first_failure(obs: &Observations) -> Option<Unmet> {
    obs.probes.iter().find(|p| !p.holds()).map(Unmet::of)
}

fn stopped(obs: &Observations, how: &str) -> Verdict {
    match first_failure(obs) {
        Some(unmet) => Verdict::Fails(unmet.with(how)),
        None => Verdict::Holds(Proof::Stopped {
            servers: obs.stopping.clone(),
            zones: obs.zones,
        }),
    }
}

/// Managed parents serve their recorded serial everywhere and record exactly the child's
/// NS set; unmanaged parents' servers refer with it; by-hand parents were confirmed (the
/// message names the first few zones' delegation: the gate holds every one).
fn delegated(obs: &Observations, zones: &[ZoneDelegation], manual: bool) -> Verdict {
    if let Some(p) = obs.probes.iter().find(|p| !p.holds()) {
        return Verdict::Fails(Unmet::ParentNotServing {
            server: p.check.server.clone(),
            zone: p.check.zone.to_string(),
            serial: p.check.serial.unwrap_or(0),
            answer: p.answer.clone(),
        });
    }
    for z in zones {
        let Some((parent, content)) = z
            .parent
            .as_ref()
            .and_then(|p| Some((p, obs.parents.get(p)?)))
        else {
            continue;
        };
        let found = delegated_ns(content, &z.zone);
        if found != z.ns {
            return Verdict::Fails(Unmet::ParentRecords {
                parent: parent.clone(),
                zone: z.zone.clone(),
                found,
                desired: z.ns.clone(),
            });
        }
    }
    for r in &obs.referrals {
        let desired = zones
            .iter()
            .find(|z| z.zone == r.zone)
            .map(|z| z.ns.clone())
            .unwrap_or_default();
        match &r.answer {
            Ok(found) if *found == desired => {}
            Ok(found) => {
                return Verdict::Fails(Unmet::Referral {
                    server: r.server.clone(),
                    zone: r.zone.clone(),
                    found: found.clone(),
                    desired,
                });
            }
            Err(error) => {
                return Verdict::Fails(Unmet::NoReferral {
                    server: r.server.clone(),
                    zone: r.zone.clone(),
                    error: error.clone(),
                });
            }
        }
    }
    if manual && !obs.step.confirmed {
        return Verdict::Fails(Unmet::Registrar {
            instructions: super::delegation::registrar_summary(zones),
            op: obs.step.op,
            step: obs.step.idx,
        });
    }
    Verdict::Holds(Proof::Delegated)
}

/// The NS set (sorted) a parent's canonical `content` delegates `zone` to.
fn delegated_ns(content: &str, zone: &str) -> Vec<String> {
    let mut set: Vec<String> = lines_by_rrset(content)
        .get(&(zone.to_string(), "NS".to_string()))
        .map(|lines| {
            lines
                .iter()
                .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    set.sort();
    set
}

/// The new primary serves every zone at its recorded serial, with the same RRsets as the
/// old one.
fn same_data(obs: &Observations) -> Verdict {
    if let Some(unmet) = first_failure(obs) {
        return Verdict::Fails(unmet);
    }
    for t in &obs.transfers {
        let (new, old) = match (&t.new, &t.old) {
            (Ok(new), Ok(old)) => (new, old),
            (Err(error), _) | (_, Err(error)) => {
                return Verdict::Fails(Unmet::Untransferable {
                    zone: t.zone.clone(),
                    error: error.clone(),
                });
            }
        };
        if let Some(difference) = first_difference(new, old) {
            return Verdict::Fails(Unmet::Differs {
                zone: t.zone.clone(),
                difference,
            });
        }
    }
    Verdict::Holds(Proof::SameData {
        zones: obs.transfers.len(),
    })
}

/// The primary serves every catalog zone, and every secondary (and the copy) follows it.
fn catalogs_followed(obs: &Observations, primary: SocketAddr, how: &str) -> Verdict {
    if let Some((catalog, _)) = obs
        .catalogs
        .iter()
        .find(|(_, a)| !matches!(a, SoaAnswer::Serves { .. }))
    {
        return Verdict::Fails(Unmet::CatalogNotServed {
            primary,
            catalog: catalog.clone(),
        });
    }
    match first_failure(obs) {
        Some(unmet) => Verdict::Fails(unmet.with(how)),
        None => Verdict::Holds(Proof::CatalogsFollowed),
    }
}

/// The first RRset (in canonical order) whose records differ between two transfers of a
/// zone, described; `None` when every RRset is equal.
pub fn first_difference(new: &[String], old: &[String]) -> Option<String> {
    let sets = |lines: &[String]| {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let mut map = lines_by_rrset(&text);
        for records in map.values_mut() {
            records.sort();
        }
        let soa: Vec<String> = lines
            .iter()
            .filter(|l| l.split_whitespace().nth(3) == Some("SOA"))
            .cloned()
            .collect();
        map.insert(("@".into(), "SOA".into()), soa);
        map
    };
    let (a, b) = (sets(new), sets(old));
    let keys: std::collections::BTreeSet<_> = a.keys().chain(b.keys()).collect();
    for key in keys {
        let (x, y) = (a.get(key), b.get(key));
        if x != y {
            let show = |r: Option<&Vec<String>>| match r {
                Some(v) if !v.is_empty() => v.join(" | "),
                _ => "nothing".to_string(),
            };
            return Some(format!(
                "{} {}: new has {}, old has {}",
                key.0,
                key.1,
                show(x),
                show(y)
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests;
