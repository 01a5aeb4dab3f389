//! How far an apply is: counters the driver moves on (zones created, updated, verified and
//! deleted, operation steps done, each with its total) and anyone may read at any time.
//! The driver only counts; showing them (a progress bar on a terminal, a log line every
//! few seconds elsewhere) is the command line's (`cli::progress`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// New zones loaded on the primary and recorded.
    Created,
    /// Zones whose change the primary took and that were recorded.
    Updated,
    /// Zones every server waited for was seen serving.
    Verified,
    /// Zones deleted from the catalogs and the primary.
    Deleted,
    /// Steps of staged operations done.
    Steps,
}

impl Count {
    /// Every count, in the order they are shown.
    pub const ALL: [Count; 5] = [
        Count::Created,
        Count::Updated,
        Count::Verified,
        Count::Deleted,
        Count::Steps,
    ];

    /// Its word in progress lines.
    pub fn word(self) -> &'static str {
        match self {
            Count::Created => "created",
            Count::Updated => "updated",
            Count::Verified => "verified",
            Count::Deleted => "deleted",
            Count::Steps => "operation steps",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Default)]
struct Counts {
    done: [AtomicU64; 5],
    total: [AtomicU64; 5],
}

/// The counters of one apply; clones share them. The default counts for nobody.
#[derive(Debug, Clone, Default)]
pub struct Meter(Arc<Counts>);

/// The counters at one moment: `(done, total)` per [`Count`], in [`Count::ALL`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot(pub [(u64, u64); 5]);

impl Meter {
    /// Sets how many of `count` there are to do.
    pub fn set_total(&self, count: Count, total: usize) {
        self.0.total[count.index()].store(total as u64, Ordering::Relaxed);
    }

    /// Sets how many of `count` are done.
    pub fn set_done(&self, count: Count, done: usize) {
        self.0.done[count.index()].store(done as u64, Ordering::Relaxed);
    }

    /// One more of `count` done.
    pub fn add(&self, count: Count) {
        self.0.done[count.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::default();
        for c in Count::ALL {
            s.0[c.index()] = (
                self.0.done[c.index()].load(Ordering::Relaxed),
                self.0.total[c.index()].load(Ordering::Relaxed),
            );
        }
        s
    }
}

impl Snapshot {
    /// `(done, total)` of `count`.
    pub fn get(&self, count: Count) -> (u64, u64) {
        self.0[count.index()]
    }

    /// Whether there is nothing to count at all.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|(_, total)| *total == 0)
    }

    /// The progress line of a log: "created 10/40 zones, verified 3/40, 6 s"; only the
    /// counts with something to do.
    pub fn line(&self, elapsed: Duration) -> String {
        let mut parts = Vec::new();
        let mut zones_said = false;
        for c in Count::ALL {
            let (done, total) = self.get(c);
            if total == 0 {
                continue;
            }
            let unit = if c != Count::Steps && !zones_said {
                zones_said = true;
                " zones"
            } else {
                ""
            };
            parts.push(format!("{} {done}/{total}{unit}", c.word()));
        }
        parts.push(format!("{} s", elapsed.as_secs()));
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_counts_only_what_there_is_to_do() {
        let m = Meter::default();
        assert!(m.snapshot().is_empty());
        m.set_total(Count::Updated, 1000);
        m.set_total(Count::Verified, 1000);
        m.set_done(Count::Updated, 412);
        for _ in 0..300 {
            m.add(Count::Verified);
        }
        let s = m.snapshot();
        assert!(!s.is_empty());
        assert_eq!(
            s.line(Duration::from_millis(6400)),
            "updated 412/1000 zones, verified 300/1000, 6 s"
        );
        m.set_total(Count::Steps, 3);
        m.add(Count::Steps);
        assert_eq!(
            m.snapshot().line(Duration::from_secs(1)),
            "updated 412/1000 zones, verified 300/1000, operation steps 1/3, 1 s"
        );
    }
}
