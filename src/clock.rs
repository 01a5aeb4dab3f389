//! Time as the executor sees it: [`Clock`] says what time it is and waits. The real
//! [`SystemClock`] reads the system clock and sleeps on tokio's timer; the simulated fleet
//! of the tests jumps its own clock forward instead, so hours of TTL waits take no time.
//!
//! Every decision takes `now` as an argument (see `procedures`); only the driver and the
//! probes' polling loops read a clock, and they read it through this trait.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

/// A clock.
#[async_trait]
pub trait Clock: Send + Sync {
    /// Time since the Unix epoch.
    fn now(&self) -> Duration;

    /// Returns after `d` has passed on this clock.
    async fn sleep(&self, d: Duration);

    /// Whole Unix seconds now.
    fn unix(&self) -> i64 {
        i64::try_from(self.now().as_secs()).unwrap_or(i64::MAX)
    }
}

/// The system clock and tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}
