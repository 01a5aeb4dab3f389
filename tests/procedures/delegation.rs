//! The parents' delegation follows the child's NS set: a managed parent through its
//! own UPDATE, an unmanaged one (a registry) asked for the referral.

use super::*;

/// `example.test.` delegates `a.example.test.` to `ns`; both zones are managed.
fn parent_yaml(ns: &[&str]) -> String {
    let list: Vec<String> = ns.iter().map(|n| format!("{n}.example.net.")).collect();
    format!(
        "group: default\nrecords:\n  www:\n    A: 192.0.2.80\n  a:\n    NS: [{}]\n",
        list.join(", ")
    )
}

/// The NS records at `child` in the parent zone as the primary serves it (AXFR with TSIG).
fn delegation_on_primary(env: &Env, parent: &str, child: &str) -> Vec<String> {
    let mut v: Vec<String> = crate::support::axfr(&env.lab, parent)
        .iter()
        .filter(|l| l.starts_with(child) && l.split_whitespace().nth(3) == Some("NS"))
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_lowercase))
        .collect();
    v.sort();
    v
}

both_stores!(managed_parent_delegation_follows_the_child, |db| {
    let env = Env::with(db, 3, &["ns1", "ns2"], 2);
    env.zone("example.test", &parent_yaml(&["ns1", "ns2"]));
    env.zone("a.example.test", &zone_yaml("192.0.2.1"));
    env.commit("parent and child");
    env.apply(&[], 0);
    let monitor = Monitor::start(&env, &["a.example.test.", "example.test."]);

    // ns3 joins, but the parent's delegation was forgotten: the operation says what to write.
    ns3_joins(&env);
    let out = env.apply(&["--verify-timeout", "3"], 3);
    assert!(
        text(&out).contains("write NS ns1.example.net. ns2.example.net. ns3.example.net. for it in zones/example.test.yaml"),
        "{}",
        text(&out)
    );
    assert_eq!(
        delegation_on_primary(&env, "example.test.", "a.example.test."),
        vec!["ns1.example.net.", "ns2.example.net."]
    );

    // The operator adds it: the operation publishes the parent after the child; then
    // example.test. itself, under an unmanaged parent, waits for the registrar.
    env.zone("example.test", &parent_yaml(&["ns1", "ns2", "ns3"]));
    env.commit("delegate a.example.test. to ns3 too");
    let out = env.apply(&["--verify-timeout", "5"], 3);
    assert!(
        text(&out).contains("registrar must publish example.test.: NS"),
        "{}",
        text(&out)
    );
    assert!(
        !text(&out).contains("a.example.test.: NS"),
        "a managed parent needs no registrar: {}",
        text(&out)
    );
    assert_eq!(
        delegation_on_primary(&env, "example.test.", "a.example.test."),
        vec!["ns1.example.net.", "ns2.example.net.", "ns3.example.net."]
    );
    assert!(confirm_if_asked(&env, &out));
    env.apply(&["--verify-timeout", "5"], 0);
    monitor.finish();
    env.assert_converged("after apply");
});

/// A stand-in for a registry: its own `named`, serving `test.` with a delegation of
/// `a.test.` to `ns` (NS TTL 4, longer than the child's), at `serial`.
fn registry_zone(lab: &zonekeeper_lab::Lab, ns: &[&str], serial: u32) {
    let dir = &lab.spec().include_dir;
    let file = dir.join("test.db");
    let mut text = format!(
        "test. 60 IN SOA registry.test. hostmaster.test. {serial} 60 30 1209600 60\ntest. 60 IN NS registry.test.\nregistry.test. 60 IN A 192.0.2.53\n"
    );
    for n in ns {
        text.push_str(&format!("a.test. 4 IN NS {n}.example.net.\n"));
    }
    std::fs::write(&file, text).unwrap();
    std::fs::write(
        dir.join("zones.conf"),
        format!(
            "zone \"test.\" {{ type primary; file \"{}\"; }};\n",
            file.display()
        ),
    )
    .unwrap();
    lab.rndc("ns0", &["reconfig"]).unwrap();
    let _ = lab.rndc("ns0", &["reload", "test."]);
}

both_stores!(
    unmanaged_parent_servers_are_asked_for_the_new_delegation,
    |db| {
        let registry_dir = tempfile::tempdir().unwrap();
        let registry = zonekeeper_lab::Lab::start(
            zonekeeper_lab::LabSpec::for_test(registry_dir.path(), 0, vec![]).unwrap(),
        )
        .unwrap();
        registry_zone(&registry, &["ns1", "ns2"], 1);
        let parent = registry.dns_addr("ns0").unwrap();

        let mut env = Env::with(db, 3, &["ns1", "ns2"], 2);
        let child = zone_yaml("192.0.2.1").replace(
            "group: default\n",
            &format!("group: default\ndelegation:\n  parent_servers: [\"{parent}\"]\n"),
        );
        env.zone("a.test", &child);
        env.commit("zone with a registry to ask");
        env.apply(&[], 0);

        ns3_joins(&env);
        let out = env.apply(&["--verify-timeout", "3"], 3);
        assert!(
        text(&out).contains(&format!("the parent's server {parent} delegates a.test. to ns1.example.net. ns2.example.net.; it must delegate to ns1.example.net. ns2.example.net. ns3.example.net.")),
        "{}",
        text(&out)
    );
        assert!(
            !text(&out).contains("zonekeeper confirm"),
            "asked, not confirmed by hand: {}",
            text(&out)
        );
        // The registry publishes the new delegation: the operation completes by itself.
        // The step's back-off is honoured: apply again until it is due.
        registry_zone(&registry, &["ns1", "ns2", "ns3"], 2);
        apply_past_wait(&env, &["--verify-timeout", "3"], BACKOFF, 0);
        assert!(text(&env.zk(&["status"])).contains("Applied revision"));

        // ns1 leaves: the registry first, then the zone, then the wait covers the
        // registry's NS TTL (4 s), which is longer than the child's (2 s).
        env.write(
            "zonekeeper.yaml",
            &config_yaml(&env.lab, &["ns2", "ns3"], 2),
        );
        env.commit("remove ns1");
        let out = env.apply(&["--verify-timeout", "3"], 3);
        assert!(
            text(&out).contains("it must delegate to ns2.example.net. ns3.example.net."),
            "{}",
            text(&out)
        );
        registry_zone(&registry, &["ns2", "ns3"], 3);
        let out = apply_past_wait(&env, &["--verify-timeout", "3"], BACKOFF, 3);
        assert!(
            text(&out).contains("naming ns1 for 4 s") && !text(&out).contains("unknown"),
            "{}",
            text(&out)
        );
        env.lab.stop("ns1").unwrap();
        apply_past_wait(&env, &["--verify-timeout", "3"], "naming ns1", 0);
        assert_eq!(
            ns_set(&env, "ns2", "a.test."),
            vec!["ns2.example.net.", "ns3.example.net."]
        );
    }
);
