//! The primary moves to a new server without a gap, also with a SIGKILL at every
//! boundary of every run.

use super::*;

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

/// Moves the primary of a fresh two-zone lab to a new one on 127.0.0.4, the runs armed to
/// SIGKILL themselves at every boundary of every run (see [`Kills`]), the secondaries'
/// operators re-pointing their catalogs when asked; asserts the kills happened and the
/// move converged with every zone changed exactly three times (expire raised, serial
/// proven on the new primary, expire restored).
#[test]
fn primary_move_survives_sigkills_across_its_steps() {
    let env = Env::with(crate::support::Db::Sqlite, 2, &["ns1", "ns2"], 1);
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
    let mut kills = Kills::new(60);
    let mut repointed = false;
    for _ in 0..50 {
        let out = kills.apply(&env, "5");
        match out.status.code() {
            None => {}
            Some(0) => break,
            Some(3) if text(&out).contains("catalog zones at the new primary") && !repointed => {
                env.lab.repoint_secondaries(&np.spec().primary).unwrap();
                repointed = true;
            }
            Some(3) => std::thread::sleep(Duration::from_millis(300)),
            _ => panic!("kills at {:?}: apply failed:\n{}", kills.at, text(&out)),
        }
    }
    let at = &kills.at;
    assert!(repointed, "kills at {at:?}: the operators were asked");
    for (z, b) in ["a.test.", "b.test."].iter().zip(&before) {
        for (who, addr) in [
            ("np", new),
            ("ns1", env.lab.dns_addr("ns1").unwrap()),
            ("ns2", env.lab.dns_addr("ns2").unwrap()),
        ] {
            assert_eq!(
                dig_soa(addr, z).serving(),
                Some(b + 3),
                "kills at {at:?}: {who} serves {z} changed exactly three times"
            );
        }
        assert_eq!(
            env.soa("ns0", z).status,
            "REFUSED",
            "kills at {at:?}: retired"
        );
    }
    env.assert_converged(&format!("kills at {at:?}"));
    kills.assert_at_least(12);
}
