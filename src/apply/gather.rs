//! What the decision of staged operations (`procedures::decide`) reads: the recorded
//! state from the store and the observations from the servers. I/O only; the decision asks
//! what to read ([`decide::contents_needed`], [`decide::parent_probes`]) and makes every
//! choice itself.
//!
//! `apply` gathers before it creates operations; `plan` gathers the same way, so what it
//! shows is what `apply` would create. Gathering changes nothing: it reads the store and
//! asks unmanaged parents' servers for their delegation TTL, at most
//! [`MAX_PARENT_PROBES`] at once, each within [`PARENT_PROBE_TIMEOUT`]; a server that does
//! not answer is an observation (`None`), and the child's NS TTL stands in for it.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;

use super::error::ApplyError;
use crate::desired::DesiredState;
use crate::live::Prober;
use crate::procedures::Kind;
use crate::procedures::decide::{self, Observations, Recorded};
use crate::store::{RecordedZone, Store};

/// Parent servers asked at once. Small: these are other operators' servers (registries),
/// asked once per zone of a group whose membership changes.
pub const MAX_PARENT_PROBES: usize = 16;

/// How long a parent server gets to answer.
pub const PARENT_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Reads what the decision needs from the store, and asks the parents' servers. `index`:
/// the store's zone index when the caller read it already (under the same apply lock).
pub async fn gather(
    store: &Store,
    desired: &DesiredState,
    prober: &dyn Prober,
    index: Option<Vec<RecordedZone>>,
) -> Result<(Recorded, Observations), ApplyError> {
    let mut recorded = primary(store, desired).await?;
    if recorded.zones.is_empty() {
        recorded.zones = match index {
            Some(index) => index,
            None => store.zone_index().await?,
        };
    }
    recorded.groups = store.groups().await?;
    recorded.active = store.operations(false).await?;
    let needed: Vec<String> = decide::contents_needed(desired, &recorded.groups, &recorded.zones)
        .into_iter()
        .collect();
    recorded.content.extend(store.contents(&needed).await?);
    let probes = decide::parent_probes(desired, &recorded.groups, &recorded.zones);
    let obs = observe(prober, probes).await;
    Ok((recorded, obs))
}

/// What the primary's move needs: the recorded primary and, when the desired primary is
/// another one, the zone index and every move-primary operation.
pub async fn primary(store: &Store, desired: &DesiredState) -> Result<Recorded, ApplyError> {
    let mut recorded = Recorded {
        primary: store.primary().await?,
        ..Recorded::default()
    };
    if recorded
        .primary
        .as_ref()
        .is_some_and(|p| p.addr != desired.config.primary.addr)
    {
        recorded.zones = store.zone_index().await?;
        recorded.primary_moves = store
            .operations(true)
            .await?
            .into_iter()
            .filter(|o| o.kind == Kind::MovePrimary.as_str())
            .collect();
    }
    Ok(recorded)
}

/// Asks each (zone, parent server) pair for the delegation's TTL, a bounded number at once.
async fn observe(prober: &dyn Prober, probes: Vec<(String, String)>) -> Observations {
    let answers: Vec<((String, String), Option<u32>)> = futures_util::stream::iter(probes)
        .map(|(zone, server)| async move {
            let ttl = match server.parse::<SocketAddr>() {
                Ok(addr) => prober
                    .ns_set_ttl(addr, &crate::model::name_of(&zone), PARENT_PROBE_TIMEOUT)
                    .await
                    .ok()
                    .map(|(_, ttl)| ttl),
                Err(_) => None,
            };
            ((zone, server), ttl)
        })
        .buffer_unordered(MAX_PARENT_PROBES)
        .collect()
        .await;
    Observations {
        parent_ns_ttl: answers.into_iter().collect(),
    }
}
