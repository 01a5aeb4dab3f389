//! Staged procedures against a real BIND lab, each on SQLite and PostgreSQL, while a
//! monitor samples the published NS set every 100 ms and asserts that every listed server
//! answers with AA and at least the serial of the zone version that listed it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::both_stores;
use crate::support::{Db, Env, config_yaml, confirm_if_asked, dig_short, dig_soa, text, zone_yaml};

/// Samples the NS set of `zones` on the primary every 100 ms.
struct Monitor {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<(usize, Vec<String>)>>,
}

/// `dig +short` at `addr` (recursion off): the answer's lines, trimmed, lower case.
fn dig_ns(addr: std::net::SocketAddr, zone: &str) -> Vec<String> {
    dig_short(addr, zone, "NS")
}

impl Monitor {
    fn start(env: &Env, zones: &[&str]) -> Monitor {
        Monitor::start_from(env, zones, "ns0")
    }

    /// Samples the NS set and serial as `source` serves them.
    fn start_from(env: &Env, zones: &[&str], source: &str) -> Monitor {
        let servers: BTreeMap<String, std::net::SocketAddr> = env
            .servers()
            .into_iter()
            .map(|s| (format!("{s}.example.net."), env.lab.dns_addr(&s).unwrap()))
            .collect();
        let primary = env.lab.dns_addr(source).unwrap();
        let zones: Vec<String> = zones.iter().map(|z| z.to_string()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut samples = 0;
            let mut violations = Vec::new();
            // serial of the zone version that first listed each NS name
            let mut listed_at: BTreeMap<(String, String), u32> = BTreeMap::new();
            while !flag.load(Ordering::SeqCst) {
                for zone in &zones {
                    let Some(serial) = dig_soa(primary, zone).serving() else {
                        continue;
                    };
                    for ns in dig_ns(primary, zone) {
                        let since = *listed_at
                            .entry((zone.clone(), ns.clone()))
                            .or_insert(serial);
                        let Some(addr) = servers.get(&ns) else {
                            continue;
                        };
                        let answer = dig_soa(*addr, zone);
                        match answer.serving() {
                            Some(s) if s >= since => {}
                            _ => violations.push(format!(
                                "{ns} is listed in {zone} (serial {serial}) but answers {answer:?}"
                            )),
                        }
                    }
                }
                samples += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            (samples, violations)
        });
        Monitor {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops sampling; asserts it sampled and saw no lame NS.
    fn finish(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let (samples, violations) = self.handle.take().unwrap().join().unwrap();
        assert!(samples >= 2, "the monitor sampled only {samples} times");
        assert!(
            violations.is_empty(),
            "lame delegation seen:\n{}",
            violations.join("\n")
        );
    }
}

/// What apply says of a step whose back-off has not run out.
const BACKOFF: &str = "not checked again before";

/// Applies until the time gate whose message contains `still` has opened (polling, as
/// cron would), then asserts the exit code of the first run past it.
fn apply_past_wait(env: &Env, args: &[&str], still: &str, code: i32) -> std::process::Output {
    for _ in 0..60 {
        let mut all = vec!["apply", "--auto-approve"];
        all.extend_from_slice(args);
        let out = env.zk(&all);
        if out.status.code() == Some(3) && text(&out).contains(still) {
            std::thread::sleep(Duration::from_millis(250));
            continue;
        }
        assert_eq!(out.status.code(), Some(code), "{}", text(&out));
        return out;
    }
    panic!("the wait \"{still}\" never ended");
}

/// Commits `ns3` joining the group (TTL 2), as an operator would.
fn ns3_joins(env: &Env) {
    env.write(
        "zonekeeper.yaml",
        &config_yaml(&env.lab, &["ns1", "ns2", "ns3"], 2),
    );
    env.commit("add ns3");
}

fn ns_set(env: &Env, server: &str, zone: &str) -> Vec<String> {
    let mut v = dig_ns(env.lab.dns_addr(server).unwrap(), zone);
    v.sort();
    v
}

both_stores!(add_secondary_publishes_ns_only_once_it_serves, |db| {
    let mut env = Env::with(db, 3, &["ns1", "ns2"], 2);
    for (z, a) in [("a.test", "192.0.2.1"), ("b.test", "192.0.2.2")] {
        env.zone(z, &zone_yaml(a));
    }
    env.commit("two zones");
    env.apply(&[], 0);
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
    for (z, a) in [("a.test", "192.0.2.1"), ("b.test", "192.0.2.2")] {
        env.zone(z, &zone_yaml(a));
    }
    env.commit("two zones");
    env.apply(&[], 0);
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

/// Runs `apply` with a SIGKILL at step boundary `at`; then applies until done (waiting
/// out TTL gates). Returns whether the kill happened.
fn killed_then_converges(env: &Env, at: usize) -> bool {
    let counter = env.dir.path().join(format!("boundaries-{at}"));
    let (at_s, counter_s) = (at.to_string(), counter.display().to_string());
    let armed = [
        ("ZONEKEEPER_TEST_KILL_AT", at_s.as_str()),
        ("ZONEKEEPER_TEST_KILL_COUNTER", counter_s.as_str()),
    ];
    let mut killed = false;
    for _ in 0..30 {
        let vars: &[(&str, &str)] = if killed { &[] } else { &armed };
        let out = env.zk_env(&["apply", "--auto-approve", "--verify-timeout", "10"], vars);
        match out.status.code() {
            None => killed = true,
            Some(0) => return killed,
            Some(3) if confirm_if_asked(env, &out) => {}
            Some(3) => std::thread::sleep(Duration::from_millis(400)),
            _ => panic!("boundary {at}: apply failed:\n{}", text(&out)),
        }
    }
    panic!("boundary {at}: did not converge");
}

both_stores!(
    add_secondary_survives_sigkill_at_every_step_boundary,
    |db| {
        let mut kills = 0;
        for at in 1.. {
            let env = Env::with(db, 3, &["ns1", "ns2"], 2);
            for (z, a) in [("a.test", "192.0.2.1"), ("b.test", "192.0.2.2")] {
                env.zone(z, &zone_yaml(a));
            }
            env.commit("two zones");
            env.apply(&[], 0);
            let before: Vec<u32> = ["a.test.", "b.test."]
                .iter()
                .map(|z| env.soa("ns0", z).serving().unwrap())
                .collect();
            ns3_joins(&env);
            let killed = killed_then_converges(&env, at);
            for (z, b) in ["a.test.", "b.test."].iter().zip(&before) {
                assert_eq!(
                    env.soa("ns0", z).serving(),
                    Some(b + 1),
                    "boundary {at}: {z} changed exactly once"
                );
                assert_eq!(
                    env.soa("ns3", z).serving(),
                    Some(b + 1),
                    "boundary {at}: ns3 serves {z}"
                );
                assert!(ns_set(&env, "ns3", z).contains(&"ns3.example.net.".to_string()));
            }
            env.assert_converged(&format!("boundary {at}"));
            if !killed {
                break;
            }
            kills += 1;
        }
        assert!(kills >= 6, "only {kills} boundaries were exercised");
    }
);

both_stores!(
    remove_secondary_survives_sigkill_at_every_step_boundary,
    |db| {
        let mut kills = 0;
        for at in 1.. {
            let mut env = Env::with(db, 2, &["ns1", "ns2"], 1);
            for (z, a) in [("a.test", "192.0.2.1"), ("b.test", "192.0.2.2")] {
                env.zone(z, &zone_yaml(a));
            }
            env.commit("two zones");
            env.apply(&[], 0);
            let before: Vec<u32> = ["a.test.", "b.test."]
                .iter()
                .map(|z| env.soa("ns0", z).serving().unwrap())
                .collect();
            // ns2 is decommissioned first, so the last gate holds as soon as it is reached.
            env.lab.stop("ns2").unwrap();
            env.write("zonekeeper.yaml", &config_yaml(&env.lab, &["ns1"], 1));
            env.commit("remove ns2");
            let killed = killed_then_converges(&env, at);
            for (z, b) in ["a.test.", "b.test."].iter().zip(&before) {
                assert_eq!(
                    env.soa("ns0", z).serving(),
                    Some(b + 1),
                    "boundary {at}: {z} changed exactly once"
                );
                assert_eq!(
                    ns_set(&env, "ns1", z),
                    vec!["ns1.example.net."],
                    "boundary {at}"
                );
            }
            env.assert_converged(&format!("boundary {at}"));
            if !killed {
                break;
            }
            kills += 1;
        }
        assert!(kills >= 8, "only {kills} boundaries were exercised");
    }
);

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

/// (TTL, data) of `name` `rtype` as `server` answers it.
fn answer(env: &Env, server: &str, name: &str, rtype: &str) -> Vec<(u32, String)> {
    crate::support::answer_lines(env.lab.dns_addr(server).unwrap(), name, rtype)
}

fn mail_zone(addr: &str, cutover: bool) -> String {
    let cut = if cutover {
        "\n      cutover: {short_ttl: 1, soak: 2}"
    } else {
        ""
    };
    format!(
        "group: default\nsoa: {{refresh: 2, retry: 1}}\nrecords:\n  \"@\":\n    MX: 10 mail\n  mail:\n    A:\n      ttl: 3\n      value: {addr}{cut}\n"
    )
}

both_stores!(
    renumber_lowers_the_ttl_waits_switches_soaks_and_restores,
    |db| {
        let env = Env::with(db, 2, &["ns1", "ns2"], 2);
        env.zone("a.test", &mail_zone("192.0.2.25", false));
        env.commit("mail on the old box");
        env.apply(&[], 0);
        let before = env.soa("ns0", "a.test.").serving().unwrap();
        assert_eq!(
            answer(&env, "ns1", "mail.a.test.", "A"),
            vec![(3, "192.0.2.25".to_string())]
        );

        let monitor = Monitor::start(&env, &["a.test."]);
        env.zone("a.test", &mail_zone("198.51.100.25", true));
        env.commit("move mail to the new box, as a planned cut-over");
        let t0 = std::time::Instant::now();
        let out = env.apply(&[], 3);
        assert!(text(&out).contains("until"), "{}", text(&out));
        assert_eq!(
            answer(&env, "ns2", "mail.a.test.", "A"),
            vec![(1, "192.0.2.25".to_string())],
            "old data, short TTL"
        );
        assert_eq!(env.soa("ns2", "a.test.").serving(), Some(before + 1));

        // Too early: still waiting out refresh (2 s) + old TTL (3 s).
        let out = env.apply(&[], 3);
        assert!(text(&out).contains("refresh + old TTL"), "{}", text(&out));
        let out = apply_past_wait(&env, &[], "refresh + old TTL", 3);
        assert!(
            t0.elapsed() >= Duration::from_secs(5),
            "refresh + old TTL (5 s) waited out"
        );
        assert!(text(&out).contains("soaks"), "{}", text(&out));
        assert_eq!(
            answer(&env, "ns1", "mail.a.test.", "A"),
            vec![(1, "198.51.100.25".to_string())],
            "new data, short TTL"
        );
        assert_eq!(env.soa("ns1", "a.test.").serving(), Some(before + 2));

        apply_past_wait(&env, &[], "soaks", 0);
        assert_eq!(
            answer(&env, "ns1", "mail.a.test.", "A"),
            vec![(3, "198.51.100.25".to_string())],
            "normal TTL back"
        );
        assert_eq!(
            env.soa("ns2", "a.test.").serving(),
            Some(before + 3),
            "three UPDATEs, no more"
        );
        monitor.finish();
        env.assert_converged("after apply");
    }
);

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

/// The SOA expire `addr` serves for `zone`.
fn soa_expire(addr: std::net::SocketAddr, zone: &str) -> Option<u32> {
    dig_short(addr, zone, "SOA")
        .first()?
        .split_whitespace()
        .nth(5)?
        .parse()
        .ok()
}

/// Starts an empty new primary, `np` on 127.0.0.4 (the lab's DNS port and key), and
/// commits `zonekeeper.yaml` naming it as the primary (zone TTL `ttl`).
fn move_to_new_primary(env: &Env, ttl: u32) -> zonekeeper_lab::Lab {
    let spec = env
        .lab
        .spec()
        .another_primary(
            &env.dir.path().join("lab2"),
            "np",
            std::net::Ipv4Addr::new(127, 0, 0, 4),
        )
        .unwrap();
    let np = zonekeeper_lab::Lab::start(spec).unwrap();
    env.write(
        "zonekeeper.yaml",
        &crate::support::config_yaml_with_primary(&env.lab, np.spec(), &["ns1", "ns2"], ttl),
    );
    env.commit("move the primary to np");
    np
}

both_stores!(primary_moves_without_a_gap, |db| {
    let env = Env::with(db, 2, &["ns1", "ns2"], 2);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.zone("b.test", &zone_yaml("192.0.2.2"));
    env.commit("two zones");
    env.apply(&[], 0);
    let before = env.soa("ns1", "a.test.").serving().unwrap();
    let old = env.lab.dns_addr("ns0").unwrap();

    // The new primary: its own named on 127.0.0.4, empty, same key.
    let monitor = Monitor::start_from(&env, &["a.test.", "b.test."], "ns1");
    let np = move_to_new_primary(&env, 2);
    let new = np.dns_addr("np").unwrap();
    assert!(
        dig_soa(new, "a.test.").serving().is_none(),
        "np starts empty"
    );

    // Runs until the secondaries' operators must act; each run exits 3 (waiting).
    let mut last = String::new();
    for _ in 0..20 {
        let out = env.apply(&["--verify-timeout", "5"], 3);
        last = text(&out);
        if last.contains("point its catalog zones at the new primary") {
            break;
        }
    }
    assert!(
        last.contains("point its catalog zones at the new primary np"),
        "{last}"
    );
    // Expire raised (+1 on the old primary), then a serial only the new primary has (+1).
    assert_eq!(dig_soa(old, "a.test.").serving(), Some(before + 1));
    assert_eq!(dig_soa(new, "a.test.").serving(), Some(before + 2));
    for s in ["ns1", "ns2"] {
        assert_eq!(env.soa(s, "a.test.").serving(), Some(before + 2), "{s}");
        assert_eq!(
            soa_expire(env.lab.dns_addr(s).unwrap(), "a.test."),
            Some(30 * 24 * 3600),
            "{s}: expire raised while the primary moves"
        );
    }
    let logs = env.lab.log_text();
    assert!(
        logs.contains(&format!("transfer of 'a.test/IN' from {}#", new.ip())),
        "the secondaries transferred from the new primary"
    );
    let status = text(&env.zk(&["status"]));
    assert!(
        status.contains("move-primary") && status.contains("take-catalogs"),
        "{status}"
    );
    // Frozen: a record change waits for the move.
    env.zone("b.test", &zone_yaml("192.0.2.22"));
    env.commit("change b.test during the move");
    let out = env.apply(&["--verify-timeout", "5"], 3);
    assert!(text(&out).contains("take-catalogs") || text(&out).contains("catalog zones"));
    assert_eq!(env.soa("ns1", "b.test.").serving(), Some(before + 2));

    // The secondaries' operators point their catalogs at np; the move completes.
    env.lab.repoint_secondaries(&np.spec().primary).unwrap();
    let mut code = 3;
    for _ in 0..20 {
        let out = env.zk(&["apply", "--auto-approve", "--verify-timeout", "10"]);
        code = out.status.code().unwrap_or(-1);
        last = text(&out);
        if code != 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert_eq!(code, 0, "{last}");
    assert_eq!(
        dig_soa(old, "a.test.").status,
        "REFUSED",
        "the old primary retired"
    );
    let now = dig_soa(new, "a.test.").serving().unwrap();
    assert_eq!(now, before + 3, "expire restored: one more UPDATE");
    for s in ["ns1", "ns2"] {
        let addr = env.lab.dns_addr(s).unwrap();
        assert_eq!(env.soa(s, "a.test.").serving(), Some(now), "{s}");
        assert_eq!(soa_expire(addr, "a.test."), Some(1209600), "{s}");
        assert_eq!(
            dig_short(addr, "www.b.test.", "A"),
            ["192.0.2.22"],
            "{s}: the frozen change went out after the move"
        );
    }

    // A zone created afterwards reaches the secondaries through the new primary.
    env.zone("c.test", &zone_yaml("192.0.2.3"));
    env.commit("c.test after the move");
    env.apply(&[], 0);
    for s in ["ns1", "ns2"] {
        assert!(
            env.soa(s, "c.test.").serving().is_some(),
            "{s} serves c.test."
        );
    }
    assert_eq!(dig_soa(old, "c.test.").status, "REFUSED");
    monitor.finish();
    let status = text(&env.zk(&["status"]));
    assert!(!status.contains("Operations:"), "{status}");
    env.assert_converged("after the move");
});

/// Moves the primary of a fresh two-zone lab to a new one on 127.0.0.4 with a SIGKILL at
/// step boundary `at`, the secondaries' operators re-pointing their catalogs when asked;
/// asserts the move converged with every zone changed exactly three times (expire raised,
/// serial proven on the new primary, expire restored). Returns whether the kill happened.
fn primary_move_killed_at(db: crate::support::Db, at: usize) -> bool {
    let env = Env::with(db, 2, &["ns1", "ns2"], 1);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.zone("b.test", &zone_yaml("192.0.2.2"));
    env.commit("two zones");
    env.apply(&[], 0);
    let before: Vec<u32> = ["a.test.", "b.test."]
        .iter()
        .map(|z| env.soa("ns1", z).serving().unwrap())
        .collect();
    let np = move_to_new_primary(&env, 1);
    let new = np.dns_addr("np").unwrap();
    let counter = env.dir.path().join("boundaries");
    let (at_s, counter_s) = (at.to_string(), counter.display().to_string());
    let armed = [
        ("ZONEKEEPER_TEST_KILL_AT", at_s.as_str()),
        ("ZONEKEEPER_TEST_KILL_COUNTER", counter_s.as_str()),
    ];
    let (mut killed, mut repointed) = (false, false);
    for _ in 0..40 {
        let vars: &[(&str, &str)] = if killed { &[] } else { &armed };
        let out = env.zk_env(&["apply", "--auto-approve", "--verify-timeout", "5"], vars);
        match out.status.code() {
            None => killed = true,
            Some(0) => break,
            Some(3) if text(&out).contains("catalog zones at the new primary") && !repointed => {
                env.lab.repoint_secondaries(&np.spec().primary).unwrap();
                repointed = true;
            }
            Some(3) => std::thread::sleep(Duration::from_millis(300)),
            _ => panic!("boundary {at}: apply failed:\n{}", text(&out)),
        }
    }
    assert!(repointed, "boundary {at}: the operators were asked");
    for (z, b) in ["a.test.", "b.test."].iter().zip(&before) {
        for (who, addr) in [
            ("np", new),
            ("ns1", env.lab.dns_addr("ns1").unwrap()),
            ("ns2", env.lab.dns_addr("ns2").unwrap()),
        ] {
            assert_eq!(
                dig_soa(addr, z).serving(),
                Some(b + 3),
                "boundary {at}: {who} serves {z} changed exactly three times"
            );
        }
        assert_eq!(
            env.soa("ns0", z).status,
            "REFUSED",
            "boundary {at}: retired"
        );
    }
    env.assert_converged(&format!("boundary {at}"));
    killed
}

#[test]
fn primary_move_survives_sigkill_at_every_step_boundary() {
    let mut kills = 0;
    for at in 1.. {
        if !primary_move_killed_at(crate::support::Db::Sqlite, at) {
            break;
        }
        kills += 1;
    }
    assert!(kills >= 20, "only {kills} boundaries were exercised");
}
