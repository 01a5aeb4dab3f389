//! The whole decision on desired states written to a temporary folder, against recorded
//! states built from earlier desired ones: membership, move-zone, renumber, dedup against
//! active operations, the primary's move, and the parent's TTL standing in.

use super::super::{Gate, Kind};
use super::*;
use crate::desired::{self, Source};
use crate::store::StepRow;

/// `zonekeeper.yaml` with three secondaries (published as nsN.example.net.), group
/// `default` holding `members` and group `other` holding ns3, TTL 600; the primary at
/// `primary`.
fn config(members: &[&str], primary: &str) -> String {
    format!(
        "primary:
  name: p
  address: {primary}
  tsig: {{name: k, secret_env: ZK_TEST_SECRET}}
  control: {{rndc_conf: /nonexistent/rndc.conf, config_dir: /nonexistent/zk}}
secondaries:
  ns1: {{addresses: [127.0.0.2], nameserver: ns1.example.net.}}
  ns2: {{addresses: [127.0.0.3], nameserver: ns2.example.net.}}
  ns3: {{addresses: [127.0.0.4], nameserver: ns3.example.net.}}
groups:
  default:
    catalog: catalog.test.
    secondaries: [{}]
    nameservers: [{}]
    ttl: 600
    soa: {{mname: p.example.net., rname: h.example.net.}}
  other:
    catalog: other.test.
    secondaries: [ns3]
    nameservers: [ns3.example.net.]
    ttl: 600
    soa: {{mname: p.example.net., rname: h.example.net.}}
",
        members.join(", "),
        members
            .iter()
            .map(|m| format!("{m}.example.net."))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn load(config: &str, zones: &[(&str, &str)]) -> DesiredState {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("zonekeeper.yaml"), config).unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    for (name, text) in zones {
        std::fs::write(dir.path().join(format!("zones/{name}.yaml")), text).unwrap();
    }
    let source = Source::open(dir.path(), None, true).unwrap();
    desired::load(&source).unwrap()
}

/// What the store holds once `d` was applied: its zones with content, its groups, its
/// primary.
fn recorded(d: &DesiredState) -> Recorded {
    Recorded {
        groups: d.config.groups.values().map(GroupRow::of).collect(),
        zones: d
            .zones
            .values()
            .map(|z| RecordedZone::of(z, 2026010100, "c0"))
            .collect(),
        content: d
            .zones
            .iter()
            .map(|(n, z)| (n.clone(), z.canonical_text(2026010100)))
            .collect(),
        active: Vec::new(),
        primary: Some(d.config.primary.recorded()),
        primary_moves: Vec::new(),
    }
}

const PLAIN: &str = "group: default\nrecords:\n  www:\n    A: 192.0.2.1\n";
const ASKED: &str = "group: default\ndelegation:\n  parent_servers: [\"192.0.2.53:53\"]\nrecords:\n  www:\n    A: 192.0.2.1\n";

fn kinds(ops: &[NewOperation]) -> Vec<(Kind, String)> {
    ops.iter().map(|o| (o.kind, o.server.clone())).collect()
}

fn wait_of(op: &NewOperation) -> (u64, String) {
    op.steps
        .iter()
        .find_map(|s| match &s.gate {
            Gate::Wait { seconds, why } => Some((*seconds, why.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no wait in {op:?}"))
}

#[test]
fn nothing_changed_decides_nothing() {
    let d = load(&config(&["ns1", "ns2"], "127.0.0.1"), &[("a.test", PLAIN)]);
    let dec = decide(&d, &recorded(&d), &Observations::default());
    assert!(dec.create.is_empty(), "{:?}", dec.create);
    assert!(!dec.record_groups);
    assert_eq!(dec.primary, PrimaryMove::Stays);
    assert!(dec.held.is_empty());
}

#[test]
fn a_joining_secondary_is_one_add_secondary_over_the_groups_zones() {
    let before = load(
        &config(&["ns1", "ns2"], "127.0.0.1"),
        &[("a.test", PLAIN), ("b.test", PLAIN)],
    );
    let after = load(
        &config(&["ns1", "ns2", "ns3"], "127.0.0.1"),
        &[("a.test", PLAIN), ("b.test", PLAIN)],
    );
    let dec = decide(&after, &recorded(&before), &Observations::default());
    assert_eq!(kinds(&dec.create), vec![(Kind::AddSecondary, "ns3".into())]);
    let op = &dec.create[0];
    assert_eq!(op.group, "default");
    assert_eq!(op.zones, vec!["a.test.", "b.test."]);
    let names: Vec<&str> = op.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["provision", "publish-ns", "delegation"]);
    assert!(dec.record_groups, "the new membership is recorded");
    assert_eq!(dec.held, vec!["a.test.", "b.test."]);
}

#[test]
fn a_replacement_adds_before_it_removes() {
    let before = load(&config(&["ns1", "ns2"], "127.0.0.1"), &[("a.test", PLAIN)]);
    let after = load(&config(&["ns1", "ns3"], "127.0.0.1"), &[("a.test", PLAIN)]);
    let dec = decide(&after, &recorded(&before), &Observations::default());
    assert_eq!(
        kinds(&dec.create),
        vec![
            (Kind::AddSecondary, "ns3".into()),
            (Kind::RemoveSecondary, "ns2".into())
        ]
    );
}

#[test]
fn an_unknown_parent_ttl_is_stood_in_for_by_the_childs_ns_ttl() {
    let before = load(&config(&["ns1", "ns2"], "127.0.0.1"), &[("a.test", ASKED)]);
    let after = load(&config(&["ns1"], "127.0.0.1"), &[("a.test", ASKED)]);
    let rec = recorded(&before);
    let asked = parent_probes(&after, &rec.groups, &rec.zones);
    assert_eq!(
        asked,
        vec![("a.test.".to_string(), "192.0.2.53:53".to_string())]
    );

    // The parent's server did not answer: the child's NS TTL (600) stands in, and says so.
    let mut obs = Observations::default();
    obs.parent_ns_ttl.insert(asked[0].clone(), None);
    let dec = decide(&after, &rec, &obs);
    assert_eq!(
        kinds(&dec.create),
        vec![(Kind::RemoveSecondary, "ns2".into())]
    );
    let (seconds, why) = wait_of(&dec.create[0]);
    assert_eq!(seconds, 600, "{why}");
    assert!(why.contains("a parent's NS TTL is unknown"), "{why}");

    // It answered with a longer TTL: that is waited out instead.
    obs.parent_ns_ttl.insert(asked[0].clone(), Some(86400));
    let (seconds, why) = wait_of(&decide(&after, &rec, &obs).create[0]);
    assert_eq!(seconds, 86400);
    assert!(!why.contains("unknown"), "{why}");
}

#[test]
fn a_managed_parents_recorded_delegation_ttl_counts() {
    let parent = "group: default\nrecords:\n  a:\n    NS:\n      ttl: 7200\n      values: [ns1.example.net., ns2.example.net.]\n";
    let zones = [("test", parent), ("a.test", PLAIN)];
    let before = load(&config(&["ns1", "ns2"], "127.0.0.1"), &zones);
    let after = load(&config(&["ns1"], "127.0.0.1"), &zones);
    let rec = recorded(&before);
    assert!(parent_probes(&after, &rec.groups, &rec.zones).is_empty());
    assert!(contents_needed(&after, &rec.groups, &rec.zones).contains(&"test.".to_string()));
    let dec = decide(&after, &rec, &Observations::default());
    let (seconds, _) = wait_of(&dec.create[0]);
    assert_eq!(seconds, 7200, "the parent's delegation TTL is the longest");
}

#[test]
fn a_zone_changing_group_moves_and_waits_its_old_ns_ttl() {
    let before = load(&config(&["ns1", "ns2"], "127.0.0.1"), &[("a.test", PLAIN)]);
    let moved = PLAIN.replace("group: default", "group: other");
    let after = load(&config(&["ns1", "ns2"], "127.0.0.1"), &[("a.test", &moved)]);
    let rec = recorded(&before);
    assert_eq!(
        contents_needed(&after, &rec.groups, &rec.zones),
        vec!["a.test."]
    );
    let dec = decide(&after, &rec, &Observations::default());
    assert_eq!(kinds(&dec.create), vec![(Kind::MoveZone, String::new())]);
    let op = &dec.create[0];
    assert_eq!(
        (op.group.as_str(), op.zones.clone()),
        ("other", vec!["a.test.".to_string()])
    );
    assert_eq!(wait_of(op).0, 600, "the recorded apex NS TTL");
    assert!(!dec.record_groups, "no membership changed");
}

#[test]
fn a_moving_zone_waits_its_parents_delegation_ttl_too() {
    // Found by the simulated fleet (seed 3000153): the old group left while resolvers
    // could still hold the parent's delegation to it.
    let before = load(&config(&["ns1", "ns2"], "127.0.0.1"), &[("a.test", ASKED)]);
    let moved = ASKED.replace("group: default", "group: other");
    let after = load(&config(&["ns1", "ns2"], "127.0.0.1"), &[("a.test", &moved)]);
    let rec = recorded(&before);
    let asked = parent_probes(&after, &rec.groups, &rec.zones);
    assert_eq!(
        asked,
        vec![("a.test.".to_string(), "192.0.2.53:53".to_string())]
    );
    let mut obs = Observations::default();
    obs.parent_ns_ttl.insert(asked[0].clone(), Some(86400));
    let (seconds, why) = wait_of(&decide(&after, &rec, &obs).create[0]);
    assert_eq!(
        seconds, 86400,
        "the parent's delegation TTL is the longest: {why}"
    );
    assert!(!why.contains("unknown"), "{why}");

    // Its server did not answer: the child's NS TTL (600) stands in, and says so.
    obs.parent_ns_ttl.insert(asked[0].clone(), None);
    let (seconds, why) = wait_of(&decide(&after, &rec, &obs).create[0]);
    assert_eq!(seconds, 600, "{why}");
    assert!(why.contains("parent's NS TTL is unknown"), "{why}");
}

#[test]
fn a_moving_zones_managed_parent_is_read_for_its_delegation_ttl() {
    let parent = "group: default\nrecords:\n  a:\n    NS:\n      ttl: 7200\n      values: [ns1.example.net., ns2.example.net.]\n";
    let moved = PLAIN.replace("group: default", "group: other");
    let before = load(
        &config(&["ns1", "ns2"], "127.0.0.1"),
        &[("test", parent), ("a.test", PLAIN)],
    );
    let after = load(
        &config(&["ns1", "ns2"], "127.0.0.1"),
        &[("test", parent), ("a.test", &moved)],
    );
    let rec = recorded(&before);
    assert!(contents_needed(&after, &rec.groups, &rec.zones).contains(&"test.".to_string()));
    let dec = decide(&after, &rec, &Observations::default());
    assert_eq!(kinds(&dec.create), vec![(Kind::MoveZone, String::new())]);
    assert_eq!(wait_of(&dec.create[0]).0, 7200);
}

fn mail(addr: &str, ttl: u32, cutover: bool) -> String {
    let cut = if cutover {
        "\n      cutover: {short_ttl: 60, soak: 300}"
    } else {
        ""
    };
    format!(
        "group: default\nsoa: {{refresh: 1000}}\nrecords:\n  mail:\n    A:\n      ttl: {ttl}\n      value: {addr}{cut}\n"
    )
}

#[test]
fn a_cutover_is_staged_only_when_its_data_changes() {
    let c = config(&["ns1", "ns2"], "127.0.0.1");
    let rec = recorded(&load(&c, &[("a.test", &mail("192.0.2.25", 3600, false))]));

    let switched = load(&c, &[("a.test", &mail("198.51.100.25", 3600, true))]);
    let dec = decide(&switched, &rec, &Observations::default());
    assert_eq!(
        kinds(&dec.create),
        vec![(Kind::Renumber, "mail.a.test. A".into())]
    );
    assert_eq!(wait_of(&dec.create[0]).0, 1000 + 3600, "refresh + old TTL");
    assert_eq!(dec.held, vec!["a.test."]);

    let ttl_only = load(&c, &[("a.test", &mail("192.0.2.25", 300, true))]);
    assert!(
        decide(&ttl_only, &rec, &Observations::default())
            .create
            .is_empty()
    );
    let unmarked = load(&c, &[("a.test", &mail("198.51.100.25", 3600, false))]);
    assert!(
        decide(&unmarked, &rec, &Observations::default())
            .create
            .is_empty()
    );
}

fn row(id: i64, op: &NewOperation, state: &str) -> OperationRow {
    OperationRow {
        id,
        kind: op.kind.as_str().into(),
        group: op.group.clone(),
        server: op.server.clone(),
        zones: op.zones.clone(),
        revision: "c1".into(),
        state: state.into(),
        version: 0,
        steps: op
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| StepRow {
                idx: i as i64 + 1,
                name: s.name.clone(),
                spec: serde_json::to_string(s).unwrap(),
                state: "pending".into(),
                attempts: 0,
                not_before: None,
                confirmed: false,
                message: String::new(),
                updated_at: 0,
                finished_at: None,
                next_check_at: None,
                checked_revision: None,
            })
            .collect(),
    }
}

#[test]
fn an_active_operation_is_not_created_twice() {
    let before = load(&config(&["ns1", "ns2"], "127.0.0.1"), &[("a.test", PLAIN)]);
    let after = load(&config(&["ns1", "ns3"], "127.0.0.1"), &[("a.test", PLAIN)]);
    let mut rec = recorded(&before);
    let first = decide(&after, &rec, &Observations::default());
    rec.active = vec![row(7, &first.create[0], "active")];
    let again = decide(&after, &rec, &Observations::default());
    assert_eq!(
        kinds(&again.create),
        vec![(Kind::RemoveSecondary, "ns2".into())],
        "the add is under way; the remove is still to create"
    );
    assert!(again.record_groups);
    assert_eq!(again.held, vec!["a.test."]);

    // Same kind, other server: not the same operation.
    let mut other = first.create[0].clone();
    other.server = "ns9".into();
    rec.active = vec![row(8, &other, "active")];
    assert_eq!(
        decide(&after, &rec, &Observations::default()).create.len(),
        2
    );
}

#[test]
fn the_primary_moves_once_and_is_recorded_when_done() {
    let zones = [("a.test", PLAIN), ("b.test", PLAIN)];
    let before = load(&config(&["ns1", "ns2"], "127.0.0.1"), &zones);
    let after = load(&config(&["ns1", "ns2"], "127.0.0.9"), &zones);
    let mut rec = recorded(&before);
    let PrimaryMove::Start(op) = primary_move(&after, &rec) else {
        panic!("{:?}", primary_move(&after, &rec))
    };
    assert_eq!(op.kind, Kind::MovePrimary);
    assert_eq!(op.server, "127.0.0.9:53");
    assert_eq!(op.zones, vec!["a.test.", "b.test."]);

    rec.primary_moves = vec![row(3, &op, "active")];
    assert_eq!(primary_move(&after, &rec), PrimaryMove::UnderWay { id: 3 });
    rec.primary_moves = vec![row(3, &op, "done")];
    assert_eq!(primary_move(&after, &rec), PrimaryMove::Done);

    let elsewhere = load(&config(&["ns1", "ns2"], "127.0.0.7"), &zones);
    rec.primary_moves = vec![row(3, &op, "active")];
    let PrimaryMove::Conflict(why) = primary_move(&elsewhere, &rec) else {
        panic!("{:?}", primary_move(&elsewhere, &rec))
    };
    assert!(
        why.contains("op 3 moves the primary to 127.0.0.9:53"),
        "{why}"
    );
    assert_eq!(primary_move(&before, &rec), PrimaryMove::Stays);
}
