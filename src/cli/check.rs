//! `zonekeeper check`: one sweep of the fleet now. Every server is asked for the SOA of
//! each of its zones; each is judged OK, RETRY or BROKEN, the zones it lags on are
//! recorded, and the verdict is printed (and shown by `status` since). Exit 0 when every
//! server asked is OK, 2 when one is not, 1 when the sweep could not run.

use miette::IntoDiagnostic;

use super::plan::open_store;
use super::{Format, Global};
use crate::health::{self, SweepOutcome};
use crate::live::batch::BatchOptions;
use crate::outln;

/// The format of check's JSON (schema/output/check.schema.json).
pub const FORMAT: &str = "zonekeeper-check/1";

/// Options of `check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Questions in flight at once per server address.
    #[arg(long, default_value_t = 128)]
    pub window: usize,
    /// Milliseconds an answer is waited for before the question is asked again (once).
    #[arg(long, default_value_t = 1000)]
    pub timeout_ms: u64,
}

/// How many lagging zones the text output lists.
const SHOWN_LAGS: usize = 20;

/// Runs `check`.
pub async fn run(g: &Global, args: &CheckArgs) -> miette::Result<u8> {
    let store = open_store(g).await?;
    let opts = BatchOptions {
        window: args.window.max(1),
        timeout: std::time::Duration::from_millis(args.timeout_ms.max(1)),
        ..BatchOptions::default()
    };
    let outcome = health::sweep(&store, &opts, super::plan::now(), &[]).await;
    store.close().await;
    let outcome = outcome.into_diagnostic()?;
    if g.format == Format::Json {
        let mut shown = json(&outcome);
        shown["format"] = FORMAT.into();
        outln!("{shown}")?;
    } else {
        print(&outcome)?;
    }
    Ok(if outcome.all_ok() { 0 } else { 2 })
}

/// The sweep for programs.
pub fn json(o: &SweepOutcome) -> serde_json::Value {
    let r = &o.record;
    serde_json::json!({
        "started_at": crate::store::lock::utc(r.started_at),
        "duration_ms": r.duration_ms,
        "zones": r.zones,
        "queries": r.queries,
        "ok": o.all_ok(),
        "servers": r.servers.iter().map(|s| serde_json::json!({
            "name": s.name, "state": s.state, "message": s.message,
            "zones_served": s.served, "zones_lagging": s.lagging,
        })).collect::<Vec<_>>(),
        "maintenance": o.in_maintenance,
        "lagging": r.lags.iter().map(|l| serde_json::json!({
            "zone": l.zone, "server": l.server, "expected": l.expected,
            "served": l.served, "detail": l.detail,
        })).collect::<Vec<_>>(),
    })
}

/// The sweep for people: a line per server, then the first lagging zones.
fn print(o: &SweepOutcome) -> miette::Result<()> {
    let r = &o.record;
    outln!(
        "Checked {} zone(s) on {} server(s): {} question(s) in {:.1} s.",
        r.zones,
        r.servers.len(),
        r.queries,
        r.duration_ms as f64 / 1000.0
    )?;
    for s in &r.servers {
        outln!("  {:<12} {:<7} {}", s.name, s.state, s.message)?;
    }
    for m in &o.in_maintenance {
        outln!("  {m:<12} MAINT   in maintenance: not asked")?;
    }
    if !r.lags.is_empty() {
        outln!("\nLagging zones ({}):", r.lags.len())?;
        for l in r.lags.iter().take(SHOWN_LAGS) {
            outln!("  {:<32} {:<12} {}", l.zone, l.server, l.detail)?;
        }
        if r.lags.len() > SHOWN_LAGS {
            outln!(
                "  … and {} more, all of them in `--format json`",
                r.lags.len() - SHOWN_LAGS
            )?;
        }
    }
    Ok(())
}
