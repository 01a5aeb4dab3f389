//! How often and for how long a failing gate is observed within one apply: less often as
//! its check goes on, and, for zone operations, for as long as the servers make progress.
//! Pure: times on the driver's clock are arguments.

use std::time::Duration;

use crate::procedures::Gate;

/// The longest time between two observations of a failing gate within one check.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How long the driver waits before it observes a failing gate again, `checked` after the
/// check's first observation: the gate's base interval at first (a load 50 ms, a server
/// stopping 200 ms, the others 100 ms), then half the time checked so far, at most
/// [`MAX_POLL_INTERVAL`]. A server that converges at once is seen at once; one that lags is
/// asked a few dozen times within a 30 s verify timeout, not hundreds.
pub fn poll_interval(gate: &Gate, checked: Duration) -> Duration {
    let base = match gate {
        Gate::PrimaryServes => Duration::from_millis(50),
        Gate::StoppedServing { .. } | Gate::GroupStopped { .. } => Duration::from_millis(200),
        _ => Duration::from_millis(100),
    };
    (checked / 2).clamp(base, MAX_POLL_INTERVAL.max(base))
}

/// When a failing gate is observed next, it being `now`: after [`poll_interval`] counted
/// from the check's first observation (its `deadline` less the verify `timeout`), and no
/// later than `until`.
pub fn next_poll(
    gate: &Gate,
    now: Duration,
    deadline: Duration,
    timeout: Duration,
    until: Duration,
) -> Duration {
    let checked = now.saturating_sub(deadline.saturating_sub(timeout));
    (now + poll_interval(gate, checked)).min(until)
}

/// Until when a zone operation's gate that still fails is observed again, it being `now`:
/// its own deadline (its first observation plus the verify `timeout`), or later while the
/// servers make progress: `timeout` after the last time some gate of the apply's zone
/// operations held or some server began to serve (`progress`). Thousands of new zones
/// reach the secondaries over minutes; verification gives up only when they stall.
/// `None`: give up now.
pub fn polls_until(
    now: Duration,
    deadline: Duration,
    progress: Option<Duration>,
    timeout: Duration,
) -> Option<Duration> {
    let until = progress.map_or(deadline, |p| deadline.max(p + timeout));
    (now < until).then_some(until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lagging_gate_is_observed_less_often_as_its_check_goes_on() {
        let group = Gate::GroupStopped {
            group: "old".into(),
            except: "new".into(),
        };
        let ms = Duration::from_millis;
        assert_eq!(poll_interval(&group, ms(0)), ms(200));
        assert_eq!(poll_interval(&Gate::AllServe, ms(0)), ms(100));
        assert_eq!(poll_interval(&Gate::PrimaryServes, ms(0)), ms(50));
        assert_eq!(poll_interval(&Gate::AllServe, ms(300)), ms(150));
        assert_eq!(
            poll_interval(&Gate::AllServe, ms(30_000)),
            MAX_POLL_INTERVAL
        );
        // Within a 30 s verify timeout a lagging server is observed a few dozen times.
        let (mut at, mut polls) = (Duration::ZERO, 0);
        while at < Duration::from_secs(30) {
            at += poll_interval(&Gate::AllServe, at);
            polls += 1;
        }
        assert!((30..=45).contains(&polls), "{polls} observations");
    }

    #[test]
    fn zone_gates_are_observed_while_the_servers_make_progress() {
        let s = Duration::from_secs;
        // No progress: the gate's own deadline.
        assert_eq!(polls_until(s(10), s(30), None, s(30)), Some(s(30)));
        assert_eq!(polls_until(s(30), s(30), None, s(30)), None);
        // Progress 20 s ago with a 30 s timeout: 10 s more after the deadline.
        assert_eq!(polls_until(s(31), s(30), Some(s(20)), s(30)), Some(s(50)));
        // Progress long ago: the deadline stands.
        assert_eq!(polls_until(s(31), s(30), Some(s(0)), s(30)), None);
        // Progress keeps coming: the gate is observed for as long as it does.
        assert_eq!(
            polls_until(s(300), s(30), Some(s(299)), s(30)),
            Some(s(329))
        );
        // Stalled for a whole timeout: given up.
        assert_eq!(polls_until(s(329), s(30), Some(s(299)), s(30)), None);
    }
}
