//! Reading what will happen and what is (issue 12, point 4): `show zone`, the delegation
//! instruction, and lists as people read them.

use crate::support::{Db, Env, config_yaml, text, zone_yaml};

/// The longest line of `s`, in characters.
fn longest_line(s: &str) -> usize {
    s.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// Reproduction: `zonekeeper show zone nosuch.test` in a repository and store that know
/// no such zone printed "desired not in this revision", "recorded not applied" and the
/// servers' REFUSED answers, and exited 0, as if the zone existed.
#[test]
fn show_zone_of_unknown_zone_exits_0() {
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    let rev = env.commit("a zone");
    env.apply(&[], 0);
    let out = env.zk(&["show", "zone", "nosuch.test"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!(
            "zone nosuch.test. is not in revision {} nor in the store",
            &rev[..12]
        )),
        "{said}"
    );
    assert!(out.stdout.is_empty(), "nothing shown for it");
    // a zone the revision has, or the store, is still shown
    let out = env.zk(&["show", "zone", "a.test"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// Reproduction: after a group's first apply, `status` listed the change under "Recent
/// changes" as `secondaries +["ns1", "ns2"] -[]`: Rust's Debug form of the lists.
#[test]
fn status_shows_secondaries_as_rust_debug_lists() {
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a zone");
    env.apply(&[], 0);
    let status = text(&env.zk(&["status"]));
    assert!(!status.contains("[\""), "Debug lists in:\n{status}");
    assert!(!status.contains("-[]"), "Debug lists in:\n{status}");
    assert!(
        status.contains("secondaries joining: ns1 ns2; leaving: none"),
        "{status}"
    );
    let json = env.zk(&["status", "--format", "json"]);
    assert!(!String::from_utf8_lossy(&json.stdout).contains("[\\\""));
}

/// Reproduction: a secondary joining a group of 1,003 zones under a parent not managed
/// here made the delegation step's instruction one line of 74,499 characters, every
/// zone's NS set, in the plan, in the apply's output and log, and in `status`. Each now
/// names a few zones and counts the rest; the plan's JSON keeps every zone.
#[test]
fn delegation_instruction_is_one_huge_line() {
    let env = Env::with(Db::Sqlite, 3, &["ns1", "ns2"], 300);
    for i in 0..1003 {
        env.zone(&format!("z{i:04}.test"), &zone_yaml("192.0.2.1"));
    }
    env.commit("1,003 zones");
    env.apply(&["--verify-timeout", "60"], 0);
    env.write(
        "zonekeeper.yaml",
        &config_yaml(&env.lab, &["ns1", "ns2", "ns3"], 300),
    );
    env.commit("ns3 joins");

    let plan = text(&env.zk(&["plan"]));
    assert!(
        plan.contains("once the registrar publishes z0000.test.: NS ns1.example.net. ns2.example.net. ns3.example.net."),
        "{plan}"
    );
    assert!(plan.contains("… and 1000 more zone(s)"), "{plan}");
    assert!(
        longest_line(&plan) < 600,
        "{} characters",
        longest_line(&plan)
    );
    let json = env.zk(&["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let steps = v["operations"][0]["steps"].as_array().unwrap();
    let delegation = steps.iter().find(|s| s["name"] == "delegation").unwrap();
    let wait = delegation["waits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["wait"] == "delegation")
        .unwrap();
    let instructions = wait["instructions"].as_str().unwrap();
    assert_eq!(
        instructions.matches(": NS ").count(),
        1003,
        "JSON keeps every zone"
    );
    assert!(instructions.contains("z1002.test.: NS"));

    // The apply reaches the delegation step: its output and log, then status.
    let out = env.apply(&["--verify-timeout", "60"], 3);
    let said = text(&out);
    assert!(
        said.contains("registrar must publish z0000.test.: NS"),
        "{said}"
    );
    assert!(said.contains("… and 1000 more zone(s)"), "{said}");
    assert!(
        longest_line(&said) < 1000,
        "{} characters",
        longest_line(&said)
    );
    let status = text(&env.zk(&["status"]));
    assert!(
        status.contains("registrar must publish z0000.test.: NS"),
        "{status}"
    );
    assert!(
        longest_line(&status) < 1000,
        "{} characters",
        longest_line(&status)
    );
}
