//! Every effect the executor may have, behind small traits, bundled as [`Effects`]: the
//! primary's control channel and signed connection ([`Control`], [`Sender`], opened by a
//! [`Connector`] for any primary, old or new), the prober ([`Prober`]) and the clock
//! ([`Clock`]), and the crash-test hook the driver calls after every store write
//! ([`Boundary`]). The store is the other one, passed beside it.
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

/// Where a crash test may stop the driver: it calls [`Boundary::reached`] right after
/// every store write (and after every UPDATE it sends), so that everything before is
/// durable and nothing after has happened. A hook that never returns stops the apply
/// there, exactly as a `kill -9` would (the simulated fleet's crash test drops the apply's
/// future at that point, then resumes with a new apply).
#[async_trait]
pub trait Boundary: Send + Sync {
    /// The driver reached the boundary `what` (a short description).
    async fn reached(&self, what: &str);
}

/// The real hook: in debug builds, `ZONEKEEPER_TEST_KILL_AT` makes the process kill itself
/// at the N-th boundary (see `kill_hook`); in release builds, nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct KillHook;

#[async_trait]
impl Boundary for KillHook {
    async fn reached(&self, what: &str) {
        kill_hook(what);
    }
}

/// The real crash-test hook ([`KillHook`]): with
/// `ZONEKEEPER_TEST_KILL_AT=N` set, the process kills itself with SIGKILL at the N-th step
/// boundary (a state written, an UPDATE sent), exactly as an operator's `kill -9` would;
/// with `ZONEKEEPER_TEST_KILL_AT=NAME` (not a number), at the first boundary whose
/// description contains NAME (e.g. `zone UPDATE sent`).
/// Boundaries are counted in the file named by `ZONEKEEPER_TEST_KILL_COUNTER` across runs
/// (or per process without it). Unset in normal runs: then this does nothing.
///
/// Debug builds only (`cfg(debug_assertions)`, which the binary `cargo test` builds and the
/// integration tests run has): in a release build the body is compiled out, so no
/// environment variable can make a production `zonekeeper` kill itself.
pub(crate) fn kill_hook(what: &str) {
    #[cfg(not(debug_assertions))]
    let _ = what;
    #[cfg(debug_assertions)]
    {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static SEEN: AtomicUsize = AtomicUsize::new(0);
        let Ok(at) = std::env::var("ZONEKEEPER_TEST_KILL_AT") else {
            return;
        };
        let Ok(at) = at.parse::<usize>() else {
            // A name: the first boundary whose description contains it.
            if what.contains(at.as_str()) {
                eprintln!("test hook: SIGKILL at boundary ({what})");
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &std::process::id().to_string()])
                    .status();
                std::thread::sleep(Duration::from_secs(5));
            }
            return;
        };
        let seen = match std::env::var_os("ZONEKEEPER_TEST_KILL_COUNTER") {
            Some(file) => {
                let n = std::fs::read_to_string(&file)
                    .ok()
                    .and_then(|s| s.trim().parse::<usize>().ok())
                    .unwrap_or(0)
                    + 1;
                let _ = std::fs::write(&file, n.to_string());
                n
            }
            None => SEEN.fetch_add(1, Ordering::SeqCst) + 1,
        };
        if seen == at {
            eprintln!("test hook: SIGKILL at boundary {at} ({what})");
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &std::process::id().to_string()])
                .status();
            std::thread::sleep(Duration::from_secs(5));
        }
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
    /// Called after every store write: where a crash test stops the driver.
    pub boundary: Arc<dyn Boundary>,
}

impl Effects {
    /// BIND, the network, the system clock, and the debug-only kill hook.
    pub fn real() -> Effects {
        Effects {
            connector: Arc::new(Bind),
            prober: Arc::new(Network),
            clock: Arc::new(SystemClock),
            boundary: Arc::new(KillHook),
        }
    }

    /// The driver reached the crash-test boundary `what` (see [`Boundary`]).
    pub async fn boundary(&self, what: &str) {
        self.boundary.reached(what).await;
    }
}

impl std::fmt::Debug for Effects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Effects")
    }
}
