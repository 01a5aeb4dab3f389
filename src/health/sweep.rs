//! One sweep: read the fleet from the store, ask every server about each of its zones
//! (every server and address at once, each over one socket with a bounded window of
//! questions in flight), judge, record.

use std::collections::HashMap;
use std::time::Instant;

use futures_util::future::join_all;
use hickory_proto::rr::Name;

use super::judge::{Observed, judge};
use super::{Fleet, State};
use crate::live::SoaAnswer;
use crate::live::batch::{BatchOptions, soa_many};
use crate::store::{ServerCheck, Store, StoreError, SweepRecord};

/// What a sweep saw, as recorded.
#[derive(Debug, Clone, Default)]
pub struct SweepOutcome {
    /// The record written.
    pub record: SweepRecord,
    /// The secondaries in maintenance, not asked.
    pub in_maintenance: Vec<String>,
    /// The servers left alone this time (their back-off runs).
    pub resting: Vec<String>,
}

impl SweepOutcome {
    /// The servers in `state`.
    pub fn in_state(&self, state: State) -> impl Iterator<Item = &ServerCheck> {
        self.record
            .servers
            .iter()
            .filter(move |s| s.state == state.as_str())
    }

    /// Whether every server asked is OK.
    pub fn all_ok(&self) -> bool {
        self.record
            .servers
            .iter()
            .all(|s| s.state == State::Ok.as_str())
    }
}

/// Sweeps the fleet the store records, at `now` (Unix seconds), and records the verdict.
/// The servers named in `rest` are not asked this time (a daemon's back-off for BROKEN
/// ones): what was recorded of them stays.
pub async fn sweep(
    store: &Store,
    opts: &BatchOptions,
    now: i64,
    rest: &[String],
) -> Result<SweepOutcome, StoreError> {
    let started = Instant::now();
    let servers = store.servers().await?;
    let groups = store.groups().await?;
    let zones = store.zone_index().await?;
    let mut fleet = Fleet::recorded(&servers, &groups, &zones);
    drop(zones);
    let resting: Vec<usize> = (0..fleet.servers.len())
        .filter(|&i| rest.contains(&fleet.servers[i].name) && !fleet.servers[i].maintenance)
        .collect();
    for &i in &resting {
        fleet.servers[i].maintenance = true;
    }
    let (observed, queries) = ask(&fleet, opts).await;
    let (checks, lags) = judge(&fleet, &observed, now);
    let record = SweepRecord {
        started_at: now,
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        zones: fleet.zones.len() as i64,
        queries: queries as i64,
        servers: checks,
        lags,
    };
    store.record_sweep(&record).await?;
    Ok(SweepOutcome {
        record,
        in_maintenance: fleet
            .servers
            .iter()
            .enumerate()
            .filter(|(i, s)| s.maintenance && !resting.contains(i))
            .map(|(_, s)| s.name.clone())
            .collect(),
        resting: resting
            .iter()
            .map(|&i| fleet.servers[i].name.clone())
            .collect(),
    })
}

/// Asks every server not in maintenance, at every address, about each of its zones, all
/// at once; returns what each said and how many questions were asked.
async fn ask(fleet: &Fleet, opts: &BatchOptions) -> (Vec<Observed>, usize) {
    let names: Vec<Option<Name>> = fleet
        .zones
        .iter()
        .map(|z| Name::from_ascii(&z.name).ok())
        .collect();
    let mut plans = Vec::new();
    let mut batches = Vec::new();
    for (si, server) in fleet.servers.iter().enumerate() {
        if server.maintenance {
            continue;
        }
        let zones = fleet.zones_of(server);
        // a name the store holds that does not parse is asked as the root, whose answer
        // never carries the zone's SOA: it shows as lagging
        let asked: Vec<Name> = zones
            .iter()
            .map(|&zi| names[zi].clone().unwrap_or_else(Name::root))
            .collect();
        for addr in &server.addrs {
            batches.push((si, *addr, asked.clone()));
        }
        plans.push((si, zones));
    }
    let queries = batches.iter().map(|(_, _, z)| z.len()).sum();
    let results: Vec<(usize, Vec<SoaAnswer>)> = join_all(
        batches
            .into_iter()
            .map(|(si, addr, zones)| async move { (si, soa_many(addr, &zones, opts).await) }),
    )
    .await;
    let mut by_server: HashMap<usize, Vec<Vec<SoaAnswer>>> = HashMap::new();
    for (si, answers) in results {
        by_server.entry(si).or_default().push(answers);
    }
    let observed = plans
        .into_iter()
        .map(|(si, zones)| Observed {
            server: si,
            zones,
            answers: by_server.remove(&si).unwrap_or_default(),
        })
        .collect();
    (observed, queries)
}
