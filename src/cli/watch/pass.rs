//! One reconcile pass of the daemon: what `zonekeeper apply --auto-approve` does for the
//! tracked branch's tip, under the apply lock, told as an [`Outcome`] for the schedule
//! and a line for the log. Operations under way were approved when they were created; a
//! new revision is approved by having been pushed to the tracked branch.

use std::time::Duration;

use tracing::{error, info, warn};

use super::super::Global;
use super::schedule::Outcome;
use crate::apply::{self, Options, effects::Effects};
use crate::plan::Detail;
use crate::store::Store;

/// What a pass did.
#[derive(Debug, Clone)]
pub struct PassReport {
    /// For the schedule.
    pub outcome: Outcome,
    /// Whether the revision is now recorded as applied.
    pub applied: bool,
    /// Why it failed, when it did.
    pub failures: Vec<String>,
}

impl PassReport {
    fn settled(applied: bool) -> PassReport {
        PassReport {
            outcome: Outcome::Settled,
            applied,
            failures: Vec::new(),
        }
    }

    fn failed(failures: Vec<String>) -> PassReport {
        PassReport {
            outcome: Outcome::Failed,
            applied: false,
            failures,
        }
    }
}

/// What a pass may do.
#[derive(Debug, Clone, Copy)]
pub struct PassOptions {
    /// How long every server gets to serve a new serial.
    pub verify_timeout: Duration,
    /// Whether zone deletions are carried out.
    pub allow_delete: bool,
}

/// Runs one pass of revision `rev` with `effects`. Never fails: what went wrong is logged
/// and is [`Outcome::Failed`].
pub async fn pass(
    g: &Global,
    store: &Store,
    rev: &str,
    opts: PassOptions,
    effects: Effects,
) -> PassReport {
    let lock = match store.lock().await {
        Ok(lock) => lock,
        Err(e) => {
            warn!("no pass now: {e}");
            return PassReport::failed(vec![e.to_string()]);
        }
    };
    let result = tokio::select! {
        biased;
        why = lock.lost() => Err(miette::miette!("the pass stopped: it lost the apply lock: {why}")),
        r = locked(g, store, &lock, rev, opts, effects) => r,
    };
    lock.release().await;
    match result {
        Ok(report) => report,
        Err(e) => {
            error!("pass of {} failed: {e:?}", short(rev));
            PassReport::failed(vec![e.to_string()])
        }
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// The pass under the lock.
async fn locked(
    g: &Global,
    store: &Store,
    lock: &crate::store::ApplyLock,
    rev: &str,
    opts: PassOptions,
    effects: Effects,
) -> miette::Result<PassReport> {
    use miette::IntoDiagnostic;
    let now = super::super::plan::now();
    let today = crate::model::serial::yyyymmdd(now);
    let prepared = match super::super::plan::prepare(
        g,
        store,
        rev,
        today,
        effects.prober.as_ref(),
        Detail::Apply,
    )
    .await?
    {
        Ok(p) => p,
        Err(_) => {
            error!(
                "revision {} is invalid (problems above): nothing applied; push a corrected commit",
                short(rev)
            );
            return Ok(PassReport::settled(false));
        }
    };
    // drift the desired state now holds (an import committed) is recorded as served;
    // overwriting drift is the operator's, by hand, never the daemon's
    let at = (rev, today, now, Detail::Apply);
    let prepared = match super::super::drift::before_apply(g, store, prepared, &[], at).await? {
        Ok((p, _)) => p,
        Err(_) => {
            error!("revision {} is invalid (problems above)", short(rev));
            return Ok(PassReport::settled(false));
        }
    };
    let plan = &prepared.plan;
    if !plan.has_changes() {
        let recorded = apply::record_unchanged(store, lock, &prepared.desired, plan, now)
            .await
            .into_diagnostic()?;
        if recorded {
            info!(
                revision = short(rev),
                "recorded as applied: an earlier pass was interrupted after every change took effect"
            );
        }
        return Ok(PassReport::settled(true));
    }
    let options = Options {
        allow_delete: opts.allow_delete,
        adopt: false,
        verify_timeout: opts.verify_timeout,
        now,
        today,
        effects,
        stop: None,
        meter: Default::default(),
    };
    let report = apply::apply(store, lock, &prepared.desired, plan, &options)
        .await
        .into_diagnostic()?;
    let done = format!(
        "{} created, {} updated, {} deleted, {} verified",
        report.created.len(),
        report.updated.len(),
        report.deleted.len(),
        report.verified.len()
    );
    for m in &report.missed {
        warn!(server = %m.server, "not waited for ({}): {} zone change(s) to catch up on", m.why, m.zones);
    }
    if report.revision_recorded {
        info!(revision = short(rev), "applied: {done}");
        return Ok(PassReport::settled(true));
    }
    for f in &report.failures {
        error!(revision = short(rev), "{f}");
    }
    if !report.skipped_deletes.is_empty() {
        error!(
            revision = short(rev),
            "{} zone deletion(s) not applied ({}): deleting a zone stops it being served; run `zonekeeper apply --allow-delete`, or start the daemon with --allow-delete",
            report.skipped_deletes.len(),
            crate::plan::render::zone_list(&report.skipped_deletes)
        );
    }
    if !report.failures.is_empty() {
        warn!(
            revision = short(rev),
            "not applied yet ({done}); trying again after a back-off"
        );
        return Ok(PassReport::failed(report.failures));
    }
    if let Some(wait) = &report.waiting {
        info!(revision = short(rev), "waiting: {wait} ({done})");
        return Ok(PassReport {
            outcome: Outcome::Waiting {
                until: report.requeue_at,
            },
            applied: false,
            failures: Vec::new(),
        });
    }
    // only deletions are left: the operator's to allow
    Ok(PassReport::settled(false))
}
