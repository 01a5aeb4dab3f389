//! The content checks (I/O): zones transferred from the primary (AXFR, TSIG-signed, a few
//! at a time, each lane over a connection of its own kept for the whole check), compared with the recorded content, and what
//! was found written to the store's drift table: a drifting zone's row replaced, a clean
//! zone's row removed. Servers are only read: nothing is sent to them but transfers.
//!
//! [`pass`] is what the daemon's sweep calls each time: the next `budget` zones after the
//! store's cursor (see `cursor.rs` for the arithmetic). [`check`] checks chosen zones,
//! [`check_all`] every zone (`zonekeeper drift`).

use std::collections::BTreeMap;

use hickory_proto::rr::Name;

use super::DriftError;
use super::compare::{Drift, compare};
use super::cursor::next_batch;
use crate::apply::content::{self, Served, part_way, same_content};
use crate::backend::seam::Sender;
use crate::backend::update::UpdateError;
use crate::store::{DriftCursor, Store};

/// At most this many transfers at once (and connections for them): the primary keeps
/// serving, and a pass of 667 zones still ends in well under a minute.
pub const TRANSFERS_AT_ONCE: usize = 4;

/// How many zones are read from the store, transferred and written at a time: memory
/// stays that of a hundred zones whatever the pass.
const CHUNK: usize = 100;

/// What one zone's check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneCheck {
    /// The primary serves it as recorded.
    Clean(String),
    /// The primary serves a change an interrupted apply sent (written ahead, not yet
    /// recorded): no drift, the next apply records it.
    Landed(String),
    /// The primary serves it other than recorded.
    Drifts(Drift),
    /// It could not be transferred; its drift row (if any) is left as it was.
    Failed {
        /// The zone.
        zone: String,
        /// Why.
        message: String,
    },
}

/// What a pass (or a check) found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Each zone checked, in the order checked.
    pub zones: Vec<ZoneCheck>,
    /// Whether the pass went past the last zone to the first (a round completed).
    pub wrapped: bool,
    /// The last zone checked: where the next pass goes on.
    pub cursor: Option<String>,
}

impl PassReport {
    /// The zones that drift.
    pub fn drifting(&self) -> impl Iterator<Item = &Drift> {
        self.zones.iter().filter_map(|z| match z {
            ZoneCheck::Drifts(d) => Some(d),
            _ => None,
        })
    }

    /// The zones that could not be checked, with why.
    pub fn failed(&self) -> impl Iterator<Item = (&str, &str)> {
        self.zones.iter().filter_map(|z| match z {
            ZoneCheck::Failed { zone, message } => Some((zone.as_str(), message.as_str())),
            _ => None,
        })
    }
}

/// Checks the next `budget` zones after the store's cursor (wrapping around), writes what
/// it found and moves the cursor: repeated passes cover every zone. The daemon's sweep
/// calls it on each sweep, with `budget` from [`super::budget`].
pub async fn pass(
    store: &Store,
    sender: &dyn Sender,
    now: i64,
    budget: usize,
) -> Result<PassReport, DriftError> {
    let names = recorded_names(store).await?;
    let cursor = store.drift_cursor().await?;
    let batch = next_batch(
        &names,
        cursor.as_ref().map(|c| c.last_zone.as_str()),
        budget,
    );
    let mut report = run(store, sender, &batch.zones, now).await?;
    report.wrapped = batch.wrapped;
    if let Some(last) = batch.zones.last() {
        let wrapped = cursor.map_or(0, |c| c.wrapped) + i64::from(batch.wrapped);
        let c = DriftCursor {
            last_zone: last.clone(),
            passed_at: now,
            wrapped,
        };
        store.write_drift(&[], &[], Some(&c)).await?;
        report.cursor = Some(last.clone());
    }
    Ok(report)
}

/// Checks the zones `names` now (each must be recorded: a name that is not is an error
/// before anything is transferred).
pub async fn check(
    store: &Store,
    sender: &dyn Sender,
    names: &[String],
    now: i64,
) -> Result<PassReport, DriftError> {
    let index = store.zone_map().await?;
    if let Some(missing) = names.iter().find(|n| !index.contains_key(*n)) {
        return Err(DriftError::NotRecorded(missing.clone()));
    }
    run(store, sender, names, now).await
}

/// Every recorded zone's name, in order.
async fn recorded_names(store: &Store) -> Result<Vec<String>, DriftError> {
    Ok(store
        .zone_index()
        .await?
        .into_iter()
        .map(|z| z.name)
        .collect())
}

/// Checks every recorded zone now.
pub async fn check_all(
    store: &Store,
    sender: &dyn Sender,
    now: i64,
) -> Result<PassReport, DriftError> {
    let names = recorded_names(store).await?;
    run(store, sender, &names, now).await
}

/// Checks `names`, [`CHUNK`] zones at a time, writing each chunk's findings.
async fn run(
    store: &Store,
    sender: &dyn Sender,
    names: &[String],
    now: i64,
) -> Result<PassReport, DriftError> {
    let mut report = PassReport::default();
    // the lanes' connections, opened once for every chunk; a lane that cannot be opened
    // is left out (the first, `sender`, is there)
    let mut extra: Vec<Box<dyn Sender>> = Vec::new();
    for _ in 1..TRANSFERS_AT_ONCE.min(names.len()) {
        match sender.reopen().await {
            Ok(s) => extra.push(s),
            Err(e) => tracing::debug!(error = %e, "a transfer lane could not be opened"),
        }
    }
    let lanes: Vec<&dyn Sender> = std::iter::once(sender)
        .chain(extra.iter().map(|s| s.as_ref()))
        .collect();
    for chunk in names.chunks(CHUNK) {
        let recorded = store.zones(chunk).await?;
        let wire: Vec<Name> = recorded
            .iter()
            .map(|z| crate::model::name_of(&z.name))
            .collect();
        let mut served = transfer(&lanes, &wire).await;
        let (mut drifting, mut clean) = (Vec::new(), Vec::new());
        for (z, name) in recorded.iter().zip(&wire) {
            let found = match served.remove(name) {
                Some(Ok(s)) => match compare(&z.name, &z.content, z.serial, &s) {
                    None => ZoneCheck::Clean(z.name.clone()),
                    Some(d) => match store.intent(&z.name).await? {
                        // an interrupted apply's own change: not drift
                        Some(i)
                            if same_content(&i.content, &s)
                                || part_way(&z.content, Some(z.serial), &i, &s) =>
                        {
                            ZoneCheck::Landed(z.name.clone())
                        }
                        _ => ZoneCheck::Drifts(d),
                    },
                },
                Some(Err(e)) => ZoneCheck::Failed {
                    zone: z.name.clone(),
                    message: e.to_string(),
                },
                None => ZoneCheck::Failed {
                    zone: z.name.clone(),
                    message: "not transferred".into(),
                },
            };
            match &found {
                ZoneCheck::Clean(n) | ZoneCheck::Landed(n) => clean.push(n.clone()),
                ZoneCheck::Drifts(d) => drifting.push(d.row(now)),
                ZoneCheck::Failed { .. } => {}
            }
            report.zones.push(found);
        }
        store.write_drift(&drifting, &clean, None).await?;
    }
    Ok(report)
}

/// Transfers `zones`, spread over `lanes` (one connection each, its zones in turn).
async fn transfer(
    lanes: &[&dyn Sender],
    zones: &[Name],
) -> BTreeMap<Name, Result<Served, UpdateError>> {
    let n = lanes.len().max(1);
    let work = lanes.iter().enumerate().map(|(lane, s)| async move {
        let mut out = Vec::new();
        for z in zones.iter().skip(lane).step_by(n) {
            out.push((z.clone(), content::transfer(*s, z).await));
        }
        out
    });
    futures_util::future::join_all(work)
        .await
        .into_iter()
        .flatten()
        .collect()
}
