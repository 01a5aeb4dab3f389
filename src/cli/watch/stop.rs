//! Stopping the daemon. The first SIGTERM or SIGINT asks it to stop: a pass under way
//! runs on to its next step boundary (every store write is one: what is before it is
//! durable, nothing after it has happened), parks there, and the daemon records nothing
//! more and exits 0. A second signal exits at once; that is as safe as a `kill -9`, which
//! the crash tests prove every boundary survives: the next run resumes.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{Notify, watch};

use crate::apply::effects::{Boundary, KillHook};

/// The stop request, shared by the signal handler, the loop and the boundary hook.
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

    /// Installs the SIGTERM/SIGINT handlers: the first signal asks to stop, the second
    /// exits at once (status 130).
    pub fn on_signals(&self) -> std::io::Result<()> {
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
                    tracing::info!(
                        "stopping: the current step finishes and is recorded (a second signal exits at once)"
                    );
                    stop.request();
                } else {
                    eprintln!(
                        "zonekeeper watch: second signal: exiting now; the next run resumes where this one stopped"
                    );
                    std::process::exit(130);
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

    /// The boundary hook for a pass: the crash-test hook, then, once a stop is asked for,
    /// parking for good.
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
