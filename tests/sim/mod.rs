//! The simulated fleet (issue 8, point 3), in the spirit of quinn-proto's test `Pair`:
//! in-memory primaries and secondaries on one simulated clock, behind zonekeeper's effect
//! traits, so the real driver (`zonekeeper::apply::apply`) runs against them with the real
//! store (SQLite in memory). Deterministic: a seeded RNG, no wall time, nothing spawned.
//!
//! - `zone.rs`: a zone's content and UPDATE semantics; `world.rs`: the servers, their
//!   switches, catalogs and transfers; `invariants.rs`: no lame NS and the TTL wait,
//!   checked at every event; `effects.rs`: the traits; `harness.rs`: repository, store
//!   and the apply loop; `scenario.rs`: one scenario per procedure.
//! - Tests: `procedures.rs` (each converges), `crash.rs` (a crash after every store write,
//!   then resume), `schedules.rs` (random fault schedules from a seed), `progress.rs`
//!   (verification waits while the secondaries make progress).
//!
//! Behaviour that depends on BIND is also tested against real BIND (`tests/procedures.rs`,
//! `tests/regression/`): the simulated fleet is never the only evidence.

mod effects;
mod harness;
mod invariants;
mod rng;
mod scenario;
mod world;
mod zone;

mod crash;
mod procedures;
mod progress;
mod schedules;

use std::time::Duration;

use harness::{Repo, Run, Sim};
use scenario::{Procedure, Summary};

/// How many applies a revision gets to converge.
const MAX_APPLIES: usize = 80;

/// What one run of a procedure did.
pub struct Ran {
    /// What it left.
    pub summary: Summary,
    /// The boundaries the driver reached while applying revision 1.
    pub boundaries: usize,
    /// What each was.
    pub trail: Vec<String>,
    /// Whether the crash hook stopped it.
    pub crashed: bool,
    /// How many times the invariants were checked.
    pub checks: usize,
    /// The applies of revision 1.
    pub applies: usize,
}

/// Runs `p` on a fresh fleet and store: revision 0 until it is recorded, then revision 1
/// with a crash at boundary `crash_at` (resumed by new applies) and random faults
/// (`chaos`: per mille per event, for that many events), until revision 1 is recorded.
/// Fails when it does not converge or an invariant broke.
pub async fn run(
    p: Procedure,
    repo: &Repo,
    seed: u64,
    crash_at: Option<usize>,
    chaos: Option<(u32, usize)>,
) -> Result<Ran, String> {
    let zones = ["a.test.", "b.test."];
    let mut sim = Sim::new(repo, seed, &zones, p.before()).await;
    {
        let mut w = sim.fleet.world();
        w.inv.exempt = p.deleted().iter().map(|z| z.to_string()).collect();
    }
    sim.converge(&repo.revs[0], false, 20)
        .await
        .map_err(|e| format!("revision 0: {e}"))?;
    let start = sim.applies;
    {
        let mut w = sim.fleet.world();
        w.boundaries = 0;
        w.trail.clear();
        w.crash_at = crash_at;
        w.chaos = chaos.map(|(per_mille, events)| (per_mille, w.events + events));
    }
    let rev = &repo.revs[1];
    let mut crashed = false;
    let mut last = String::new();
    let mut done = false;
    for _ in 0..MAX_APPLIES {
        match sim.apply(rev, p.allow_delete()).await {
            Run::Recorded => {
                done = true;
                break;
            }
            Run::Crashed => {
                crashed = true;
                let mut w = sim.fleet.world();
                w.crash_at = None;
                w.crashed = false;
            }
            Run::NotYet(message) => {
                sim.operators(&message);
                sim.wait_as_asked(&message);
                last = message;
                continue;
            }
        }
        sim.fleet.world().advance(Duration::from_secs(1));
    }
    let (boundaries, trail, checks, violations) = {
        let w = sim.fleet.world();
        (
            w.boundaries,
            w.trail.clone(),
            w.inv.checks,
            w.inv.violations.clone(),
        )
    };
    if !violations.is_empty() {
        return Err(format!("invariants broken:\n{}", violations.join("\n")));
    }
    if !done {
        return Err(format!(
            "revision 1 not applied after {MAX_APPLIES} applies: {last}"
        ));
    }
    Ok(Ran {
        summary: scenario::summary(&sim).await,
        boundaries,
        trail,
        crashed,
        checks,
        applies: sim.applies - start,
    })
}

/// A current-thread runtime for one test.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}
