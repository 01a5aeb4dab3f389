//! `zonekeeper status`: the apply lock, the primary, each group and server with its zone
//! count and last check, and the last applied revision and who made it. Times in UTC,
//! RFC 3339, in text and JSON (`zonekeeper-status/1`) alike.

use miette::IntoDiagnostic;

use super::plan::open_store;
use super::{Format, Global};
use crate::model::text::utc_opt;
use crate::outln;
use crate::store::lock::{LockInfo, LockState, utc};
use crate::store::{
    AppliedRevision, AuditEntry, DaemonRow, GroupRow, LagRow, LastSweep, OperationRow,
    RecordedZone, ServerRow,
};

fn when(t: Option<i64>) -> String {
    t.map(utc).unwrap_or_else(|| "never".into())
}

/// The lock for people.
fn lock_line(state: &LockState) -> String {
    match state {
        LockState::Free => "Lock: free".into(),
        LockState::Held(i) => format!(
            "Lock: held by {i}. If that apply is gone: `zonekeeper unlock {}`",
            i.lock_id
        ),
        LockState::HeldUnrecorded { session } => {
            format!("Lock: held by PostgreSQL session {session}, which has not recorded its id yet")
        }
        LockState::Stale(i) => {
            format!("Lock: free ({i} is no longer in force; the next apply replaces it)")
        }
    }
}

/// The lock for programs.
fn lock_json(state: &LockState) -> serde_json::Value {
    let info = |state: &str, i: &LockInfo| {
        serde_json::json!({
            "state": state, "lock_id": i.lock_id, "host": i.host, "pid": i.pid,
            "since": utc(i.since), "expires_at": i.expires_at.map(utc), "session": i.session,
        })
    };
    match state {
        LockState::Free => serde_json::json!({"state": "free"}),
        LockState::Held(i) => info("held", i),
        LockState::HeldUnrecorded { session } => {
            serde_json::json!({"state": "held", "session": session})
        }
        LockState::Stale(i) => info("stale", i),
    }
}

/// Runs `status`.
pub async fn run(g: &Global) -> miette::Result<u8> {
    let store = open_store(g).await?;
    let st = Status {
        applied: store.applied_revision().await.into_diagnostic()?,
        zones: store.zone_index().await.into_diagnostic()?,
        groups: store.groups().await.into_diagnostic()?,
        servers: store.servers().await.into_diagnostic()?,
        audit: store.audit_tail(10).await.into_diagnostic()?,
        ops: store.operations(false).await.into_diagnostic()?,
        lock: store.lock_state().await.into_diagnostic()?,
        lags: store.lagging(SHOWN_LAGS).await.into_diagnostic()?,
        sweep: store.last_sweep().await.into_diagnostic()?,
        daemon: store.daemon().await.into_diagnostic()?,
        led: store.led().await.into_diagnostic()?,
    };
    let (drift_count, drifting) = drift(&store).await?;
    store.close().await;
    if g.format == Format::Json {
        let mut shown = st.json();
        shown["drift"] = serde_json::json!({"zones": drift_count, "first": drifting});
        outln!("{shown}")?;
        return Ok(0);
    }
    st.print_summary()?;
    print_drift(drift_count, &drifting)?;
    st.print_fleet()?;
    st.print_lags()?;
    print_operations(&st.ops)?;
    print_next(&st.ops)?;
    print_audit(&st.audit)?;
    Ok(0)
}

/// How many zones drift, and the first [`DRIFT_SHOWN`] of them.
async fn drift(store: &crate::store::Store) -> miette::Result<(usize, Vec<String>)> {
    let count = store.drift_count().await.into_diagnostic()?;
    let rows = store.drifts(Some(DRIFT_SHOWN)).await.into_diagnostic()?;
    Ok((count, rows.into_iter().map(|r| r.name).collect()))
}

/// How many drifting zones `status` names.
const DRIFT_SHOWN: usize = 20;

fn print_drift(count: usize, zones: &[String]) -> miette::Result<()> {
    if count == 0 {
        return outln!("Drift: none found");
    }
    let more = count.saturating_sub(zones.len());
    let more = if more > 0 {
        format!(", … and {more} more")
    } else {
        String::new()
    };
    outln!(
        "Drift: {count} zone(s) served other than recorded: {}{more} (`zonekeeper plan` shows each record by record)",
        zones.join(", ")
    )
}

/// What the store says, as `status` shows it.
struct Status {
    applied: Option<AppliedRevision>,
    zones: Vec<RecordedZone>,
    groups: Vec<GroupRow>,
    servers: Vec<ServerRow>,
    audit: Vec<AuditEntry>,
    ops: Vec<OperationRow>,
    lock: LockState,
    /// The first lagging zones, and how many there are.
    lags: (Vec<LagRow>, i64),
    sweep: Option<LastSweep>,
    /// What the leading daemon last said of itself, and whether one leads now.
    daemon: Option<DaemonRow>,
    led: bool,
}

impl Status {
    /// The daemon for people: who leads, and when it looks again.
    fn daemon_line(&self) -> String {
        match (&self.daemon, self.led) {
            (Some(d), true) => format!(
                "Daemon: leads on host {} (pid {}) since {}; last awake {}, looking at {}; next look by {}, next sweep {}",
                d.host,
                d.pid,
                utc(d.since),
                utc(d.seen_at),
                &d.revision[..d.revision.len().min(12)],
                utc(d.next_wake),
                utc(d.next_sweep)
            ),
            (Some(d), false) => format!(
                "Daemon: none leads (the last, on host {} pid {}, was last awake {}); changes wait for `zonekeeper apply` or a daemon",
                d.host,
                d.pid,
                utc(d.seen_at)
            ),
            (None, true) => "Daemon: one leads, and has not recorded itself yet".into(),
            (None, false) => "Daemon: none (`zonekeeper watch` runs one)".into(),
        }
    }

    fn daemon_json(&self) -> serde_json::Value {
        serde_json::json!({
            "leads": self.led,
            "host": self.daemon.as_ref().map(|d| &d.host),
            "pid": self.daemon.as_ref().map(|d| d.pid),
            "since": self.daemon.as_ref().map(|d| utc(d.since)),
            "seen_at": self.daemon.as_ref().map(|d| utc(d.seen_at)),
            "revision": self.daemon.as_ref().map(|d| &d.revision),
            "next_wake": self.daemon.as_ref().map(|d| utc(d.next_wake)),
            "next_sweep": self.daemon.as_ref().map(|d| utc(d.next_sweep)),
        })
    }
}

/// The JSON format this version writes.
pub const FORMAT: &str = "zonekeeper-status/1";

/// How many lagging zones `status` lists.
const SHOWN_LAGS: i64 = 20;

/// A server's state for people: maintenance first, then the last check's verdict.
fn state_of(s: &ServerRow) -> String {
    match (s.maintenance_since, &s.last_state) {
        (Some(t), _) => format!("MAINTENANCE since {}", utc(t)),
        (None, Some(state)) => format!(
            "{state}{}",
            s.state_since
                .map(|t| format!(" since {}", utc(t)))
                .unwrap_or_default()
        ),
        (None, None) => "UNCHECKED".into(),
    }
}

impl Status {
    /// How many recorded zones `group` has.
    fn count(&self, group: &str) -> usize {
        self.zones.iter().filter(|z| z.group == group).count()
    }

    /// How many zones a secondary of these groups (space-separated) serves.
    fn server_zones(&self, groups_of: &str) -> usize {
        groups_of.split_whitespace().map(|g| self.count(g)).sum()
    }

    fn json(&self) -> serde_json::Value {
        let (applied, zones, groups, servers, ops, lock) = (
            &self.applied,
            &self.zones,
            &self.groups,
            &self.servers,
            &self.ops,
            &self.lock,
        );
        let count = |group: &str| self.count(group);
        let server_zones = |groups_of: &str| self.server_zones(groups_of);
        serde_json::json!({
            "format": FORMAT,
            "lock": lock_json(lock),
            "daemon": self.daemon_json(),
            "applied_revision": applied.as_ref().map(|a| serde_json::json!({"commit": a.commit_id, "author": a.author, "summary": a.summary, "applied_at": utc(a.applied_at)})),
            "zones": zones.len(),
            "unverified": zones.iter().filter(|z| !z.verified).map(|z| &z.name).collect::<Vec<_>>(),
            "groups": groups.iter().map(|gr| serde_json::json!({"name": gr.name, "catalog": gr.catalog, "secondaries": gr.secondaries, "nameservers": gr.nameservers, "zones": count(&gr.name)})).collect::<Vec<_>>(),
            "operations": ops.iter().map(|o| serde_json::json!({"id": o.id, "kind": o.kind, "group": o.group, "server": o.server, "zones": o.zones.len(), "revision": o.revision, "steps": o.steps.iter().map(|s| serde_json::json!({"step": s.idx, "name": s.name, "state": s.state, "attempts": s.attempts, "not_before": utc_opt(s.not_before), "message": s.message})).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            "servers": servers.iter().map(|s| serde_json::json!({
                "name": s.name, "role": s.role, "address": s.address, "software": s.software,
                "zones": if s.role == "primary" { zones.len() } else { server_zones(&s.groups) },
                "last_check_at": utc_opt(s.last_check_at), "state": s.last_state, "state_since": utc_opt(s.state_since),
                "message": s.last_message, "zones_served": s.zones_served, "zones_lagging": s.zones_lagging,
                "maintenance_since": utc_opt(s.maintenance_since),
            })).collect::<Vec<_>>(),
            "lagging": {"total": self.lags.1, "first": self.lags.0.iter().map(|l| serde_json::json!({
                "zone": l.zone, "server": l.server, "expected": l.expected, "served": l.served,
                "since": utc(l.since), "detail": l.detail,
            })).collect::<Vec<_>>()},
            "last_sweep": self.sweep.as_ref().map(|w| serde_json::json!({
                "started_at": utc(w.started_at), "duration_ms": w.duration_ms, "zones": w.zones, "queries": w.queries,
            })),
            "next": next_steps(ops).iter().map(|(at, what)| serde_json::json!({"at": utc_opt(*at), "what": what})).collect::<Vec<_>>(),
        })
    }

    fn print_summary(&self) -> miette::Result<()> {
        let (applied, zones, lock) = (&self.applied, &self.zones, &self.lock);
        match &applied {
            Some(a) => outln!(
                "Applied revision {} \"{}\" by {} at {}",
                &a.commit_id[..a.commit_id.len().min(12)],
                a.summary,
                a.author,
                when(Some(a.applied_at))
            )?,
            None => outln!("Nothing applied yet.")?,
        }
        outln!("{}", lock_line(lock))?;
        outln!("{}", self.daemon_line())?;
        let unverified = zones.iter().filter(|z| !z.verified).count();
        outln!(
            "Zones: {} recorded, {} not yet verified on every server",
            zones.len(),
            unverified
        )?;
        Ok(())
    }

    fn print_fleet(&self) -> miette::Result<()> {
        let (zones, groups, servers) = (&self.zones, &self.groups, &self.servers);
        let count = |group: &str| self.count(group);
        let server_zones = |groups_of: &str| self.server_zones(groups_of);
        for s in servers.iter().filter(|s| s.role == "primary") {
            outln!(
                "\nPrimary {} {} ({} zones): {}{}",
                s.name,
                s.address,
                zones.len(),
                state_of(s),
                s.last_message
                    .as_deref()
                    .map(|m| format!(" — {m} (checked {})", when(s.last_check_at)))
                    .unwrap_or_default()
            )?;
        }
        for gr in groups {
            outln!(
                "\nGroup {} (catalogs <secondary>.{}): {} zones, NS {}",
                gr.name,
                gr.catalog,
                count(&gr.name),
                gr.nameservers.join(" ")
            )?;
            let members: Vec<&ServerRow> = servers
                .iter()
                .filter(|s| {
                    s.role == "secondary" && s.groups.split_whitespace().any(|x| x == gr.name)
                })
                .collect();
            let rows: Vec<Vec<String>> = members
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        s.address.clone(),
                        s.software.clone(),
                        server_zones(&s.groups).to_string(),
                        s.zones_lagging.map(|n| n.to_string()).unwrap_or_default(),
                        state_of(s),
                    ]
                })
                .collect();
            if !rows.is_empty() {
                let header = [
                    "SECONDARY",
                    "ADDRESS",
                    "SOFTWARE",
                    "ZONES",
                    "LAGGING",
                    "STATE",
                ];
                crate::out!("{}", super::table::render(&header, &rows, &[3, 4], 2))?;
            }
            for s in members {
                if let Some(m) = &s.last_message {
                    outln!("  {} last check {}: {m}", s.name, when(s.last_check_at))?;
                }
            }
        }
        Ok(())
    }
}

impl Status {
    fn print_lags(&self) -> miette::Result<()> {
        match &self.sweep {
            Some(w) => outln!(
                "\nLast sweep: {}, {} zone(s), {} question(s) in {:.1} s.",
                utc(w.started_at),
                w.zones,
                w.queries,
                w.duration_ms as f64 / 1000.0
            )?,
            None => outln!("\nNo sweep yet: `zonekeeper check` runs one.")?,
        }
        let (lags, total) = &self.lags;
        if *total > 0 {
            outln!("Lagging zones ({total}, oldest first):")?;
            let rows: Vec<Vec<String>> = lags
                .iter()
                .map(|l| {
                    let (zone, server) = (l.zone.clone(), l.server.clone());
                    vec![zone, server, utc(l.since), l.detail.clone()]
                })
                .collect();
            let header = ["ZONE", "SERVER", "SINCE", "DETAIL"];
            crate::out!("{}", super::table::render(&header, &rows, &[], 2))?;
            if *total > lags.len() as i64 {
                outln!(
                    "  … and {} more (`zonekeeper check --format json` lists them all)",
                    *total - lags.len() as i64
                )?;
            }
        }
        Ok(())
    }
}

/// What happens next and when: each operation step waiting for a time, soonest first,
/// and each waiting for an operator.
fn next_steps(ops: &[OperationRow]) -> Vec<(Option<i64>, String)> {
    let mut next: Vec<(Option<i64>, String)> = ops
        .iter()
        .filter_map(|o| {
            let s = o.steps.iter().find(|s| s.state != "done")?;
            let what = format!("op {} step {} ({}): {}", o.id, s.idx, s.name, s.message);
            Some((s.not_before, what))
        })
        .collect();
    next.sort_by_key(|(at, _)| at.unwrap_or(i64::MAX));
    next
}

fn print_next(ops: &[OperationRow]) -> miette::Result<()> {
    let next = next_steps(ops);
    if !next.is_empty() {
        outln!("\nNext:")?;
        for (at, what) in next {
            match at {
                Some(t) => outln!("  at {}  {what}", utc(t))?,
                None => outln!("  when the next apply runs  {what}")?,
            }
        }
    }
    Ok(())
}

fn print_operations(ops: &[OperationRow]) -> miette::Result<()> {
    if !ops.is_empty() {
        outln!("\nOperations:")?;
        for o in ops {
            outln!(
                "  op {} {} {} in group {} ({} zones, from {})",
                o.id,
                o.kind,
                o.server,
                o.group,
                o.zones.len(),
                &o.revision[..o.revision.len().min(12)]
            )?;
            let rows: Vec<Vec<String>> = o
                .steps
                .iter()
                .map(|s| {
                    let until = s.not_before.filter(|_| s.state != "done");
                    vec![
                        s.idx.to_string(),
                        s.name.clone(),
                        s.state.clone(),
                        until.map(utc).unwrap_or_default(),
                        s.message.clone(),
                    ]
                })
                .collect();
            let header = ["STEP", "NAME", "STATE", "UNTIL", "LAST MESSAGE"];
            crate::out!("{}", super::table::render(&header, &rows, &[0], 4))?;
        }
    }
    Ok(())
}

fn print_audit(audit: &[AuditEntry]) -> miette::Result<()> {
    if !audit.is_empty() {
        outln!("\nRecent changes:")?;
        let rows: Vec<Vec<String>> = audit
            .iter()
            .map(|e| {
                vec![
                    utc(e.at),
                    e.action.clone(),
                    e.target.clone(),
                    e.detail.clone(),
                    e.commit_id[..e.commit_id.len().min(12)].to_string(),
                    e.author.clone(),
                ]
            })
            .collect();
        let header = ["AT", "ACTION", "TARGET", "DETAIL", "COMMIT", "AUTHOR"];
        crate::out!("{}", super::table::render(&header, &rows, &[], 2))?;
    }
    Ok(())
}
