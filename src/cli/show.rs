//! `zonekeeper show zone NAME`: one zone as desired, as recorded and as each server really
//! serves it, with the operations that concern it.

use std::time::Duration;

use clap::Subcommand;
use hickory_proto::rr::Name;
use miette::IntoDiagnostic;

use super::plan::open_store;
use super::{Format, Global};
use crate::desired::{self, Source};
use crate::live::{self, Transport};
use crate::outln;

/// What to show.
#[derive(Debug, Subcommand)]
pub enum ShowCommand {
    /// A zone: desired, recorded and live serial per server, and its operations.
    Zone {
        /// The zone's name.
        name: String,
    },
}

/// Runs `show`.
pub async fn run(g: &Global, cmd: &ShowCommand) -> miette::Result<u8> {
    let ShowCommand::Zone { name } = cmd;
    let zone = format!("{}.", name.trim_end_matches('.')).to_lowercase();
    let zname = Name::from_ascii(&zone).into_diagnostic()?;
    let source = Source::open(&g.repo, Some(&g.rev), g.worktree).into_diagnostic()?;
    let mut problems = Vec::new();
    let config = desired::load_config(&source, &mut problems).into_diagnostic()?;
    let desired_zone = match &config {
        Some(c) => desired::load_zone(&source, c, &zone, &mut problems).into_diagnostic()?,
        None => None,
    };
    let store = open_store(g).await?;
    let recorded = store.zone(&zone).await.into_diagnostic()?;
    let ops: Vec<_> = store
        .operations(false)
        .await
        .into_diagnostic()?
        .into_iter()
        .filter(|o| o.zones.contains(&zone))
        .collect();
    store.close().await;

    let group = desired_zone
        .as_ref()
        .map(|z| z.group.clone())
        .or_else(|| recorded.as_ref().map(|r| r.group.clone()));
    let mut servers: Vec<(String, std::net::SocketAddr)> = Vec::new();
    if let Some(c) = &config {
        servers.push((c.primary.name.clone(), c.primary.addr));
        if let Some(g) = &group {
            for s in c.group_secondaries(g) {
                servers.extend(s.sockets().into_iter().map(|a| (s.name.clone(), a)));
            }
        }
    }
    let mut live_rows = Vec::new();
    for (server, addr) in &servers {
        let answer = live::soa(*addr, &zname, Transport::Udp, Duration::from_secs(1)).await;
        live_rows.push((server.clone(), *addr, answer));
    }
    let desired_hash = desired_zone.as_ref().map(|z| z.content_hash());
    let in_sync = match (&desired_hash, &recorded) {
        (Some(h), Some(r)) => Some(*h == r.content_hash),
        _ => None,
    };
    if g.format == Format::Json {
        outln!(
            "{}",
            serde_json::json!({
                "zone": zone,
                "group": group,
                "desired": desired_zone.as_ref().map(|z| serde_json::json!({"revision": source.revision().id, "rrsets": z.rrsets.len(), "content_hash": z.content_hash()})),
                "recorded": recorded.as_ref().map(|r| serde_json::json!({"serial": r.serial, "verified": r.verified, "commit": r.commit_id, "content_hash": r.content_hash})),
                "in_sync": in_sync,
                "live": live_rows.iter().map(|(s, a, ans)| serde_json::json!({"server": s, "address": a.to_string(), "answer": ans.describe(), "serial": match ans { live::SoaAnswer::Serves { serial } => Some(*serial), _ => None }})).collect::<Vec<_>>(),
                "operations": ops.iter().map(|o| serde_json::json!({"id": o.id, "kind": o.kind, "server": o.server})).collect::<Vec<_>>(),
            })
        )?;
        return Ok(0);
    }
    outln!("Zone {zone} (group {})", group.as_deref().unwrap_or("-"))?;
    match &desired_zone {
        Some(z) => outln!(
            "  desired   revision {}: {} RRsets{}",
            &source.revision().id[..source.revision().id.len().min(12)],
            z.rrsets.len(),
            match in_sync {
                Some(true) => ", as recorded",
                Some(false) => ", differs from what is recorded: `zonekeeper plan` shows how",
                None => "",
            }
        )?,
        None if problems.is_empty() => outln!("  desired   not in this revision")?,
        None => outln!("  desired   invalid in this revision: `zonekeeper validate` tells why")?,
    }
    match &recorded {
        Some(r) => outln!(
            "  recorded  serial {}, {} every server, from commit {}",
            r.serial,
            if r.verified {
                "seen on"
            } else {
                "not yet seen on"
            },
            &r.commit_id[..r.commit_id.len().min(12)]
        )?,
        None => outln!("  recorded  not applied")?,
    }
    outln!("  live")?;
    for (server, addr, answer) in &live_rows {
        let note = match (answer, &recorded) {
            (live::SoaAnswer::Serves { serial }, Some(r)) if *serial != r.serial => {
                "  (differs from the recorded serial)"
            }
            _ => "",
        };
        outln!(
            "    {server:<12} {:<22} {}{note}",
            addr.to_string(),
            answer.describe()
        )?;
    }
    for o in &ops {
        let current = o.steps.iter().find(|s| s.state != "done");
        outln!(
            "  op {} {} {}: {}",
            o.id,
            o.kind,
            o.server,
            current
                .map(|s| format!("step {} {} {} — {}", s.idx, s.name, s.state, s.message))
                .unwrap_or_else(|| "finishing".into())
        )?;
    }
    Ok(0)
}
