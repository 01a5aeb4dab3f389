//! The executor: carries a plan out against the servers, verifies it, and records it.
//!
//! Order of work, each stage safe to repeat after a failure or a kill:
//!
//! 1. Load the TSIG key; connect to the primary (an unreachable primary stops here, with
//!    nothing changed). The caller holds the store's apply lock since before planning.
//! 2. New zones (and new groups' catalog zones): zone files and `zones.conf` are written,
//!    then one `rndc reconfig`; the primary must then serve each at its serial. A zone
//!    it refuses fails alone (see `create`); a zone it already serves is adopted.
//! 3. Changed zones: signed UPDATEs, with the recorded SOA as prerequisite, several when
//!    the change does not fit one message (see `update`), each written ahead in the store
//!    (see `change`). Then every changed zone is transferred (AXFR) and must hold exactly
//!    the desired RRsets (see `content`); only then is it recorded.
//! 4. Catalog membership: new zones (and zones that moved group) are added to their
//!    group's catalog, so the secondaries pick them up by themselves.
//! 5. Verify: every server of each zone's group must answer SOA with AA and the new serial,
//!    over UDP and TCP, within the verify timeout.
//! 6. Deletions (only with `--allow-delete`): catalog first, verify the secondaries
//!    stopped serving, then the primary's configuration and files.
//! 7. The revision is recorded as applied only when everything above held.
//!
//! Each zone is recorded in the store right after the primary was seen serving its desired
//! content, so a failure later loses nothing: the next apply sees that zone as done and
//! carries on.

pub mod catalogs;
mod change;
pub mod content;
mod create;
pub mod operations;
mod primary_move;
mod update;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::Name;
use tracing::{debug, info, warn};

use crate::backend::bind::{BindError, PrimaryControl, Stanza};
use crate::backend::tsig::{self, TsigError};
use crate::backend::update::{UpdateError, Updater};
use crate::desired::DesiredState;
use crate::live::{self, Check};
use crate::model::Config;
use crate::plan::{Plan, ZoneAction};
use crate::store::{
    AppliedRevision, AuditEntry, GroupRow, RecordedZone, ServerRow, Store, StoreError,
};

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

    // 3. Changed zones (and adopted ones): UPDATEs with write-ahead; then every changed
    // zone's content is transferred and compared before anything is recorded.
    let sender = change::Sender {
        store,
        updater: &updater,
        desired,
        now: opts.now,
        today: opts.today,
    };
    let mut sent = created.loaded;
    let adopted: Vec<Name> = created.adopted.iter().map(|z| name(&z.zone)).collect();
    let mut served = content::transfer_all(&updater, &adopted).await;
    let mut jobs: Vec<(&crate::plan::ZoneChange, String, Option<u32>, &'static str)> = Vec::new();
    for z in &created.adopted {
        match served.remove(&name(&z.zone)) {
            Some(Ok(s)) => jobs.push((z, s.text, s.serial, "adopt")),
            Some(Err(e)) => report.failures.push(format!(
                "zone {} is already served by the primary, but its content could not be transferred to adopt it: {e}",
                z.zone
            )),
            None => {}
        }
    }
    for z in plan
        .zones
        .iter()
        .filter(|z| z.action == ZoneAction::Update && !held.contains(&z.zone))
    {
        let old_text = index
            .get(&z.zone)
            .map(|r| r.content.clone())
            .unwrap_or_default();
        jobs.push((z, old_text, z.expected_serial, "update"));
    }
    for (z, old_text, expected, action) in jobs {
        let Some(zone) = desired.zones.get(&z.zone) else {
            report
                .failures
                .push(format!("zone {} is planned but not desired", z.zone));
            continue;
        };
        debug!(zone = %z.zone, action, "sending UPDATE");
        match sender.send(zone, &old_text, expected, action).await {
            Ok(s) => sent.push(s),
            Err(e) => {
                warn!(zone = %z.zone, error = %e, "UPDATE failed");
                report.failures.push(e);
            }
        }
    }
    let (recorded_now, failures) = sender.verify_and_record(&sent).await?;
    report.failures.extend(failures);
    let mut serials: BTreeMap<String, u32> = BTreeMap::new();
    for s in &sent {
        let key = crate::model::ascii(&s.name);
        if !recorded_now.contains(&key) {
            continue;
        }
        serials.insert(key.clone(), s.serial);
        if s.action == "create" {
            report.created.push(key);
        } else {
            report.updated.push(key);
        }
    }
    for z in plan.zones.iter().filter(|z| z.action == ZoneAction::Verify) {
        if let Some(s) = z.new_serial.or(z.expected_serial) {
            serials.entry(z.zone.clone()).or_insert(s);
        }
    }

    // 4. Catalog membership.
    let mut catalog_adds: BTreeMap<String, Vec<Name>> = BTreeMap::new();
    let mut catalog_removes: BTreeMap<String, Vec<Name>> = BTreeMap::new();
    for z in &plan.zones {
        let done = report.created.contains(&z.zone) || report.updated.contains(&z.zone);
        let needs =
            matches!(z.action, ZoneAction::Create | ZoneAction::Verify) || z.old_group.is_some();
        if (done || z.action == ZoneAction::Verify) && needs {
            catalog_adds
                .entry(z.group.clone())
                .or_default()
                .push(name(&z.zone));
        }
        if let (true, Some(old)) = (done, &z.old_group) {
            catalog_removes
                .entry(old.clone())
                .or_default()
                .push(name(&z.zone));
        }
    }
    let recorded_groups = store.groups().await?;
    for (group, zones) in &catalog_adds {
        let targets = catalogs::of_group(&cats, group);
        if let Err(e) = catalogs::edit(&updater, &targets, zones, true).await {
            report.failures.push(e);
        }
    }
    for (group, zones) in &catalog_removes {
        let targets = catalogs::leaving_group(&cats, &recorded_groups, group);
        let targets: Vec<&catalogs::MemberCatalog> = targets.iter().collect();
        if let Err(e) = catalogs::edit(&updater, &targets, zones, false).await {
            report.failures.push(e);
        }
    }

    // 5. Verify every server of each zone's group.
    let mut checks = Vec::new();
    for z in &plan.zones {
        let verify = (z.action == ZoneAction::Verify && !held.contains(&z.zone))
            || report.created.contains(&z.zone)
            || report.updated.contains(&z.zone);
        let (true, Some(serial)) = (verify, serials.get(&z.zone)) else {
            continue;
        };
        checks.push(Check::serves(
            name(&z.zone),
            &primary.name,
            primary.addr,
            *serial,
        ));
        for (server, addr) in group_sockets(config, &z.group) {
            checks.push(Check::serves(name(&z.zone), &server, addr, *serial));
        }
    }
    info!(checks = checks.len(), "verifying every server");
    let outcomes = live::verify(checks, opts.verify_timeout, Duration::from_millis(100)).await;
    let mut health: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    let mut failed_zones = BTreeSet::new();
    for o in &outcomes {
        let entry = health.entry(o.check.server.clone()).or_default();
        if o.ok {
            entry.0 += 1;
        } else {
            let msg = format!(
                "{} did not serve {} serial {} within {} s: it {}",
                o.check.server,
                o.check.zone,
                o.check.serial.unwrap_or(0),
                opts.verify_timeout.as_secs(),
                o.answer.describe()
            );
            warn!("{msg}");
            entry.1.push(msg.clone());
            report.failures.push(msg);
            failed_zones.insert(crate::model::ascii(&o.check.zone));
        }
    }
    let verified: Vec<String> = outcomes
        .iter()
        .map(|o| crate::model::ascii(&o.check.zone))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|z| !failed_zones.contains(z))
        .collect();
    store.set_verified(&verified, true).await?;
    report.verified = verified;

    // 6. Deletions: catalog first, then the primary.
    let deletes: Vec<&crate::plan::ZoneChange> = plan
        .zones
        .iter()
        .filter(|z| z.action == ZoneAction::Delete)
        .collect();
    if !deletes.is_empty() && !opts.allow_delete {
        report.skipped_deletes = deletes.iter().map(|z| z.zone.clone()).collect();
    } else if !deletes.is_empty() {
        let groups = store.groups().await?;
        let mut by_group: BTreeMap<String, Vec<Name>> = BTreeMap::new();
        for z in &deletes {
            by_group
                .entry(z.group.clone())
                .or_default()
                .push(name(&z.zone));
        }
        let mut checks = Vec::new();
        for (group, zones) in &by_group {
            let targets = catalogs::leaving_group(&cats, &groups, group);
            let targets: Vec<&catalogs::MemberCatalog> = targets.iter().collect();
            if let Err(e) = catalogs::edit(&updater, &targets, zones, false).await {
                report.failures.push(e);
            }
            let recorded_secondaries = groups
                .iter()
                .find(|g| &g.name == group)
                .map(|g| g.secondaries.clone())
                .unwrap_or_default();
            for zone in zones {
                for s in recorded_secondaries
                    .iter()
                    .filter_map(|s| config.secondaries.get(s))
                {
                    for addr in s.sockets() {
                        checks.push(Check::refuses(zone.clone(), &s.name, addr));
                    }
                }
            }
        }
        let mut still_served = BTreeSet::new();
        for o in live::verify(checks, opts.verify_timeout, Duration::from_millis(100)).await {
            if !o.ok {
                let msg = format!(
                    "{} still serves {} after its removal from the catalog: it {}",
                    o.check.server,
                    o.check.zone,
                    o.answer.describe()
                );
                health
                    .entry(o.check.server.clone())
                    .or_default()
                    .1
                    .push(msg.clone());
                report.failures.push(msg);
                still_served.insert(crate::model::ascii(&o.check.zone));
            }
        }
        let gone: BTreeSet<String> = deletes
            .iter()
            .map(|z| z.zone.clone())
            .filter(|z| !still_served.contains(z))
            .collect();
        if !gone.is_empty() {
            control
                .write_conf(&stanzas(config, &index, &desired_groups, &gone, &cats))
                .map_err(|e| create::control_error(primary, e))?;
            control
                .reconfig()
                .await
                .map_err(|e| create::control_error(primary, e))?;
            for z in &gone {
                control.remove_zone_files(&name(z));
            }
            let entries: Vec<(String, AuditEntry)> = gone
                .iter()
                .map(|z| {
                    (
                        z.clone(),
                        audit(
                            desired,
                            opts.now,
                            "delete",
                            z,
                            "removed from the catalog and the primary".into(),
                        ),
                    )
                })
                .collect();
            store.delete_zones(&entries).await?;
            report.deleted = gone.into_iter().collect();
        }
    }

    // Staged operations, until one waits at a closed gate.
    report.waiting = operations::drive(&ctx).await?;

    // Server health, then the revision when everything held.
    record_health(store, config, &health, opts.now).await?;
    if report.complete() {
        let rev = AppliedRevision {
            commit_id: desired.revision.id.clone(),
            author: desired.revision.author.clone(),
            summary: desired.revision.summary.clone(),
            applied_at: opts.now,
        };
        let (groups, servers) = fleet_rows(config);
        store.set_applied(&rev, &groups, &servers).await?;
        if !plan.groups.is_empty() {
            let entries: Vec<AuditEntry> = plan
                .groups
                .iter()
                .map(|g| {
                    audit(
                        desired,
                        opts.now,
                        "group",
                        &g.group,
                        format!("secondaries +{:?} -{:?}", g.added, g.removed_secondaries),
                    )
                })
                .collect();
            store.audit(&entries).await?;
        }
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

fn fleet_rows(config: &Config) -> (Vec<GroupRow>, Vec<ServerRow>) {
    let groups = config.groups.values().map(GroupRow::of).collect();
    let mut servers = vec![server_row(
        config,
        &config.primary.name,
        "primary",
        config.primary.addr.to_string(),
        "bind",
    )];
    for s in config.secondaries.values() {
        let addrs: Vec<String> = s.sockets().iter().map(|a| a.to_string()).collect();
        servers.push(server_row(
            config,
            &s.name,
            "secondary",
            addrs.join(" "),
            s.software.as_str(),
        ));
    }
    (groups, servers)
}

fn server_row(
    config: &Config,
    name: &str,
    role: &str,
    address: String,
    software: &str,
) -> ServerRow {
    let groups: Vec<&str> = if role == "primary" {
        config.groups.keys().map(String::as_str).collect()
    } else {
        config
            .groups
            .values()
            .filter(|g| g.secondaries.iter().any(|s| s == name))
            .map(|g| g.name.as_str())
            .collect()
    };
    ServerRow {
        name: name.into(),
        role: role.into(),
        address,
        software: software.into(),
        groups: groups.join(" "),
        last_check_at: None,
        last_state: None,
        last_message: None,
    }
}

async fn record_health(
    store: &Store,
    config: &Config,
    health: &BTreeMap<String, (usize, Vec<String>)>,
    now: i64,
) -> Result<(), StoreError> {
    let (_, servers) = fleet_rows(config);
    for mut s in servers {
        let Some((ok, failures)) = health.get(&s.name) else {
            continue;
        };
        s.last_check_at = Some(now);
        if failures.is_empty() {
            s.last_state = Some("OK".into());
            s.last_message = Some(format!("{ok} check(s) passed"));
        } else {
            s.last_state = Some(if *ok == 0 { "BROKEN" } else { "RETRY" }.into());
            s.last_message = Some(failures[0].clone());
        }
        store.set_server_health(&s).await?;
    }
    Ok(())
}
