//! Taking over a live primary (issue 11, point 4): zones the primary already serves from
//! its own configuration, adopted by `apply --adopt`: their content compared first, only
//! the difference sent (SOA prerequisite), nothing recreated, the serial continued.

use std::process::Command;

use crate::both_stores;
use crate::support::{Db, Env, axfr, dig_soa, text};

/// A zone the primary serves from its own `named.conf`, outside zonekeeper's `zones.conf`,
/// open to UPDATEs signed with the lab's key, as a fleet's primary has it before
/// zonekeeper: its file holds `records` (relative to the zone) at serial `serial`.
pub(crate) fn serve_outside(env: &Env, zone: &str, serial: u32, records: &str) {
    let spec = env.lab.spec();
    let dir = spec.server_dir("ns0");
    let file = dir.join(format!("own-{zone}.db"));
    let zone_text = format!(
        "$ORIGIN {zone}.\n$TTL 300\n@ IN SOA ns0.example.net. hostmaster.example.net. {serial} 3600 60 1209600 60\n@ IN NS ns1.example.net.\n{records}"
    );
    std::fs::write(&file, zone_text).unwrap();
    let conf = spec.named_conf_path("ns0");
    let mut named = std::fs::read_to_string(&conf).unwrap();
    // notifying the secondaries, as a fleet's primary does
    let notify: Vec<String> = ["ns1", "ns2"]
        .iter()
        .map(|s| {
            let a = env.lab.dns_addr(s).unwrap();
            format!("{} port {};", a.ip(), a.port())
        })
        .collect();
    named.push_str(&format!(
        "zone \"{zone}\" {{ type primary; file \"{}\"; allow-update {{ key \"{}\"; }}; notify explicit; also-notify {{ {} }}; }};\n",
        file.display(),
        spec.tsig_key_name,
        notify.join(" ")
    ));
    std::fs::write(&conf, named).unwrap();
    let out = Command::new("rndc")
        .arg("-c")
        .arg(&spec.primary_rndc_conf)
        .arg("reconfig")
        .output()
        .unwrap();
    assert!(out.status.success(), "rndc reconfig: {}", text(&out));
    let p = env.lab.dns_addr("ns0").unwrap();
    for _ in 0..50 {
        if dig_soa(p, &format!("{zone}.")).serial == Some(serial) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the primary does not serve {zone}");
}

both_stores!(
    a_zone_served_from_the_primary_s_own_configuration_is_adopted_in_place,
    |db| {
        let env = Env::new(db);
        serve_outside(
            &env,
            "legacy.test",
            4_000_000_000,
            "www IN A 192.0.2.1\nmail IN A 192.0.2.25\nold IN TXT \"only on the primary\"\n",
        );
        let before = axfr(&env.lab, "legacy.test.");
        env.zone(
        "legacy.test",
        "group: default\nsoa: { mname: ns0.example.net., rname: hostmaster.example.net. }\nrecords:\n  www:\n    A: 192.0.2.1\n  mail:\n    A: 192.0.2.26\n",
    );
        env.commit("legacy.test taken over");
        let out = env.apply(&["--adopt"], 0);
        // only the difference was sent, to the zone as it is served: the record only on the
        // primary went, the changed one changed, the serial continued past 4,000,000,000
        // (RFC 1982: 4000000001 follows it; a date serial would be behind it)
        let after = axfr(&env.lab, "legacy.test.");
        assert!(before.iter().any(|l| l.starts_with("old.legacy.test.")));
        assert!(
            !after.iter().any(|l| l.starts_with("old.legacy.test.")),
            "{after:?}"
        );
        assert!(
            after
                .iter()
                .any(|l| l == "mail.legacy.test. 300 IN A 192.0.2.26"),
            "{after:?}"
        );
        let p = env.lab.dns_addr("ns0").unwrap();
        assert_eq!(
            dig_soa(p, "legacy.test.").serial,
            Some(4_000_000_001),
            "{}",
            text(&out)
        );
        env.assert_converged("after adoption");
        // nothing recreated: the zone stays in the primary's own configuration, never in
        // zonekeeper's zones.conf (two stanzas for one zone fail the whole reconfiguration)
        let zones_conf = std::fs::read_to_string(env.lab.spec().zones_conf_path()).unwrap();
        assert!(!zones_conf.contains("legacy.test"), "{zones_conf}");
        assert!(zones_conf.contains("catalog.test"), "{zones_conf}");
        let plan = env.zk(&["plan"]);
        assert!(text(&plan).contains("No changes"), "{}", text(&plan));
        // later changes are UPDATEs like any other's
        env.zone(
        "legacy.test",
        "group: default\nsoa: { mname: ns0.example.net., rname: hostmaster.example.net. }\nrecords:\n  www:\n    A: 192.0.2.2\n  mail:\n    A: 192.0.2.26\n",
    );
        env.commit("www moves");
        env.apply(&[], 0);
        assert_eq!(dig_soa(p, "legacy.test.").serial, Some(4_000_000_002));
        env.assert_converged("after a change");
    }
);
