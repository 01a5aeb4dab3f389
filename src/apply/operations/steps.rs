//! The one driver: carries out zone operations (`apply::zones`: a zone created, updated,
//! verified or deleted) and the steps of staged operations, writing each staged step's
//! state before and after it acts.
//!
//! Each pass first moves the zone operations on (their ready steps act in batches, their
//! due gates are observed in one round); the staged operations' pass follows once every
//! zone operation is settled, since their steps read what zone operations recorded.
//!
//! # One pass
//!
//! Every active operation is driven as far as its gates allow, in the order they were
//! created. An operation that waits holds back only the later operations that
//! [`conflict`] with it (same zones, or a membership change of the same group): the others
//! go on in the same pass, and the apply lists every operation that waits.
//!
//! # Gates
//!
//! A step's gate is observed once per pass (`gates::observe`) and judged by the pure
//! [`gates::holds`]; nothing blocks inside a gate. A gate that fails where servers
//! converge ([`gates::Unmet::polled`]) is observed again by a later pass, after
//! [`gates::poll_interval`] (longer as the check goes on), until the verify timeout has
//! passed since its first observation; then the step is recorded as waiting, with its
//! back-off, and this apply leaves it.
//!
//! # Passes and requeue
//!
//! [`drive`] runs passes while a gate is being polled, sleeping on the apply's clock until
//! the earliest next observation; the verify timeout bounds each check, so one apply
//! finishes what a blocking check finished. A wait of time (a [`Gate::Wait`], a back-off)
//! or for an operator ends the apply there, as before: [`drive`] returns what waits and
//! when to look again ([`Waits::requeue_at`], kube-runtime's requeue-after), the earliest
//! wait end or back-off end of the waiting operations, for a cron job or a daemon.
//!
//! # Time
//!
//! Times are read from the clock when they happen ([`Ctx::now`]), never taken from the start
//! of the apply: a step records when it finished, and a [`Gate::Wait`] ends no earlier than
//! the previous step's finish plus its length ([`gates::wait_until`]). A failed check is
//! not repeated before its back-off ([`gates::next_check`]) has passed, by this apply or a
//! later one of the same revision: a new commit may be the fix the gate waits for, so it
//! is due.
//!
//! # Operators
//!
//! Every write carries the operation's version as read; an operator's `confirm`, `reset`
//! or `cancel` bumps it, so a write of this apply that would overwrite it does not apply.
//! The operation is then read again and driven as the operator left it (a cancelled one is
//! left alone).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::time::Duration;

use tracing::{info, warn};

use super::gates::observe;
use crate::apply::actions::{self, act, retire_catalog};
use crate::apply::ctx::Ctx;
use crate::apply::error::ApplyError;
use crate::apply::zones::{Batch, Zones};
use crate::procedures::gates::{self, Proof, StepRecord, Verdict, Waiting, utc};
use crate::procedures::{self, Gate, StepSpec};
use crate::store::{OperationRow, StepRow};

/// How often one pass reads an operation again after an operator changed it under the
/// pass, before leaving it to the next apply.
const MAX_REREADS: usize = 3;

/// The shortest sleep between two passes: a pass never follows another at once.
const MIN_SLEEP: Duration = Duration::from_millis(10);

/// What the staged operations wait for after [`drive`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waits {
    /// What each waiting operation waits for, one line each.
    pub message: String,
    /// When to look again (Unix seconds): the earliest wait end or back-off end of the
    /// waiting operations. `None` when only an operator (a confirmation, a new commit)
    /// moves them on.
    pub requeue_at: Option<i64>,
}

impl From<String> for Waits {
    /// A wait only an operator ends.
    fn from(message: String) -> Waits {
        Waits {
            message,
            requeue_at: None,
        }
    }
}

/// Whether operation `b` must wait for an earlier operation `a` that waits: they share a
/// zone, or one of them changes the membership of the other's group (a secondary joining
/// or leaving changes every zone of the group, and a replacement must add before it
/// removes). Operations on other zones of other groups go on.
pub fn conflict(a: &OperationRow, b: &OperationRow) -> bool {
    let membership = |o: &OperationRow| {
        o.kind == procedures::Kind::AddSecondary.as_str()
            || o.kind == procedures::Kind::RemoveSecondary.as_str()
            || o.kind == procedures::Kind::MovePrimary.as_str()
    };
    let same_group = a.group == b.group && (membership(a) || membership(b));
    same_group || a.zones.iter().any(|z| b.zones.contains(z))
}

/// What an operation waits for: a line of the apply's summary, and when to look at it
/// again (Unix seconds; `None`: when an operator acts).
#[derive(Debug, Clone)]
struct Pending {
    line: String,
    at: Option<i64>,
}

/// What became of an operation or a step in this pass.
enum Progress {
    /// Done.
    Done,
    /// Waits for time or an operator; a later pass of this apply may drive it again.
    Waits(Pending),
    /// Waits, and this apply leaves it: its check failed, or an operator changed it.
    Settled(Pending),
    /// Its gate is being observed again at this time on the clock.
    Polls(Duration, Pending),
    /// An operator changed the operation under this pass: read it again.
    Changed,
}

/// A step that acted in this apply and whose gate is observed again.
#[derive(Debug, Clone, Copy)]
struct Poll {
    /// Its attempts as written before it acted: while the store says so, it is this check.
    attempts: i64,
    /// When its check started (Unix seconds): the back-off counts from here.
    started: i64,
    /// The last observation (on the clock): the first plus the verify timeout.
    deadline: Duration,
    /// The next observation (on the clock).
    next: Duration,
}

/// What one apply's passes remember between them.
#[derive(Default)]
struct Passes {
    /// Steps being polled, by operation and step.
    polls: BTreeMap<(i64, i64), Poll>,
    /// Operations this apply leaves, by id.
    settled: BTreeMap<i64, Pending>,
}

/// What one pass left.
#[derive(Default)]
struct Pass {
    /// What each operation that is not done waits for.
    lines: Vec<String>,
    /// The earliest time some waiting operation may go on (Unix seconds).
    requeue: Option<i64>,
    /// The earliest next observation of a polled gate (on the clock).
    poll: Option<Duration>,
}

impl Pass {
    fn waits(&mut self, p: &Pending) {
        self.lines.push(p.line.clone());
        self.requeue = earliest(self.requeue, p.at);
    }
}

fn earliest<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Drives every active operation as far as its gates allow (see the module doc): passes
/// while a gate is being polled, sleeping on the apply's clock in between. Returns what the
/// waiting operations wait for and when to look again, or `None` when none waits.
///
/// Once a stop is asked for ([`crate::apply::Options::stopping`]) nothing more starts: the
/// step under way finishes (a zone's UPDATEs, the pass's `rndc reconfig`, a staged step's
/// action), the gates of the steps that acted are observed once more and what holds is
/// recorded, and the drive returns; what is left is the next apply's.
pub(in crate::apply) async fn drive(
    ctx: &Ctx<'_>,
    mut zones: Option<&mut Zones<'_>>,
) -> Result<Option<Waits>, ApplyError> {
    let clock = ctx.opts.effects.clock.as_ref();
    let mut passes = Passes::default();
    if let Some(z) = zones.as_deref() {
        z.count_totals(&ctx.opts.meter);
    }
    loop {
        let stopping = ctx.opts.stopping();
        let mut wake = None;
        if let Some(z) = zones.as_deref_mut() {
            if stopping {
                z.last_rounds(ctx).await?;
            } else {
                for kind in Batch::ORDER {
                    let batch = z.ready(kind);
                    // a stop asked for meanwhile: nothing more starts
                    if !batch.is_empty() && !ctx.opts.stopping() {
                        actions::zone_batch(ctx, z, kind, &batch).await?;
                    }
                }
                wake = z.settle(ctx, false).await?;
            }
            z.count_done(&ctx.opts.meter);
        }
        // Zone operations first: the staged operations read what they recorded.
        let pass = if wake.is_none() {
            pass(ctx, &mut passes).await?
        } else {
            Pass::default()
        };
        let waits = || {
            (!pass.lines.is_empty()).then(|| Waits {
                message: pass.lines.join("\n"),
                requeue_at: pass.requeue,
            })
        };
        if stopping {
            return Ok(waits());
        }
        let Some(wake) = earliest(wake, pass.poll) else {
            return Ok(waits());
        };
        let nap = clock.sleep(wake.saturating_sub(clock.now()).max(MIN_SLEEP));
        match &ctx.opts.stop {
            Some(stop) => tokio::select! {
                () = nap => {}
                () = stop.wait() => {}
            },
            None => nap.await,
        }
    }
}

/// One pass over the active operations.
async fn pass(ctx: &Ctx<'_>, passes: &mut Passes) -> Result<Pass, ApplyError> {
    let mut out = Pass::default();
    let mut waiting: Vec<OperationRow> = Vec::new();
    let ops = ctx.store.operations(false).await?;
    count_steps(ctx, &ops);
    for op in ops {
        if let Some(first) = waiting.iter().find(|w| conflict(w, &op)) {
            out.lines.push(format!(
                "op {} ({} {}) waits for op {} ({} {}), which changes the same zones",
                op.id, op.kind, op.server, first.id, first.kind, first.server
            ));
            waiting.push(op);
            continue;
        }
        if let Some(p) = passes.settled.get(&op.id) {
            out.waits(p);
            waiting.push(op);
            continue;
        }
        match drive_one(ctx, op.clone(), passes).await? {
            Progress::Done | Progress::Changed => continue,
            Progress::Waits(p) => out.waits(&p),
            Progress::Settled(p) => {
                out.waits(&p);
                passes.settled.insert(op.id, p);
            }
            Progress::Polls(at, p) => {
                out.lines.push(p.line);
                out.poll = earliest(out.poll, Some(at));
            }
        }
        waiting.push(op);
    }
    Ok(out)
}

/// The steps of staged operations to do, for the progress display: those done in this
/// apply and those the active operations have left.
fn count_steps(ctx: &Ctx<'_>, ops: &[OperationRow]) {
    use crate::progress::Count;
    let left: usize = ops
        .iter()
        .map(|o| o.steps.iter().filter(|s| s.state != "done").count())
        .sum();
    let meter = &ctx.opts.meter;
    let done = usize::try_from(meter.snapshot().get(Count::Steps).0).unwrap_or(usize::MAX);
    meter.set_total(Count::Steps, done.saturating_add(left));
}

/// Drives one operation as far as this pass goes.
async fn drive_one(
    ctx: &Ctx<'_>,
    mut op: OperationRow,
    passes: &mut Passes,
) -> Result<Progress, ApplyError> {
    for _ in 0..MAX_REREADS {
        match run_steps(ctx, &op, passes).await? {
            Progress::Done => {
                // The left secondary's emptied catalog leaves the primary before the
                // operation is recorded done: a crash in between retires it again (it is
                // safe to repeat), never leaves it behind with no operation to retire it.
                if op.kind == procedures::Kind::RemoveSecondary.as_str()
                    && let Err(e) = retire_catalog(ctx, &op).await
                {
                    warn!(op = op.id, "cannot retire the catalog: {e}");
                    return Ok(Progress::Settled(Pending {
                        line: format!(
                            "op {} ({} {}) is done but its catalog could not leave the primary: {e}; apply again",
                            op.id, op.kind, op.server
                        ),
                        at: None,
                    }));
                }
                if ctx
                    .store
                    .finish_operation(op.id, op.version, ctx.now())
                    .await?
                {
                    ctx.boundary("operation finished").await;
                    info!(op = op.id, "operation done");
                    return Ok(Progress::Done);
                }
            }
            Progress::Changed => {}
            other => return Ok(other),
        }
        info!(
            op = op.id,
            "an operator changed the operation during this apply: reading it again"
        );
        match ctx.store.operation(op.id).await? {
            Some(fresh) if fresh.state == "active" => op = fresh,
            Some(fresh) => {
                // Not recorded as applied: the next apply starts from what the operator
                // left (a cancelled membership change is recreated from the desired state).
                return Ok(Progress::Settled(Pending {
                    line: format!(
                        "op {} ({} {}) was {} by an operator during this apply; apply again to continue from there",
                        op.id, op.kind, op.server, fresh.state
                    ),
                    at: None,
                }));
            }
            None => return Ok(Progress::Done),
        }
    }
    Ok(Progress::Settled(Pending {
        line: format!(
            "op {} ({} {}) was changed by an operator again and again during this apply; apply again to continue",
            op.id, op.kind, op.server
        ),
        at: None,
    }))
}

/// Runs the steps of `op` that are not done, in order, until one waits.
async fn run_steps(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    passes: &mut Passes,
) -> Result<Progress, ApplyError> {
    for step in op.steps.iter().filter(|s| s.state != "done") {
        let previous = op
            .steps
            .iter()
            .filter(|s| s.idx < step.idx)
            .max_by_key(|s| s.idx)
            .and_then(|s| s.finished_at);
        match run_step(ctx, op, step.clone(), previous, passes).await? {
            Progress::Done => {}
            other => return Ok(other),
        }
    }
    Ok(Progress::Done)
}

/// Writes `step` for `op` as read; `Changed` when an operator changed the operation since.
async fn write(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    step: &StepRow,
    then: Progress,
) -> Result<Progress, ApplyError> {
    let written = ctx.store.write_step(op.id, op.version, step).await?;
    // Every step write is a crash-test boundary, whatever the step's state.
    ctx.boundary(&format!("step {} {}", step.name, step.state))
        .await;
    Ok(if written { then } else { Progress::Changed })
}

/// What the gates read of `step`'s record; `previous` is when the step before it finished.
fn record(ctx: &Ctx<'_>, op: &OperationRow, step: &StepRow, previous: Option<i64>) -> StepRecord {
    StepRecord {
        op: op.id,
        idx: step.idx,
        previous_finished: previous,
        not_before: step.not_before,
        confirmed: step.confirmed,
        next_check_at: step.next_check_at,
        same_revision: step.checked_revision.as_deref() == Some(&ctx.desired.revision.id),
        message: step.message.clone(),
    }
}

/// The gates of time, back-off and confirmation, before a step acts: `Some` when the step
/// may not act yet.
async fn closed(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    step: &mut StepRow,
    gate: &Gate,
    rec: &StepRecord,
) -> Result<Option<Progress>, ApplyError> {
    let now = ctx.now();
    if let Gate::Wait { seconds, .. } = gate {
        step.not_before
            .get_or_insert(gates::wait_end(*seconds, rec, now));
    }
    let Some(wait) = gates::before_acting(gate, rec, now) else {
        return Ok(None);
    };
    let pending = Pending {
        line: wait.reason.summary(op.id),
        at: wait.until,
    };
    if let Waiting::Backoff { .. } = wait.reason {
        // Nothing written: the message and the back-off stay as the last check left them.
        return Ok(Some(Progress::Waits(pending)));
    }
    let message = wait.reason.to_string();
    if step.state == "waiting" && step.message == message && rec.not_before == step.not_before {
        // As an earlier pass wrote it.
        return Ok(Some(Progress::Waits(pending)));
    }
    step.state = "waiting".into();
    step.message = message;
    step.updated_at = now;
    Ok(Some(write(ctx, op, step, Progress::Waits(pending)).await?))
}

/// How a step starts in this pass.
enum Start {
    /// It acted: its gate is observed from now on.
    Acted(Poll),
    /// It did not act (or its action failed): what became of it.
    Stopped(Progress),
}

/// One step: its gates of time, back-off and confirmation and its action (unless it acted
/// already in this apply and its gate is being polled), then one observation of its gate.
async fn run_step(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    mut step: StepRow,
    previous: Option<i64>,
    passes: &mut Passes,
) -> Result<Progress, ApplyError> {
    let Ok(spec) = serde_json::from_str::<StepSpec>(&step.spec) else {
        step.state = "failed".into();
        step.message = "unreadable step in the store; cancel this operation".into();
        step.updated_at = ctx.now();
        let line = format!("op {} step {} is unreadable", op.id, step.idx);
        return write(
            ctx,
            op,
            &step,
            Progress::Settled(Pending { line, at: None }),
        )
        .await;
    };
    let rec = record(ctx, op, &step, previous);
    let key = (op.id, step.idx);
    let poll = match passes.polls.get(&key) {
        Some(p) if step.state == "running" && step.attempts == p.attempts => *p,
        _ if ctx.opts.stopping() => {
            // asked to stop: this step does not start; the next apply starts it
            let line = format!(
                "op {} ({} {}): step {} ({}) not started: interrupted",
                op.id, op.kind, op.server, step.idx, step.name
            );
            return Ok(Progress::Settled(Pending { line, at: None }));
        }
        _ => {
            passes.polls.remove(&key);
            match start(ctx, op, &mut step, &spec, &rec).await? {
                Start::Acted(poll) => poll,
                Start::Stopped(progress) => return Ok(progress),
            }
        }
    };
    let now = ctx.opts.effects.clock.now();
    if now < poll.next {
        // Woken for another operation: this gate is not due yet.
        let line = format!("op {} step {} is being checked", op.id, step.idx);
        return Ok(Progress::Polls(poll.next, Pending { line, at: None }));
    }
    let obs = observe(ctx, op, &spec.gate, rec).await?;
    let unmet = match gates::holds(&spec.gate, &obs, ctx.now()) {
        Verdict::Holds(proof) => {
            passes.polls.remove(&key);
            return done(ctx, op, step, &spec.gate, proof).await;
        }
        Verdict::Fails(unmet) if unmet.polled() && now < poll.deadline => {
            let timeout = ctx.opts.verify_timeout;
            let next = gates::next_poll(&spec.gate, now, poll.deadline, timeout, poll.deadline);
            passes.polls.insert(key, Poll { next, ..poll });
            let line = format!("op {} is checked again: {unmet}", op.id);
            return Ok(Progress::Polls(next, Pending { line, at: None }));
        }
        Verdict::Fails(unmet) => unmet,
        // A gate of time or confirmation passed before the step acted: it cannot close
        // after; should it, the step is checked again like a failed one.
        Verdict::Waits(w) => {
            passes.polls.remove(&key);
            return failed(ctx, op, &mut step, poll.started, &w.reason).await;
        }
    };
    passes.polls.remove(&key);
    failed(ctx, op, &mut step, poll.started, &unmet).await
}

/// Before acting: the gates of time, back-off and confirmation; then the step is written
/// running and acts.
async fn start(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    step: &mut StepRow,
    spec: &StepSpec,
    rec: &StepRecord,
) -> Result<Start, ApplyError> {
    if let Some(progress) = closed(ctx, op, step, &spec.gate, rec).await? {
        return Ok(Start::Stopped(progress));
    }
    let started = ctx.now();
    step.state = "running".into();
    step.attempts += 1;
    step.updated_at = started;
    if let Progress::Changed = write(ctx, op, step, Progress::Done).await? {
        return Ok(Start::Stopped(Progress::Changed));
    }
    if let Err(e) = act(ctx, op, &spec.action).await {
        return Ok(Start::Stopped(failed(ctx, op, step, started, &e).await?));
    }
    let now = ctx.opts.effects.clock.now();
    Ok(Start::Acted(Poll {
        attempts: step.attempts,
        started,
        deadline: now + ctx.opts.verify_timeout,
        next: now,
    }))
}

/// The step is proven: written done, with what proved it.
async fn done(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    mut step: StepRow,
    gate: &Gate,
    proof: Proof,
) -> Result<Progress, ApplyError> {
    if gates::verifies_zones(gate) {
        ctx.store.set_verified(&op.zones, true).await?;
        ctx.boundary("zones verified").await;
    }
    let end = ctx.now();
    step.updated_at = end;
    step.state = "done".into();
    step.message = proof.to_string();
    step.finished_at = Some(end);
    step.next_check_at = None;
    let progress = write(ctx, op, &step, Progress::Done).await?;
    if let Progress::Done = progress {
        ctx.opts.meter.add(crate::progress::Count::Steps);
        info!(op = op.id, step = %step.name, "step done");
    }
    Ok(progress)
}

/// The step's action failed, or its gate did not hold: it waits, with its back-off counted
/// from `started`, and this apply leaves it.
async fn failed(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    step: &mut StepRow,
    started: i64,
    why: &dyn Display,
) -> Result<Progress, ApplyError> {
    let next = gates::next_check(started, step.attempts);
    step.updated_at = ctx.now();
    step.state = "waiting".into();
    step.next_check_at = Some(next);
    step.checked_revision = Some(ctx.desired.revision.id.clone());
    step.message = format!(
        "{why}; checked {} time(s), next check from {}",
        step.attempts,
        utc(next)
    );
    warn!(op = op.id, step = %step.name, "{why}");
    let line = format!("op {} waits: {why} (next check from {})", op.id, utc(next));
    let pending = Pending {
        line,
        at: Some(next),
    };
    write(ctx, op, step, Progress::Settled(pending)).await
}

#[cfg(test)]
#[path = "steps_tests.rs"]
mod tests;
