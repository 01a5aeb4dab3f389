//! `watch --metrics ADDR`: the daemon's figures in the Prometheus text exposition format
//! (version 0.0.4), served over HTTP at `/metrics`. The figures are read from the store
//! after every pass and sweep, so a standby daemon shows the fleet as the leader left it.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `zonekeeper_leader` | gauge | 1 while this daemon leads |
//! | `zonekeeper_servers{state}` | gauge | servers by state: OK, RETRY, BROKEN, MAINTENANCE, UNCHECKED |
//! | `zonekeeper_zones` | gauge | zones recorded |
//! | `zonekeeper_zones_lagging` | gauge | (zone, server) pairs not served at the expected serial |
//! | `zonekeeper_operations_waiting` | gauge | staged operations under way |
//! | `zonekeeper_last_apply_timestamp_seconds` | gauge | when a revision was last recorded as applied |
//! | `zonekeeper_passes_total{outcome}` | counter | passes: applied, waiting, failed, invalid-or-unchanged |
//! | `zonekeeper_sweep_duration_seconds` | gauge | how long the last sweep took |
//! | `zonekeeper_last_sweep_timestamp_seconds` | gauge | when it ran |

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::store::{Store, StoreError};

/// The figures, as last read.
#[derive(Debug, Default)]
pub struct Figures {
    leader: bool,
    servers: BTreeMap<String, u64>,
    zones: u64,
    lagging: i64,
    operations: u64,
    last_apply: Option<i64>,
    passes: BTreeMap<&'static str, u64>,
    sweep_seconds: Option<f64>,
    last_sweep: Option<i64>,
}

/// The figures, shared between the daemon and the server.
pub type Shared = Arc<Mutex<Figures>>;

/// Reads the figures from `store` into `shared`.
pub async fn refresh(shared: &Shared, store: &Store, leader: bool) -> Result<(), StoreError> {
    let servers = store.servers().await?;
    let zones = store.zone_index().await?.len() as u64;
    let (_, lagging) = store.lagging(0).await?;
    let operations = store.operations(false).await?.len() as u64;
    let last_apply = store.applied_revision().await?.map(|a| a.applied_at);
    let sweep = store.last_sweep().await?;
    let mut by_state: BTreeMap<String, u64> = ["OK", "RETRY", "BROKEN", "MAINTENANCE", "UNCHECKED"]
        .iter()
        .map(|s| (s.to_string(), 0))
        .collect();
    for s in &servers {
        let state = match (s.maintenance_since, &s.last_state) {
            (Some(_), _) => "MAINTENANCE".to_string(),
            (None, Some(st)) => st.clone(),
            (None, None) => "UNCHECKED".to_string(),
        };
        *by_state.entry(state).or_default() += 1;
    }
    if let Ok(mut f) = shared.lock() {
        f.leader = leader;
        f.servers = by_state;
        f.zones = zones;
        f.lagging = lagging;
        f.operations = operations;
        f.last_apply = last_apply;
        f.sweep_seconds = sweep.as_ref().map(|w| w.duration_ms as f64 / 1000.0);
        f.last_sweep = sweep.map(|w| w.started_at);
    }
    Ok(())
}

/// Counts a pass that came to `outcome`.
pub fn count_pass(shared: &Shared, outcome: &'static str) {
    if let Ok(mut f) = shared.lock() {
        *f.passes.entry(outcome).or_default() += 1;
    }
}

/// The figures in the text exposition format.
pub fn render(f: &Figures) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, kind: &str, lines: Vec<(String, String)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (labels, value) in lines {
            out.push_str(&format!("{name}{labels} {value}\n"));
        }
    };
    let one = |v: String| vec![(String::new(), v)];
    gauge(
        "zonekeeper_leader",
        "1 while this daemon leads.",
        "gauge",
        one(u8::from(f.leader).to_string()),
    );
    gauge(
        "zonekeeper_servers",
        "Servers by state.",
        "gauge",
        f.servers
            .iter()
            .map(|(s, n)| (format!("{{state=\"{s}\"}}"), n.to_string()))
            .collect(),
    );
    gauge(
        "zonekeeper_zones",
        "Zones recorded.",
        "gauge",
        one(f.zones.to_string()),
    );
    gauge(
        "zonekeeper_zones_lagging",
        "Zone and server pairs not served at the expected serial.",
        "gauge",
        one(f.lagging.to_string()),
    );
    gauge(
        "zonekeeper_operations_waiting",
        "Staged operations under way.",
        "gauge",
        one(f.operations.to_string()),
    );
    if let Some(t) = f.last_apply {
        gauge(
            "zonekeeper_last_apply_timestamp_seconds",
            "When a revision was last recorded as applied.",
            "gauge",
            one(t.to_string()),
        );
    }
    gauge(
        "zonekeeper_passes_total",
        "Reconcile passes by outcome.",
        "counter",
        f.passes
            .iter()
            .map(|(o, n)| (format!("{{outcome=\"{o}\"}}"), n.to_string()))
            .collect(),
    );
    if let (Some(d), Some(t)) = (f.sweep_seconds, f.last_sweep) {
        gauge(
            "zonekeeper_sweep_duration_seconds",
            "How long the last sweep took.",
            "gauge",
            one(format!("{d:.3}")),
        );
        gauge(
            "zonekeeper_last_sweep_timestamp_seconds",
            "When the last sweep ran.",
            "gauge",
            one(t.to_string()),
        );
    }
    out
}

/// Serves `shared` at `http://ADDR/metrics` until the process ends. Binding fails at once
/// (an address in use is the operator's to fix); a bad request is answered 404 or 400.
pub async fn serve(addr: SocketAddr, shared: Shared) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                continue;
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut len = 0;
                // the request line and headers, at most 8 KiB, within 5 s
                let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
                    while len < buf.len() {
                        let n = conn.read(&mut buf[len..]).await.unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        len += n;
                        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                })
                .await;
                let request = String::from_utf8_lossy(&buf[..len]);
                let line = request.lines().next().unwrap_or_default();
                let (status, body) = if read.is_err() {
                    ("408 Request Timeout", String::new())
                } else if line.starts_with("GET /metrics ") || line == "GET /metrics" {
                    let body = shared.lock().map(|f| render(&f)).unwrap_or_default();
                    ("200 OK", body)
                } else if line.starts_with("GET ") {
                    ("404 Not Found", "see /metrics\n".into())
                } else {
                    ("400 Bad Request", String::new())
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
                let _ = conn.shutdown().await;
            });
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_read_as_prometheus_text() {
        let mut f = Figures {
            leader: true,
            zones: 3,
            lagging: 2,
            ..Figures::default()
        };
        f.servers.insert("OK".into(), 2);
        f.servers.insert("BROKEN".into(), 1);
        f.passes.insert("applied", 4);
        let text = render(&f);
        assert!(text.contains("# TYPE zonekeeper_servers gauge\n"));
        assert!(text.contains("zonekeeper_servers{state=\"BROKEN\"} 1\n"));
        assert!(text.contains("zonekeeper_zones_lagging 2\n"));
        assert!(text.contains("zonekeeper_passes_total{outcome=\"applied\"} 4\n"));
        assert!(text.contains("zonekeeper_leader 1\n"));
        assert!(!text.contains("sweep_duration"), "no sweep yet: no figure");
    }
}
