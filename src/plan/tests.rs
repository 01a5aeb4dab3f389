//! Plan tests on desired states written to a temporary folder.

use std::collections::BTreeMap;

use super::*;
use crate::desired::{self, Source};
use crate::store::RecordedZone;

/// A desired configuration of one group and one secondary, for unit tests.
pub(crate) const CONFIG: &str = "primary:
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
                    source: z.source.clone(),
                },
            )
        })
        .collect::<BTreeMap<_, _>>();
    Recorded {
        zones,
        groups: Vec::new(),
        revision: Some("c0".into()),
        primary: None,
        serial_floors: BTreeMap::new(),
    }
}

const A: &str = "group: default\nrecords:\n  www:\n    A: 192.0.2.1\n";
const A2: &str = "group: default\nrecords:\n  www:\n    A: 192.0.2.2\n";

#[test]
fn new_zones_are_created_with_todays_serial() {
    let d = desired(&[("a.test", A), ("b.test", A)]);
    let plan = compute(&d, &mut Recorded::default(), 20261121, Detail::Full);
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
    let plan = compute(&d, &mut rec.clone(), 20261121, Detail::Full);
    assert!(!plan.has_changes(), "{plan:?}");
    assert!(render::text(&plan, false).contains("No changes"));
}

#[test]
fn one_changed_record_is_one_rrset_change_and_a_serial_bump() {
    let before = desired(&[("a.test", A), ("b.test", A)]);
    let rec = recorded_from(&before, 2026112105);
    let after = desired(&[("a.test", A2), ("b.test", A)]);
    let plan = compute(&after, &mut rec.clone(), 20261121, Detail::Full);
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
    let rrsets = z.rrset_changes();
    assert_eq!(rrsets.len(), 1);
    assert_eq!(rrsets[0].old, vec!["www.a.test. 3600 IN A 192.0.2.1"]);
    assert_eq!(rrsets[0].new, vec!["www.a.test. 3600 IN A 192.0.2.2"]);
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
    let plan = compute(&after, &mut rec.clone(), 20261121, Detail::Full);
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
    let plan = compute(&after, &mut rec.clone(), 20261121, Detail::Full);
    assert_eq!(plan.zones[0].rrset_changes()[0].rtype, "SOA");
}

#[test]
fn unverified_zones_are_verified_again() {
    let d = desired(&[("a.test", A)]);
    let mut rec = recorded_from(&d, 3);
    rec.zones.values_mut().for_each(|z| z.verified = false);
    let plan = compute(&d, &mut rec.clone(), 20261121, Detail::Full);
    assert_eq!(plan.zones[0].action, ZoneAction::Verify);
    assert_eq!(plan.zones[0].new_serial, Some(3));
}

/// A remove-secondary whose parent is unmanaged and unknown: a delegation step confirmed by
/// hand, then a TTL wait.
fn removal() -> crate::procedures::NewOperation {
    use crate::procedures::{GroupZones, delegation::ZoneDelegation, remove_secondary};
    let gz = GroupZones {
        zones: vec!["a.test.".into()],
        max_ns_ttl: 600,
        parent_ttl_unknown: true,
        delegations: vec![ZoneDelegation {
            zone: "a.test.".into(),
            ns: vec!["ns1.example.net.".into()],
            glue: vec![],
            parent: None,
            parent_servers: vec![],
        }],
        ..GroupZones::default()
    };
    remove_secondary::operation("default", "ns2", Some("ns2.example.net."), &gz)
}

#[test]
fn a_plan_of_operations_only_has_changes_and_shows_their_waits() {
    use operations::{OperationState, Wait};
    let d = desired(&[("a.test", A)]);
    let mut rec = recorded_from(&d, 3);
    rec.groups = vec![crate::store::GroupRow::of(&d.config.groups["default"])];
    let mut plan = compute(&d, &mut rec.clone(), 20261121, Detail::Full);
    assert!(!plan.has_changes(), "{plan:?}");
    plan.operations = vec![operations::new_operation(&removal())];
    assert!(
        plan.has_changes(),
        "an operation to start is something to do"
    );
    assert!(plan.needs_approval());

    let steps = &plan.operations[0].steps;
    assert_eq!(steps[0].name, "delegation");
    assert!(
        matches!(&steps[0].waits[..], [Wait::Delegation { by_hand, .. }, Wait::Confirmation { what }]
            if by_hand == &["a.test."] && what.contains("a.test.: NS ns1.example.net.")),
        "{:?}",
        steps[0].waits
    );
    assert!(
        matches!(&steps[2].waits[..], [Wait::Time { seconds: 600, why }] if why.contains("unknown")),
        "{:?}",
        steps[2].waits
    );

    let text = render::text(&plan, false);
    for line in [
        "new: remove-secondary ns2 in group default, 1 zone(s): a.test.",
        "  1. delegation: nothing; gate: the parents delegate with the desired NS set",
        "waits for the parents' delegation: confirmed by hand for a.test.",
        "waits for an operator to confirm step 1 once the registrar publishes a.test.: NS ns1.example.net.",
        "  3. ttl-wait: render the primary's configuration (also-notify) and notify the catalog; gate: time",
        "waits 600 s: resolvers may hold NS and address records naming ns2 for 600 s",
        "0 to create, 0 to update, 0 to delete, 0 to verify; 1 operation(s) to start, 0 under way.",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("No changes"), "{text}");

    let json = render::json(&plan);
    assert_eq!(json["summary"]["changes"], true);
    assert_eq!(json["summary"]["operations_new"], 1);
    let op = &json["operations"][0];
    assert_eq!(op["state"], "new");
    assert_eq!(op["id"], serde_json::Value::Null);
    assert_eq!(op["kind"], "remove-secondary");
    assert_eq!(op["steps"][2]["gate"]["gate"], "wait");
    assert_eq!(op["steps"][2]["waits"][0]["wait"], "time");
    assert_eq!(op["steps"][2]["waits"][0]["seconds"], 600);
    assert_eq!(op["steps"][0]["waits"][1]["wait"], "confirmation");
    // A saved plan reads back the same, operations included.
    let back: Plan = serde_json::from_value(json).unwrap();
    assert_eq!(back.operations, plan.operations);
    assert_eq!(back.count_operations(OperationState::New), 1);
}

#[test]
fn operations_under_way_show_their_state_and_count_as_something_to_do() {
    let op = removal();
    let row = crate::store::OperationRow {
        id: 4,
        kind: op.kind.as_str().into(),
        group: op.group.clone(),
        server: op.server.clone(),
        zones: op.zones.clone(),
        revision: "c1".into(),
        state: "active".into(),
        version: 0,
        steps: op
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| crate::store::StepRow {
                idx: i as i64 + 1,
                name: s.name.clone(),
                spec: serde_json::to_string(s).unwrap(),
                state: if i == 0 { "waiting" } else { "pending" }.into(),
                attempts: 1,
                not_before: None,
                confirmed: false,
                message: if i == 0 {
                    "the registrar must publish it".into()
                } else {
                    String::new()
                },
                updated_at: 0,
                finished_at: None,
                next_check_at: None,
                checked_revision: None,
            })
            .collect(),
    };
    let d = desired(&[("a.test", A)]);
    let mut plan = compute(&d, &mut recorded_from(&d, 3), 20261121, Detail::Full);
    plan.groups.clear();
    plan.operations = vec![operations::active_operation(&row)];
    assert!(plan.has_changes());
    assert!(!plan.needs_approval(), "approved when it was created");
    let text = render::text(&plan, false);
    for line in [
        "op 4 (under way): remove-secondary ns2 in group default",
        "  1. delegation [waiting]: nothing;",
        "waits for an operator to confirm step 1 once the registrar publishes",
        "last: the registrar must publish it",
        "  2. unpublish-ns [pending]:",
        "0 operation(s) to start, 1 under way.",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(
        !text.contains("zonekeeper confirm"),
        "confirmed once reached: {text}"
    );
    // Before asking, apply shows what is to approve: the operation under way is counted.
    let short = render::text_to_approve(&plan, false);
    assert!(!short.contains("op 4"), "{short}");
    assert!(
        short.contains("0 operation(s) to start, 1 under way."),
        "{short}"
    );
}

#[test]
fn zone_operations_are_counted_by_kind_and_group_with_their_steps() {
    let before = desired(&[("a.test", A), ("b.test", A), ("c.test", A)]);
    let rec = recorded_from(&before, 1);
    let changed = A.replace("192.0.2.1", "192.0.2.9");
    let after = desired(&[
        ("a.test", &changed),
        ("b.test", A),
        ("d.test", A),
        ("e.test", A),
    ]);
    let mut plan = compute(&after, &mut rec.clone(), 20261121, Detail::Full);
    // a.test is held by a staged operation: its update is the operation's, not a zone
    // operation of its own.
    let ops = crate::procedures::zone::operations(
        plan.zones.iter().map(ZoneChange::change),
        &["a.test.".to_string()],
        true,
    );
    plan.zone_operations = operations::zone_operations(&ops);
    let counted: Vec<(&str, usize, Vec<&str>)> = plan
        .zone_operations
        .iter()
        .map(|o| {
            let steps = o.steps.iter().map(|s| s.name.as_str()).collect();
            (o.kind.as_str(), o.zones, steps)
        })
        .collect();
    assert_eq!(
        counted,
        vec![
            ("create-zone", 2, vec!["load", "record", "join-catalog"]),
            ("delete-zone", 1, vec!["leave-catalog", "unload"]),
        ]
    );
    let text = render::text(&plan, false);
    assert!(
        text.contains("create-zone in group default, 2 zone(s):\n  1. load: load the zone on the primary from a new zone file; gate: the primary serves the zone (UDP and TCP)\n"),
        "{text}"
    );
    assert!(
        text.contains("delete-zone in group default, 1 zone(s) (only with --allow-delete):"),
        "{text}"
    );
    let json = render::json(&plan);
    assert_eq!(json["summary"]["zone_operations"], 3);
    assert_eq!(
        json["zone_operations"][0]["steps"][1]["gate"]["gate"],
        "content-equals"
    );
}

#[test]
fn a_text_plan_of_many_zones_shows_the_first_in_full_and_counts_the_rest() {
    let names: Vec<String> = (0..130).map(|i| format!("z{i:03}.test")).collect();
    let mut files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), A)).collect();
    let d = desired(&files[..render::ZONES_SHOWN]);
    let text = render::text(
        &compute(&d, &mut Recorded::default(), 20261121, Detail::Full),
        false,
    );
    assert_eq!(
        text.matches("+ create ").count(),
        render::ZONES_SHOWN,
        "all shown"
    );
    assert!(!text.contains("not shown in full"));

    // one zone more than is shown in full; one of them recorded, to be updated
    let before = desired(&files[..1]);
    files[0].1 = A2;
    let d = desired(&files);
    let plan = compute(
        &d,
        &mut recorded_from(&before, 2026112000),
        20261121,
        Detail::Full,
    );
    let text = render::text(&plan, false);
    assert_eq!(text.matches("+ create ").count(), render::ZONES_IN_FULL - 1);
    assert_eq!(text.matches("~ update ").count(), 1);
    let rest = 130 - render::ZONES_IN_FULL;
    assert!(
        text.contains(&format!("{rest} more zone change(s) not shown in full")),
        "{text}"
    );
    assert!(
        text.contains(&format!("create: {rest} zone(s): z020.test., z021.test.")),
        "{text}"
    );
    assert!(text.contains(&format!("and {} more", rest - 5)), "{text}");
    assert!(text.contains("129 to create, 1 to update"), "{text}");
    assert!(
        !text.contains("z129.test. 3600"),
        "the last zone's records are not shown"
    );
}

#[test]
fn a_text_plan_wants_the_recorded_content_of_the_zones_it_shows_json_of_every_zone() {
    let names: Vec<String> = (0..130).map(|i| format!("z{i:03}.test")).collect();
    let before: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), A)).collect();
    // every zone changes but the last, which is deleted; one is new
    let mut after: Vec<(&str, &str)> = names[..129].iter().map(|n| (n.as_str(), A2)).collect();
    after.push(("new.test", A));
    let mut rec = recorded_from(&desired(&before), 2026112000);
    let contents: Vec<(String, String)> = rec
        .zones
        .values_mut()
        .map(|z| (z.name.clone(), std::mem::take(&mut z.content)))
        .collect();
    // as `prepare` plans: from the index, without content
    let mut plan = compute(&desired(&after), &mut rec, 20261121, Detail::Full);
    assert_eq!(plan.zones.len(), 131);
    let text = plan.old_text_wanted(Detail::Text);
    assert_eq!(
        text,
        (0..render::ZONES_IN_FULL - 1)
            .map(|i| format!("z{i:03}.test."))
            .collect::<Vec<_>>(),
        "the zones shown in full but new.test. (first, and new: nothing recorded)"
    );
    let full = plan.old_text_wanted(Detail::Full);
    assert_eq!(full.len(), 130, "every update and the deletion");
    assert!(full.contains(&"z129.test.".to_string()));
    plan.fill_old_text(contents.into_iter().filter(|(n, _)| full.contains(n)));
    let last = plan.zones.iter().find(|z| z.zone == "z128.test.").unwrap();
    let changes = last.rrset_changes();
    assert!(
        changes
            .iter()
            .any(|c| !c.old.is_empty() && !c.new.is_empty() && c.old != c.new),
        "{changes:?}"
    );
    let gone = plan.zones.iter().find(|z| z.zone == "z129.test.").unwrap();
    assert!(
        gone.rrset_changes()
            .iter()
            .all(|c| c.new.is_empty() && !c.old.is_empty())
    );
}

#[test]
fn a_text_plan_holds_the_new_content_of_the_zones_it_shows_and_renders_as_the_full_one() {
    let names: Vec<String> = (0..130).map(|i| format!("z{i:03}.test")).collect();
    let before: Vec<(&str, &str)> = names[..60].iter().map(|n| (n.as_str(), A)).collect();
    let after: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), A2)).collect();
    let rec = recorded_from(&desired(&before), 2026112000);
    let d = desired(&after);
    let full = compute(&d, &mut rec.clone(), 20261121, Detail::Full);
    let apply = compute(&d, &mut rec.clone(), 20261121, Detail::Apply);
    let text = compute(&d, &mut rec.clone(), 20261121, Detail::Text);
    assert_eq!(full.zones.len(), 130);
    assert!(full.zones.iter().all(|z| !z.new_text.is_empty()));
    assert_eq!(apply, full, "apply sends every zone's content");
    let held: Vec<&str> = text
        .zones
        .iter()
        .filter(|z| !z.new_text.is_empty())
        .map(|z| z.zone.as_str())
        .collect();
    let shown: Vec<&str> = full.zones[..render::ZONES_IN_FULL]
        .iter()
        .map(|z| z.zone.as_str())
        .collect();
    assert_eq!(held, shown);
    for (t, f) in text
        .zones
        .iter()
        .zip(&full.zones)
        .take(render::ZONES_IN_FULL)
    {
        assert_eq!(t.new_text, f.new_text, "{}", t.zone);
    }
    assert_eq!(render::text(&text, false), render::text(&full, false));
}

#[test]
fn an_imported_zone_continues_its_serial_never_backwards() {
    let d = desired(&[("a.test", A), ("b.test", A), ("c.test", A)]);
    let mut rec = Recorded::default();
    rec.serial_floors.insert("a.test.".into(), 4_000_000_000);
    rec.serial_floors.insert("b.test.".into(), u32::MAX);
    let plan = compute(&d, &mut rec, 20261121, Detail::Full);
    let got: Vec<(Option<u32>, Option<u32>)> = plan
        .zones
        .iter()
        .map(|z| (z.continues_from, z.new_serial))
        .collect();
    assert_eq!(
        got,
        [
            // greater than any date serial: one more
            (Some(4_000_000_000), Some(4_000_000_001)),
            // 2^32 - 1: today's date serial is RFC 1982-greater (it wraps)
            (Some(u32::MAX), Some(2_026_112_100)),
            // not imported: today's
            (None, Some(2_026_112_100)),
        ]
    );
    for z in &plan.zones[..2] {
        assert!(crate::model::serial::serial_gt(
            z.new_serial.unwrap(),
            z.continues_from.unwrap()
        ));
    }
    let text = super::render::text(&plan, false);
    assert!(
        text.contains("+ create a.test. (group default, serial 4000000001, serial continues from 4000000000, imported)"),
        "{text}"
    );
    let json = super::render::json(&plan);
    assert_eq!(
        json["zones"][0]["continues_from"], 4_000_000_000u32,
        "{json}"
    );

    // a zone already recorded goes on from its recorded serial, whatever was imported
    let mut rec = recorded_from(&d, 5);
    rec.serial_floors.insert("a.test.".into(), 4_000_000_000);
    let after = desired(&[("a.test", A2), ("b.test", A), ("c.test", A)]);
    let plan = compute(&after, &mut rec, 20261121, Detail::Full);
    assert_eq!(plan.zones[0].new_serial, Some(2_026_112_100));
    assert_eq!(plan.zones[0].continues_from, None);
}
