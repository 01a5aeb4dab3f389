//! Drives the steps of staged operations, writing each step's state before and after it
//! acts.
//!
//! # One pass
//!
//! Every active operation is driven as far as its gates allow, in the order they were
//! created. An operation that waits holds back only the later operations that
//! [`conflict`] with it (same zones, or a membership change of the same group): the others
//! go on in the same pass, and the apply lists every operation that waits.
//!
//! # Time
//!
//! Times are read from the clock when they happen ([`Ctx::now`]), never taken from the start
//! of the apply: a step records when it finished, and a [`Gate::Wait`] ends no earlier than
//! the previous step's finish plus its length ([`wait_until`]). A failed check is not
//! repeated before its back-off ([`next_check`]) has passed, by this apply or a later one
//! of the same revision: a new commit may be the fix the gate waits for, so it is due.
//!
//! # Operators
//!
//! Every write carries the operation's version as read; an operator's `confirm`, `reset`
//! or `cancel` bumps it, so a write of this apply that would overwrite it does not apply.
//! The operation is then read again and driven as the operator left it (a cancelled one is
//! left alone).

use std::collections::BTreeMap;
use std::time::Duration;

use hickory_proto::rr::Name;
use tracing::{info, warn};

use super::gates::check_gate;
use crate::apply::catalogs;
use crate::apply::ctx::{Ctx, name};
use crate::apply::error::ApplyError;
use crate::apply::primary_move;
use crate::apply::publish::{Change, publish_zones, send_and_record, stanzas};
use crate::apply::step_error::StepError;
use crate::live::{SoaAnswer, Transport};
use crate::model::serial::next_serial;
use crate::model::zone::lines_by_rrset;
use crate::procedures::{self, Action, Gate, StepSpec};
use crate::store::{OperationRow, StepRow};

/// How often one pass reads an operation again after an operator changed it under the
/// pass, before leaving it to the next apply.
const MAX_REREADS: usize = 3;

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

/// What became of an operation or a step in this pass.
enum Progress {
    /// Done.
    Done,
    /// Waits: why, for the apply's summary.
    Waits(String),
    /// An operator changed the operation under this pass: read it again.
    Changed,
}

/// Drives every active operation as far as its gates allow (see the module doc). Returns
/// what each waiting operation waits for, one line each, or `None` when none waits.
pub async fn drive(ctx: &Ctx<'_>) -> Result<Option<String>, ApplyError> {
    let mut waits: Vec<String> = Vec::new();
    let mut waiting: Vec<OperationRow> = Vec::new();
    for op in ctx.store.operations(false).await? {
        if let Some(first) = waiting.iter().find(|w| conflict(w, &op)) {
            waits.push(format!(
                "op {} ({} {}) waits for op {} ({} {}), which changes the same zones",
                op.id, op.kind, op.server, first.id, first.kind, first.server
            ));
            waiting.push(op);
            continue;
        }
        if let Some(wait) = drive_one(ctx, op.clone()).await? {
            waits.push(wait);
            waiting.push(op);
        }
    }
    Ok((!waits.is_empty()).then(|| waits.join("\n")))
}

/// Drives one operation; `Some(message)` when it waits (or was changed by an operator in
/// a way this pass does not finish).
async fn drive_one(ctx: &Ctx<'_>, mut op: OperationRow) -> Result<Option<String>, ApplyError> {
    for _ in 0..MAX_REREADS {
        match run_steps(ctx, &op).await? {
            Progress::Waits(message) => return Ok(Some(message)),
            Progress::Done => {
                if ctx
                    .store
                    .finish_operation(op.id, op.version, ctx.now())
                    .await?
                {
                    ctx.boundary("operation finished").await;
                    info!(op = op.id, "operation done");
                    if op.kind == procedures::Kind::RemoveSecondary.as_str() {
                        retire_catalog(ctx, &op).await;
                    }
                    return Ok(None);
                }
            }
            Progress::Changed => {}
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
                return Ok(Some(format!(
                    "op {} ({} {}) was {} by an operator during this apply; apply again to continue from there",
                    op.id, op.kind, op.server, fresh.state
                )));
            }
            None => return Ok(None),
        }
    }
    Ok(Some(format!(
        "op {} ({} {}) was changed by an operator again and again during this apply; apply again to continue",
        op.id, op.kind, op.server
    )))
}

/// Runs the steps of `op` that are not done, in order, until one waits.
async fn run_steps(ctx: &Ctx<'_>, op: &OperationRow) -> Result<Progress, ApplyError> {
    for step in op.steps.iter().filter(|s| s.state != "done") {
        let previous = op
            .steps
            .iter()
            .filter(|s| s.idx < step.idx)
            .max_by_key(|s| s.idx)
            .and_then(|s| s.finished_at);
        match run_step(ctx, op, step.clone(), previous).await? {
            Progress::Done => {}
            other => return Ok(other),
        }
    }
    Ok(Progress::Done)
}

fn clock(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| format!("{:02}:{:02}:{:02} UTC", d.hour(), d.minute(), d.second()))
        .unwrap_or_else(|_| t.to_string())
}

/// Writes `step` for `op` as read; `Changed` when an operator changed the operation since.
async fn write(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    step: &StepRow,
    then: Progress,
) -> Result<Progress, ApplyError> {
    Ok(if ctx.store.write_step(op.id, op.version, step).await? {
        ctx.boundary(&format!("step {} {}", step.name, step.state))
            .await;
        then
    } else {
        Progress::Changed
    })
}

/// The gates of time, back-off and confirmation, before a step acts: `Some` when the step
/// may not act yet. `previous` is when the step before it finished.
async fn closed(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    step: &mut StepRow,
    gate: &Gate,
    previous: Option<i64>,
) -> Result<Option<Progress>, ApplyError> {
    let now = ctx.now();
    let same_revision = step.checked_revision.as_deref() == Some(&ctx.desired.revision.id);
    if let Some(at) = step.next_check_at.filter(|at| now < *at && same_revision) {
        // Nothing written: the message and the back-off stay as the last check left them.
        return Ok(Some(Progress::Waits(format!(
            "op {} waits: {} (not checked again before {})",
            op.id,
            step.message,
            clock(at)
        ))));
    }
    let waits = match gate {
        Gate::Wait { seconds, why } => {
            let until = *step
                .not_before
                .get_or_insert(wait_until(previous.unwrap_or(now), *seconds));
            (now < until).then(|| {
                (
                    format!("{why}; waiting until {}", clock(until)),
                    format!("op {} waits: {why} (until {})", op.id, clock(until)),
                )
            })
        }
        Gate::Manual { what } if !step.confirmed => Some((
            format!(
                "{what}; then run: zonekeeper confirm {} {}",
                op.id, step.idx
            ),
            format!(
                "op {} waits: {what} (confirm with `zonekeeper confirm {} {}`)",
                op.id, op.id, step.idx
            ),
        )),
        _ => None,
    };
    let Some((message, summary)) = waits else {
        return Ok(None);
    };
    step.state = "waiting".into();
    step.message = message;
    step.updated_at = now;
    Ok(Some(write(ctx, op, step, Progress::Waits(summary)).await?))
}

/// One step: its gates of time, back-off and confirmation, its action, its proof.
async fn run_step(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    mut step: StepRow,
    previous: Option<i64>,
) -> Result<Progress, ApplyError> {
    let Ok(spec) = serde_json::from_str::<StepSpec>(&step.spec) else {
        step.state = "failed".into();
        step.message = "unreadable step in the store; cancel this operation".into();
        step.updated_at = ctx.now();
        let summary = format!("op {} step {} is unreadable", op.id, step.idx);
        return write(ctx, op, &step, Progress::Waits(summary)).await;
    };
    if let Some(progress) = closed(ctx, op, &mut step, &spec.gate, previous).await? {
        return Ok(progress);
    }

    // Before acting.
    let started = ctx.now();
    step.state = "running".into();
    step.attempts += 1;
    step.updated_at = started;
    if let Progress::Changed = write(ctx, op, &step, Progress::Done).await? {
        return Ok(Progress::Changed);
    }

    let proof = match act(ctx, op, &spec.action).await {
        Ok(()) => check_gate(ctx, op, &spec.gate, step.confirmed).await?,
        Err(e) => Err(e.to_string()),
    };

    // After acting.
    let end = ctx.now();
    step.updated_at = end;
    match proof {
        Ok(message) => {
            step.state = "done".into();
            step.message = message;
            step.finished_at = Some(end);
            step.next_check_at = None;
            let progress = write(ctx, op, &step, Progress::Done).await?;
            if let Progress::Done = progress {
                info!(op = op.id, step = %step.name, "step done");
            }
            Ok(progress)
        }
        Err(message) => {
            let next = next_check(started, step.attempts);
            step.state = "waiting".into();
            step.next_check_at = Some(next);
            step.checked_revision = Some(ctx.desired.revision.id.clone());
            step.message = format!(
                "{message}; checked {} time(s), next check from {}",
                step.attempts,
                clock(next)
            );
            warn!(op = op.id, step = %step.name, "{message}");
            let summary = format!(
                "op {} waits: {message} (next check from {})",
                op.id,
                clock(next)
            );
            write(ctx, op, &step, Progress::Waits(summary)).await
        }
    }
}

/// A step's action.
async fn act(ctx: &Ctx<'_>, op: &OperationRow, action: &Action) -> Result<(), StepError> {
    match action {
        Action::Nothing => Ok(()),
        Action::RenderPrimary => render_primary(ctx, &op.group).await,
        Action::PublishZones => publish_zones(ctx, op, &op.zones).await,
        Action::PublishParents { zones } => publish_zones(ctx, op, zones).await,
        Action::SetRrset {
            owner,
            rtype,
            ttl,
            values,
        } => set_rrset(ctx, op, owner, rtype, *ttl, values).await,
        Action::CatalogAdd => catalog(ctx, op, &op.group, None, true).await,
        Action::CatalogRemove { group } => catalog(ctx, op, group, None, false).await,
        Action::LeaveCatalog => catalog(ctx, op, &op.group, Some(&op.server), false).await,
        other => primary_move::act(ctx, op, other).await,
    }
}

/// Renders the primary's zone configuration (also-notify as desired, a catalog for each
/// secondary of each group, new ones listing the group's zones), reconfigures it when that
/// changed, and NOTIFYs the group's catalogs so a newly listed secondary fetches its
/// catalog (and so every member zone) now rather than at its next retry.
async fn render_primary(ctx: &Ctx<'_>, group: &str) -> Result<(), StepError> {
    let index = ctx.store.zone_map().await?;
    let desired_groups: BTreeMap<String, String> = ctx
        .desired
        .zones
        .iter()
        .map(|(n, z)| (n.clone(), z.group.clone()))
        .collect();
    let cats = catalogs::serving(&ctx.desired.config, ctx.store).await?;
    let last = ctx.store.catalog_serials().await?;
    let created = catalogs::create_missing(ctx.control, &cats, &index, &last, ctx.now())?;
    let all = stanzas(
        &ctx.desired.config,
        &index,
        &desired_groups,
        &Default::default(),
        &cats,
    );
    if ctx.control.write_conf(&all)? || !created.is_empty() {
        ctx.control.reconfig().await?;
    }
    for c in catalogs::of_group(&cats, group) {
        ctx.control.notify(&c.name).await?;
    }
    Ok(())
}

/// After a secondary left a group: its emptied catalog leaves the primary (configuration,
/// then files), its last serial recorded first, so that a catalog of the same name created
/// later starts above it (the secondary may still hold this one). A failure is only logged:
/// the next apply renders the configuration again.
async fn retire_catalog(ctx: &Ctx<'_>, op: &OperationRow) {
    let catalog = match ctx.store.groups().await {
        Ok(groups) => groups
            .into_iter()
            .find(|g| g.name == op.group)
            .map(|g| crate::model::config::member_catalog(&name(&g.catalog), &op.server)),
        Err(e) => {
            warn!(op = op.id, "cannot read the groups: {e}");
            return;
        }
    };
    if let Some(c) = &catalog {
        let answer = ctx
            .opts
            .effects
            .prober
            .soa(ctx.primary.addr, c, Transport::Tcp, Duration::from_secs(5))
            .await;
        if let SoaAnswer::Serves { serial } = answer {
            let key = crate::model::ascii(c);
            if let Err(e) = ctx.store.set_catalog_serial(&key, serial, ctx.now()).await {
                warn!(catalog = %c, "cannot record the catalog's last serial: {e}");
                return;
            }
            ctx.boundary("catalog serial recorded").await;
        }
    }
    match render_primary(ctx, &op.group).await {
        Ok(()) => {
            if let Some(c) = catalog {
                ctx.control.remove_zone_files(&c);
                info!(catalog = %c, "catalog of {} removed from the primary", op.server);
            }
        }
        Err(e) => warn!(op = op.id, "cannot render the primary's configuration: {e}"),
    }
}

/// Adds the operation's zones to the catalogs of `group`, or removes them (from one
/// secondary's only, with `only`); then renders the primary's configuration so also-notify
/// follows.
async fn catalog(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    group: &str,
    only: Option<&str>,
    add: bool,
) -> Result<(), StepError> {
    let cats = catalogs::serving(&ctx.desired.config, ctx.store).await?;
    let recorded = ctx.store.groups().await?;
    let mut targets = if add {
        catalogs::of_group(&cats, group)
            .into_iter()
            .cloned()
            .collect()
    } else {
        catalogs::leaving_group(&cats, &recorded, group)
    };
    if let Some(server) = only {
        targets.retain(|c| c.server == server);
    }
    if targets.is_empty() {
        return Err(StepError::NoCatalog {
            group: group.to_string(),
            only: only.map(str::to_string),
        });
    }
    let zones: Vec<Name> = op.zones.iter().map(|z| name(z)).collect();
    let targets: Vec<&catalogs::MemberCatalog> = targets.iter().collect();
    catalogs::edit(ctx.updater, &targets, &zones, add)
        .await
        .map_err(StepError::Catalog)?;
    render_primary(ctx, &op.group).await
}

/// Gives one RRset of the operation's zone `values` with `ttl`, the rest as recorded: one
/// UPDATE, unless the RRset already is so (a repeated step sends nothing).
async fn set_rrset(
    ctx: &Ctx<'_>,
    op: &OperationRow,
    owner: &str,
    rtype: &str,
    ttl: u32,
    values: &[String],
) -> Result<(), StepError> {
    use crate::model::zone::with_rrset;
    let zone = op.zones.first().ok_or(StepError::NoZone)?;
    let recorded = ctx
        .store
        .zone(zone)
        .await?
        .ok_or_else(|| StepError::NotRecorded { zone: zone.clone() })?;
    let origin = name(zone);
    let owner_name = name(owner);
    let t: hickory_proto::rr::RecordType = rtype.parse().map_err(|_| StepError::UnknownType {
        rtype: rtype.to_string(),
    })?;
    let mut rdatas = Vec::new();
    for v in values {
        rdatas.push(crate::model::record::parse_rdata(t, v, &origin)?);
    }
    let set = crate::model::Rrset {
        owner: owner_name.clone(),
        rtype: t,
        ttl,
        rdatas,
    };
    let key = (owner.to_string(), rtype.to_string());
    let lines = set.lines();
    if lines_by_rrset(&recorded.content).get(&key) == Some(&lines) {
        return Ok(());
    }
    let new_serial = next_serial(Some(recorded.serial), ctx.opts.today);
    let target = with_rrset(&recorded.content, &key, &lines, new_serial);
    let soa = crate::apply::update::recorded_soa(&origin, &recorded.content)
        .ok_or(StepError::RecordedSoa { zone: None })?;
    let mut new_soa = soa.clone();
    if let hickory_proto::rr::RData::SOA(s) = &mut new_soa.data {
        s.serial = new_serial;
    }
    let mut update = crate::backend::update::Update::default();
    update.require(soa);
    update.delete_rrset(owner_name, t);
    for r in set.records() {
        update.add(r);
    }
    update.add(new_soa);
    let detail = format!(
        "op {} ({}): {owner} {rtype} TTL {ttl} → {}",
        op.id,
        op.kind,
        values.join(" ")
    );
    let change = Change {
        zone: &origin,
        group: &recorded.group,
        target: &target,
        update: &update,
        recorded_serial: recorded.serial,
        new_serial,
    };
    send_and_record(ctx, &change, &detail).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: i64, kind: procedures::Kind, group: &str, zones: &[&str]) -> OperationRow {
        OperationRow {
            id,
            kind: kind.as_str().into(),
            group: group.into(),
            server: "ns3".into(),
            zones: zones.iter().map(|z| z.to_string()).collect(),
            revision: "c".into(),
            state: "active".into(),
            version: 0,
            steps: Vec::new(),
        }
    }

    #[test]
    fn a_wait_counts_from_the_previous_steps_finish() {
        // The previous step finished 30 s into the apply: a 60 s wait ends 60 s (and the
        // second lost to whole-second clocks) after that, not 60 s after the apply began.
        let apply_start = 1_000;
        let finished = apply_start + 30;
        assert_eq!(wait_until(finished, 60), 1_091);
        assert!(wait_until(finished, 60) > apply_start + 60 + 30);
        assert_eq!(wait_until(finished, 0), finished + 1);
        assert_eq!(wait_until(i64::MAX - 1, u64::MAX), i64::MAX);
    }

    #[test]
    fn backoff_doubles_from_the_check_start_up_to_its_cap() {
        assert_eq!(next_check(100, 1), 102);
        assert_eq!(next_check(100, 2), 104);
        assert_eq!(next_check(100, 5), 132);
        assert_eq!(next_check(100, 9), 100 + MAX_BACKOFF);
        assert_eq!(next_check(100, 1_000), 100 + MAX_BACKOFF);
        // A step reset to 0 attempts that fails still backs off.
        assert_eq!(next_check(100, 0), 102);
    }

    #[test]
    fn only_operations_on_the_same_zones_or_group_membership_wait_for_each_other() {
        use procedures::Kind::*;
        let add = op(1, AddSecondary, "default", &["a.test.", "b.test."]);
        let remove = op(2, RemoveSecondary, "default", &["a.test.", "b.test."]);
        let renumber_c = op(3, Renumber, "other", &["c.test."]);
        let renumber_a = op(4, Renumber, "default", &["a.test."]);
        let move_d = op(5, MoveZone, "other", &["d.test."]);
        let empty_group_add = op(6, AddSecondary, "empty", &[]);
        let empty_group_remove = op(7, RemoveSecondary, "empty", &[]);
        assert!(
            conflict(&add, &remove),
            "a replacement adds before it removes"
        );
        assert!(conflict(&add, &renumber_a), "same zone");
        assert!(!conflict(&add, &renumber_c), "other group, other zones");
        assert!(!conflict(&renumber_c, &move_d), "other zones");
        assert!(!conflict(&add, &empty_group_add));
        assert!(
            conflict(&empty_group_add, &empty_group_remove),
            "same group"
        );
        let renumber_b = op(8, Renumber, "default", &["b.test."]);
        assert!(
            !conflict(&renumber_a, &renumber_b),
            "two cut-overs of other zones"
        );
    }
}
