//! Plan tests on desired states written to a temporary folder.

use std::collections::BTreeMap;

use super::*;
use crate::desired::{self, Source};
use crate::store::RecordedZone;

const CONFIG: &str = "primary:
  address: 127.0.0.1
  tsig: {name: k, secret_env: ZK_TEST_SECRET}
  control: {rndc_conf: /nonexistent/rndc.conf, config_dir: /nonexistent/zk}
secondaries:
  ns1: {addresses: [127.0.0.2]}
groups:
  default:
    catalog: catalog.test.
    secondaries: [ns1]
    nameservers: [ns1.example.net.]
    soa: {mname: p.example.net., rname: h.example.net.}
";

fn desired(zones: &[(&str, &str)]) -> DesiredState {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("zonekeeper.yaml"), CONFIG).unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    for (name, text) in zones {
        std::fs::write(dir.path().join(format!("zones/{name}.yaml")), text).unwrap();
    }
    let source = Source::open(dir.path(), None, true).unwrap();
    desired::load(&source).unwrap()
}

fn recorded_from(d: &DesiredState, serial: u32) -> Recorded {
    let zones = d
        .zones
        .iter()
        .map(|(n, z)| {
            (
                n.clone(),
                RecordedZone {
                    name: n.clone(),
                    group: z.group.clone(),
                    serial,
                    content_hash: z.content_hash(),
                    content: z.canonical_text(serial),
                    verified: true,
                    commit_id: "c0".into(),
                },
            )
        })
        .collect::<BTreeMap<_, _>>();
    Recorded {
        zones,
        groups: Vec::new(),
        revision: Some("c0".into()),
        primary: None,
    }
}

const A: &str = "group: default\nrecords:\n  www:\n    A: 192.0.2.1\n";
const A2: &str = "group: default\nrecords:\n  www:\n    A: 192.0.2.2\n";

#[test]
fn new_zones_are_created_with_todays_serial() {
    let d = desired(&[("a.test", A), ("b.test", A)]);
    let plan = compute(&d, &Recorded::default(), 20261121);
    assert_eq!(plan.count(ZoneAction::Create), 2);
    assert_eq!(plan.zones[0].new_serial, Some(2026112100));
    assert_eq!(plan.groups.len(), 1, "the group is new");
    assert!(render::text(&plan, false).contains("+ a.test. 3600 IN NS ns1.example.net."));
}

#[test]
fn unchanged_zones_make_an_empty_plan() {
    let d = desired(&[("a.test", A)]);
    let mut rec = recorded_from(&d, 2026112000);
    rec.groups = vec![crate::store::GroupRow {
        name: "default".into(),
        catalog: "catalog.test.".into(),
        secondaries: vec!["ns1".into()],
        nameservers: vec!["ns1.example.net.".into()],
    }];
    let plan = compute(&d, &rec, 20261121);
    assert!(!plan.has_changes(), "{plan:?}");
    assert!(render::text(&plan, false).contains("No changes"));
}

#[test]
fn one_changed_record_is_one_rrset_change_and_a_serial_bump() {
    let before = desired(&[("a.test", A), ("b.test", A)]);
    let rec = recorded_from(&before, 2026112105);
    let after = desired(&[("a.test", A2), ("b.test", A)]);
    let plan = compute(&after, &rec, 20261121);
    let changes: Vec<_> = plan
        .zones
        .iter()
        .filter(|z| z.action != ZoneAction::Verify)
        .collect();
    assert_eq!(changes.len(), 1);
    let z = changes[0];
    assert_eq!((z.zone.as_str(), z.action), ("a.test.", ZoneAction::Update));
    assert_eq!(
        (z.expected_serial, z.new_serial),
        (Some(2026112105), Some(2026112106))
    );
    assert_eq!(z.rrsets.len(), 1);
    assert_eq!(z.rrsets[0].old, vec!["www.a.test. 3600 IN A 192.0.2.1"]);
    assert_eq!(z.rrsets[0].new, vec!["www.a.test. 3600 IN A 192.0.2.2"]);
    let text = render::zone_diff(z, false);
    assert_eq!(
        text,
        "    - www.a.test. 3600 IN A 192.0.2.1\n    + www.a.test. 3600 IN A 192.0.2.2\n"
    );
}

#[test]
fn removed_zone_files_are_deletions() {
    let before = desired(&[("a.test", A), ("b.test", A)]);
    let rec = recorded_from(&before, 1);
    let after = desired(&[("a.test", A)]);
    let plan = compute(&after, &rec, 20261121);
    let deletes: Vec<_> = plan
        .zones
        .iter()
        .filter(|z| z.action == ZoneAction::Delete)
        .map(|z| z.zone.as_str())
        .collect();
    assert_eq!(deletes, vec!["b.test."]);
}

#[test]
fn soa_timer_change_shows_as_soa_change() {
    let before = desired(&[("a.test", A)]);
    let rec = recorded_from(&before, 7);
    let after = desired(&[(
        "a.test",
        "group: default\nsoa: {minimum: 60}\nrecords:\n  www:\n    A: 192.0.2.1\n",
    )]);
    let plan = compute(&after, &rec, 20261121);
    assert_eq!(plan.zones[0].rrsets[0].rtype, "SOA");
}

#[test]
fn unverified_zones_are_verified_again() {
    let d = desired(&[("a.test", A)]);
    let mut rec = recorded_from(&d, 3);
    rec.zones.values_mut().for_each(|z| z.verified = false);
    let plan = compute(&d, &rec, 20261121);
    assert_eq!(plan.zones[0].action, ZoneAction::Verify);
    assert_eq!(plan.zones[0].new_serial, Some(3));
}
