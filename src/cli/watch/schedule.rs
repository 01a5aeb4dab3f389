//! When the daemon acts, decided: a pure function of what it saw, what its passes and
//! sweeps said, and the time. Level-triggered, as kube-runtime's reconcilers are: a pass
//! is due when the tracked branch points at a revision not yet settled, when a waiting
//! operation's gate may open, or when a failed pass's back-off ended; the daemon sleeps
//! until the earliest of those, the next sweep, and the next look at the branch. Errors
//! never stop it: a failed pass is tried again after 2, 4, 8 … seconds (at most
//! `max_backoff`, with jitter, sooner when a new commit arrives), and a BROKEN secondary
//! is asked again by sweeps after its own back-off.

use std::collections::BTreeMap;

/// The daemon's intervals, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How often the branch is looked at when no change notification came.
    pub poll: i64,
    /// How often the fleet is swept.
    pub sweep_every: i64,
    /// The longest back-off of a failing pass or a BROKEN server.
    pub max_backoff: i64,
}

/// What a pass came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The revision is applied, or is invalid (then only a new commit helps).
    Settled,
    /// An operation waits for time (until then) or for an operator (None).
    Waiting {
        /// When its gate may open.
        until: Option<i64>,
    },
    /// It failed (servers, store, lock held by an operator): try again later.
    Failed,
}

/// Repeated failures of one thing.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failure {
    attempts: u32,
    retry_at: i64,
}

/// The daemon's schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    timing: Timing,
    /// The revision the last settled or waiting pass was for.
    seen: Option<String>,
    /// When a waiting operation is looked at again.
    requeue_at: Option<i64>,
    /// The revision whose pass failed, and its back-off.
    failed: Option<(String, Failure)>,
    next_sweep: i64,
    /// Secondaries the last sweeps saw BROKEN, and when to ask them again.
    broken: BTreeMap<String, Failure>,
}

/// `2^attempts` seconds, at most `max`, with "equal jitter": between half and all of it,
/// `jitter` (in [0, 1)) choosing where, so that daemons and servers do not keep step.
pub fn backoff(attempts: u32, max: i64, jitter: f64) -> i64 {
    let base = 2_i64.saturating_pow(attempts.clamp(1, 30)).min(max.max(1));
    let half = base / 2;
    half + ((base - half) as f64 * jitter.clamp(0.0, 1.0)) as i64
}

impl Schedule {
    /// A schedule starting at `now`: a pass and a sweep are due at once.
    pub fn new(timing: Timing, now: i64) -> Schedule {
        Schedule {
            timing,
            seen: None,
            requeue_at: None,
            failed: None,
            next_sweep: now,
            broken: BTreeMap::new(),
        }
    }

    /// Whether a pass is due, the branch pointing at `tip`.
    pub fn pass_due(&self, tip: &str, now: i64) -> bool {
        if let Some((rev, f)) = &self.failed {
            return rev != tip || now >= f.retry_at;
        }
        self.seen.as_deref() != Some(tip) || self.requeue_at.is_some_and(|t| now >= t)
    }

    /// Takes in a pass of `tip` that came to `outcome` at `now`.
    pub fn after_pass(&mut self, tip: &str, outcome: &Outcome, now: i64, jitter: f64) {
        match outcome {
            Outcome::Settled => {
                self.seen = Some(tip.to_string());
                self.requeue_at = None;
                self.failed = None;
            }
            Outcome::Waiting { until } => {
                self.seen = Some(tip.to_string());
                self.failed = None;
                // an operator's confirmation is seen at the next look
                self.requeue_at = Some(until.unwrap_or(now + self.timing.poll).max(now + 1));
            }
            Outcome::Failed => {
                let attempts = match &self.failed {
                    Some((rev, f)) if rev == tip => f.attempts + 1,
                    _ => 1,
                };
                let retry_at = now + backoff(attempts, self.timing.max_backoff, jitter);
                self.failed = Some((tip.to_string(), Failure { attempts, retry_at }));
            }
        }
    }

    /// When the next sweep is due.
    pub fn next_sweep(&self) -> i64 {
        self.next_sweep
    }

    /// Whether a sweep is due.
    pub fn sweep_due(&self, now: i64) -> bool {
        now >= self.next_sweep
    }

    /// Takes in a sweep at `now` that saw the secondaries `broken` BROKEN; those it left
    /// alone (`rested`) keep their back-off, the others asked recovered.
    pub fn after_sweep(&mut self, now: i64, broken: &[String], rested: &[String], jitter: f64) {
        self.next_sweep = now + self.timing.sweep_every.max(1);
        let max = self.timing.max_backoff;
        let mut next: BTreeMap<String, Failure> = self
            .broken
            .iter()
            .filter(|(s, _)| rested.contains(s))
            .map(|(s, f)| (s.clone(), f.clone()))
            .collect();
        for s in broken {
            let attempts = self.broken.get(s).map_or(1, |f| f.attempts + 1);
            let retry_at = now + backoff(attempts, max, jitter);
            next.insert(s.clone(), Failure { attempts, retry_at });
        }
        self.broken = next;
    }

    /// The BROKEN secondaries a sweep at `now` leaves alone (their back-off runs).
    pub fn resting(&self, now: i64) -> Vec<String> {
        self.broken
            .iter()
            .filter(|(_, f)| f.retry_at > now)
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// When to wake at the latest: the next sweep, a waiting operation's gate, a failed
    /// pass's retry, or the next look at the branch, whichever comes first.
    pub fn next_wake(&self, now: i64) -> i64 {
        let mut at = (now + self.timing.poll.max(1)).min(self.next_sweep);
        if let Some(t) = self.requeue_at {
            at = at.min(t);
        }
        if let Some((_, f)) = &self.failed {
            at = at.min(f.retry_at);
        }
        at.max(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timing = Timing {
        poll: 30,
        sweep_every: 60,
        max_backoff: 300,
    };

    #[test]
    fn a_new_commit_is_due_at_once_and_settles() {
        let mut s = Schedule::new(T, 1000);
        assert!(s.pass_due("a", 1000) && s.sweep_due(1000));
        s.after_pass("a", &Outcome::Settled, 1000, 0.5);
        s.after_sweep(1000, &[], &[], 0.5);
        assert!(!s.pass_due("a", 1010));
        assert!(s.pass_due("b", 1010));
        assert_eq!(s.next_wake(1010), 1040, "the next look at the branch");
        assert_eq!(s.next_wake(1045), 1060, "the next sweep");
    }

    #[test]
    fn a_waiting_operation_wakes_the_daemon_when_its_gate_may_open() {
        let mut s = Schedule::new(T, 1000);
        s.after_sweep(1000, &[], &[], 0.0);
        s.after_pass("a", &Outcome::Waiting { until: Some(1012) }, 1000, 0.0);
        assert_eq!(s.next_wake(1000), 1012);
        assert!(!s.pass_due("a", 1011));
        assert!(s.pass_due("a", 1012));
        // waiting for an operator: looked at again at the next poll
        s.after_pass("a", &Outcome::Waiting { until: None }, 1012, 0.0);
        assert_eq!(s.next_wake(1012), 1042);
    }

    #[test]
    fn failures_back_off_with_jitter_and_a_new_commit_cuts_the_wait() {
        let mut s = Schedule::new(T, 0);
        let mut waits = Vec::new();
        let mut now = 0;
        for _ in 0..10 {
            s.after_pass("a", &Outcome::Failed, now, 0.0);
            let (_, f) = s.failed.clone().unwrap();
            waits.push(f.retry_at - now);
            assert!(!s.pass_due("a", now));
            now = f.retry_at;
            assert!(s.pass_due("a", now));
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 150, 150]);
        assert!(s.pass_due("b", now - 1), "a new commit is tried at once");
        s.after_pass("a", &Outcome::Failed, now, 0.999);
        assert!(s.failed.clone().unwrap().1.retry_at - now >= 299);
    }

    #[test]
    fn broken_servers_rest_between_sweeps_until_they_recover() {
        let mut s = Schedule::new(T, 0);
        let ns2 = vec!["ns2".to_string()];
        s.after_sweep(0, &ns2, &[], 0.0);
        assert_eq!(s.resting(0), ns2);
        assert!(s.resting(1).is_empty(), "asked again after 1 s");
        s.after_sweep(60, &ns2, &[], 0.0);
        s.after_sweep(120, &ns2, &[], 0.0);
        assert_eq!(s.resting(123), ns2, "the third failure rests 4 s");
        // a sweep that left it alone keeps its back-off
        s.after_sweep(121, &[], &ns2, 0.0);
        assert_eq!(s.resting(123), ns2);
        assert!(s.resting(124).is_empty());
        s.after_sweep(180, &[], &[], 0.0);
        assert!(s.resting(180).is_empty());
    }

    #[test]
    fn backoff_is_bounded() {
        for attempts in 0..100 {
            for j in [0.0, 0.3, 0.99, 5.0] {
                let b = backoff(attempts, 300, j);
                assert!((1..=300).contains(&b), "{attempts} {j} {b}");
            }
        }
    }
}
