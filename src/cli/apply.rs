//! `zonekeeper apply [FILE]`: carry out the plan (computed now, or saved by `plan --out`).
//!
//! SIGINT or SIGTERM (`crate::stop`): before the work starts (planning, the prompt) it
//! cancels, nothing changed; during the work, the step under way finishes and is
//! recorded, nothing more starts, and apply says what was done and how to go on; either
//! way exit 130. A second signal exits 130 at once; the next apply resumes. Long work
//! shows its progress on stderr (`progress.rs`).

use std::path::PathBuf;
use std::time::Duration;

use miette::IntoDiagnostic;

use super::plan::{now, prepare, print_plan};
use super::{Format, Global};
use crate::apply::{self, Options, Report};
use crate::outln;
use crate::plan::{Plan, ZoneChange};
use crate::stop::{INTERRUPTED, Stop};
use crate::store::{ApplyLock, Store};

/// The format of apply's JSON (schema/output/apply.schema.json).
pub const FORMAT: &str = "zonekeeper-apply/1";

/// Options of `apply`.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A plan saved by `zonekeeper plan --out FILE`; refused if the store moved on since.
    pub file: Option<PathBuf>,
    /// Apply without asking.
    #[arg(long)]
    pub auto_approve: bool,
    /// Carry out zone deletions (zone files removed from the repository).
    #[arg(long)]
    pub allow_delete: bool,
    /// Take over zones the primary already serves that the store never recorded (a fresh
    /// store): their content is compared and records only on the primary are removed.
    #[arg(long)]
    pub adopt: bool,
    /// Put the desired state back on this zone, which the primary serves other than
    /// recorded (drift); repeatable. The zone goes from what the primary serves to the
    /// desired content, even when the desired state did not change.
    #[arg(long = "overwrite-drift", value_name = "ZONE")]
    pub overwrite_drift: Vec<String>,
    /// Seconds every server gets to serve a new serial.
    #[arg(long, default_value_t = 30)]
    pub verify_timeout: u64,
}

/// What identifies a zone change, for the staleness check of saved plans.
fn key(
    z: &ZoneChange,
) -> (
    String,
    crate::plan::ZoneAction,
    Option<u32>,
    Vec<crate::plan::RrsetChange>,
) {
    (
        z.zone.clone(),
        z.action,
        z.expected_serial,
        z.rrset_changes().into_owned(),
    )
}

/// Runs `apply`. The lock is taken before anything is planned and held until the end,
/// through the prompt: the plan the operator approves is the plan carried out, and a
/// saved plan is checked against the store under the same lock (as Terraform does).
pub async fn run(g: &Global, args: &ApplyArgs) -> miette::Result<u8> {
    if g.worktree {
        return Err(miette::miette!(
            help = "commit the change, then apply",
            "apply reads committed revisions only, never the work tree"
        ));
    }
    if args.file.is_some() && !args.overwrite_drift.is_empty() {
        return Err(miette::miette!(
            help = "run `zonekeeper apply --overwrite-drift ZONE` without a plan file: it shows the plan before it asks",
            "--overwrite-drift is not for a saved plan: the plan depends on what the primary serves now"
        ));
    }
    let saved: Option<Plan> = match &args.file {
        Some(path) => Some(crate::plan::serialize::read(path)?),
        None => None,
    };
    let stop = Stop::new();
    stop.on_signals(crate::stop::Messages {
        first: Box::new(|| eprintln!("Interrupt received, finishing the current step…")),
        second: "Second interrupt: stopping now. Run `zonekeeper apply` again to resume.",
    })
    .into_diagnostic()?;
    // a key that cannot be loaded is said before the store, the lock and the servers
    let rev = saved
        .as_ref()
        .map_or(g.rev.as_str(), |p| p.revision.as_str());
    if let Some(e) = super::plan::key_problem(g, rev)? {
        return Err(e).into_diagnostic();
    }
    let store = super::state::create_store(g).await?;
    let lock = match store.lock().await {
        Ok(lock) => lock,
        Err(e) => {
            store.close().await;
            return Err(e).into_diagnostic();
        }
    };
    if let Some(old) = lock.taken_over() {
        eprintln!("Took over {old}: it was no longer in force.");
    }
    let result = tokio::select! {
        biased;
        why = lock.lost() => Err(miette::miette!(
            help = "`zonekeeper status` shows who holds the lock now; run apply again once it is free",
            "this apply stopped: it lost the apply lock: {why}. What took effect is recorded"
        )),
        r = locked(g, args, &store, &lock, saved.as_ref(), &stop) => r,
    };
    lock.release().await;
    store.close().await;
    result
}

/// `apply` under the lock: plan, check a saved plan, ask, apply, report.
async fn locked(
    g: &Global,
    args: &ApplyArgs,
    store: &Store,
    lock: &ApplyLock,
    saved: Option<&Plan>,
    stop: &Stop,
) -> miette::Result<u8> {
    let now = now();
    let today = crate::model::serial::yyyymmdd(now);
    let rev = saved
        .map(|p| p.revision.clone())
        .unwrap_or_else(|| g.rev.clone());
    // a saved plan is checked RRset by RRset; JSON shows every zone change's RRsets
    let detail = if saved.is_some() || g.format == Format::Json {
        crate::plan::Detail::Full
    } else {
        crate::plan::Detail::Apply
    };
    let prepared = match prepare(g, store, &rev, today, &crate::live::Network, detail).await? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    // drift: zones to overwrite shown in the plan; drift the desired state resolved recorded
    let overwrite: Vec<String> = args
        .overwrite_drift
        .iter()
        .map(|z| crate::drift::resolve::normalize(z))
        .collect();
    let at = (rev.as_str(), today, now, detail);
    let (prepared, overwrites) =
        match super::drift::before_apply(g, store, prepared, &overwrite, at).await? {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
    if let Some(saved) = saved {
        let applied = store
            .applied_revision()
            .await
            .into_diagnostic()?
            .map(|a| a.commit_id);
        let same_zones = saved.zones.iter().map(key).collect::<Vec<_>>()
            == prepared.plan.zones.iter().map(key).collect::<Vec<_>>();
        if applied != saved.base_revision || !same_zones {
            return Err(miette::miette!(
                help = "run `zonekeeper plan --out FILE` again and review the new plan",
                "the saved plan is stale: it was made against applied revision {}, and the store or the servers' recorded serials have changed since (now {})",
                saved.base_revision.as_deref().unwrap_or("none"),
                applied.as_deref().unwrap_or("none")
            ));
        }
    }
    let plan = &prepared.plan;
    // Operations under way are part of the plan: with them there is something to do.
    if !plan.has_changes() {
        // An earlier apply of this revision may have been interrupted after everything took
        // effect: it is recorded now, so status shows the revision the servers serve.
        let recorded = apply::record_unchanged(store, lock, &prepared.desired, plan, now)
            .await
            .into_diagnostic()?;
        if g.format == Format::Text {
            outln!(
                "No changes: the servers already serve revision {}.",
                short(&plan.revision)
            )?;
            if recorded {
                outln!(
                    "Recorded it as applied: an earlier apply of it was interrupted after every change took effect."
                )?;
            }
        } else {
            outln!(
                "{}",
                serde_json::json!({"format": FORMAT, "applied": true, "state": "applied", "changes": false, "recorded": recorded})
            )?;
        }
        return Ok(0);
    }
    // Operations already under way were approved when they were created.
    if saved.is_none() && plan.needs_approval() {
        if g.format == Format::Text {
            print_plan(g.format, plan, true)?;
        }
        // consent is `yes` alone; anything else cancels, exit 1, nothing changed; a
        // signal meanwhile cancels too, exit 130
        let auto_approve = args.auto_approve;
        let asked = ask_unless_stopped(stop, move || {
            super::ops::ask(
                "Apply these changes?",
                auto_approve,
                "--auto-approve, or apply a saved plan file",
            )
        });
        match asked.await? {
            Some(true) => {}
            Some(false) => return super::ops::declined("Apply cancelled."),
            None => return cancelled(),
        }
    }
    if stop.requested() {
        return cancelled();
    }
    let held = Held { store, lock, stop };
    carry_out(g, args, held, &prepared, &overwrites, now).await
}

/// What `apply` holds while it works: the store, its lock, and the stop request.
#[derive(Clone, Copy)]
struct Held<'a> {
    store: &'a Store,
    lock: &'a ApplyLock,
    stop: &'a Stop,
}

/// The approved plan carried out (at `now`, when it was planned), its progress shown, and
/// reported; exit 130 when a stop was asked for.
async fn carry_out(
    g: &Global,
    args: &ApplyArgs,
    held: Held<'_>,
    prepared: &super::plan::Prepared,
    overwrites: &[crate::drift::resolve::Rebase],
    now: i64,
) -> miette::Result<u8> {
    let Held { store, lock, stop } = held;
    let plan = &prepared.plan;
    let opts = Options {
        allow_delete: args.allow_delete,
        adopt: args.adopt,
        verify_timeout: Duration::from_secs(args.verify_timeout),
        now,
        today: crate::model::serial::yyyymmdd(now),
        effects: apply::effects::Effects::real(),
        stop: Some(stop.clone()),
        meter: crate::progress::Meter::default(),
    };
    // approved: the zones to overwrite are recorded as the primary serves them, the base
    // their UPDATEs go from
    crate::drift::resolve::rebase(store, overwrites, &prepared.desired, now)
        .await
        .into_diagnostic()?;
    let shown = super::progress::Shown::start(opts.meter.clone());
    let report = apply::apply(store, lock, &prepared.desired, plan, &opts).await;
    shown.finish().await;
    let report = report.into_diagnostic()?;
    crate::drift::resolve::audit_overwritten(
        store,
        overwrites,
        &prepared.desired,
        &report.updated,
        now,
    )
    .await
    .into_diagnostic()?;
    let code = if stop.requested() {
        INTERRUPTED
    } else if report.revision_recorded {
        0
    } else if report.failures.is_empty() && report.skipped_deletes.is_empty() {
        super::ops::WAITING
    } else {
        1
    };
    // The work is done: a reader that went away changes nothing about how it went.
    match print_report(g.format, plan, &report) {
        Err(e) if !super::out::is_stdout_closed(&e) => Err(e),
        _ => Ok(code),
    }
}

/// Asks with `ask` (a blocking read of the terminal, on a thread of its own) unless a stop
/// is asked for first: `None` then.
async fn ask_unless_stopped(
    stop: &Stop,
    ask: impl FnOnce() -> miette::Result<bool> + Send + 'static,
) -> miette::Result<Option<bool>> {
    if stop.requested() {
        return Ok(None);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    // a plain thread, not the runtime's blocking pool: the process may end while it
    // still waits for a line, and the runtime would wait for it
    std::thread::spawn(move || {
        let _ = tx.send(ask());
    });
    tokio::select! {
        answer = rx => answer.unwrap_or(Ok(false)).map(Some),
        () = stop.wait() => Ok(None),
    }
}

/// Interrupted before anything changed: the apply is cancelled (exit 130).
fn cancelled() -> miette::Result<u8> {
    eprintln!("Apply cancelled: interrupted before anything changed.");
    Ok(INTERRUPTED)
}

/// A commit id as people read it.
fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// What the apply did, honestly: "Applied revision" only when it was recorded as applied.
fn print_report(format: Format, plan: &Plan, report: &Report) -> miette::Result<()> {
    let state = if report.revision_recorded {
        "applied"
    } else if report.interrupted.is_some() {
        "interrupted"
    } else if report.failures.is_empty() && report.skipped_deletes.is_empty() {
        "waiting"
    } else {
        "failed"
    };
    if format == Format::Json {
        return outln!(
            "{}",
            serde_json::json!({
                "format": FORMAT,
                "applied": report.revision_recorded,
                "state": state,
                "revision": plan.revision,
                "plan": crate::plan::render::json(plan),
                "created": report.created, "updated": report.updated, "deleted": report.deleted,
                "verified": report.verified, "skipped_deletes": report.skipped_deletes, "failures": report.failures,
                "waiting": report.waiting,
                "requeue_at": report.requeue_at.map(crate::store::lock::utc),
                "not_waited_for": report.missed,
                "interrupted": report.interrupted.is_some(),
                "left": report.interrupted,
            })
        );
    }
    let rev = short(&plan.revision);
    let done = format!(
        "{} created, {} updated, {} deleted; {} zone(s) verified on every server waited for",
        report.created.len(),
        report.updated.len(),
        report.deleted.len(),
        report.verified.len()
    );
    match state {
        "applied" => outln!("Applied revision {rev}: {done}.")?,
        "interrupted" => {
            outln!("Interrupted: revision {rev} is not applied yet. Done, and recorded: {done}.")?;
            outln!(
                "Left for the next apply: {} zone change(s) not started or not yet seen on every server{}. Run `zonekeeper apply` again to resume.",
                report.interrupted.unwrap_or(0),
                if report.waiting.is_some() {
                    ", and the staged operations below"
                } else {
                    ""
                }
            )?;
        }
        "waiting" => outln!(
            "Revision {rev} is not applied yet: an operation waits. Done so far, and recorded: {done}."
        )?,
        _ => outln!(
            "Revision {rev} was NOT applied: {} error(s), below. Done so far, and recorded: {done}.",
            report.failures.len() + usize::from(!report.skipped_deletes.is_empty())
        )?,
    }
    for m in &report.missed {
        outln!(
            "Not waited for: {} ({}); {} zone change(s) for it to catch up on, shown by `zonekeeper status` until a sweep sees it serve them.",
            m.server,
            m.why,
            m.zones
        )?;
    }
    for line in error_lines(&report.failures, SHOWN_FAILURES) {
        eprintln!("error: {line}");
    }
    if !report.skipped_deletes.is_empty() {
        eprintln!(
            "error: {} zone deletion(s) not applied: {}; deleting a zone stops it being served; run again with --allow-delete to do it.",
            report.skipped_deletes.len(),
            crate::plan::render::zone_list(&report.skipped_deletes)
        );
    }
    if let Some(wait) = &report.waiting {
        outln!("{wait}")?;
        if let Some(at) = report.requeue_at {
            outln!("Check again after {}.", crate::procedures::gates::utc(at))?;
        }
        outln!(
            "Run `zonekeeper apply` again to continue; `zonekeeper status` shows every operation."
        )?;
    }
    if !report.failures.is_empty() {
        eprintln!(
            "The revision stays unapplied; each zone the primary took is recorded. Run apply again once the servers answer to finish."
        );
    }
    Ok(())
}

/// How many failures the text report prints; the rest are counted (all of them are in
/// `--format json`): a failing apply of 40,000 zones prints a screenful, not 40,000 lines.
const SHOWN_FAILURES: usize = 20;

/// The failures as the text report prints them: the first `shown`, then how many more.
fn error_lines(failures: &[String], shown: usize) -> Vec<String> {
    let mut out: Vec<String> = failures.iter().take(shown).cloned().collect();
    if failures.len() > shown {
        out.push(format!(
            "… and {} more failure(s), all of them in `--format json`",
            failures.len() - shown
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_long_list_of_failures_is_cut_and_counted() {
        let failures: Vec<String> = (0..25).map(|i| format!("z{i}.test. fails")).collect();
        let lines = super::error_lines(&failures, 20);
        assert_eq!(lines.len(), 21);
        assert_eq!(lines[19], "z19.test. fails");
        assert_eq!(
            lines[20],
            "… and 5 more failure(s), all of them in `--format json`"
        );
        assert_eq!(super::error_lines(&failures[..3], 20).len(), 3);
    }
}
