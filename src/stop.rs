//! Stopping on SIGTERM or SIGINT, shared by `apply` and the daemon (`watch`).
//!
//! The first signal asks to stop: the work under way finishes its current step, records
//! it, and starts nothing more. `apply` checks [`Stop::requested`] between steps (the
//! driver, `apply::operations::steps`), the daemon parks its pass at the next step boundary
//! ([`Stop::hook`]: every store write is one; what is before it is durable, nothing after
//! it has happened). A second signal exits at once with status 130; that is as safe as a
//! `kill -9`, which the crash tests prove every boundary survives: the next run resumes.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{Notify, watch};

use crate::apply::effects::{Boundary, KillHook};

/// The exit status of a command stopped by a signal (128 + SIGINT), as shells report it.
pub const INTERRUPTED: u8 = 130;

/// What the signal handler says; `first` is called on the first signal (after the stop is
/// requested), `second` is printed on stderr before exiting at once on the second.
pub struct Messages {
    /// Called once, on the first signal.
    pub first: Box<dyn Fn() + Send + Sync>,
    /// Printed on the second signal, before exiting with status 130.
    pub second: &'static str,
}

/// The stop request, shared by the signal handler, the work and the boundary hook.
#[derive(Debug, Clone)]
pub struct Stop {
    requested: watch::Receiver<bool>,
    tx: Arc<watch::Sender<bool>>,
    parked: Arc<Notify>,
}

impl Stop {
    /// A stop nobody asked for yet.
    pub fn new() -> Stop {
        let (tx, requested) = watch::channel(false);
        Stop {
            requested,
            tx: Arc::new(tx),
            parked: Arc::new(Notify::new()),
        }
    }

    /// Installs the SIGTERM/SIGINT handlers: the first signal asks to stop and calls
    /// `messages.first`, the second prints `messages.second` and exits at once (status
    /// 130).
    pub fn on_signals(&self, messages: Messages) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let stop = self.clone();
        tokio::spawn(async move {
            let mut seen = 0;
            loop {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                seen += 1;
                if seen == 1 {
                    stop.request();
                    (messages.first)();
                } else {
                    eprintln!("{}", messages.second);
                    std::process::exit(i32::from(INTERRUPTED));
                }
            }
        });
        Ok(())
    }

    /// Asks to stop.
    pub fn request(&self) {
        let _ = self.tx.send(true);
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        *self.requested.borrow()
    }

    /// Resolves once a stop is asked for.
    pub async fn wait(&self) {
        let mut rx = self.requested.clone();
        let _ = rx.wait_for(|v| *v).await;
    }

    /// Resolves once a pass parked at a step boundary after a stop was asked for.
    pub async fn parked(&self) {
        self.parked.notified().await;
    }

    /// The boundary hook for a daemon's pass: the crash-test hook, then, once a stop is
    /// asked for, parking for good.
    pub fn hook(&self) -> Arc<dyn Boundary> {
        Arc::new(StopHook { stop: self.clone() })
    }
}

impl Default for Stop {
    fn default() -> Self {
        Stop::new()
    }
}

/// Parks a pass at the first step boundary after a stop request.
struct StopHook {
    stop: Stop,
}

#[async_trait]
impl Boundary for StopHook {
    async fn reached(&self, what: &str) {
        KillHook.reached(what).await;
        if self.stop.requested() {
            tracing::info!("stopped after: {what}");
            self.stop.parked.notify_one();
            std::future::pending::<()>().await;
        }
    }
}
