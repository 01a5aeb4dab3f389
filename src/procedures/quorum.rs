//! Which secondaries a change of a zone waits for. A secondary that is down or in
//! maintenance must not hold every change of every zone back (as OpenStack Designate's
//! pools, a change counts as served once the primary and a quorum of each group's
//! secondaries serve it). The absent ones are not asked, shown as lagging, and verified by
//! the sweeps once they answer again. Never used by staged procedures: a lame-NS gate
//! needs the server itself.

use std::collections::BTreeMap;

/// The secondaries of a group a zone change waits for, and those it does not wait for,
/// with why. `members` are the group's secondaries, `quorum` how many must serve,
/// `absent` the secondaries known not to answer (why, by name). Absent members are left
/// out only while the others still make the quorum; otherwise every member is waited for
/// (and the change fails as it always did, naming each).
pub fn waited_for(
    members: &[String],
    quorum: usize,
    absent: &BTreeMap<String, String>,
) -> (Vec<String>, Vec<(String, String)>) {
    let (gone, present): (Vec<&String>, Vec<&String>) =
        members.iter().partition(|m| absent.contains_key(*m));
    if gone.is_empty() || present.len() < quorum.max(1) {
        return (members.to_vec(), Vec::new());
    }
    (
        present.into_iter().cloned().collect(),
        gone.into_iter()
            .map(|m| (m.clone(), absent[m].clone()))
            .collect(),
    )
}

/// Whether `serving` secondaries make a group's `quorum` (never fewer than one: a change is
/// never served by the primary alone).
pub fn served(serving: usize, quorum: usize) -> bool {
    serving >= quorum.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn absent(v: &[&str]) -> BTreeMap<String, String> {
        v.iter().map(|s| (s.to_string(), "BROKEN".into())).collect()
    }

    #[test]
    fn one_absent_member_of_three_is_not_waited_for() {
        let m = names(&["ns1", "ns2", "ns3"]);
        let (asked, missing) = waited_for(&m, 2, &absent(&["ns2"]));
        assert_eq!(asked, names(&["ns1", "ns3"]));
        assert_eq!(missing, vec![("ns2".to_string(), "BROKEN".to_string())]);
    }

    #[test]
    fn a_quorum_is_at_least_one() {
        assert!(served(2, 2) && served(3, 2) && !served(1, 2));
        assert!(!served(0, 0) && served(1, 0));
    }

    #[test]
    fn below_the_quorum_everyone_is_waited_for() {
        let m = names(&["ns1", "ns2", "ns3"]);
        let (asked, missing) = waited_for(&m, 2, &absent(&["ns2", "ns3"]));
        assert_eq!(asked, m);
        assert!(missing.is_empty());
        // a group of two waits for both by default (quorum 2)
        let two = names(&["ns1", "ns2"]);
        assert_eq!(waited_for(&two, 2, &absent(&["ns2"])).0, two);
        // unless told otherwise
        assert_eq!(waited_for(&two, 1, &absent(&["ns2"])).0, names(&["ns1"]));
        // nobody absent: everyone
        assert_eq!(waited_for(&m, 2, &BTreeMap::new()).0, m);
        // a quorum of 0 is read as 1: a change is never served by the primary alone
        assert_eq!(waited_for(&two, 0, &absent(&["ns1", "ns2"])).0, two);
    }
}
