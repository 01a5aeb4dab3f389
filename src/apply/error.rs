//! Why an apply stopped: [`ApplyError`], the error every stage of the executor returns.

use std::net::SocketAddr;

use crate::backend::bind::BindError;
use crate::backend::tsig::TsigError;
use crate::store::StoreError;

/// Why an apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The TSIG key could not be loaded.
    #[error(transparent)]
    Tsig(#[from] TsigError),
    /// The primary could not be reached or configured.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The primary could not be reached.
    #[error(
        "the primary {name} at {addr} is unreachable: {message}. Nothing was changed; apply again once it answers"
    )]
    PrimaryUnreachable {
        /// Its name.
        name: String,
        /// Its address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
    /// The primary's control channel or configuration failed.
    #[error(
        "the primary {name} at {addr}: {source}. Check that named runs there and that rndc reaches it; what took effect is recorded, apply again once it answers"
    )]
    Control {
        /// Its name.
        name: String,
        /// Its address.
        addr: SocketAddr,
        /// What failed.
        source: BindError,
    },
    /// A fresh store faces a primary that already serves zones of the plan.
    #[error(
        "the store is fresh (nothing applied, no zone recorded) but the primary {name} at {addr} already serves {count} zone(s) of this plan ({zones}). Nothing was changed. If this store is meant to take over those zones, run `zonekeeper apply --adopt`: their content is compared with the desired one and records only on the primary are removed. Otherwise point --db at the store that manages this primary"
    )]
    AlreadyServed {
        /// The primary's name.
        name: String,
        /// Its address.
        addr: SocketAddr,
        /// How many zones it serves.
        count: usize,
        /// The first few of them.
        zones: String,
    },
}
