//! A zone moves to another group without a gap in service.

use super::*;

/// A second group, `other`, served by ns3 through its own catalog.
fn two_groups(lab: &zonekeeper_lab::Lab, ttl: u32) -> String {
    config_yaml(lab, &["ns1", "ns2"], ttl)
        + &format!(
            "  other:\n    catalog: other.test.\n    secondaries: [ns3]\n    nameservers: [ns3.example.net.]\n    ttl: {ttl}\n    soa: {{mname: ns0.example.net., rname: hostmaster@example.net, refresh: 3600, retry: 60, minimum: 60}}\n"
        )
}

both_stores!(zone_moves_to_another_group_without_a_gap, |db| {
    let env = Env::custom(
        db,
        3,
        |spec| {
            spec.catalogs.push("other.test.".into());
            spec.secondary_catalogs = [
                ("ns1".to_string(), vec!["ns1.catalog.test.".to_string()]),
                ("ns2".to_string(), vec!["ns2.catalog.test.".to_string()]),
                ("ns3".to_string(), vec!["ns3.other.test.".to_string()]),
            ]
            .into();
        },
        |lab| two_groups(lab, 2),
    );
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.zone("b.test", &zone_yaml("192.0.2.2"));
    env.commit("two zones in default");
    env.apply(&[], 0);
    assert_eq!(
        env.soa("ns3", "a.test.").serving(),
        None,
        "ns3 is not in group default"
    );
    let before = env.soa("ns0", "a.test.").serving().unwrap();
    let monitor = Monitor::start(&env, &["a.test."]);

    env.zone(
        "a.test",
        &zone_yaml("192.0.2.1").replace("group: default", "group: other"),
    );
    env.commit("move a.test to group other");
    let plan = text(&env.zk(&["plan"]));
    assert!(plan.contains("group default → other"), "{plan}");
    // provision, publish, the registrar, then the TTL wait (2 s)
    let out = env.apply(&["--verify-timeout", "5"], 3);
    assert!(
        text(&out).contains("registrar must publish a.test.: NS ns3.example.net."),
        "{}",
        text(&out)
    );
    assert!(confirm_if_asked(&env, &out));
    let out = env.apply(&["--verify-timeout", "5"], 3);
    assert!(text(&out).contains("until"), "{}", text(&out));
    // The apply says when the wait ends: when to look again.
    assert!(text(&out).contains("Check again after "), "{}", text(&out));
    assert_eq!(
        ns_set(&env, "ns0", "a.test."),
        vec!["ns3.example.net."],
        "NS switched"
    );
    assert_eq!(env.soa("ns3", "a.test.").serving(), Some(before + 1));
    assert!(
        env.soa("ns1", "a.test.").serving().is_some(),
        "the old group serves during the TTL wait"
    );
    apply_past_wait(&env, &["--verify-timeout", "10"], "old NS RRset", 0);
    let show = text(&env.zk(&["show", "zone", "a.test"]));
    assert!(show.contains("(group other)"), "{show}");
    monitor.finish();
    for s in ["ns1", "ns2"] {
        assert_eq!(
            env.soa(s, "a.test.").status,
            "REFUSED",
            "{s} dropped a.test."
        );
        assert!(
            env.soa(s, "b.test.").serving().is_some(),
            "{s} still serves b.test."
        );
    }
    assert_eq!(
        env.soa("ns3", "a.test.").serving(),
        Some(before + 1),
        "exactly one UPDATE"
    );
    env.assert_converged("after apply");
});
