//! Random fault schedules: for every procedure, 500 runs, each from its own seed. While
//! the change is applied, every event (UPDATE, reconfig, transfer, catalog change, clock
//! step) may flip a random switch (down, hung, slow, lossy, refusing, truncating) of a
//! random server, for a random number of events; then every fault clears. Every run must
//! converge and keep the invariants at every event. A failure names its seed; replay it
//! alone with `SIM_SEED=<seed> cargo test --test tests sim::schedules::<test>`.

use super::rng::Rng;
use super::scenario::Procedure;
use super::{block_on, run};

/// Schedules per procedure.
const SCHEDULES: u64 = 500;

/// Runs the schedules of `p`; asserts every one converged and that faults did make some
/// take more than one apply. The seeds are shared out
/// among as many threads as the machine has cores (each its own runtime; every schedule
/// still runs alone on a fresh fleet and store, so each depends on its seed only).
fn schedules(p: Procedure) {
    let base = p as u64 * 1_000_003;
    let seeds: Vec<u64> = match std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => (0..SCHEDULES).map(|i| base + i).collect(),
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(seeds.len());
    let ran: Vec<(Vec<(u64, String)>, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<u64> = seeds.iter().copied().skip(t).step_by(threads).collect();
                scope.spawn(move || run_seeds(p, &mine))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a schedule thread"))
            .collect()
    });
    let faulted: usize = ran.iter().map(|r| r.1).sum();
    let mut failures: Vec<(u64, String)> = ran.into_iter().flat_map(|r| r.0).collect();
    failures.sort();
    assert!(
        failures.is_empty(),
        "{p:?}: {} of {} schedules failed (replay one with SIM_SEED=<seed>):\n{}",
        failures.len(),
        seeds.len(),
        failures
            .iter()
            .map(|(seed, e)| format!("seed {seed}: {e}"))
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    assert!(
        seeds.len() == 1 || faulted > 0,
        "{p:?}: no schedule needed a second apply: the faults did nothing"
    );
}

/// Runs the schedules of `seeds` one after another on one runtime: the failures, and how
/// many needed more than one apply.
fn run_seeds(p: Procedure, seeds: &[u64]) -> (Vec<(u64, String)>, usize) {
    let repo = p.repo();
    block_on(async {
        let mut failures = Vec::new();
        let mut faulted = 0;
        for seed in seeds {
            let mut rng = Rng::new(*seed);
            let per_mille = 50 + rng.below(400) as u32;
            let events = 5 + rng.below(30) as usize;
            match run(p, &repo, *seed, None, Some((per_mille, events))).await {
                Ok(r) => faulted += usize::from(r.applies > 1),
                Err(e) => failures.push((*seed, e)),
            }
        }
        (failures, faulted)
    })
}

/// Zone creates, updates and deletes under 500 fault schedules.
#[test]
fn zones_under_random_faults() {
    schedules(Procedure::Zones);
}

/// Adding a secondary under 500 fault schedules.
#[test]
fn add_secondary_under_random_faults() {
    schedules(Procedure::AddSecondary);
}

/// Removing a secondary under 500 fault schedules.
#[test]
fn remove_secondary_under_random_faults() {
    schedules(Procedure::RemoveSecondary);
}

/// Moving a zone under 500 fault schedules.
#[test]
fn move_zone_under_random_faults() {
    schedules(Procedure::MoveZone);
}

/// A planned cut-over under 500 fault schedules.
#[test]
fn renumber_under_random_faults() {
    schedules(Procedure::Renumber);
}

/// Moving the primary under 500 fault schedules.
#[test]

fn move_primary_under_random_faults() {
    schedules(Procedure::MovePrimary);
}
