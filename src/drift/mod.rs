//! Drift: a zone the primary serves other than zonekeeper recorded it (an `nsupdate`, an
//! edited zone file), found by transferring the zone (AXFR, TSIG-signed) and comparing it
//! with the recorded content, RRset by RRset, serial included.
//!
//! - `compare.rs` (pure): one zone served against recorded → [`Drift`], its RRsets
//!   added, removed or changed record by record, and how a drift row stores and shows it.
//! - `cursor.rs` (pure): which zones a pass checks next, and how large a pass must be to
//!   go round every zone in a given time ([`budget`]).
//! - `check.rs` (I/O): [`check`] transfers chosen zones (a few at a time) and writes what
//!   it finds to the store's drift table; [`pass`] checks the next zones after the cursor
//!   kept in the store, the entry point of the daemon's sweep.
//! - `resolve.rs` (I/O, under the apply lock): `apply --overwrite-drift ZONE` and a drift
//!   resolved in the desired state (`import --zone ZONE --from-primary`, committed) both
//!   record what the primary serves as the zone's base first; the apply's plan then takes
//!   it from there, as any change, verified by transfer.
//! - `zone_yaml.rs` (pure): a served zone written as the repository's zone YAML, for
//!   `import`.
//!
//! Drift is never resolved silently: an apply that meets it refuses the zone and names the
//! two ways out; only the operator chooses one.

mod check;
mod compare;
mod cursor;
pub mod resolve;
pub mod zone_yaml;

pub use check::{PassReport, ZoneCheck, check, check_all, pass};
pub use compare::{Drift, DriftChange, compare, content_key, decode, encode, text};
pub use cursor::{Batch, budget, next_batch};

/// Why a drift check could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The primary could not be reached or refused the transfer.
    #[error(transparent)]
    Primary(#[from] crate::backend::update::UpdateError),
    /// A zone asked for is not recorded.
    #[error(
        "zone {0} is not recorded: zonekeeper never applied it, so it has nothing to compare; check the name (`zonekeeper status` lists the zones)"
    )]
    NotRecorded(String),
}
