//! `zonekeeper drift [--zone ZONE ...]`: transfers the zones (all recorded zones, or those
//! named) from the primary now, compares each with what the store recorded, writes what
//! it found to the store's drift table, and prints the drift record by record with the
//! two ways out. Read-only towards the servers (transfers only), so the apply lock is not
//! taken. Exit 0 no drift, 2 drift found, 1 error (a zone that could not be checked
//! included). Also the drift sections `plan` and `status` print from the store.

use miette::IntoDiagnostic;

use super::plan::{now, open_store};
use super::{Format, Global};
use crate::apply::effects::Connector;
use crate::backend::seam::Sender;
use crate::desired::{self, Source};
use crate::drift::{self, DriftChange, ZoneCheck};
use crate::model::Config;
use crate::outln;
use crate::store::DriftRow;

/// Exit code when drift is found (as `plan --detailed-exitcode` exits with changes).
pub const DRIFT: u8 = 2;

/// The format of drift's JSON (schema/output/drift.schema.json).
pub const FORMAT: &str = "zonekeeper-drift/1";

/// Options of `drift`.
#[derive(Debug, clap::Args)]
pub struct DriftArgs {
    /// Check only this zone (repeatable); every recorded zone when none is named.
    #[arg(long = "zone", value_name = "ZONE")]
    pub zones: Vec<String>,
}

/// The configuration at `--rev` (or the work tree), for the primary and its key; problems
/// are printed and `Err(exit code)` returned.
pub fn config(g: &Global) -> miette::Result<Result<(Source, Config), u8>> {
    let source = Source::open(&g.repo, Some(&g.rev), g.worktree).into_diagnostic()?;
    let mut problems = Vec::new();
    let config = desired::load_config(&source, &mut problems).into_diagnostic()?;
    match config {
        Some(c) if problems.is_empty() => Ok(Ok((source, c))),
        _ => {
            let problems = desired::Problems(problems);
            super::validate::report_problems(g.format, &source.revision().id, &problems)?;
            Ok(Err(super::validate::INVALID))
        }
    }
}

/// A TSIG-signed connection to the primary of `config` (transfers only here).
pub async fn connect(config: &Config) -> miette::Result<Box<dyn Sender>> {
    crate::apply::effects::Bind
        .sender(config.primary.addr, &config.primary.tsig)
        .await
        .map_err(|e| {
            miette::miette!(
                help = "check that the primary runs and allows zone transfers with zonekeeper's TSIG key",
                "cannot reach the primary {} at {}: {e}",
                config.primary.name,
                config.primary.addr
            )
        })
}

/// Runs `drift`.
pub async fn run(g: &Global, args: &DriftArgs) -> miette::Result<u8> {
    let (_, config) = match config(g)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = open_store(g).await?;
    let sender = connect(&config).await?;
    let names: Vec<String> = args
        .zones
        .iter()
        .map(|z| drift::resolve::normalize(z))
        .collect();
    let report = if names.is_empty() {
        drift::check_all(&store, sender.as_ref(), now()).await
    } else {
        drift::check(&store, sender.as_ref(), &names, now()).await
    };
    store.close().await;
    let report = report.into_diagnostic()?;
    let drifting: Vec<&drift::Drift> = report.drifting().collect();
    let failed: Vec<(&str, &str)> = report.failed().collect();
    if g.format == Format::Json {
        outln!(
            "{}",
            serde_json::json!({
                "format": FORMAT,
                "checked": report.zones.len(),
                "drift": drifting.iter().map(|d| drift_json(&d.zone, d.served_serial, d.recorded_serial, None, &d.changes)).collect::<Vec<_>>(),
                "landed": report.zones.iter().filter_map(|z| match z { ZoneCheck::Landed(n) => Some(n), _ => None }).collect::<Vec<_>>(),
                "failed": failed.iter().map(|(z, m)| serde_json::json!({"zone": z, "message": m})).collect::<Vec<_>>(),
            })
        )?;
    } else {
        for d in &drifting {
            outln!(
                "{}",
                drift_text(&d.zone, d.served_serial, d.recorded_serial, &d.changes)
            )?;
        }
        for (z, m) in &failed {
            eprintln!("error: zone {z} could not be checked: {m}");
        }
        outln!(
            "{} zone(s) checked: {} drift, {} could not be checked.",
            report.zones.len(),
            drifting.len(),
            failed.len()
        )?;
    }
    Ok(if !failed.is_empty() {
        1
    } else if drifting.is_empty() {
        0
    } else {
        DRIFT
    })
}

/// How to resolve a zone's drift, both ways.
pub fn ways_out(zone: &str) -> [String; 2] {
    [
        format!("put the desired state back: zonekeeper apply --overwrite-drift {zone}"),
        format!(
            "or keep what the primary serves: zonekeeper import --zone {zone} --from-primary, then review and commit"
        ),
    ]
}

/// One zone's drift for people: serials, then record by record, then the ways out.
pub fn drift_text(
    zone: &str,
    served: Option<u32>,
    recorded: u32,
    changes: &[DriftChange],
) -> String {
    let served = served.map(|s| s.to_string()).unwrap_or("none".into());
    let mut out = format!(
        "Drift in {zone}: the primary serves serial {served}, recorded {recorded}; changed outside zonekeeper (- recorded, no longer served; + served, never recorded):\n"
    );
    let records = drift::text(changes, "    ");
    if records.is_empty() {
        out.push_str("    (the same records: only the serial moved)\n");
    }
    out.push_str(&records);
    for w in ways_out(zone) {
        out.push_str(&format!("  To resolve it, {w}\n"));
    }
    out
}

/// One zone's drift for programs.
pub fn drift_json(
    zone: &str,
    served: Option<u32>,
    recorded: u32,
    detected_at: Option<i64>,
    changes: &[DriftChange],
) -> serde_json::Value {
    serde_json::json!({
        "zone": zone,
        "served_serial": served,
        "recorded_serial": recorded,
        "detected_at": detected_at.map(crate::store::lock::utc),
        "changes": changes,
        "resolve": ways_out(zone),
    })
}

/// The drift rows of the store for people (`plan`): each zone record by record.
pub fn rows_text(rows: &[DriftRow]) -> String {
    let mut out = format!(
        "\nDrift: {} zone(s) served by the primary other than recorded (as last checked by `zonekeeper drift` or the sweep; apply refuses them until resolved):\n\n",
        rows.len()
    );
    for r in rows {
        out.push_str(&format!(
            "(found {}) ",
            crate::store::lock::utc(r.detected_at)
        ));
        out.push_str(&drift_text(
            &r.name,
            r.served_serial,
            r.recorded_serial,
            &drift::decode(&r.changes),
        ));
        out.push('\n');
    }
    out
}

/// The drift rows of the store for programs.
pub fn rows_json(rows: &[DriftRow]) -> serde_json::Value {
    serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                drift_json(
                    &r.name,
                    r.served_serial,
                    r.recorded_serial,
                    Some(r.detected_at),
                    &drift::decode(&r.changes),
                )
            })
            .collect(),
    )
}

/// The drift the store records, as `plan` shows it (never asking the servers): the zones
/// that drift, and those whose drift the desired state resolved (it now holds what the
/// primary serves: an `import`, committed), which the next apply records.
pub struct Recorded {
    /// Drifting zones, unresolved.
    pub rows: Vec<DriftRow>,
    /// Zones whose drift the desired state resolved.
    pub accepted: Vec<String>,
}

impl Recorded {
    /// Reads the store's drift rows and sorts them against `desired`.
    pub async fn read(
        store: &crate::store::Store,
        desired: &crate::desired::DesiredState,
    ) -> miette::Result<Recorded> {
        let all = store.drifts(None).await.into_diagnostic()?;
        let accepted: Vec<String> = drift::resolve::accepted(&all, desired, &[])
            .into_iter()
            .map(|r| r.name.clone())
            .collect();
        let rows = all
            .into_iter()
            .filter(|r| !accepted.contains(&r.name))
            .collect();
        Ok(Recorded { rows, accepted })
    }

    /// Whether apply has anything to do about drift (resolve or record).
    pub fn any(&self) -> bool {
        !self.rows.is_empty() || !self.accepted.is_empty()
    }

    /// For people.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if !self.rows.is_empty() {
            out.push_str(&rows_text(&self.rows));
        }
        if !self.accepted.is_empty() {
            out.push_str(&format!(
                "\nDrift resolved in the desired state: {} zone(s) now desired as the primary serves them; apply records them (nothing sent): {}\n",
                self.accepted.len(),
                crate::plan::render::zone_list(&self.accepted)
            ));
        }
        out
    }

    /// For programs.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({"zones": rows_json(&self.rows), "resolved_in_desired_state": self.accepted})
    }
}

/// What `apply` does about drift before it asks: the zones of `--overwrite-drift` (each
/// transferred, and an error before anything is sent when one does not drift) shown in
/// the plan as updates from what the primary serves; and the zones whose drift the
/// desired state resolved, recorded as served (nothing sent), after which the plan is made
/// again. Returns the plan and the zones to rebase once the operator approved.
pub async fn before_apply(
    g: &Global,
    store: &crate::store::Store,
    prepared: super::plan::Prepared,
    overwrite: &[String],
    at: (&str, u32, i64, crate::plan::Detail),
) -> miette::Result<Result<(super::plan::Prepared, Vec<drift::resolve::Rebase>), u8>> {
    use drift::resolve::{self, Why};
    let (rev, today, now, detail) = at;
    let mut prepared = prepared;
    let rows = store.drifts(None).await.into_diagnostic()?;
    let accepted = resolve::accepted(&rows, &prepared.desired, overwrite);
    if overwrite.is_empty() && accepted.is_empty() {
        return Ok(Ok((prepared, Vec::new())));
    }
    let sender = connect(&prepared.desired.config).await?;
    load_zones(g, rev, &mut prepared.desired, overwrite)?;
    let desired = &prepared.desired;
    let rebases = resolve::inspect(store, sender.as_ref(), overwrite, &accepted, desired, now)
        .await
        .into_diagnostic()?;
    let (overwrites, accepted): (Vec<_>, Vec<_>) =
        rebases.into_iter().partition(|r| r.why == Why::Overwrite);
    if !accepted.is_empty() {
        resolve::rebase(store, &accepted, &prepared.desired, now)
            .await
            .into_diagnostic()?;
        let names: Vec<String> = accepted.iter().map(|r| r.recorded.name.clone()).collect();
        eprintln!(
            "Drift resolved in the desired state, recorded as the primary serves it (nothing sent): {}",
            crate::plan::render::zone_list(&names)
        );
        prepared = match super::plan::prepare(g, store, rev, today, &crate::live::Network, detail)
            .await?
        {
            Ok(p) => p,
            Err(code) => return Ok(Err(code)),
        };
        load_zones(g, rev, &mut prepared.desired, overwrite)?;
    }
    resolve::overwrite_in_plan(&mut prepared.plan, &prepared.desired, &overwrites, today);
    for r in &overwrites {
        eprintln!(
            "Overwriting drift in {}: the primary serves serial {}, changed outside zonekeeper; the plan below puts the desired state back.",
            r.recorded.name,
            r.served
                .serial
                .map(|s| s.to_string())
                .unwrap_or("none".into())
        );
    }
    Ok(Ok((prepared, overwrites)))
}

/// Loads the zones of `names` the desired state holds but did not read (their files did
/// not change since the applied revision).
fn load_zones(
    g: &Global,
    rev: &str,
    desired: &mut crate::desired::DesiredState,
    names: &[String],
) -> miette::Result<()> {
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !desired.zones.contains_key(*n))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let source = Source::open(&g.repo, Some(rev), false).into_diagnostic()?;
    for name in missing {
        let mut problems = Vec::new();
        if let Some(z) =
            desired::load_zone(&source, &desired.config, name, &mut problems).into_diagnostic()?
        {
            desired.zones.insert(name.clone(), z);
        }
    }
    Ok(())
}

/// Zones whose drift the desired state resolved (it holds what the primary serves) are
/// planned from what the primary serves: their index entries take the served content's
/// hash and serial, so the plan shows no change to send for them (apply records them).
pub async fn as_served(
    store: &crate::store::Store,
    desired: &crate::desired::DesiredState,
    index: &mut std::collections::BTreeMap<String, crate::store::RecordedZone>,
) -> miette::Result<()> {
    let rows = store.drifts(None).await.into_diagnostic()?;
    for r in drift::resolve::accepted(&rows, desired, &[]) {
        if let (Some(z), Some(d)) = (index.get_mut(&r.name), desired.zones.get(&r.name)) {
            z.content_hash = d.content_hash();
            z.serial = r.served_serial.unwrap_or(z.serial);
        }
    }
    Ok(())
}
