//! The executor: carries a plan out against the servers, verifies it, and records it.
//!
//! Order of work, each stage safe to repeat after a failure or a kill; `run` is this
//! list, one function per stage:
//!
//! 0. A primary move, if one is under way, comes first, against the old primary
//!    (`primary_move.rs`); everything else waits for it.
//! 1. Load the TSIG key; connect to the primary (an unreachable primary stops here, with
//!    nothing changed). The caller holds the store's apply lock since before planning.
//!    Staged operations the plan calls for are created (`operations.rs`).
//! 2. New zones (and new groups' catalog zones): zone files and `zones.conf` are written,
//!    then one `rndc reconfig`; the primary must then serve each at its serial. A zone
//!    it refuses fails alone (see `create.rs`); a zone it already serves is adopted.
//! 3. Changed zones (`send.rs`): signed UPDATEs, with the recorded SOA as prerequisite,
//!    several when the change does not fit one message (see `update.rs`), each written
//!    ahead in the store (see `change.rs`). Then every changed zone is transferred (AXFR)
//!    and must hold exactly the desired RRsets (see `content.rs`); only then is it
//!    recorded.
//! 4. Catalog membership (`membership.rs`, catalog edits in `catalogs.rs`): new zones (and
//!    zones that moved group) are added to their group's catalog, so the secondaries pick
//!    them up by themselves.
//! 5. Verify (`verify.rs`): every server of each zone's group must answer SOA with AA and
//!    the new serial, over UDP and TCP, within the verify timeout.
//! 6. Deletions (`delete.rs`, only with `--allow-delete`): catalog first, verify the
//!    secondaries stopped serving, then the primary's configuration and files.
//!
//!    Then the staged operations are driven until one waits at a closed gate
//!    (`operations.rs`).
//! 7. Each server's health is recorded; the revision is recorded as applied only when
//!    everything above held (`record.rs`).
//!
//! Each zone is recorded in the store right after the primary was seen serving its desired
//! content, so a failure later loses nothing: the next apply sees that zone as done and
//! carries on. This file holds the error type, options and report, the connection to the
//! primary, and the helpers the stages share.

pub mod catalogs;
mod change;
pub mod content;
mod create;
mod delete;
mod membership;
pub mod operations;
mod primary_move;
mod record;
mod send;
mod update;
mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;
use tracing::info;

use crate::backend::bind::{BindError, PrimaryControl, Stanza};
use crate::backend::tsig::{self, TsigError};
use crate::backend::update::{UpdateError, Updater};
use crate::desired::DesiredState;
use crate::model::Config;
use crate::plan::{Plan, ZoneAction};
use crate::store::{AuditEntry, RecordedZone, Store, StoreError};

/// Why an apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The TSIG key could not be loaded.
    #[error(transparent)]
    Tsig(#[from] TsigError),
    /// The primary could not be reached or configured.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The primary could not be reached.
    #[error(
        "the primary {name} at {addr} is unreachable: {message}. Nothing was changed; apply again once it answers"
    )]
    PrimaryUnreachable {
        /// Its name.
        name: String,
        /// Its address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
    /// The primary's control channel or configuration failed.
    #[error(
        "the primary {name} at {addr}: {source}. Check that named runs there and that rndc reaches it; what took effect is recorded, apply again once it answers"
    )]
    Control {
        /// Its name.
        name: String,
        /// Its address.
        addr: SocketAddr,
        /// What failed.
        source: BindError,
    },
    /// A fresh store faces a primary that already serves zones of the plan.
    #[error(
        "the store is fresh (nothing applied, no zone recorded) but the primary {name} at {addr} already serves {count} zone(s) of this plan ({zones}). Nothing was changed. If this store is meant to take over those zones, run `zonekeeper apply --adopt`: their content is compared with the desired one and records only on the primary are removed. Otherwise point --db at the store that manages this primary"
    )]
    AlreadyServed {
        /// The primary's name.
        name: String,
        /// Its address.
        addr: SocketAddr,
        /// How many zones it serves.
        count: usize,
        /// The first few of them.
        zones: String,
    },
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct Options {
    /// Carry out deletions.
    pub allow_delete: bool,
    /// Take over zones the primary already serves although the store never recorded them.
    pub adopt: bool,
    /// How long servers get to serve a new serial.
    pub verify_timeout: Duration,
    /// Unix time now.
    pub now: i64,
    /// Today as YYYYMMDD.
    pub today: u32,
}

/// What an apply did.
#[derive(Debug, Default)]
pub struct Report {
    /// Zones created on the primary.
    pub created: Vec<String>,
    /// Zones updated.
    pub updated: Vec<String>,
    /// Zones deleted.
    pub deleted: Vec<String>,
    /// Zones every server was seen serving.
    pub verified: Vec<String>,
    /// Deletions skipped for want of `--allow-delete`.
    pub skipped_deletes: Vec<String>,
    /// Failures, each naming zone and server.
    pub failures: Vec<String>,
    /// Whether the revision was recorded as applied.
    pub revision_recorded: bool,
    /// An operation waits at a closed gate: what for.
    pub waiting: Option<String>,
}

impl Report {
    /// Whether everything planned was done.
    pub fn complete(&self) -> bool {
        self.failures.is_empty() && self.skipped_deletes.is_empty() && self.waiting.is_none()
    }
}

/// Each server's checks in this run: how many passed, and the message of each that failed.
type Health = BTreeMap<String, (usize, Vec<String>)>;

/// What the stages after the first read: the connections and options (`ctx`), the plan,
/// and what was read before the first change.
struct Stage<'a> {
    /// Store, desired state, primary, its control channel and signed connection, options.
    ctx: &'a operations::Ctx<'a>,
    /// The plan carried out.
    plan: &'a Plan,
    /// The recorded zones, with their content, as they were before this run.
    index: &'a BTreeMap<String, RecordedZone>,
    /// The member catalogs the primary serves.
    cats: &'a [catalogs::MemberCatalog],
    /// Each planned zone that stays, with its desired group.
    desired_groups: &'a BTreeMap<String, String>,
    /// Zones a staged operation holds: this run leaves their changes to it.
    held: &'a [String],
}

fn audit(
    desired: &DesiredState,
    now: i64,
    action: &str,
    target: &str,
    detail: String,
) -> AuditEntry {
    AuditEntry {
        at: now,
        commit_id: desired.revision.id.clone(),
        author: desired.revision.author.clone(),
        action: action.into(),
        target: target.into(),
        detail,
    }
}

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap_or_else(|_| Name::root())
}

/// The control channel of `primary` and a signed connection to it.
async fn connect(primary: &crate::model::Primary) -> Result<(PrimaryControl, Updater), ApplyError> {
    let signer = tsig::signer(&primary.tsig)?;
    let control = PrimaryControl {
        config_dir: primary.config_dir.clone(),
        rndc: primary.rndc.clone(),
        rndc_conf: primary.rndc_conf.clone(),
        key_name: primary.tsig.name.to_string(),
    };
    let updater = Updater::connect(primary.addr, signer, Duration::from_secs(5))
        .await
        .map_err(|e| match e {
            UpdateError::Unreachable { message, .. } => ApplyError::PrimaryUnreachable {
                name: primary.name.clone(),
                addr: primary.addr,
                message,
            },
            other => ApplyError::PrimaryUnreachable {
                name: primary.name.clone(),
                addr: primary.addr,
                message: other.to_string(),
            },
        })?;
    Ok((control, updater))
}

/// Where each group's secondaries answer.
fn group_sockets(config: &Config, group: &str) -> Vec<(String, SocketAddr)> {
    config
        .group_secondaries(group)
        .into_iter()
        .flat_map(|s| s.sockets().into_iter().map(move |a| (s.name.clone(), a)))
        .collect()
}

/// Carries out `plan` (computed from `desired` against `store`). The caller holds the
/// store's apply lock (`_lock`) since before it computed the plan, so the plan cannot be
/// stale.
pub async fn apply(
    store: &Store,
    _lock: &crate::store::ApplyLock,
    desired: &DesiredState,
    plan: &Plan,
    opts: &Options,
) -> Result<Report, ApplyError> {
    run(store, desired, plan, opts).await
}

/// The stages of an apply, in the order of the module doc.
async fn run(
    store: &Store,
    desired: &DesiredState,
    plan: &Plan,
    opts: &Options,
) -> Result<Report, ApplyError> {
    let config = &desired.config;
    let primary = &config.primary;
    // A primary move comes first, against the old primary; everything else waits for it.
    if let Some(waiting) = primary_move::run(store, desired, opts).await? {
        return Ok(Report {
            waiting: Some(waiting),
            ..Report::default()
        });
    }
    // 1. The primary.
    let (control, updater) = connect(primary).await?;
    // Changes go to this primary from now on: a later move starts from here.
    store.set_primary(&primary.recorded(), opts.now).await?;
    info!(revision = %desired.revision.id, primary = %primary.addr, zones = plan.zones.len(), "applying");
    let mut report = Report::default();
    let index: BTreeMap<String, RecordedZone> = store.zone_map().await?;
    let ctx = operations::Ctx {
        store,
        desired,
        primary,
        control: &control,
        updater: &updater,
        opts,
    };
    let held = operations::create(&ctx).await?;

    // 2. New zones and catalog zones on the primary.
    let cats = catalogs::serving(config, store).await?;
    let desired_groups: BTreeMap<String, String> = plan
        .zones
        .iter()
        .filter(|z| z.action != ZoneAction::Delete)
        .map(|z| (z.zone.clone(), z.group.clone()))
        .collect();
    let created = create::run(
        store,
        &ctx,
        plan,
        &index,
        &cats,
        &desired_groups,
        &mut report,
    )
    .await?;
    let stage = Stage {
        ctx: &ctx,
        plan,
        index: &index,
        cats: &cats,
        desired_groups: &desired_groups,
        held: &held,
    };

    // 3. Changed zones (and adopted ones): UPDATEs with write-ahead; then every changed
    // zone's content is transferred and compared before anything is recorded.
    let serials = send::changed_zones(&stage, created, &mut report).await?;

    // 4. Catalog membership.
    membership::edit(&stage, &mut report).await?;

    // 5. Verify every server of each zone's group.
    let mut health = verify::servers(&stage, &serials, &mut report).await?;

    // 6. Deletions: catalog first, then the primary.
    delete::zones(&stage, &mut health, &mut report).await?;

    // Staged operations, until one waits at a closed gate.
    report.waiting = operations::drive(&ctx).await?;

    // 7. Server health, then the revision when everything held.
    record::health(store, config, &health, opts.now).await?;
    if report.complete() {
        record::revision(&stage).await?;
        report.revision_recorded = true;
    }
    Ok(report)
}

/// The zones the primary serves after this plan: recorded, plus created, minus `gone`;
/// and the member catalogs `cats`, each notifying its own secondary.
fn stanzas(
    config: &Config,
    index: &BTreeMap<String, RecordedZone>,
    desired_groups: &BTreeMap<String, String>,
    gone: &BTreeSet<String>,
    cats: &[catalogs::MemberCatalog],
) -> Vec<Stanza> {
    // A zone moving between groups is notified to both while it moves.
    let mut groups: BTreeMap<String, BTreeSet<String>> = index
        .iter()
        .map(|(n, z)| (n.clone(), BTreeSet::from([z.group.clone()])))
        .collect();
    for (zone, group) in desired_groups {
        groups
            .entry(zone.clone())
            .or_default()
            .insert(group.clone());
    }
    let notify = |groups: &mut dyn Iterator<Item = &String>| {
        let mut addrs: Vec<SocketAddr> = groups
            .flat_map(|g| group_sockets(config, g))
            .map(|(_, a)| a)
            .collect();
        addrs.sort();
        addrs.dedup();
        addrs
    };
    let mut out: Vec<Stanza> = cats
        .iter()
        .map(|c| Stanza {
            zone: c.name.clone(),
            notify: c.notify.clone(),
            copy_of: None,
        })
        .collect();
    for (zone, gs) in groups {
        if !gone.contains(&zone) {
            out.push(Stanza {
                zone: name(&zone),
                notify: notify(&mut gs.iter()),
                copy_of: None,
            });
        }
    }
    out
}
