//! The delegation step (migration document section 2.3.2), shared by the procedures that
//! change a zone's NS RRset.
//!
//! When the parent zone is managed here too, its delegation (NS and glue) is part of its
//! desired content and is published by zonekeeper itself, in the right order: after the
//! child serves a new server, before the child stops listing a removed one. Otherwise the
//! step prints the exact NS and glue the registrar must publish and waits until the
//! parent's servers (`delegation.parent_servers` of the zone) answer with that NS set, or
//! until an operator confirms with `zonekeeper confirm OP STEP`.

use serde::{Deserialize, Serialize};

use super::{Action, Gate, StepSpec};

/// One zone's delegation, as desired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneDelegation {
    /// The zone.
    pub zone: String,
    /// Its desired apex NS set, sorted, lower case.
    pub ns: Vec<String>,
    /// Glue the parent needs: address records of NS names inside the zone.
    pub glue: Vec<String>,
    /// The managed parent zone, when there is one: the step brings it to its desired
    /// content (which holds the delegation) and requires it to delegate with `ns`.
    pub parent: Option<String>,
    /// Servers of an unmanaged parent to ask (`address:port`).
    pub parent_servers: Vec<String>,
}

/// What the registrar must publish, one item per zone whose parent is not managed here
/// (`zone: NS a b with glue …`): those only an operator can confirm first, then those
/// whose parent's servers are asked. The gate keeps them all, joined by `; `.
pub fn registrar_items(zones: &[ZoneDelegation]) -> Vec<String> {
    let unmanaged = |asked: bool| {
        zones
            .iter()
            .filter(move |z| z.parent.is_none() && z.parent_servers.is_empty() != asked)
    };
    unmanaged(false)
        .chain(unmanaged(true))
        .map(|z| {
            let mut item = format!("{}: NS {}", z.zone, z.ns.join(" "));
            if !z.glue.is_empty() {
                item.push_str(&format!(" with glue {}", z.glue.join(", ")));
            }
            item
        })
        .collect()
}

/// How many zones' delegations a message or a text plan spells out; the rest are counted
/// (`zonekeeper plan --format json` lists every one, in the gate's `instructions`).
pub const REGISTRAR_SHOWN: usize = 3;

/// What the registrar must publish, for people: the first [`REGISTRAR_SHOWN`] zones' NS
/// and glue, then how many more zones and where to read them all. One line of a few
/// hundred characters, however many zones the step concerns.
pub fn registrar_summary(zones: &[ZoneDelegation]) -> String {
    let items = registrar_items(zones);
    let mut text = crate::model::text::first_few(&items, REGISTRAR_SHOWN, "; ");
    if items.len() > REGISTRAR_SHOWN {
        text.push_str(" zone(s) (`zonekeeper plan --format json` lists every one)");
    }
    text
}

/// The delegation step for `zones`, or `None` when nothing about the delegation can change.
pub fn step(zones: &[ZoneDelegation]) -> StepSpec {
    let parents: Vec<String> = zones
        .iter()
        .filter_map(|z| z.parent.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let manual = zones
        .iter()
        .any(|z| z.parent.is_none() && z.parent_servers.is_empty());
    let instructions = registrar_items(zones).join("; ");
    let action = if parents.is_empty() {
        Action::Nothing
    } else {
        Action::PublishParents { zones: parents }
    };
    StepSpec::new(
        "delegation",
        action,
        Gate::Delegation {
            zones: zones.to_vec(),
            manual,
            instructions,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zd(zone: &str, parent: Option<&str>, servers: &[&str]) -> ZoneDelegation {
        ZoneDelegation {
            zone: zone.into(),
            ns: vec!["ns1.example.net.".into(), "ns3.example.net.".into()],
            glue: vec![],
            parent: parent.map(str::to_string),
            parent_servers: servers.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn managed_parents_are_published_by_the_step() {
        let s = step(&[zd("lab.example.com.", Some("example.com."), &[])]);
        assert_eq!(
            s.action,
            Action::PublishParents {
                zones: vec!["example.com.".into()]
            }
        );
        assert!(matches!(s.gate, Gate::Delegation { manual: false, .. }));
    }

    #[test]
    fn unmanaged_parents_without_servers_need_a_confirmation_with_instructions() {
        let s = step(&[zd("a.test.", None, &[])]);
        assert_eq!(s.action, Action::Nothing);
        let Gate::Delegation {
            manual,
            instructions,
            ..
        } = &s.gate
        else {
            panic!()
        };
        assert!(*manual);
        assert_eq!(
            instructions,
            "a.test.: NS ns1.example.net. ns3.example.net."
        );
    }

    #[test]
    fn unmanaged_parents_with_servers_are_asked() {
        let s = step(&[zd("a.test.", None, &["192.0.2.1:53"])]);
        assert!(matches!(s.gate, Gate::Delegation { manual: false, .. }));
    }
}
