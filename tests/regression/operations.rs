//! Staged operations: catalog serials, cancel, waits, back-off, operator actions (issue 7:
//! items 8, 10, 11, 12, 13).

#[allow(unused_imports)]
use crate::both_stores;
#[allow(unused_imports)]
use crate::support::{Db, Env, text, zone_yaml};

/// `dig +short +norec` at `server` of the lab: the answer's lines, lower case, sorted.
fn ops_dig(env: &Env, server: &str, name: &str, rtype: &str) -> Vec<String> {
    let mut v = crate::support::dig_short(env.lab.dns_addr(server).unwrap(), name, rtype);
    v.sort();
    v
}

/// The TTL `server` answers `name` `rtype` with (recursion off).
fn ops_ttl(env: &Env, server: &str, name: &str, rtype: &str) -> Option<u32> {
    let addr = env.lab.dns_addr(server).unwrap();
    crate::support::answer_lines(addr, name, rtype)
        .first()
        .map(|(ttl, _)| *ttl)
}

/// Applies (giving every confirmation asked for, polling time gates as cron would) until
/// an apply exits 0; panics after `runs` runs.
fn ops_apply_until_done(env: &Env, runs: usize) -> std::process::Output {
    for _ in 0..runs {
        let out = env.zk(&["apply", "--auto-approve", "--verify-timeout", "10"]);
        match out.status.code() {
            Some(0) => return out,
            Some(3) if crate::support::confirm_if_asked(env, &out) => {}
            Some(3) => std::thread::sleep(std::time::Duration::from_millis(400)),
            _ => panic!("apply failed:\n{}", text(&out)),
        }
    }
    panic!("apply did not finish in {runs} runs");
}

/// Starts the real binary (with `--repo` and `--db`) without waiting for it.
fn ops_spawn(env: &Env, args: &[&str]) -> std::process::Child {
    env.command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Polls `show zone ZONE` until it contains `what` (an apply in progress got there).
fn ops_wait_for_show(env: &Env, zone: &str, what: &str) {
    for _ in 0..200 {
        if text(&env.zk(&["show", "zone", zone])).contains(what) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("`show zone {zone}` never showed \"{what}\"");
}

/// Runs one SQL statement on the store of `env` (to set up a state a test needs).
fn ops_store_exec(env: &Env, sql: &str) {
    let url = zonekeeper::store::db_url(&env.db).unwrap();
    let sql = sql.to_string();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            sqlx::any::install_default_drivers();
            let pool = sqlx::AnyPool::connect(&url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        });
}

/// Commits `members` as the group's secondaries (zones' TTL `ttl`).
fn ops_members(env: &Env, members: &[&str], ttl: u32) {
    env.write(
        "zonekeeper.yaml",
        &crate::support::config_yaml(&env.lab, members, ttl),
    );
    env.commit(&format!("group: {}", members.join(" ")));
}

// 7.8. Repro: ns2 leaves the group (remove-secondary runs to the end: its catalog
// ns2.catalog.test. is emptied, then leaves the primary, ns2 keeps its copy at serial 3);
// then ns2 is added back. The recreated catalog started at serial 1, below the 3 ns2
// holds, so ns2 never transferred it: the add-secondary operation waited forever at
// provision ("ns2 must serve a.test. …: it answers Query Refused").
both_stores!(readded_secondary_gets_its_catalog, |db| {
    let env = Env::with(db, 2, &["ns1", "ns2"], 1);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("zone");
    env.apply(&[], 0);
    let catalog = "ns2.catalog.test.";
    let first = env.soa("ns0", catalog).serving().unwrap();

    ops_members(&env, &["ns1"], 1);
    ops_apply_until_done(&env, 40);
    assert_eq!(
        env.soa("ns2", "a.test.").status,
        "REFUSED",
        "ns2 dropped it"
    );
    assert_eq!(env.soa("ns0", catalog).status, "REFUSED", "catalog retired");
    let held = env
        .soa("ns2", catalog)
        .serving()
        .expect("ns2 keeps its copy");
    assert!(held > first, "the catalog was edited: {first} → {held}");

    ops_members(&env, &["ns1", "ns2"], 1);
    ops_apply_until_done(&env, 40);
    let again = env.soa("ns0", catalog).serving().unwrap();
    assert!(
        zonekeeper::model::serial::serial_gt(again, held),
        "the recreated catalog ({again}) is above the one ns2 held ({held})"
    );
    let serial = env.soa("ns0", "a.test.").serving();
    assert_eq!(
        env.soa("ns2", "a.test.").serving(),
        serial,
        "ns2 serves a.test."
    );
    assert_eq!(
        ops_dig(&env, "ns2", "a.test.", "NS"),
        vec!["ns1.example.net.", "ns2.example.net."]
    );
    env.assert_converged("after ns2 came back");
});

// 7.10. Repro: ns3 joins the group while it hangs (SIGSTOP): the add-secondary operation
// waits at provision; `zonekeeper cancel 1 --yes`; `apply` then published
// ns3.example.net. in every zone of the group (exit 0) although ns3 never served them.
both_stores!(cancelled_add_secondary_never_publishes_ns, |db| {
    let mut env = Env::with(db, 3, &["ns1", "ns2"], 2);
    for (z, a) in [("a.test", "192.0.2.1"), ("b.test", "192.0.2.2")] {
        env.zone(z, &zone_yaml(a));
    }
    env.commit("two zones");
    env.apply(&[], 0);
    env.lab.pause("ns3").unwrap();
    ops_members(&env, &["ns1", "ns2", "ns3"], 2);
    let out = env.apply(&["--verify-timeout", "1"], 3);
    assert!(text(&out).contains("ns3"), "{}", text(&out));
    let out = env.zk(&["cancel", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The change is started afresh, gates and all: ns3's NS stays out of every zone.
    let out = env.apply(&["--verify-timeout", "1"], 3);
    assert!(text(&out).contains("ns3"), "{}", text(&out));
    for z in ["a.test.", "b.test."] {
        for s in ["ns0", "ns1", "ns2"] {
            assert_eq!(
                ops_dig(&env, s, z, "NS"),
                vec!["ns1.example.net.", "ns2.example.net."],
                "{s} {z}"
            );
        }
    }
    let status = text(&env.zk(&["status"]));
    assert!(status.contains("add-secondary ns3"), "{status}");

    // Once ns3 serves, it is published.
    env.lab.resume("ns3").unwrap();
    ops_apply_until_done(&env, 20);
    let serial = env.soa("ns0", "a.test.").serving();
    assert_eq!(env.soa("ns3", "a.test.").serving(), serial);
    assert!(ops_dig(&env, "ns0", "a.test.", "NS").contains(&"ns3.example.net.".to_string()));
    env.assert_converged("after ns3 joined");
});

// 7.11. Repro: ns2 leaves the group (zones' TTL 2 s); the delegation is confirmed; ns1
// hangs for 5 s while the NS RRset without ns2 propagates, so that step finishes 5 s into
// the apply. The TTL wait was counted from the start of that apply (2 + 1 s): the next
// apply, run at once, found it over and took ns2 out of its catalog well under 2 s after
// the NS change.
both_stores!(ttl_wait_counts_from_previous_step_finish, |db| {
    let mut env = Env::with(db, 2, &["ns1", "ns2"], 2);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("zone");
    env.apply(&[], 0);
    ops_members(&env, &["ns1"], 2);
    let out = env.apply(&["--verify-timeout", "2"], 3);
    assert!(
        crate::support::confirm_if_asked(&env, &out),
        "{}",
        text(&out)
    );

    env.lab.pause("ns1").unwrap();
    let apply = ops_spawn(&env, &["apply", "--auto-approve", "--verify-timeout", "30"]);
    ops_wait_for_show(&env, "a.test", "unpublish-ns running");
    std::thread::sleep(std::time::Duration::from_secs(5));
    env.lab.resume("ns1").unwrap();
    let out = apply.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("resolvers may hold"), "{}", text(&out));
    assert_eq!(
        ops_dig(&env, "ns1", "a.test.", "NS"),
        vec!["ns1.example.net."]
    );
    assert!(
        env.soa("ns2", "a.test.").serving().is_some(),
        "ns2 serves on while resolvers may hold its NS record"
    );
    // At once again: the wait runs from the end of the NS change, not from the apply's start.
    let out = env.apply(&["--verify-timeout", "2"], 3);
    assert!(text(&out).contains("resolvers may hold"), "{}", text(&out));
    assert!(
        env.soa("ns2", "a.test.").serving().is_some(),
        "ns2 still serves, 2 s have not passed since the NS change"
    );
    ops_apply_until_done(&env, 40);
    assert_eq!(env.soa("ns2", "a.test.").status, "REFUSED");
    env.assert_converged("after the removal");
});

/// `zonekeeper.yaml` with a second group, `other` (catalog other.test.), served by ns1.
fn ops_two_groups(lab: &zonekeeper_lab::Lab, members: &[&str]) -> String {
    crate::support::config_yaml(lab, members, 2)
        + "  other:\n    catalog: other.test.\n    secondaries: [ns1]\n    nameservers: [ns1.example.net.]\n    ttl: 2\n    soa: {mname: ns0.example.net., rname: hostmaster@example.net, refresh: 3600, retry: 60, minimum: 60}\n"
}

/// A zone of group `other` whose `mail` A record moves to `addr` as a planned cut-over.
fn ops_mail_zone(addr: &str) -> String {
    format!(
        "group: other\nsoa: {{refresh: 600, retry: 60}}\nrecords:\n  mail:\n    A:\n      ttl: 3\n      value: {addr}\n      cutover: {{short_ttl: 1, soak: 2}}\n"
    )
}

// 7.12. Repro: ns3 joins group default while it hangs (op 1 waits at provision) and, in the
// same commit, mail.c.test. of group `other` is renumbered (op 2). Op 2 never started
// (the pass stopped at op 1's wait), and the summary named op 1 only. A provision check
// that had failed 9 times said "next check from <5 min later>", yet the next apply
// checked again at once (and published ns3's NS as soon as it answered).
both_stores!(backoff_is_stored_and_other_operations_progress, |db| {
    let mut env = Env::custom(
        db,
        3,
        |spec| {
            spec.catalogs.push("other.test.".into());
            spec.secondary_catalogs.insert(
                "ns1".into(),
                vec!["ns1.catalog.test.".into(), "ns1.other.test.".into()],
            );
        },
        |lab| ops_two_groups(lab, &["ns1", "ns2"]),
    );
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.zone(
        "c.test",
        &ops_mail_zone("192.0.2.25").replace("      cutover: {short_ttl: 1, soak: 2}\n", ""),
    );
    env.commit("zones");
    env.apply(&[], 0);
    assert_eq!(ops_ttl(&env, "ns1", "mail.c.test.", "A"), Some(3));

    env.lab.pause("ns3").unwrap();
    env.write(
        "zonekeeper.yaml",
        &ops_two_groups(&env.lab, &["ns1", "ns2", "ns3"]),
    );
    env.zone("c.test", &ops_mail_zone("198.51.100.25"));
    env.commit("ns3 joins default; mail.c.test. moves");
    let out = env.apply(&["--verify-timeout", "1"], 3);
    let t = text(&out);
    assert!(t.contains("op 1 waits") && t.contains("ns3"), "{t}");
    assert!(
        t.contains("op 2 waits") && t.contains("refresh + old TTL"),
        "{t}"
    );
    assert_eq!(
        ops_ttl(&env, "ns1", "mail.c.test.", "A"),
        Some(1),
        "op 2 lowered the TTL while op 1 waits"
    );

    // A provision check that failed 8 times before: the next failure backs off 5 min.
    ops_store_exec(
        &env,
        "UPDATE steps SET attempts = 8 WHERE op_id = 1 AND idx = 1",
    );
    let mut checked = None;
    for _ in 0..20 {
        let out = env.apply(&["--verify-timeout", "1"], 3);
        if !text(&out).contains("not checked again before") {
            checked = Some(out);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = checked.expect("the first back-off (2 s) ended");
    assert!(text(&out).contains("next check from"), "{}", text(&out));
    let status = text(&env.zk(&["status"]));
    assert!(status.contains("checked 9 time(s)"), "{status}");

    // ns3 answers now, but its check is not due: nothing is checked or published.
    env.lab.resume("ns3").unwrap();
    let out = env.apply(&["--verify-timeout", "5"], 3);
    assert!(
        text(&out).contains("not checked again before"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("op 2"),
        "every waiting operation is listed"
    );
    assert_eq!(
        ops_dig(&env, "ns0", "a.test.", "NS"),
        vec!["ns1.example.net.", "ns2.example.net."]
    );
    assert!(text(&env.zk(&["status"])).contains("checked 9 time(s)"));

    // `reset` lifts the back-off: the next apply checks, and ns3 is published.
    let out = env.zk(&["reset", "1", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = env.apply(&["--verify-timeout", "10"], 3);
    assert!(
        text(&out).contains("registrar must publish a.test."),
        "{}",
        text(&out)
    );
    assert!(ops_dig(&env, "ns0", "a.test.", "NS").contains(&"ns3.example.net.".to_string()));
});

// 7.13. Repro: ns3 joins the group while it hangs; an apply runs, checking provision
// (verify timeout 30 s); meanwhile the operator runs `zonekeeper confirm 1 3 --yes` for the
// registrar's step ("Step 3 of operation 1 confirmed"), then ns3 answers. The apply went
// on to step 3 with the copy it read at its start and wrote it back unconfirmed: it asked
// for the confirmation again, and so did every later apply.
both_stores!(operator_actions_during_apply_are_not_lost, |db| {
    let mut env = Env::with(db, 3, &["ns1", "ns2"], 2);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("zone");
    env.apply(&[], 0);
    env.lab.pause("ns3").unwrap();
    ops_members(&env, &["ns1", "ns2", "ns3"], 2);
    env.apply(&["--verify-timeout", "1"], 3);
    std::thread::sleep(std::time::Duration::from_secs(3)); // the first back-off (2 s)

    let apply = ops_spawn(&env, &["apply", "--auto-approve", "--verify-timeout", "30"]);
    ops_wait_for_show(&env, "a.test", "step 1 provision running");
    let out = env.zk(&["confirm", "1", "3", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    env.lab.resume("ns3").unwrap();
    let out = apply.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the running apply honoured the confirmation:\n{}",
        text(&out)
    );
    assert!(!text(&out).contains("zonekeeper confirm"), "{}", text(&out));
    assert!(!text(&env.zk(&["status"])).contains("Operations:"));
    assert!(ops_dig(&env, "ns3", "a.test.", "NS").contains(&"ns3.example.net.".to_string()));
});
