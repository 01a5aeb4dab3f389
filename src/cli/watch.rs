//! `zonekeeper watch`: the daemon. A level-triggered reconcile loop: it looks at the
//! tracked branch (woken by a watch on the repository's refs, and every `--poll` seconds
//! in any case), runs a pass (`apply --auto-approve`, under the apply lock) when the tip
//! is not settled or a waiting operation's gate may open, sweeps the fleet every
//! `--sweep-every` seconds, and sleeps until the earliest of those (`schedule.rs`
//! decides; no fixed sleep loop). Errors never stop it: they are logged and retried after
//! a back-off with jitter.
//!
//! Several daemons may share one PostgreSQL store: one leads, the others stand by and
//! take over within seconds when it dies (`store::leader`). SIGTERM or SIGINT stops it
//! after the current step, recorded (`crate::stop`, shared with `apply`); a second signal
//! exits at once.

mod metrics;
mod pass;
mod refs;
mod schedule;
mod sweep;
mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use miette::IntoDiagnostic;
use tokio::sync::Notify;
use tracing::{error, info, warn};

use super::Global;
use super::plan::now;
use crate::apply::effects::Effects;
use crate::model::Config;
use crate::model::config::WebhookEvent;
pub use crate::stop::Stop;
use crate::store::{DaemonRow, Store};
use pass::{PassOptions, pass};
use schedule::{Outcome, Schedule, Timing};

/// Options of `watch`.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// Seconds between looks at the branch when no change notification came.
    #[arg(long, default_value_t = 30)]
    pub poll: u64,
    /// Seconds between sweeps of the fleet (every server asked about each of its zones).
    #[arg(long, default_value_t = 60)]
    pub sweep_every: u64,
    /// The longest back-off, in seconds, of a failing pass or a BROKEN server.
    #[arg(long, default_value_t = 300)]
    pub max_backoff: u64,
    /// Seconds every server gets to serve a new serial.
    #[arg(long, default_value_t = 30)]
    pub verify_timeout: u64,
    /// Carry out zone deletions (zone files removed from the repository).
    #[arg(long)]
    pub allow_delete: bool,
    /// Seconds in which every zone's content on the primary is compared with the record
    /// once (by transfer, a share of the zones at each sweep).
    #[arg(long, default_value_t = 3600)]
    pub drift_period: u64,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9153).
    #[arg(long)]
    pub metrics: Option<SocketAddr>,
}

/// Runs the daemon until it is asked to stop; exit 0.
pub async fn run(g: &Global, args: &WatchArgs) -> miette::Result<u8> {
    let store = super::state::create_store(g).await?;
    let stop = Stop::new();
    stop.on_signals(crate::stop::Messages {
        first: Box::new(|| {
            tracing::info!(
                "stopping: the current step finishes and is recorded (a second signal exits at once)"
            )
        }),
        second: "zonekeeper watch: second signal: exiting now; the next run resumes where this one stopped",
    })
    .into_diagnostic()?;
    let figures = metrics::Shared::default();
    if let Some(addr) = args.metrics {
        let bound = metrics::serve(addr, figures.clone())
            .await
            .map_err(|e| miette::miette!("cannot serve metrics at {addr}: {e}"))?;
        info!("metrics at http://{bound}/metrics");
    }
    let changed = Arc::new(Notify::new());
    let _watcher = match refs::watch(&g.repo, changed.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            warn!(
                "cannot watch the repository's refs ({e}): looking every {} s",
                args.poll
            );
            None
        }
    };
    loop {
        let Some(lead) = stand_by(&store, &stop, &figures).await else {
            break;
        };
        info!(
            pid = std::process::id(),
            "leading: reconciling {} at {}",
            g.rev,
            g.repo.display()
        );
        let lost = tokio::select! {
            why = lead.lost() => Some(why),
            () = lead_loop(g, args, &store, &stop, &figures, &changed) => None,
        };
        match lost {
            Some(why) => warn!("lost leadership ({why}); standing by"),
            None => {
                lead.release().await;
                break;
            }
        }
    }
    info!("stopped");
    store.close().await;
    Ok(0)
}

/// Waits until this daemon leads (None: asked to stop first). Tries every second.
async fn stand_by(
    store: &Store,
    stop: &Stop,
    figures: &metrics::Shared,
) -> Option<crate::store::Leadership> {
    let mut said = false;
    loop {
        if stop.requested() {
            return None;
        }
        match store.try_lead().await {
            Ok(Some(lead)) => return Some(lead),
            Ok(None) if !said => {
                info!("another daemon leads this store: standing by");
                said = true;
                let _ = metrics::refresh(figures, store, false).await;
            }
            Ok(None) => {}
            Err(e) => warn!("cannot try to lead: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = stop.wait() => return None,
        }
    }
}

/// A number in [0, 1) that differs between calls and daemons, for jitter.
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let mixed = (u64::from(nanos) ^ (u64::from(std::process::id()) << 32))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

/// The loop while leading: pass when due, sweep when due, sleep until the next thing.
async fn lead_loop(
    g: &Global,
    args: &WatchArgs,
    store: &Store,
    stop: &Stop,
    figures: &metrics::Shared,
    changed: &Notify,
) {
    let timing = Timing {
        poll: args.poll.max(1) as i64,
        sweep_every: args.sweep_every.max(1) as i64,
        max_backoff: args.max_backoff.max(1) as i64,
    };
    let mut schedule = Schedule::new(timing, now());
    let leading_since = now();
    let opts = PassOptions {
        verify_timeout: Duration::from_secs(args.verify_timeout),
        allow_delete: args.allow_delete,
    };
    let _ = metrics::refresh(figures, store, true).await;
    // each server's state as last recorded: a change of state is logged (and a server
    // turning BROKEN reported to the webhooks), not every sweep
    let mut states: std::collections::BTreeMap<String, String> = store
        .servers()
        .await
        .map(|all| {
            all.into_iter()
                .filter_map(|s| Some((s.name, s.last_state?)))
                .collect()
        })
        .unwrap_or_default();
    // zonekeeper.yaml (webhooks, the primary for content checks), read again when the tip
    // moves
    let mut config: (String, Option<Config>) = (String::new(), None);
    loop {
        if stop.requested() {
            return;
        }
        let tip = refs::tip(&g.repo, &g.rev);
        if let Ok(tip) = &tip
            && config.0 != *tip
        {
            config = (tip.clone(), config_at(&g.repo, tip).or(config.1));
        }
        let hooks = config.1.as_ref().map_or(&[][..], |c| &c.webhooks[..]);
        // an unreadable repository is looked at again in a second, not in a busy loop
        let unreadable = tip.is_err();
        match tip {
            Ok(tip) if schedule.pass_due(&tip, now()) => {
                let effects = Effects {
                    boundary: stop.hook(),
                    ..Effects::real()
                };
                let report = tokio::select! {
                    r = pass(g, store, &tip, opts, effects) => r,
                    () = stop.parked() => return,
                };
                metrics::count_pass(figures, outcome_name(&report));
                if report.outcome == Outcome::Failed {
                    webhook::notify(
                        hooks,
                        WebhookEvent::ApplyFailed,
                        serde_json::json!({"revision": tip, "failures": report.failures}),
                    );
                }
                schedule.after_pass(&tip, &report.outcome, now(), jitter());
                let _ = metrics::refresh(figures, store, true).await;
            }
            Ok(_) => {}
            Err(e) => error!("{e}"),
        }
        if stop.requested() {
            return;
        }
        if schedule.sweep_due(now()) {
            let ctx = sweep::Sweep {
                store,
                config: config.1.as_ref(),
                drift_period: args.drift_period,
                sweep_every: args.sweep_every,
            };
            ctx.run(&mut schedule, &mut states).await;
            let _ = metrics::refresh(figures, store, true).await;
        }
        let wake = schedule.next_wake(now());
        let me = DaemonRow {
            host: crate::store::this_host(),
            pid: i64::from(std::process::id()),
            since: leading_since,
            seen_at: now(),
            revision: config.0.clone(),
            next_wake: wake,
            next_sweep: schedule.next_sweep(),
        };
        if let Err(e) = store.set_daemon(&me).await {
            warn!("cannot record this daemon in the store: {e}");
        }
        let sleep = Duration::from_secs(u64::try_from(wake - now()).unwrap_or(0))
            .max(Duration::from_secs(u64::from(unreadable)));
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = changed.notified() => {
                // a push moves several files: let it finish
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            () = stop.wait() => return,
        }
    }
}

fn outcome_name(report: &pass::PassReport) -> &'static str {
    match (&report.outcome, report.applied) {
        (Outcome::Settled, true) => "applied",
        (Outcome::Settled, false) => "settled-unapplied",
        (Outcome::Waiting { .. }, _) => "waiting",
        (Outcome::Failed, _) => "failed",
    }
}

/// `zonekeeper.yaml` at `tip`; None when it cannot be read or is invalid (the pass says
/// why; the configuration known so far stays).
fn config_at(repo: &std::path::Path, tip: &str) -> Option<Config> {
    let source = crate::desired::Source::open(repo, Some(tip), false).ok()?;
    let mut problems = Vec::new();
    let config = crate::desired::load_config(&source, &mut problems).ok()??;
    problems.is_empty().then_some(config)
}
