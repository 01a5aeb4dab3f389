//! The daemon's sweep: fleet health (every server asked about each of its zones, BROKEN
//! secondaries left alone for their back-off), then a share of the primary's zones
//! compared with the record by transfer (`drift::pass`: every zone once per
//! `--drift-period`, a few transfers at a time, so the primary is never loaded). A server
//! whose state changed is logged, and one turning BROKEN reported to the webhooks.

use std::collections::BTreeMap;

use tracing::{error, info, warn};

use super::schedule::Schedule;
use super::{jitter, webhook};
use crate::health;
use crate::live::batch::BatchOptions;
use crate::model::Config;
use crate::model::config::WebhookEvent;
use crate::store::Store;

/// What a sweep works with.
pub struct Sweep<'a> {
    /// The store.
    pub store: &'a Store,
    /// zonekeeper.yaml at the tip, when it could be read: webhooks, and the primary for
    /// the content checks.
    pub config: Option<&'a Config>,
    /// Seconds for a content check of every zone.
    pub drift_period: u64,
    /// Seconds between sweeps.
    pub sweep_every: u64,
}

impl Sweep<'_> {
    /// One sweep; `states` holds each server's state as last seen.
    pub async fn run(&self, schedule: &mut Schedule, states: &mut BTreeMap<String, String>) {
        let at = super::now();
        let rest = schedule.resting(at);
        let zones = match health::sweep(self.store, &BatchOptions::default(), at, &rest).await {
            Ok(outcome) => {
                let broken: Vec<String> = outcome
                    .in_state(health::State::Broken)
                    .map(|s| s.name.clone())
                    .collect();
                for s in &outcome.record.servers {
                    if states.get(&s.name) != Some(&s.state) {
                        self.changed(&s.name, &s.state, &s.message);
                        states.insert(s.name.clone(), s.state.clone());
                    }
                }
                tracing::debug!(
                    zones = outcome.record.zones,
                    queries = outcome.record.queries,
                    ms = outcome.record.duration_ms,
                    "swept"
                );
                schedule.after_sweep(at, &broken, &outcome.resting, jitter());
                outcome.record.zones as usize
            }
            Err(e) => {
                error!("sweep failed: {e}");
                schedule.after_sweep(at, &[], &rest, jitter());
                return;
            }
        };
        self.content(zones, at).await;
    }

    /// A server's state changed to `state`.
    fn changed(&self, server: &str, state: &str, message: &str) {
        if state == health::State::Ok.as_str() {
            return info!(server, "OK: {message}");
        }
        warn!(server, state, "{message}");
        if state == health::State::Broken.as_str() {
            let hooks = self.config.map_or(&[][..], |c| &c.webhooks[..]);
            webhook::notify(
                hooks,
                WebhookEvent::ServerBroken,
                serde_json::json!({"server": server, "message": message}),
            );
        }
    }

    /// The next share of the primary's zones compared with the record.
    async fn content(&self, zones: usize, at: i64) {
        let Some(config) = self.config else {
            return;
        };
        let budget = crate::drift::budget(zones, self.drift_period, self.sweep_every);
        if budget == 0 {
            return;
        }
        let sender = match crate::cli::drift::connect(config).await {
            Ok(s) => s,
            Err(e) => return warn!("no content check now: {e}"),
        };
        match crate::drift::pass(self.store, sender.as_ref(), at, budget).await {
            Ok(report) => {
                for d in report.drifting() {
                    warn!(
                        zone = %d.zone,
                        "the primary serves it other than recorded (drift): `zonekeeper plan` shows how; `apply --overwrite-drift {0}` puts the desired state back, `import --zone {0} --from-primary` keeps what it serves",
                        d.zone
                    );
                }
                for (zone, why) in report.failed() {
                    warn!(zone, "content not checked: {why}");
                }
            }
            Err(e) => error!("content check failed: {e}"),
        }
    }
}
