//! Zone operations in flight (see `procedures::zone`): a zone created, updated, verified or
//! deleted, each an operation of steps, carried out by the driver (`operations::drive`)
//! beside the staged operations.
//!
//! # One pass
//!
//! 1. Every operation whose step is ready acts, in batches by action kind, in the order
//!    load, send, join catalog, leave catalog, unload: the driver hands each batch
//!    ([`Zones::ready`]) to `apply::actions` (one file per kind), which depends on this
//!    module, never the other way round. One `rndc reconfig` loads every new zone of the
//!    pass, one unloads every zone deleted; UPDATEs go zone by zone, each written ahead in
//!    the store.
//! 2. Every gate that is due is observed in one round for all operations (`observe.rs`:
//!    probes of all zones at once, transfers eight at a time) and judged by the pure
//!    `procedures::gates::holds`.
//! 3. What the proven steps prove is written in one batch per kind (zones recorded,
//!    verified, forgotten), each write a crash-test boundary; a step that failed for good
//!    fails its operation alone, with a message naming zone, server and what to do.
//!
//! A gate that fails where servers converge is observed again after
//! `procedures::gates::poll_interval` (50-200 ms at first, longer as the check goes on), up
//! to the verify timeout after its step acted. Nothing here is stored: an apply after a crash
//! computes the operations again from the plan, and the store (recorded zones, intents
//! written ahead) says where each stands.

mod finish;
mod observe;

pub(super) use finish::drop_from_primary;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::catalogs::MemberCatalog;
use super::change::SentZone;
use super::ctx::{Ctx, Health};
use super::error::ApplyError;
use crate::plan::{Plan, ZoneChange};
use crate::procedures::gates::{self, Probe, Verdict};
use crate::procedures::zone::ZoneOperation;
use crate::procedures::{Action, Gate};
use crate::store::RecordedZone;

/// The most zones whose UPDATEs are sent in one pass: sends and their content checks
/// alternate, so a stop asked for waits for at most this many zones' checks, and the
/// count of zones updated moves on every pass.
pub(super) const SEND_AT_ONCE: usize = 100;

/// The most content gates (transfers, eight at a time) observed in one round: a stop
/// asked for during the creation of 40,000 zones waits for at most this many. As many as
/// catalog members go to one UPDATE (`backend::catalog`), so the zones recorded in one round join
/// their catalogs in one UPDATE per catalog.
pub(super) const TRANSFERS_AT_ONCE: usize = crate::backend::catalog::MEMBERS_PER_UPDATE;

/// Where a zone operation stands in this apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Its current step acts in the next pass.
    Ready,
    /// Its current step acted; its gate is observed at `next` (on the clock), and fails
    /// for good when it does not hold by `deadline`.
    Polls {
        /// The next observation.
        next: Duration,
        /// The last.
        deadline: Duration,
    },
    /// Every step was proven.
    Done,
    /// A step failed; its message is among the apply's failures.
    Failed,
}

/// One zone operation in flight.
pub(super) struct Running<'a> {
    /// The operation, as `procedures::zone` made it.
    pub(super) op: ZoneOperation,
    /// The plan's change of its zone.
    pub(super) change: &'a ZoneChange,
    /// Its current step.
    pub(super) step: usize,
    /// Where it stands.
    pub(super) state: State,
    /// What its load or send produced: the content and serial the primary must serve.
    pub(super) sent: Option<SentZone>,
    /// Whether the primary served it already and it was adopted, not loaded from a file.
    pub(super) adopted: bool,
    /// The current gate's probes, as last observed (those that held are not asked again).
    pub(super) probes: Vec<Probe>,
    /// The servers that must stop serving it (the current gate's).
    pub(super) stopping: Vec<String>,
    /// The secondaries its current gate does not wait for (absent, with why).
    pub(super) missing: Vec<(String, String)>,
}

impl Running<'_> {
    /// The action of its current step.
    pub(super) fn action(&self) -> Option<&Action> {
        self.op.steps.get(self.step).map(|s| &s.action)
    }

    /// The gate of its current step.
    pub(super) fn gate(&self) -> Option<&Gate> {
        self.op.steps.get(self.step).map(|s| &s.gate)
    }

    /// The serial it must be served at: what its action produced, else the plan's.
    pub(super) fn serial(&self) -> u32 {
        self.sent
            .as_ref()
            .map(|s| s.serial)
            .or(self.change.new_serial)
            .or(self.change.expected_serial)
            .unwrap_or(0)
    }
}

/// What zone operations did in this apply, for its report.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    /// Zones loaded on the primary and recorded.
    pub(super) created: Vec<String>,
    /// Zones updated (or adopted) and recorded.
    pub(super) updated: Vec<String>,
    /// Zones every server was seen serving.
    pub(super) verified: Vec<String>,
    /// Zones deleted.
    pub(super) deleted: Vec<String>,
    /// Failures, each naming zone and server.
    pub(super) failures: Vec<String>,
    /// Each server's checks.
    pub(super) health: Health,
    /// Secondaries not waited for (absent, below the quorum's need): why, and the zones
    /// verified without them.
    pub(super) missed: BTreeMap<String, (String, usize)>,
}

/// The zone operations of one apply.
pub(super) struct Zones<'a> {
    /// The recorded zones before this apply.
    pub(super) index: &'a BTreeMap<String, RecordedZone>,
    /// The member catalogs the primary serves.
    pub(super) cats: &'a [MemberCatalog],
    /// Each planned zone that stays, with its desired group.
    pub(super) desired_groups: &'a BTreeMap<String, String>,
    /// The operations.
    pub(super) ops: Vec<Running<'a>>,
    /// Secondaries known not to answer (in maintenance, or BROKEN at the last check),
    /// with why: zone changes do not wait for them while the quorum holds without them
    /// (`procedures::quorum`).
    pub(super) absent: BTreeMap<String, String>,
    /// The last time (on the clock) some gate held or some server began to serve: while
    /// servers make progress, failing gates are observed past their deadline
    /// (`procedures::gates::polls_until`).
    pub(super) progress: Option<Duration>,
    /// Zones taken out of the primary's configuration in this apply (refused, deleted):
    /// every later rendering leaves them out.
    pub(super) dropped: BTreeSet<String>,
    /// What they did.
    pub(super) out: Outcome,
}

/// The action kinds of zone operations, in the order a pass runs their batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Batch {
    Load,
    Send,
    Join,
    Leave,
    Unload,
    Nothing,
}

impl Batch {
    pub(super) const ORDER: [Batch; 6] = [
        Batch::Load,
        Batch::Send,
        Batch::Join,
        Batch::Leave,
        Batch::Unload,
        Batch::Nothing,
    ];

    fn of(action: &Action) -> Batch {
        match action {
            Action::LoadZone => Batch::Load,
            Action::SendUpdate => Batch::Send,
            Action::CatalogJoin { .. } => Batch::Join,
            Action::CatalogRemove { .. } => Batch::Leave,
            Action::UnloadZone => Batch::Unload,
            _ => Batch::Nothing,
        }
    }
}

impl<'a> Zones<'a> {
    /// The operations `ops` of `plan`, none started.
    pub(super) fn new(
        plan: &'a Plan,
        index: &'a BTreeMap<String, RecordedZone>,
        cats: &'a [MemberCatalog],
        desired_groups: &'a BTreeMap<String, String>,
        ops: Vec<ZoneOperation>,
    ) -> Zones<'a> {
        let by_zone: BTreeMap<&str, &'a ZoneChange> =
            plan.zones.iter().map(|z| (z.zone.as_str(), z)).collect();
        let ops = ops
            .into_iter()
            .filter_map(|op| {
                let change = *by_zone.get(op.zone.as_str())?;
                Some(Running {
                    op,
                    change,
                    step: 0,
                    state: State::Ready,
                    sent: None,
                    adopted: false,
                    probes: Vec::new(),
                    stopping: Vec::new(),
                    missing: Vec::new(),
                })
            })
            .collect();
        Zones {
            index,
            cats,
            desired_groups,
            ops,
            absent: BTreeMap::new(),
            progress: None,
            dropped: BTreeSet::new(),
            out: Outcome::default(),
        }
    }

    /// What they did, as the apply's report (moved out: the zones keep only their health).
    pub(super) fn report(&mut self) -> super::Report {
        let o = &mut self.out;
        super::Report {
            created: std::mem::take(&mut o.created),
            updated: std::mem::take(&mut o.updated),
            deleted: std::mem::take(&mut o.deleted),
            verified: std::mem::take(&mut o.verified),
            failures: std::mem::take(&mut o.failures),
            missed: std::mem::take(&mut o.missed)
                .into_iter()
                .map(|(server, (why, zones))| super::ctx::Missed { server, why, zones })
                .collect(),
            ..super::Report::default()
        }
    }

    /// The primary's `zones.conf` as it must be now: every recorded and planned zone but
    /// those dropped in this apply, and the member catalogs.
    pub(super) fn conf(&self, config: &crate::model::Config) -> Vec<crate::backend::bind::Stanza> {
        super::publish::stanzas(
            config,
            self.index,
            self.desired_groups,
            &self.dropped,
            self.cats,
        )
    }

    /// Operation `i` failed for good: `message` is a failure of the apply, reported in its
    /// summary (the first few, then a count; every one in `--format json`), so logged at
    /// debug level only: 40,000 failing zones are not 40,000 log lines.
    pub(super) fn fail(&mut self, i: usize, message: String) {
        tracing::debug!(zone = %self.ops[i].op.zone, "{message}");
        self.ops[i].state = State::Failed;
        self.out.failures.push(message);
    }

    /// Operation `i` acted: its gate is observed from now, until the verify timeout.
    pub(super) fn acted(&mut self, ctx: &Ctx<'_>, i: usize) {
        let now = ctx.opts.effects.clock.now();
        let r = &mut self.ops[i];
        r.probes.clear();
        r.stopping.clear();
        r.state = State::Polls {
            next: now,
            deadline: now + ctx.opts.verify_timeout,
        };
    }

    /// The operations whose step is ready to act with an action of `kind` (step 1 of a
    /// pass: the driver hands them to `actions::zone_batch`); at most [`SEND_AT_ONCE`]
    /// UPDATEs a pass, so that sends and their content checks alternate.
    pub(super) fn ready(&self, kind: Batch) -> Vec<usize> {
        let most = if kind == Batch::Send {
            SEND_AT_ONCE
        } else {
            usize::MAX
        };
        (0..self.ops.len())
            .filter(|i| {
                let r = &self.ops[*i];
                r.state == State::Ready && r.action().map(Batch::of) == Some(kind)
            })
            .take(most)
            .collect()
    }

    /// The operations not settled: not started, or their gate not yet seen to hold.
    pub(super) fn left(&self) -> usize {
        self.ops
            .iter()
            .filter(|r| matches!(r.state, State::Ready | State::Polls { .. }))
            .count()
    }

    /// Sets the totals of `meter` (each zone's kind of change, and every zone that is
    /// not deleted to verify).
    pub(super) fn count_totals(&self, meter: &crate::progress::Meter) {
        use crate::procedures::zone::ZoneKind;
        use crate::progress::Count;
        let of = |k: ZoneKind| self.ops.iter().filter(|r| r.op.kind == k).count();
        meter.set_total(Count::Created, of(ZoneKind::Create));
        meter.set_total(Count::Updated, of(ZoneKind::Update));
        meter.set_total(Count::Deleted, of(ZoneKind::Delete));
        meter.set_total(Count::Verified, self.ops.len() - of(ZoneKind::Delete));
    }

    /// Sets what `meter` counts done from what the operations did.
    pub(super) fn count_done(&self, meter: &crate::progress::Meter) {
        use crate::progress::Count;
        meter.set_done(Count::Created, self.out.created.len());
        meter.set_done(Count::Updated, self.out.updated.len());
        meter.set_done(Count::Verified, self.out.verified.len());
        meter.set_done(Count::Deleted, self.out.deleted.len());
    }

    /// Steps 2 and 3 of a pass (see the module doc): the due gates observed and judged,
    /// what they prove written. Returns when to look again (on the clock): now when a step
    /// is ready, the earliest next observation, or `None` when all are settled.
    ///
    /// At most [`TRANSFERS_AT_ONCE`] content gates (transfers) are observed a round. The `last`
    /// round (a stop was asked for) observes every gate not yet held at once, due or
    /// not; those that do not hold yet are left as they are, for the next apply.
    pub(super) async fn settle(
        &mut self,
        ctx: &Ctx<'_>,
        last: bool,
    ) -> Result<Option<Duration>, ApplyError> {
        let now = ctx.opts.effects.clock.now();
        let mut transfers = 0;
        let due: Vec<usize> = (0..self.ops.len())
            .filter(|i| {
                let r = &self.ops[*i];
                let due = matches!(r.state, State::Polls { next, .. } if last || next <= now);
                if due && r.gate() == Some(&Gate::ContentEquals) {
                    transfers += 1;
                    return transfers <= TRANSFERS_AT_ONCE;
                }
                due
            })
            .collect();
        if !due.is_empty() {
            let observed = observe::round(ctx, self, &due).await?;
            let mut proven = Vec::new();
            let mut failed = Vec::new();
            for (i, obs) in due.into_iter().zip(observed) {
                let Some(gate) = self.ops[i].gate().cloned() else {
                    continue;
                };
                let State::Polls { deadline, .. } = self.ops[i].state else {
                    continue;
                };
                let clock_now = ctx.opts.effects.clock.now();
                let timeout = ctx.opts.verify_timeout;
                let until = gates::polls_until(clock_now, deadline, self.progress, timeout);
                match (gates::holds(&gate, &obs, ctx.now()), until) {
                    (Verdict::Holds(_), _) => {
                        self.progress = Some(clock_now);
                        proven.push(i);
                    }
                    (Verdict::Fails(unmet), Some(until)) if unmet.polled() => {
                        let next = gates::next_poll(&gate, clock_now, deadline, timeout, until);
                        self.ops[i].state = State::Polls { next, deadline };
                    }
                    (Verdict::Fails(_), _) if self.served_by_quorum(ctx, i) => proven.push(i),
                    (Verdict::Fails(unmet), _) => failed.push((i, unmet.to_string())),
                    (Verdict::Waits(w), _) => failed.push((i, w.reason.to_string())),
                }
            }
            finish::failed(ctx, self, failed).await?;
            finish::proven(ctx, self, proven).await?;
        }
        Ok(self.wake(ctx))
    }

    /// Once a stop is asked for: the gates of the steps that acted are observed once more
    /// and what holds is recorded; a step that does nothing follows at once (`record`
    /// after `load`, `verify` after `send`) and its gate is observed too. Nothing else
    /// starts.
    pub(super) async fn last_rounds(&mut self, ctx: &Ctx<'_>) -> Result<(), ApplyError> {
        for _ in 0..3 {
            for i in self.ready(Batch::Nothing) {
                self.acted(ctx, i);
            }
            self.settle(ctx, true).await?;
        }
        Ok(())
    }

    /// Whether operation `i`, whose gate failed for good, is served all the same: its gate
    /// is "every server serves" and the primary and a quorum of the group's secondaries
    /// serve (`procedures::quorum`). The secondaries that did not are then not waited for:
    /// their probes leave the gate, they are recorded lagging (sweeps verify them once
    /// they serve), and each one's failure counts against its health.
    fn served_by_quorum(&mut self, ctx: &Ctx<'_>, i: usize) -> bool {
        let config = &ctx.desired.config;
        let r = &self.ops[i];
        if r.gate() != Some(&Gate::AllServe) {
            return false;
        }
        let primary = &ctx.primary.name;
        let holds = |server: &str| {
            r.probes
                .iter()
                .filter(|p| p.check.server == server)
                .all(|p| p.holds())
        };
        let members: Vec<String> = config
            .group_secondaries(&r.op.group)
            .iter()
            .map(|s| s.name.clone())
            .collect();
        let asked = |m: &String| r.probes.iter().any(|p| &p.check.server == m);
        let serving = members.iter().filter(|m| asked(m) && holds(m)).count();
        let quorum = config
            .groups
            .get(&r.op.group)
            .map_or(members.len(), |g| g.quorum);
        if !holds(primary) || !crate::procedures::quorum::served(serving, quorum) {
            return false;
        }
        let timeout = ctx.opts.verify_timeout.as_secs();
        let r = &mut self.ops[i];
        let mut late: Vec<(String, String)> = Vec::new();
        for p in r.probes.iter().filter(|p| !p.holds()) {
            if late.iter().all(|(s, _)| s != &p.check.server) {
                let why = format!(
                    "did not serve {} serial {} within {timeout} s: it {}",
                    p.check.zone,
                    p.check.serial.unwrap_or(0),
                    p.answer.describe()
                );
                late.push((p.check.server.clone(), why));
            }
        }
        r.probes.retain(|p| p.holds());
        for (server, why) in &late {
            self.out
                .health
                .entry(server.clone())
                .or_default()
                .1
                .push(format!("{server} {why}"));
        }
        r.missing.extend(late);
        true
    }

    /// When to look again: now when a step is ready, else the earliest observation due.
    fn wake(&self, ctx: &Ctx<'_>) -> Option<Duration> {
        let mut wake: Option<Duration> = None;
        for r in &self.ops {
            let at = match r.state {
                State::Ready => ctx.opts.effects.clock.now(),
                State::Polls { next, .. } => next,
                State::Done | State::Failed => continue,
            };
            wake = Some(wake.map_or(at, |w| w.min(at)));
        }
        wake
    }
}
