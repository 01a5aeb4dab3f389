//! Tests of `steps.rs`: which operations wait for each other.

use super::*;

fn op(id: i64, kind: procedures::Kind, group: &str, zones: &[&str]) -> OperationRow {
    OperationRow {
        id,
        kind: kind.as_str().into(),
        group: group.into(),
        server: "ns3".into(),
        zones: zones.iter().map(|z| z.to_string()).collect(),
        revision: "c".into(),
        state: "active".into(),
        version: 0,
        steps: Vec::new(),
    }
}

#[test]
fn only_operations_on_the_same_zones_or_group_membership_wait_for_each_other() {
    use procedures::Kind::*;
    let add = op(1, AddSecondary, "default", &["a.test.", "b.test."]);
    let remove = op(2, RemoveSecondary, "default", &["a.test.", "b.test."]);
    let renumber_c = op(3, Renumber, "other", &["c.test."]);
    let renumber_a = op(4, Renumber, "default", &["a.test."]);
    let move_d = op(5, MoveZone, "other", &["d.test."]);
    let empty_group_add = op(6, AddSecondary, "empty", &[]);
    let empty_group_remove = op(7, RemoveSecondary, "empty", &[]);
    assert!(
        conflict(&add, &remove),
        "a replacement adds before it removes"
    );
    assert!(conflict(&add, &renumber_a), "same zone");
    assert!(!conflict(&add, &renumber_c), "other group, other zones");
    assert!(!conflict(&renumber_c, &move_d), "other zones");
    assert!(!conflict(&add, &empty_group_add));
    assert!(
        conflict(&empty_group_add, &empty_group_remove),
        "same group"
    );
    let renumber_b = op(8, Renumber, "default", &["b.test."]);
    assert!(
        !conflict(&renumber_a, &renumber_b),
        "two cut-overs of other zones"
    );
}
