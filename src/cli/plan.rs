//! `zonekeeper plan`: diff the desired state against the store and show what `apply`
//! would do: zone changes, and staged operations with their steps and waits, then the
//! drift the store records. It reads the repository and the store only, never a server
//! (what the parents' servers would tell a staged operation shows as unknown until
//! `apply` asks them). It first says when the TSIG key cannot be loaded (a warning: plan
//! does not use it, `apply` refuses to start). Also the shared preparation of `apply`. Exit code with
//! `--detailed-exitcode`: 0 nothing to do, 2 something to do (a staged operation to
//! create or to carry on counts, and so does drift), 1 error.

use std::collections::BTreeMap;
use std::path::PathBuf;

use miette::{IntoDiagnostic, WrapErr};

use super::{Format, Global, color_wanted};
use crate::apply;
use crate::backend::tsig::TsigError;
use crate::desired::{self, DesiredState, LoadError, Source};
use crate::plan::{self, Detail, Plan, Recorded};
use crate::store::{self, Store};
use crate::{out, outln};

/// Exit code with `--detailed-exitcode` when there are changes.
pub const CHANGES: u8 = 2;

/// Options of `plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Save the plan (JSON) to this file, for `zonekeeper apply FILE`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Exit 0 when there is nothing to do, 2 when there are changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
}

/// The clock, read once per command.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Opens the store for a command that needs what was recorded (`state.rs`).
pub use super::state::open_store;

/// The first check of `plan` and `apply`, before the store is opened, a lock taken or a
/// server asked: whether the TSIG key the primary's `tsig` names at `rev` can be loaded
/// (its file exists and holds that key with that algorithm, or its variable is set).
/// `Some` says why not. A `zonekeeper.yaml` with problems is left to the full load, which
/// reports them all.
pub fn key_problem(g: &Global, rev: &str) -> miette::Result<Option<TsigError>> {
    let source = Source::open(&g.repo, Some(rev), g.worktree).into_diagnostic()?;
    let mut problems = Vec::new();
    let config = desired::load_config(&source, &mut problems).into_diagnostic()?;
    Ok(match config {
        Some(c) if problems.is_empty() => crate::backend::tsig::check(&c.primary.tsig).err(),
        _ => None,
    })
}

/// Everything `plan` and `apply` work from.
pub struct Prepared {
    /// The desired state (all zones, or only the changed ones).
    pub desired: DesiredState,
    /// The plan.
    pub plan: Plan,
}

/// Loads the desired state at `rev` (incrementally when the store has an applied
/// revision) and computes the plan, with the recorded content of the zone changes that
/// `detail` shows (the plan is decided from the index's hashes alone). `Ok(Err(code))`
/// when the desired state is invalid (problems already printed). `prober` asks the parents' servers what the staged
/// operations need (the network; the simulated fleet in tests).
pub async fn prepare(
    g: &Global,
    store: &Store,
    rev: &str,
    today: u32,
    prober: &dyn crate::live::Prober,
    detail: Detail,
) -> miette::Result<Result<Prepared, u8>> {
    let source = Source::open(&g.repo, Some(rev), g.worktree).into_diagnostic()?;
    let applied = store.applied_revision().await.into_diagnostic()?;
    let index = store.zone_index().await.into_diagnostic()?;
    let loaded = match (&applied, g.worktree) {
        (Some(a), false) => {
            // a zone's source counts only once every server was seen serving it
            let sources = index
                .iter()
                .map(|z| (z.name.as_str(), if z.verified { &z.source[..] } else { "" }))
                .collect();
            desired::load_changes(&source, &a.commit_id, &sources)
        }
        _ => desired::load(&source),
    };
    let desired = match loaded {
        Ok(d) => d,
        Err(LoadError::Invalid(problems)) => {
            super::validate::report_problems(g.format, &source.revision().id, &problems)?;
            return Ok(Err(super::validate::INVALID));
        }
        Err(e) => return Err(e).into_diagnostic(),
    };
    let mut zones: BTreeMap<String, store::RecordedZone> =
        index.into_iter().map(|z| (z.name.clone(), z)).collect();
    // drift the desired state resolved is planned from what the primary serves
    super::drift::as_served(store, &desired, &mut zones).await?;
    let mut recorded = Recorded {
        zones,
        groups: store.groups().await.into_diagnostic()?,
        revision: applied.map(|a| a.commit_id),
        primary: store.primary().await.into_diagnostic()?,
        serial_floors: store
            .serial_floors()
            .await
            .into_diagnostic()?
            .into_iter()
            .map(|f| (f.name, f.serial))
            .collect(),
    };
    let mut plan = plan::compute(&desired, &mut recorded, today, detail);
    let wanted = plan.old_text_wanted(detail);
    plan.fill_old_text(store.contents(&wanted).await.into_diagnostic()?);
    // the index again, by name as it was read (the contents moved into the plan)
    let index = recorded.zones.into_values().collect();
    let held;
    (plan.operations, held) = staged(store, &desired, prober, index).await?;
    plan.zone_operations = plan::operations::zone_operations(&crate::procedures::zone::operations(
        plan.zones.iter().map(plan::ZoneChange::change),
        &held,
        true,
    ));
    Ok(Ok(Prepared { desired, plan }))
}

/// The staged operations under way and those `apply` would create: gathered as `apply`
/// gathers them (the store read, unmanaged parents asked for their delegation TTL, a few
/// at once with a short timeout; one that does not answer is shown as unknown, with the
/// child's NS TTL standing in), decided by the same pure code; and the zones they hold,
/// which zone operations leave to them. `index`: the zone index `prepare` read. Changes
/// nothing.
async fn staged(
    store: &Store,
    desired: &DesiredState,
    prober: &dyn crate::live::Prober,
    index: Vec<store::RecordedZone>,
) -> miette::Result<(Vec<plan::operations::PlannedOperation>, Vec<String>)> {
    let (recorded, obs) = apply::gather::gather(store, desired, prober, Some(index))
        .await
        .into_diagnostic()?;
    let decision = crate::procedures::decide::decide(desired, &recorded, &obs);
    Ok((
        plan::operations::operations(&decision, &recorded.active),
        decision.held,
    ))
}

/// Prints a plan in the chosen format; `to_approve`: as `apply` shows it before asking
/// (operations under way only counted).
pub fn print_plan(format: Format, plan: &Plan, to_approve: bool) -> miette::Result<()> {
    match format {
        Format::Text if to_approve => {
            out!("{}", plan::render::text_to_approve(plan, color_wanted()))
        }
        Format::Text => out!("{}", plan::render::text(plan, color_wanted())),
        Format::Json => outln!("{}", plan::render::json(plan)),
    }
}

/// Runs `plan`.
pub async fn run(g: &Global, args: &PlanArgs) -> miette::Result<u8> {
    // plan never uses the key (CI plans without one), but says first that apply would
    // refuse to start; without a store it plans against an empty one in memory
    if let Some(e) = key_problem(g, &g.rev)? {
        eprintln!("Warning: {e}. `zonekeeper apply` refuses to start until this is fixed.");
    }
    let store = super::state::plan_store(g).await?;
    let today = crate::model::serial::yyyymmdd(now());
    let detail = if g.format == Format::Json || args.out.is_some() {
        Detail::Full
    } else {
        Detail::Text
    };
    // plan never touches a server: a CI job plans without reaching the fleet
    let prepared = match prepare(g, &store, &g.rev, today, &crate::live::Offline, detail).await? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    // drift as the store records it: plan never asks the servers
    let drift = super::drift::Recorded::read(&store, &prepared.desired).await?;
    match g.format {
        Format::Json => {
            let mut shown = plan::render::json(&prepared.plan);
            shown["drift"] = drift.json();
            outln!("{shown}")?;
        }
        Format::Text => {
            print_plan(g.format, &prepared.plan, false)?;
            out!("{}", drift.text())?;
        }
    }
    if let Some(path) = &args.out {
        if g.worktree {
            return Err(miette::miette!(
                help = "commit the change and plan again: a saved plan names a revision",
                "a plan of uncommitted files cannot be saved"
            ));
        }
        let text =
            serde_json::to_string_pretty(&plan::render::json(&prepared.plan)).into_diagnostic()?;
        std::fs::write(path, text)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "Plan saved to {}; apply it with: zonekeeper apply {}",
            path.display(),
            path.display()
        );
    }
    store.close().await;
    Ok(
        if args.detailed_exitcode && (prepared.plan.has_changes() || drift.any()) {
            CHANGES
        } else {
            0
        },
    )
}
