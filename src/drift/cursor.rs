//! Which zones a content pass checks (pure). The zones are taken in name order, after the
//! last zone the previous pass checked (the cursor the store keeps), wrapping around to
//! the first: repeated passes of `budget` zones each go round every zone, whatever zones
//! were added or removed in between.
//!
//! # How large a pass is
//!
//! To go round `zones` zones in `period` seconds with a pass every `interval` seconds, a
//! pass checks `ceil(zones × interval / period)` zones ([`budget`]). 40,000 zones in an
//! hour is 11.1 zones a second: with a pass every 60 s, 667 zones a pass. Transfers run a
//! few at a time (`check::TRANSFERS_AT_ONCE` lanes, one TCP connection each), so the
//! primary answers at most that many AXFRs at once; a zone of 25 records transfers in a
//! millisecond or two on a LAN, so 667 zones keep 4 lanes busy for well under a minute.

/// The zones of one pass, and where the cursor goes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The zones to check, in the order checked.
    pub zones: Vec<String>,
    /// Whether the pass went past the last zone (by name) to the first.
    pub wrapped: bool,
}

/// The next `budget` zones of `names` (sorted by name, no duplicates) after `cursor`,
/// wrapping around; every zone at most once.
pub fn next_batch(names: &[String], cursor: Option<&str>, budget: usize) -> Batch {
    let start = match cursor {
        Some(c) => names.partition_point(|n| n.as_str() <= c),
        None => 0,
    };
    let take = budget.min(names.len());
    let zones: Vec<String> = names[start..]
        .iter()
        .chain(names[..start].iter())
        .take(take)
        .cloned()
        .collect();
    let wrapped = take > names.len() - start;
    Batch { zones, wrapped }
}

/// How many zones each pass checks to go round `zones` zones in `period_secs` with a pass
/// every `interval_secs`: `ceil(zones × interval / period)`, at least one when there are
/// zones.
pub fn budget(zones: usize, period_secs: u64, interval_secs: u64) -> usize {
    if zones == 0 {
        return 0;
    }
    let period = period_secs.max(1) as u128;
    let n = (zones as u128 * interval_secs as u128).div_ceil(period);
    (n.max(1)).min(zones as u128) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("z{i:03}.test.")).collect()
    }

    #[test]
    fn passes_go_round_every_zone_and_wrap() {
        let all = names(10);
        let b = next_batch(&all, None, 4);
        assert_eq!(b.zones, all[0..4]);
        assert!(!b.wrapped);
        let b = next_batch(&all, Some("z003.test."), 4);
        assert_eq!(b.zones, all[4..8]);
        let b = next_batch(&all, Some("z007.test."), 4);
        assert_eq!(b.zones, [&all[8..], &all[..2]].concat());
        assert!(b.wrapped);
        // at the very end: starts again from the first
        let b = next_batch(&all, Some("z009.test."), 3);
        assert_eq!(b.zones, all[..3]);
        assert!(b.wrapped);
    }

    #[test]
    fn a_budget_larger_than_the_zones_checks_each_once() {
        let all = names(3);
        let b = next_batch(&all, Some("z001.test."), 10);
        assert_eq!(b.zones, ["z002.test.", "z000.test.", "z001.test."]);
        assert!(next_batch(&[], Some("x."), 5).zones.is_empty());
    }

    #[test]
    fn a_cursor_on_a_zone_gone_since_goes_on_after_where_it_was() {
        let all = names(10);
        let b = next_batch(&all, Some("z004x.test."), 2);
        assert_eq!(b.zones, all[5..7]);
    }

    #[test]
    fn repeated_passes_cover_every_zone() {
        let all = names(37);
        let mut seen = std::collections::BTreeSet::new();
        let mut cursor: Option<String> = None;
        for _ in 0..5 {
            let b = next_batch(&all, cursor.as_deref(), 8);
            cursor = b.zones.last().cloned();
            seen.extend(b.zones);
        }
        assert_eq!(seen.len(), 37, "5 passes of 8 go round 37 zones");
    }

    #[test]
    fn forty_thousand_zones_in_an_hour() {
        // a pass a minute: 667 zones each; a pass every 10 s: 112
        assert_eq!(budget(40_000, 3600, 60), 667);
        assert_eq!(budget(40_000, 3600, 10), 112);
        // 60 passes of 667 go round 40,000 zones
        assert!(60 * budget(40_000, 3600, 60) >= 40_000);
        assert_eq!(budget(5, 3600, 60), 1);
        assert_eq!(budget(0, 3600, 60), 0);
        assert_eq!(budget(10, 60, 3600), 10);
    }
}
