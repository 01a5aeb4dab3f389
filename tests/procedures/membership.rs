//! A secondary joins or leaves a group; the plan shows it first; an operator resets or
//! cancels; a SIGKILL at every boundary of every run of both, on one lab.

use super::*;

/// a.test and b.test, committed and applied; the serials the primary serves them at.
fn two_zones_applied(env: &Env) -> Vec<u32> {
    for (z, a) in [("a.test", "192.0.2.1"), ("b.test", "192.0.2.2")] {
        env.zone(z, &zone_yaml(a));
    }
    env.commit("two zones");
    env.apply(&[], 0);
    ["a.test.", "b.test."]
        .iter()
        .map(|z| env.soa("ns0", z).serving().unwrap())
        .collect()
}

both_stores!(add_secondary_publishes_ns_only_once_it_serves, |db| {
    let mut env = Env::with(db, 3, &["ns1", "ns2"], 2);
    two_zones_applied(&env);
    let monitor = Monitor::start(&env, &["a.test.", "b.test."]);

    // ns3 joins the group while it hangs: the operation waits, its NS stays unpublished.
    env.lab.pause("ns3").unwrap();
    ns3_joins(&env);
    let out = env.apply(&["--verify-timeout", "2"], 3);
    assert!(
        text(&out).contains("waits") && text(&out).contains("ns3"),
        "{}",
        text(&out)
    );
    assert!(!ns_set(&env, "ns0", "a.test.").contains(&"ns3.example.net.".to_string()));
    let status = text(&env.zk(&["status"]));
    assert!(
        status.contains("add-secondary ns3") && status.contains("provision"),
        "{status}"
    );
    let show = text(&env.zk(&["show", "zone", "a.test"]));
    assert!(
        show.contains("op 1 add-secondary ns3: step 1 provision waiting"),
        "{show}"
    );
    assert!(show.contains("differs from what is recorded"), "{show}");

    // Back: the operation completes, ns3 is published everywhere.
    env.lab.resume("ns3").unwrap();
    // Published in the zones; the parent (not managed here) needs the registrar.
    let out = env.apply(&[], 3);
    assert!(
        text(&out).contains("the registrar must publish a.test.: NS ns1.example.net. ns2.example.net. ns3.example.net."),
        "{}",
        text(&out)
    );
    assert!(ns_set(&env, "ns0", "a.test.").contains(&"ns3.example.net.".to_string()));
    assert!(confirm_if_asked(&env, &out));
    env.apply(&[], 0);
    for s in ["ns0", "ns1", "ns2", "ns3"] {
        assert_eq!(
            ns_set(&env, s, "a.test."),
            vec!["ns1.example.net.", "ns2.example.net.", "ns3.example.net."],
            "{s}"
        );
    }
    let serials: Vec<_> = ["ns0", "ns1", "ns2", "ns3"]
        .iter()
        .map(|s| env.soa(s, "b.test.").serving())
        .collect();
    assert!(
        serials.iter().all(|s| s.is_some() && *s == serials[0]),
        "{serials:?}"
    );
    monitor.finish();
    let status = text(&env.zk(&["status"]));
    assert!(!status.contains("Operations:"), "{status}");
    env.assert_converged("after apply");
});

/// `plan` shows the add-secondary a new member calls for, with its steps and waits, in
/// text and JSON, without changing anything; `apply` then creates exactly that operation.
#[test]
fn plan_shows_the_add_secondary_that_apply_then_creates() {
    let env = Env::with(Db::Sqlite, 3, &["ns1", "ns2"], 2);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("one zone");
    env.apply(&[], 0);
    ns3_joins(&env);
    let before = env.store_dump();

    let out = env.zk(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let plan = text(&out);
    for line in [
        "new: add-secondary ns3 in group default, 1 zone(s): a.test.",
        "  1. provision: render the primary's configuration (also-notify) and notify the catalog; gate: ns3 serves every zone with AA at the recorded serial (UDP and TCP)",
        "  2. publish-ns: give the zones their desired content (signed UPDATEs); gate: every server of the group serves the recorded serial",
        "  3. delegation: nothing; gate: the parents delegate with the desired NS set",
        "waits for the parents' delegation: confirmed by hand for a.test.",
        "waits for an operator to confirm step 3 once the registrar publishes a.test.: NS ns1.example.net. ns2.example.net. ns3.example.net.",
        "1 operation(s) to start, 0 under way.",
    ] {
        assert!(plan.contains(line), "missing {line:?} in:\n{plan}");
    }
    let out = env.zk(&["plan", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["summary"]["operations_new"], 1, "{json}");
    let ops = json["operations"].as_array().unwrap();
    assert_eq!(ops.len(), 1, "{json}");
    let planned = &ops[0];
    assert_eq!(
        (
            &planned["state"],
            &planned["kind"],
            &planned["server"],
            &planned["group"]
        ),
        (
            &"new".into(),
            &"add-secondary".into(),
            &"ns3".into(),
            &"default".into()
        )
    );
    let names: Vec<&str> = planned["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["provision", "publish-ns", "delegation"]);
    assert_eq!(
        planned["steps"][0]["gate"],
        serde_json::json!({"gate": "serves", "server": "ns3"})
    );
    let waits = &planned["steps"][2]["waits"];
    assert_eq!(waits[0]["wait"], "delegation", "{waits}");
    assert_eq!(waits[0]["by_hand"], serde_json::json!(["a.test."]));
    assert_eq!(waits[1]["wait"], "confirmation", "{waits}");
    assert_eq!(env.store_dump(), before, "plan changed the store");
    assert!(!ns_set(&env, "ns0", "a.test.").contains(&"ns3.example.net.".to_string()));

    // apply creates exactly the planned operation; it waits for the registrar.
    let out = env.apply(&[], 3);
    assert!(confirm_if_asked(&env, &out), "{}", text(&out));
    let status: serde_json::Value =
        serde_json::from_slice(&env.zk(&["status", "--format", "json"]).stdout).unwrap();
    let stored = status["operations"].as_array().unwrap();
    assert_eq!(stored.len(), 1, "{status}");
    assert_eq!(
        (&stored[0]["kind"], &stored[0]["server"]),
        (&"add-secondary".into(), &"ns3".into())
    );
    // The plan now shows it under way, with the steps it was planned with.
    let now: serde_json::Value =
        serde_json::from_slice(&env.zk(&["plan", "--format", "json"]).stdout).unwrap();
    let active = &now["operations"][0];
    assert_eq!(active["state"], "active", "{now}");
    assert_eq!(active["id"], stored[0]["id"]);
    for (p, a) in planned["steps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(active["steps"].as_array().unwrap())
    {
        assert_eq!(
            (&p["name"], &p["action"], &p["gate"]),
            (&a["name"], &a["action"], &a["gate"])
        );
    }
    assert_eq!(now["summary"]["operations_new"], 0, "not created twice");
    env.apply(&[], 0);
    env.assert_converged("after apply");
}

both_stores!(remove_secondary_waits_out_the_ttl_before_it_stops, |db| {
    let mut env = Env::with(db, 2, &["ns1", "ns2"], 3);
    two_zones_applied(&env);
    let monitor = Monitor::start(&env, &["a.test.", "b.test."]);
    let before = env.soa("ns0", "a.test.").serving().unwrap();

    env.write("zonekeeper.yaml", &config_yaml(&env.lab, &["ns1"], 3));
    env.commit("remove ns2");
    // The parent is told first: nothing changes in the zones until that is confirmed.
    let out = env.apply(&["--verify-timeout", "2"], 3);
    assert!(
        text(&out).contains("NS ns1.example.net.;") || text(&out).contains("NS ns1.example.net. "),
        "{}",
        text(&out)
    );
    assert_eq!(
        env.soa("ns0", "a.test.").serving(),
        Some(before),
        "nothing published before the delegation"
    );
    assert!(confirm_if_asked(&env, &out));
    let started = std::time::Instant::now();
    let out = env.apply(&["--verify-timeout", "2"], 3);
    assert!(
        text(&out).contains("until"),
        "TTL wait expected:\n{}",
        text(&out)
    );
    // NS removed and propagated first; ns2 still serves meanwhile.
    assert_eq!(ns_set(&env, "ns1", "a.test."), vec!["ns1.example.net."]);
    assert_eq!(
        env.soa("ns0", "a.test.").serving(),
        Some(before + 1),
        "one UPDATE per zone"
    );
    assert!(
        env.soa("ns2", "a.test.").serving().is_some(),
        "ns2 keeps serving during the TTL wait"
    );

    // After the wait the zones leave ns2's own catalog: ns2 drops them, ns1 keeps them.
    apply_past_wait(&env, &["--verify-timeout", "10"], "resolvers may hold", 0);
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "the TTL (3 s) was waited out"
    );
    for z in ["a.test.", "b.test."] {
        assert_eq!(env.soa("ns2", z).status, "REFUSED", "ns2 dropped {z}");
        assert_eq!(
            env.soa("ns1", z).serving(),
            Some(before + 1),
            "ns1 serves {z}"
        );
    }
    assert!(env.lab.is_running("ns2").unwrap(), "ns2 was not stopped");
    // Its emptied catalog leaves the primary once the operation is done.
    assert_eq!(env.soa("ns0", "ns2.catalog.test.").status, "REFUSED");
    assert!(env.soa("ns0", "ns1.catalog.test.").serving().is_some());
    monitor.finish();
    assert_eq!(
        env.soa("ns0", "a.test.").serving(),
        Some(before + 1),
        "no further serial bump"
    );
    env.assert_converged("after apply");
});

both_stores!(operations_can_be_reset_and_cancelled, |db| {
    let mut env = Env::with(db, 3, &["ns1", "ns2"], 2);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("zone");
    env.apply(&[], 0);
    env.lab.pause("ns3").unwrap();
    ns3_joins(&env);
    env.apply(&["--verify-timeout", "1"], 3);
    let out = env.zk(&["reset", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&env.zk(&["status"])).contains("reset by the operator"));
    let out = env.zk(&["cancel", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&env.zk(&["status"])).contains("Operations:"));
    let out = env.zk(&["cancel", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(1), "cancelling twice is refused");
    env.lab.resume("ns3").unwrap();
});

/// Applies until done (confirming what is asked, waiting out TTL gates), the runs armed
/// by `kills` to SIGKILL themselves at every boundary of every run (see [`Kills`]).
fn killed_then_converges(env: &Env, kills: &mut Kills) {
    for _ in 0..40 {
        let out = kills.apply(env, "10");
        match out.status.code() {
            None => {}
            Some(0) => return,
            Some(3) if confirm_if_asked(env, &out) => {}
            Some(3) => std::thread::sleep(Duration::from_millis(400)),
            _ => panic!("kills at {:?}: apply failed:\n{}", kills.at, text(&out)),
        }
    }
    panic!("kills at {:?}: did not converge", kills.at);
}

both_stores!(add_secondary_survives_sigkills_across_its_steps, |db| {
    let env = Env::with(db, 3, &["ns1", "ns2"], 2);
    let before = two_zones_applied(&env);
    ns3_joins(&env);
    let mut kills = Kills::new(60);
    killed_then_converges(&env, &mut kills);
    let at = &kills.at;
    for (z, b) in ["a.test.", "b.test."].iter().zip(&before) {
        assert_eq!(
            env.soa("ns0", z).serving(),
            Some(b + 1),
            "kills at {at:?}: {z} changed exactly once"
        );
        assert_eq!(
            env.soa("ns3", z).serving(),
            Some(b + 1),
            "kills at {at:?}: ns3 serves {z}"
        );
        assert!(ns_set(&env, "ns3", z).contains(&"ns3.example.net.".to_string()));
    }
    env.assert_converged(&format!("kills at {at:?}"));
    kills.assert_at_least(8);
});

both_stores!(remove_secondary_survives_sigkills_across_its_steps, |db| {
    let mut env = Env::with(db, 2, &["ns1", "ns2"], 1);
    let before = two_zones_applied(&env);
    // ns2 is decommissioned first, so the last gate holds as soon as it is reached.
    env.lab.stop("ns2").unwrap();
    env.write("zonekeeper.yaml", &config_yaml(&env.lab, &["ns1"], 1));
    env.commit("remove ns2");
    let mut kills = Kills::new(60);
    killed_then_converges(&env, &mut kills);
    let at = &kills.at;
    for (z, b) in ["a.test.", "b.test."].iter().zip(&before) {
        assert_eq!(
            env.soa("ns0", z).serving(),
            Some(b + 1),
            "kills at {at:?}: {z} changed exactly once"
        );
        assert_eq!(
            ns_set(&env, "ns1", z),
            vec!["ns1.example.net."],
            "kills at {at:?}"
        );
    }
    env.assert_converged(&format!("kills at {at:?}"));
    kills.assert_at_least(8);
});

both_stores!(
    a_killed_secondary_holds_the_operation_until_it_returns,
    |db| {
        let mut env = Env::with(db, 3, &["ns1", "ns2"], 2);
        env.zone("a.test", &zone_yaml("192.0.2.1"));
        env.commit("zone");
        env.apply(&[], 0);
        env.lab.kill("ns3").unwrap();
        ns3_joins(&env);
        let out = env.apply(&["--verify-timeout", "1"], 3);
        assert!(
            text(&out).contains("op 1 waits: ns3 must serve a.test.")
                && text(&out).contains("next check from"),
            "{}",
            text(&out)
        );
        let out = env.apply(&["--verify-timeout", "1"], 3);
        assert!(
            text(&out).contains("ns3 must serve"),
            "it never proceeds past a failed check: {}",
            text(&out)
        );
        assert!(!ns_set(&env, "ns0", "a.test.").contains(&"ns3.example.net.".to_string()));
        // Checked again, or not yet due (back-off): either way it waits, checked.
        let status = text(&env.zk(&["status"]));
        assert!(status.contains("time(s), next check from"), "{status}");
        env.lab.start_server("ns3").unwrap();
        // Checked again once its back-off (a few seconds) has passed.
        let mut confirmed = false;
        for _ in 0..30 {
            let out = env.apply(&[], 3);
            if confirm_if_asked(&env, &out) {
                confirmed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(400));
        }
        assert!(confirmed, "the registrar's step was never reached");
        env.apply(&[], 0);
        assert!(ns_set(&env, "ns3", "a.test.").contains(&"ns3.example.net.".to_string()));
    }
);
