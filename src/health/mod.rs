//! Fleet health: a **sweep** asks every server of every recorded zone for the zone's SOA
//! (recursion off; the answer must be NOERROR with AA and the zone's own SOA) and judges
//! each server, as DMS's `show_dms_status` and `ls_server` did, without its retry loops:
//!
//! - the primary must serve each zone at its recorded serial (or later);
//! - a secondary must serve each zone of its groups at the serial the primary serves
//!   (the recorded one when the primary did not answer);
//! - a server is **OK** when it serves all its zones so, **RETRY** when it serves some but
//!   lags on others (a transfer under way, a zone it missed), **BROKEN** when it serves
//!   none (stopped, unreachable, or it lost its catalog);
//! - a secondary in **maintenance** is not asked; once it is back, the next sweep checks
//!   every zone of it, so whatever it missed meanwhile shows as lag until it caught up.
//!
//! What each server lags on is recorded per zone (`zone_lag`), with since when.
//!
//! `fleet.rs` turns the recorded fleet into what to ask; `judge.rs` decides, purely, from
//! the answers; `sweep.rs` asks (one UDP socket per server address, a window of questions
//! in flight each: [`crate::live::batch`]) and records.

mod fleet;
mod judge;
mod sweep;

pub use fleet::{Fleet, Role, SweptServer, SweptZone};
pub use judge::{Observed, judge};
pub use sweep::{SweepOutcome, sweep};

/// A server's state after a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// It serves every zone it should at the expected serial.
    Ok,
    /// It serves some of its zones, and lags on (or does not serve) others.
    Retry,
    /// It serves none of its zones.
    Broken,
}

impl State {
    /// As recorded and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Retry => "RETRY",
            State::Broken => "BROKEN",
        }
    }
}
