//! Sending a zone's change and recording it only once the primary serves it.
//!
//! 1. Write-ahead: the content and serial the change brings are written to the store
//!    (`zone_intents`) before anything is sent.
//! 2. The UPDATEs are sent (several when the change does not fit one message).
//! 3. When the first one's SOA prerequisite fails, the primary's content (AXFR) tells what
//!    happened: already the desired content (an earlier run sent this very change), or the
//!    content an earlier, interrupted run intended (its change landed but was never
//!    recorded: that is recorded first, then the new change is sent on top of it), or part
//!    of it (a change split over several UPDATEs, interrupted between two of them: every
//!    RRset as recorded or as intended, the serial inside the interrupted run's range; also
//!    recorded as served, then completed), or anything else: drift, reported.
//! 4. Every changed zone is transferred from the primary and compared with the desired
//!    content; only an exact match is recorded.

use hickory_proto::rr::Name;
use tracing::info;

use super::content::{self, Served};
use super::update::{Planned, zone_update};
use crate::backend::seam::Sender as Primary;
use crate::backend::update::UpdateError;
use crate::desired::DesiredState;
use crate::model::Zone;
use crate::model::serial::next_serial;
use crate::model::zone::text_hash;
use crate::store::{AuditEntry, RecordedZone, Store, ZoneIntent};

/// Where and when changes are sent and recorded.
pub struct Sender<'a> {
    /// The store.
    pub store: &'a Store,
    /// The connection to the primary.
    pub updater: &'a dyn Primary,
    /// The desired state (revision, author).
    pub desired: &'a DesiredState,
    /// Unix time now.
    pub now: i64,
    /// Today as YYYYMMDD.
    pub today: u32,
    /// The effects (for the crash-test boundary after each store write).
    pub effects: &'a super::effects::Effects,
}

/// A zone sent, waiting for its content check.
#[derive(Debug, Clone)]
pub struct SentZone {
    /// The zone.
    pub name: Name,
    /// Its group.
    pub group: String,
    /// The desired canonical text at `serial`.
    pub target: String,
    /// The serial the primary must serve.
    pub serial: u32,
    /// The audit action (create, update, adopt).
    pub action: &'static str,
    /// The audit detail.
    pub detail: String,
}

impl<'a> Sender<'a> {
    /// Sends and records for an apply's context.
    pub fn of(ctx: &'a super::ctx::Ctx<'a>) -> Sender<'a> {
        Sender {
            store: ctx.store,
            updater: ctx.updater,
            desired: ctx.desired,
            now: ctx.opts.now,
            today: ctx.opts.today,
            effects: &ctx.opts.effects,
        }
    }

    fn audit(&self, action: &str, target: &str, detail: String) -> AuditEntry {
        AuditEntry {
            at: self.now,
            commit_id: self.desired.revision.id.clone(),
            author: self.desired.revision.author.clone(),
            action: action.into(),
            target: target.into(),
            detail,
        }
    }

    /// Writes the intent of `planned`, then sends it; returns the serial the primary
    /// serves once it took effect.
    async fn send_planned(
        &self,
        zone: &Zone,
        planned: &Planned,
        target: &str,
    ) -> Result<u32, UpdateError> {
        let intent = ZoneIntent {
            name: crate::model::ascii(&zone.name),
            group: zone.group.clone(),
            serial: planned.final_serial,
            content: target.to_string(),
            commit_id: self.desired.revision.id.clone(),
        };
        self.store
            .set_intent(&intent, self.now)
            .await
            .map_err(|e| UpdateError::Rejected {
                zone: zone.name.to_string(),
                rcode: format!("not sent: the store failed writing its intent ({e})"),
            })?;
        self.effects.boundary("zone intent written").await;
        let last = planned.updates.len().saturating_sub(1);
        for (i, (u, required)) in planned.updates.iter().enumerate() {
            self.updater.send(&zone.name, u, *required).await?;
            if i < last {
                self.effects
                    .boundary("zone UPDATE message sent, more to follow")
                    .await;
            }
        }
        self.effects.boundary("zone UPDATE sent").await;
        Ok(planned.final_serial)
    }

    /// Sends the change of `zone` from `old_text` (recorded or served; `expected` is its
    /// serial) to the desired content. Returns what to verify, or an error naming the zone.
    pub async fn send(
        &self,
        zone: &Zone,
        old_text: &str,
        expected: Option<u32>,
        action: &'static str,
    ) -> Result<SentZone, String> {
        let key = crate::model::ascii(&zone.name);
        let earlier = self.store.intent(&key).await.map_err(|e| e.to_string())?;
        // Already the desired content (a zone an interrupted apply loaded from its new file
        // and never recorded, adopted now): nothing to send. A serial bump alone would be
        // a second change, and every secondary would transfer the zone again.
        if let Some(s) = expected {
            let old = Served {
                text: old_text.to_string(),
                serial: Some(s),
            };
            if content::same_content(&zone.canonical_text(s), &old) {
                let detail = format!("serial {s}: the primary already serves the desired content");
                return Ok(self.sent(zone, zone.canonical_text(s), s, action, detail));
            }
        }
        let new_serial = next_serial(expected, self.today);
        let changes = crate::plan::rrset_changes(old_text, &zone.canonical_text(new_serial));
        let planned = zone_update(zone, old_text, &changes, expected, new_serial)
            .map_err(|e| e.to_string())?;
        let target = zone.canonical_text(planned.final_serial);
        let detail = |serial: u32| {
            format!(
                "serial {} → {serial}: {} RRset(s) changed in {} UPDATE(s)",
                expected.map(|s| s.to_string()).unwrap_or("-".into()),
                changes.len(),
                planned.updates.len()
            )
        };
        let err = match self.send_planned(zone, &planned, &target).await {
            Ok(serial) => {
                return Ok(self.sent(zone, target, serial, action, detail(serial)));
            }
            Err(e @ UpdateError::Drift { .. }) => e,
            Err(e) => return Err(e.to_string()),
        };
        // The prerequisite failed: what does the primary serve?
        let served = content::transfer(self.updater, &zone.name)
            .await
            .map_err(|e| format!("{err}; and its content could not be read: {e}"))?;
        let serial = served.serial.unwrap_or(0);
        if content::same_content(&target, &served) {
            info!(zone = %zone.name, serial, "the primary already serves this change: an earlier apply sent it");
            return Ok(self.sent(
                zone,
                zone.canonical_text(serial),
                serial,
                action,
                format!("{} (sent by an earlier, interrupted apply)", detail(serial)),
            ));
        }
        let landed = |i: &ZoneIntent| {
            content::same_content(&i.content, &served)
                || content::part_way(old_text, expected, i, &served)
        };
        match earlier {
            Some(i) if landed(&i) => {
                self.record_landed(&i, &served).await?;
                Box::pin(self.send(zone, &served.text, served.serial, action)).await
            }
            _ => {
                // drift: recorded for `plan` and `status` to show, record by record
                if let Some(s) = expected
                    && let Some(d) = crate::drift::compare(&key, old_text, s, &served)
                {
                    let row = d.row(self.now);
                    if let Err(e) = self.store.write_drift(&[row], &[], None).await {
                        tracing::warn!(zone = %key, error = %e, "the drift found could not be recorded");
                    }
                }
                Err(err.to_string())
            }
        }
    }

    /// Records the change an interrupted run sent (`i`), which the primary serves.
    async fn record_landed(&self, i: &ZoneIntent, served: &Served) -> Result<(), String> {
        let serial = served.serial.unwrap_or(i.serial);
        info!(zone = %i.name, serial, "an interrupted apply's change landed: recording it before the new change");
        let row = RecordedZone {
            name: i.name.clone(),
            group: i.group.clone(),
            serial,
            content_hash: text_hash(&served.text),
            content: served.text.clone(),
            verified: false,
            commit_id: i.commit_id.clone(),
            // not known: the zone is read again by the next plan
            source: String::new(),
        };
        let audit = self.audit(
            "update",
            &i.name,
            format!(
                "serial {serial}: the change of revision {} landed in an interrupted apply; recorded now",
                i.commit_id
            ),
        );
        self.store
            .record_zones(&[(row, audit)])
            .await
            .map_err(|e| e.to_string())?;
        self.effects.boundary("landed change recorded").await;
        Ok(())
    }

    fn sent(
        &self,
        zone: &Zone,
        target: String,
        serial: u32,
        action: &'static str,
        detail: String,
    ) -> SentZone {
        SentZone {
            name: zone.name.clone(),
            group: zone.group.clone(),
            target,
            serial,
            action,
            detail,
        }
    }

    /// The row and audit entry that record `s` as served (not yet verified).
    pub fn row(&self, s: &SentZone) -> (RecordedZone, AuditEntry) {
        let key = crate::model::ascii(&s.name);
        (
            RecordedZone {
                name: key.clone(),
                group: s.group.clone(),
                serial: s.serial,
                content_hash: text_hash(&s.target),
                content: s.target.clone(),
                verified: false,
                commit_id: self.desired.revision.id.clone(),
                source: self.desired.source_of(&key),
            },
            self.audit(s.action, &key, s.detail.clone()),
        )
    }

    /// Records `rows` (zones the primary was seen serving exactly), then clears their
    /// intents; returns their names.
    pub async fn record(
        &self,
        rows: Vec<(RecordedZone, AuditEntry)>,
    ) -> Result<Vec<String>, crate::store::StoreError> {
        self.store.record_zones(&rows).await?;
        self.effects.boundary("zones recorded").await;
        let names: Vec<String> = rows.into_iter().map(|(r, _)| r.name).collect();
        self.store.clear_intents(&names).await?;
        self.effects.boundary("intents cleared").await;
        Ok(names)
    }

    /// Transfers every zone of `sent` from the primary and records those that serve exactly
    /// their target. Returns the zones recorded and the failures (naming zone and the
    /// first differing RRsets).
    pub async fn verify_and_record(
        &self,
        sent: &[SentZone],
    ) -> Result<(Vec<String>, Vec<String>), crate::store::StoreError> {
        let names: Vec<Name> = sent.iter().map(|s| s.name.clone()).collect();
        let mut served = content::transfer_all(self.updater, &names).await;
        let mut rows = Vec::new();
        let mut failures = Vec::new();
        for s in sent {
            let key = crate::model::ascii(&s.name);
            match served.remove(&s.name) {
                Some(Ok(got)) => match content::difference(&key, &s.target, &got, s.serial) {
                    None => rows.push(self.row(s)),
                    Some(diff) => failures.push(diff),
                },
                Some(Err(e)) => failures.push(format!(
                    "zone {key}: its content could not be transferred from the primary to verify it: {e}. It is not recorded as applied; apply again"
                )),
                None => failures.push(format!("zone {key}: not transferred")),
            }
        }
        Ok((self.record(rows).await?, failures))
    }
}
