//! Decision tests: which operations a change calls for, in which order, with which waits.
//! The membership rules on hand-built configurations; the whole decision on desired states
//! written to a temporary folder.

use std::collections::BTreeMap;

use super::super::{Action, Gate, Kind, StepSpec, delegation, move_primary};
use super::*;
use crate::model::config::{
    Group, Primary, Secondary, SecretSource, SoaDefaults, Software, TsigKeyRef,
};
use hickory_proto::rr::Name;

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn config(members: &[&str]) -> Config {
    let sec = |name: &str| Secondary {
        name: name.into(),
        addresses: vec!["127.0.0.2".parse().unwrap()],
        port: 53,
        software: Software::Bind,
        nameserver: Some(n(&format!("{name}.example.net."))),
    };
    Config {
        primary: Primary {
            name: "p".into(),
            addr: "127.0.0.1:53".parse().unwrap(),
            tsig: TsigKeyRef {
                name: n("k."),
                algorithm: "hmac-sha256".into(),
                secret: SecretSource::Env("X".into()),
            },
            rndc: "rndc".into(),
            rndc_conf: "/x".into(),
            config_dir: "/y".into(),
        },
        secondaries: ["ns1", "ns2", "ns3"]
            .iter()
            .map(|s| (s.to_string(), sec(s)))
            .collect(),
        groups: [(
            "g".to_string(),
            Group {
                name: "g".into(),
                catalog: n("cat."),
                secondaries: members.iter().map(|s| s.to_string()).collect(),
                nameservers: vec![],
                ttl: 300,
                quorum: members.len(),
                soa: SoaDefaults {
                    mname: n("p."),
                    rname: n("h."),
                    refresh: 3600,
                    retry: 600,
                    expire: 1209600,
                    minimum: 300,
                    ttl: None,
                },
            },
        )]
        .into(),
        max_records_per_type: 100,
        check_names: true,
        webhooks: Vec::new(),
    }
}

fn recorded(members: &[&str]) -> Vec<GroupRow> {
    vec![GroupRow {
        name: "g".into(),
        catalog: "cat.".into(),
        secondaries: members.iter().map(|s| s.to_string()).collect(),
        nameservers: vec![],
    }]
}

fn zones() -> BTreeMap<String, GroupZones> {
    let gz = GroupZones {
        zones: vec!["a.test.".into()],
        max_ttl_by_server_name: [("ns2.example.net.".to_string(), 900)].into(),
        max_ns_ttl: 300,
        max_parent_ns_ttl: 0,
        parent_ttl_unknown: false,
        delegations: vec![],
    };
    [("g".to_string(), gz)].into()
}

#[test]
fn unchanged_membership_needs_no_operation() {
    assert!(
        membership(
            &config(&["ns1", "ns2"]),
            &recorded(&["ns1", "ns2"]),
            &zones()
        )
        .is_empty()
    );
}

#[test]
fn new_groups_need_no_operation() {
    assert!(membership(&config(&["ns1", "ns2"]), &[], &zones()).is_empty());
}

#[test]
fn replacement_is_add_then_remove_one_server_at_a_time() {
    let ops = membership(
        &config(&["ns1", "ns3"]),
        &recorded(&["ns1", "ns2"]),
        &zones(),
    );
    let kinds: Vec<(Kind, &str)> = ops.iter().map(|o| (o.kind, o.server.as_str())).collect();
    assert_eq!(
        kinds,
        vec![(Kind::AddSecondary, "ns3"), (Kind::RemoveSecondary, "ns2")]
    );
}

#[test]
fn adding_checks_the_server_before_publishing_its_ns() {
    let ops = membership(
        &config(&["ns1", "ns2", "ns3"]),
        &recorded(&["ns1", "ns2"]),
        &zones(),
    );
    let steps = &ops[0].steps;
    let serves = steps
        .iter()
        .position(|s| {
            s.gate
                == Gate::Serves {
                    server: "ns3".into(),
                }
        })
        .unwrap();
    let publish = steps
        .iter()
        .position(|s| s.action == Action::PublishZones)
        .unwrap();
    assert!(
        serves < publish,
        "the server must serve before its NS is published: {steps:?}"
    );
}

#[test]
fn removal_waits_the_longest_ttl_before_the_server_stops() {
    let ops = membership(&config(&["ns1"]), &recorded(&["ns1", "ns2"]), &zones());
    let steps = &ops[0].steps;
    assert_eq!(steps[0].action, Action::PublishZones, "NS removed first");
    match &steps[1].gate {
        Gate::Wait { seconds, .. } => {
            assert_eq!(*seconds, 900, "address TTL of ns2's name is the longest")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(steps[2].gate, Gate::StoppedServing { .. }));
}

#[test]
fn removal_waits_out_the_parents_delegation_too() {
    let mut z = zones();
    if let Some(gz) = z.get_mut("g") {
        gz.max_parent_ns_ttl = 86400;
    }
    let ops = membership(&config(&["ns1"]), &recorded(&["ns1", "ns2"]), &z);
    let Gate::Wait { seconds, why } = &ops[0].steps[1].gate else {
        panic!("{:?}", ops[0].steps[1])
    };
    assert_eq!(*seconds, 86400, "the parent's NS TTL is the longest");
    assert!(!why.contains("unknown"), "{why}");

    if let Some(gz) = z.get_mut("g") {
        gz.max_parent_ns_ttl = 0;
        gz.parent_ttl_unknown = true;
    }
    let ops = membership(&config(&["ns1"]), &recorded(&["ns1", "ns2"]), &z);
    let Gate::Wait { seconds, why } = &ops[0].steps[1].gate else {
        panic!("{:?}", ops[0].steps[1])
    };
    assert_eq!(*seconds, 900);
    assert!(why.contains("a parent's NS TTL is unknown"), "{why}");
}

#[test]
fn steps_round_trip_through_json() {
    let ops = membership(&config(&["ns1"]), &recorded(&["ns1", "ns2"]), &zones());
    for s in &ops[0].steps {
        let json = serde_json::to_string(s).unwrap();
        assert_eq!(&serde_json::from_str::<StepSpec>(&json).unwrap(), s);
    }
}

fn zones_with_delegation() -> BTreeMap<String, GroupZones> {
    let mut z = zones();
    if let Some(gz) = z.get_mut("g") {
        gz.delegations = vec![delegation::ZoneDelegation {
            zone: "a.test.".into(),
            ns: vec!["ns1.example.net.".into()],
            glue: vec![],
            parent: None,
            parent_servers: vec![],
        }];
    }
    z
}

#[test]
fn the_parent_learns_of_a_new_server_last_and_of_a_leaving_one_first() {
    let add = &membership(
        &config(&["ns1", "ns2", "ns3"]),
        &recorded(&["ns1", "ns2"]),
        &zones_with_delegation(),
    )[0];
    let names: Vec<&str> = add.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["provision", "publish-ns", "delegation"]);
    let remove = &membership(
        &config(&["ns1"]),
        &recorded(&["ns1", "ns2"]),
        &zones_with_delegation(),
    )[0];
    let names: Vec<&str> = remove.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["delegation", "unpublish-ns", "ttl-wait", "stop-serving"]
    );
}

#[test]
fn primary_move_reads_like_the_document() {
    let p = |name: &str, addr: &str| move_primary::PrimaryRef {
        name: name.into(),
        addr: addr.parse().unwrap(),
        rndc: "rndc".into(),
        rndc_conf: format!("/{name}/rndc.conf").into(),
        config_dir: format!("/{name}/zk").into(),
    };
    let (old, new) = (p("old", "192.0.2.1:53"), p("new", "192.0.2.2:53"));
    let op = move_primary::operation(&old, &new, &["a.test.".into()], "zonekeeper.");
    assert_eq!(op.kind, Kind::MovePrimary);
    assert_eq!(op.server, "192.0.2.2:53", "identified by where it moves to");
    let names: Vec<&str> = op.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "raise-expire",
            "load-new",
            "both-primaries",
            "prove-new",
            "new-only",
            "take-catalogs",
            "publish",
            "retire-old"
        ]
    );
    // expire first, to 30 days, proven on the old primary
    assert_eq!(op.steps[0].action, Action::RaiseExpire { seconds: 2592000 });
    assert_eq!(
        op.steps[0].gate,
        Gate::Propagated {
            primary: "old".into(),
            addr: old.addr
        }
    );
    // secondaries get new + old (new first), then new only
    assert_eq!(
        op.steps[2].action,
        Action::CatalogPrimaries {
            primaries: vec![new.addr, old.addr],
            copy: new.clone()
        }
    );
    assert_eq!(
        op.steps[4].action,
        Action::CatalogPrimaries {
            primaries: vec![new.addr],
            copy: new.clone()
        }
    );
    // transfers from the new primary proven by a serial only it has
    assert_eq!(op.steps[3].action, Action::BumpSerials { on: new.clone() });
    assert_eq!(
        op.steps[3].gate,
        Gate::Propagated {
            primary: "new".into(),
            addr: new.addr
        }
    );
    // the operator's part is spelled out, key name included
    let Gate::CatalogsServed { how, primary, .. } = &op.steps[5].gate else {
        panic!("{:?}", op.steps[5].gate)
    };
    assert_eq!(*primary, new.addr);
    assert!(
        how.contains("primaries { 192.0.2.2 port 53 key \"zonekeeper\"; }"),
        "{how}"
    );
    // the old primary is retired last
    assert_eq!(
        op.steps[7].gate,
        Gate::Retired {
            server: "old".into(),
            addr: old.addr
        }
    );
    // steps survive the store (JSON) unchanged
    for s in &op.steps {
        let back: StepSpec = serde_json::from_str(&serde_json::to_string(s).unwrap()).unwrap();
        assert_eq!(&back, s);
    }
}
