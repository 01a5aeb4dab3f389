//! Every effect the executor may have, behind small traits, bundled as [`Effects`]: the
//! primary's control channel and signed connection ([`Control`], [`Sender`], opened by a
//! [`Connector`] for any primary, old or new), the prober ([`Prober`]) and the clock
//! ([`Clock`]). The store is the other one, passed beside it.
//!
//! [`Effects::real`] is BIND, the network and the system clock; the simulated fleet of the
//! tests (`tests/sim`) provides in-memory ones, so the same driver runs against both.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::error::ApplyError;
use crate::backend::bind::PrimaryControl;
pub use crate::backend::seam::{Control, Sender};
use crate::backend::tsig;
use crate::backend::update::{UpdateError, Updater};
pub use crate::clock::{Clock, SystemClock};
pub use crate::live::{Network, Prober};
use crate::model::Primary;
use crate::model::config::TsigKeyRef;

/// Opens a primary's control channel and signed connection.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The control channel of `primary` (opening it changes nothing).
    fn control(&self, primary: &Primary) -> Box<dyn Control>;

    /// A signed connection to the primary at `addr` with key `tsig`.
    async fn sender(
        &self,
        addr: SocketAddr,
        tsig: &TsigKeyRef,
    ) -> Result<Box<dyn Sender>, UpdateError>;

    /// The control channel of `primary` and a signed connection to it; an unreachable
    /// primary is [`ApplyError::PrimaryUnreachable`], found before anything changes.
    async fn connect(
        &self,
        primary: &Primary,
    ) -> Result<(Box<dyn Control>, Box<dyn Sender>), ApplyError> {
        let sender = self
            .sender(primary.addr, &primary.tsig)
            .await
            .map_err(|e| match e {
                UpdateError::Unreachable { message, .. } => ApplyError::PrimaryUnreachable {
                    name: primary.name.clone(),
                    addr: primary.addr,
                    message,
                },
                UpdateError::Key(k) => ApplyError::Tsig(k),
                other => ApplyError::PrimaryUnreachable {
                    name: primary.name.clone(),
                    addr: primary.addr,
                    message: other.to_string(),
                },
            })?;
        Ok((self.control(primary), sender))
    }
}

/// BIND: `rndc` and files for control, TSIG-signed TCP for UPDATE and AXFR.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bind;

#[async_trait]
impl Connector for Bind {
    fn control(&self, primary: &Primary) -> Box<dyn Control> {
        Box::new(PrimaryControl {
            config_dir: primary.config_dir.clone(),
            rndc: primary.rndc.clone(),
            rndc_conf: primary.rndc_conf.clone(),
            key_name: primary.tsig.name.to_string(),
        })
    }

    async fn sender(
        &self,
        addr: SocketAddr,
        tsig: &TsigKeyRef,
    ) -> Result<Box<dyn Sender>, UpdateError> {
        let signer = tsig::signer(tsig).map_err(UpdateError::Key)?;
        Ok(Box::new(
            Updater::connect(addr, signer, Duration::from_secs(5)).await?,
        ))
    }
}

/// The effects an apply has.
#[derive(Clone)]
pub struct Effects {
    /// Opens primaries.
    pub connector: Arc<dyn Connector>,
    /// Asks servers.
    pub prober: Arc<dyn Prober>,
    /// Tells the time and waits.
    pub clock: Arc<dyn Clock>,
}

impl Effects {
    /// BIND, the network and the system clock.
    pub fn real() -> Effects {
        Effects {
            connector: Arc::new(Bind),
            prober: Arc::new(Network),
            clock: Arc::new(SystemClock),
        }
    }
}

impl std::fmt::Debug for Effects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Effects")
    }
}
