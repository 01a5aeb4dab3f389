//! End-to-end scenarios against a real BIND lab, each on SQLite and on PostgreSQL.

use crate::both_stores;
use crate::support::{Db, Env, text, zone_yaml};

/// Every server answers `zone` with AA; returns the serials, primary first.
fn serials(env: &Env, zone: &str) -> Vec<Option<u32>> {
    env.servers()
        .iter()
        .map(|s| env.soa(s, zone).serving())
        .collect()
}

/// Three zones, applied: every server serves each with AA and one serial.
fn three_zones(env: &Env) {
    for (z, a) in [
        ("a.test", "192.0.2.1"),
        ("b.test", "192.0.2.2"),
        ("c.test", "192.0.2.3"),
    ] {
        env.zone(z, &zone_yaml(a));
    }
    env.commit("three zones");
    env.apply(&[], 0);
}

both_stores!(three_zones_are_served_everywhere, |db| {
    let env = Env::new(db);
    three_zones(&env);
    for z in ["a.test.", "b.test.", "c.test."] {
        let s = serials(&env, z);
        assert!(s[0].is_some(), "primary serves {z}: {s:?}");
        assert!(
            s.iter().all(|x| *x == s[0]),
            "{z} served by all with one serial: {s:?}"
        );
    }
    // the long TXT arrives on a secondary as two character-strings of one record
    let ns2 = env.lab.dns_addr("ns2").unwrap();
    let txt: Vec<String> = crate::support::answer_lines(ns2, "a.test.", "TXT")
        .into_iter()
        .map(|(_, data)| data)
        .collect();
    let txt = txt.join("\n");
    assert_eq!(txt.matches("\" \"").count(), 1, "{txt}");
    assert_eq!(
        txt.replace("\" \"", "").trim_matches('"'),
        crate::support::LONG_TXT
    );
    let show = text(&env.zk(&["show", "zone", "b.test"]));
    assert!(
        show.contains("as recorded") && show.contains("seen on every server"),
        "{show}"
    );
    assert_eq!(
        show.matches("serves serial").count(),
        3,
        "primary and both secondaries: {show}"
    );
    let status = text(&env.zk(&["status"]));
    assert!(
        status.contains("3 recorded, 0 not yet verified"),
        "{status}"
    );
    assert!(status.contains("Test Operator"), "{status}");
    assert!(status.contains("ns1") && status.contains("OK"), "{status}");
});

both_stores!(one_record_changed_bumps_only_that_zone, |db| {
    let env = Env::new(db);
    three_zones(&env);
    let before: Vec<_> = ["a.test.", "b.test.", "c.test."]
        .iter()
        .map(|z| serials(&env, z))
        .collect();
    env.zone("a.test", &zone_yaml("192.0.2.99"));
    env.commit("renumber www.a.test");
    let plan = env.zk(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    assert!(
        text(&plan).contains("+ www.a.test. 300 IN A 192.0.2.99"),
        "{}",
        text(&plan)
    );
    env.apply(&[], 0);
    let after: Vec<_> = ["a.test.", "b.test.", "c.test."]
        .iter()
        .map(|z| serials(&env, z))
        .collect();
    let (a0, a1) = (before[0][0].unwrap(), after[0][0].unwrap());
    assert_eq!(a1, a0 + 1, "a.test. serial bumped by one");
    assert!(
        after[0].iter().all(|s| *s == Some(a1)),
        "new serial everywhere: {:?}",
        after[0]
    );
    assert_eq!(before[1], after[1], "b.test. untouched");
    assert_eq!(before[2], after[2], "c.test. untouched");
    let www = crate::support::dig_short(env.lab.dns_addr("ns2").unwrap(), "www.a.test.", "A");
    assert_eq!(www, vec!["192.0.2.99"]);
    // Nothing left to do: no plan, no serial bump.
    env.assert_converged("after apply");
    env.apply(&[], 0);
    assert_eq!(
        serials(&env, "a.test."),
        after[0],
        "applying again changes nothing"
    );
});

both_stores!(deleted_zone_is_no_longer_served, |db| {
    let env = Env::new(db);
    three_zones(&env);
    env.remove("zones/b.test.yaml");
    env.commit("drop b.test");
    let out = env.apply(&[], 1);
    assert!(text(&out).contains("--allow-delete"), "{}", text(&out));
    assert!(
        serials(&env, "b.test.").iter().all(Option::is_some),
        "still served without --allow-delete"
    );
    env.apply(&["--allow-delete"], 0);
    for s in env.servers() {
        let soa = env.soa(&s, "b.test.");
        assert_eq!(soa.serving(), None, "{s} no longer serves b.test.: {soa:?}");
        assert_eq!(soa.status, "REFUSED", "{s}: {soa:?}");
    }
    assert!(
        serials(&env, "a.test.").iter().all(Option::is_some),
        "a.test. still served"
    );
    assert!(
        !env.store_dump().contains("b.test. 300 IN"),
        "b.test. gone from the store"
    );
    env.assert_converged("after apply");
});

both_stores!(bad_input_changes_nothing, |db| {
    let env = Env::new(db);
    three_zones(&env);
    let store_before = env.store_dump();
    let cases = [
        (
            "broken.test",
            "group: default\nrecords:\n  www:\n    A: [192.0.2.1\n  x: 1\n",
            "zones/broken.test.yaml:5:",
        ),
        (
            "addr.test",
            "group: default\nrecords:\n  www:\n    A: 192.0.2.300\n",
            "zones/addr.test.yaml:4:8",
        ),
        (
            "cname.test",
            "group: default\nrecords:\n  www:\n    A: 192.0.2.1\n    CNAME: web.example.net.\n",
            "zones/cname.test.yaml:5:5",
        ),
    ];
    for (zone, yaml, location) in cases {
        env.zone(zone, yaml);
        env.commit(&format!("bad {zone}"));
        let out = env.apply(&[], 1);
        assert!(
            text(&out).contains(location),
            "{zone}: expected {location} in\n{}",
            text(&out)
        );
        assert!(text(&out).contains("nothing was changed"), "{}", text(&out));
        let validate = env.zk(&["validate"]);
        assert_eq!(validate.status.code(), Some(1));
        assert_eq!(
            env.store_dump(),
            store_before,
            "store unchanged after {zone}"
        );
        assert_eq!(
            env.soa("ns0", &format!("{zone}.")).serving(),
            None,
            "{zone} not on the primary"
        );
        env.remove(&format!("zones/{zone}.yaml"));
        env.commit(&format!("revert {zone}"));
    }
    // All three problems at once are reported together.
    for (zone, yaml, _) in cases {
        env.zone(zone, yaml);
    }
    let out = env.zk(&["validate", "--worktree", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["problems"].as_array().map(Vec::len), Some(3), "{json}");
});

both_stores!(unreachable_primary_changes_nothing_then_recovers, |db| {
    let mut env = Env::new(db);
    three_zones(&env);
    let store_before = env.store_dump();
    env.zone("d.test", &zone_yaml("192.0.2.4"));
    env.zone("a.test", &zone_yaml("192.0.2.50"));
    env.commit("more while the primary is down");
    env.lab.kill("ns0").unwrap();
    let out = env.apply(&[], 1);
    assert!(text(&out).contains("unreachable"), "{}", text(&out));
    assert_eq!(env.store_dump(), store_before, "store unchanged");
    env.lab.start_server("ns0").unwrap();
    env.apply(&[], 0);
    let d = serials(&env, "d.test.");
    assert!(d[0].is_some() && d.iter().all(|s| *s == d[0]), "{d:?}");
    env.assert_converged("after apply");
});

both_stores!(tsig_secret_is_never_written_out, |db| {
    let env = Env::new(db);
    let secret = env.lab.tsig_secret().unwrap();
    assert!(secret.len() > 20);
    for (z, a) in [("a.test", "192.0.2.1"), ("b.test", "192.0.2.2")] {
        env.zone(z, &zone_yaml(a));
    }
    env.commit("zones");
    let mut output = String::new();
    for args in [
        &["plan"][..],
        &["apply", "--auto-approve"],
        &["status"],
        &["status", "--format", "json"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .args(args)
            .args(["--repo", env.repo.to_str().unwrap(), "--db", &env.db])
            .env("ZONEKEEPER_LOG", "trace")
            .current_dir(env.dir.path())
            .output()
            .unwrap();
        output.push_str(&text(&out));
    }
    assert!(output.contains("Applied revision"), "{output}");
    assert!(
        output.contains("TRACE") || output.contains("DEBUG"),
        "trace logging was on"
    );
    assert!(!output.contains(&secret), "secret in zonekeeper's output");
    assert!(!env.store_dump().contains(&secret), "secret in the store");
    let rendered = std::fs::read_to_string(env.lab.spec().include_dir.join("zones.conf")).unwrap();
    assert!(rendered.contains("key \"zonekeeper\"") && !rendered.contains(&secret));
    let repo = git2::Repository::open(&env.repo).unwrap();
    let mut odb_text = String::new();
    repo.odb()
        .unwrap()
        .foreach(|oid| {
            if let Ok(obj) = repo.odb().unwrap().read(*oid) {
                odb_text.push_str(&String::from_utf8_lossy(obj.data()));
            }
            true
        })
        .unwrap();
    assert!(!odb_text.contains(&secret), "secret in Git");
    assert!(
        !env.lab.log_text().contains(&secret),
        "secret in the servers' logs"
    );
});

both_stores!(saved_plans_apply_once_and_go_stale, |db| {
    let env = Env::new(db);
    three_zones(&env);
    env.zone("a.test", &zone_yaml("192.0.2.77"));
    env.commit("change a");
    let plan_file = env.dir.path().join("a.plan.json");
    let out = env.zk(&["plan", "--out", plan_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    assert_eq!(saved["zones"][0]["zone"], "a.test.");
    assert!(
        saved["zones"][0]["expected_serial"].as_u64().is_some(),
        "{saved}"
    );
    // Someone else applies a newer revision first: the saved plan is stale.
    env.zone("b.test", &zone_yaml("192.0.2.78"));
    env.commit("change b");
    env.apply(&[], 0);
    let out = env.zk(&["apply", plan_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("stale"), "{}", text(&out));
    // A fresh saved plan applies.
    env.zone("c.test", &zone_yaml("192.0.2.79"));
    env.commit("change c");
    let out = env.zk(&["plan", "--out", plan_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let out = env.zk(&["apply", plan_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        env.soa("ns1", "c.test.").serving(),
        env.soa("ns0", "c.test.").serving()
    );
});

both_stores!(
    a_plan_after_history_was_rewritten_reads_only_the_changed_zone,
    |db| {
        let env = Env::new(db);
        three_zones(&env);
        // the applied commit is amended away and collected: no diff from it can be made
        env.zone("a.test", &zone_yaml("192.0.2.77"));
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .args(args)
                .current_dir(&env.repo)
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {}", text(&out));
        };
        git(&["add", "-A"]);
        git(&[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.net",
            "commit",
            "-q",
            "--amend",
            "-m",
            "rewritten",
        ]);
        git(&["reflog", "expire", "--expire=now", "--all"]);
        git(&["gc", "-q", "--prune=now"]);
        let plan = env.zk_env(
            &["plan", "--detailed-exitcode"],
            &[("ZONEKEEPER_LOG", "info")],
        );
        let shown = text(&plan);
        assert_eq!(plan.status.code(), Some(2), "{shown}");
        assert!(shown.contains("~ update a.test."), "{shown}");
        assert!(
            !shown.contains("b.test.") && !shown.contains("c.test."),
            "{shown}"
        );
        assert!(
            shown.contains("read=1") && shown.contains("unchanged=2"),
            "only a.test is read: {shown}"
        );
        env.apply(&[], 0);
        let www = crate::support::dig_short(env.lab.dns_addr("ns2").unwrap(), "www.a.test.", "A");
        assert_eq!(www, vec!["192.0.2.77"]);
        env.assert_converged("after the rewritten revision was applied");
    }
);

// The record types beyond the core ones, each as an operator writes it: loaded by BIND
// from the zone file zonekeeper writes, sent in UPDATEs, and served exactly as desired
// (apply verifies the content by transfer; an RRset BIND read otherwise fails it).
both_stores!(every_supported_type_is_served_as_written, |db| {
    let env = Env::new(db);
    let zone = |tlsa: &str| {
        format!(
            "group: default\nrecords:\n  www:\n    A: 192.0.2.1\n  _25._tcp.mail:\n    TLSA: 3 1 1 {tlsa}\n  mail:\n    A: 192.0.2.25\n    SSHFP: 4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789\n    HINFO: '\"INTEL-386\" \"Linux 6\"'\n  sub:\n    NS: ns1.example.net.\n    DS: 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118\n  sip:\n    NAPTR:\n      - '100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp'\n      - '100 20 \"U\" \"E2U+sip\" \"!^\\\\+?(.*)$!sip:\\\\1@example.net!\" .'\n  8d5730bd8d76d417bf974c03f59eedb7af98cb5c3dc73ea8ebbd54ad._openpgpkey:\n    OPENPGPKEY: mQINBFit2jsBEADrbl5vjVxYeAE0g0IDYCBpHirv1Sjlqxx5gjtPhb2YhvyDMXjq\n  8d5730bd8d76d417bf974c03f59eedb7af98cb5c3dc73ea8ebbd54ad._smimecert:\n    SMIMEA: 3 1 1 {tlsa}\n"
        )
    };
    let first = "0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6";
    env.zone("a.test", &zone(first));
    env.commit("every type");
    env.apply(&[], 0);
    env.assert_converged("after the load");
    let ns1 = env.lab.dns_addr("ns1").unwrap();
    let naptr = crate::support::dig_short(ns1, "sip.a.test.", "NAPTR");
    assert_eq!(naptr.len(), 2, "{naptr:?}");
    // changed by UPDATE
    env.zone("a.test", &zone(&first.replace("0C72", "1D83")));
    env.commit("the TLSA and SMIMEA digests change");
    env.apply(&[], 0);
    env.assert_converged("after the update");
    let tlsa = crate::support::dig_short(ns1, "_25._tcp.mail.a.test.", "TLSA").join(" ");
    assert!(tlsa.contains("1d83"), "{tlsa}");
});

// The types zonekeeper writes itself (DNAME, LOC, RP, URI, SPF, CERT, HTTPS, SVCB), any
// other in RFC 3597 form, and TXT records whose strings are given: loaded from the zone
// file zonekeeper renders and changed by UPDATE, BIND serves exactly the desired RRsets.
both_stores!(every_record_type_is_served_as_written, |db| {
    let env = Env::new(db);
    let zone = |port: u16, loc: &str| {
        format!(
            r#"group: default
records:
  "@":
    HTTPS: 1 . alpn=h3,h2 port={port} ipv4hint=192.0.2.1 ech=AEX+DQBB
    LOC: {loc}
    RP: hostmaster info
    SPF: v=spf1 -all
    TYPE65534: \# 4 0a000001
  info:
    TXT:
      - ["first string", "second; \"quoted\" \\ string", "é"]
      - plain text
  old:
    DNAME: new.example.net.
  _dns:
    SVCB: 1 dns port=853 mandatory=port key65000="x y"
  dns:
    A: 192.0.2.53
  _sip._tcp:
    URI: 10 1 "sip:info@example.com"
  cert:
    CERT: PKIX 12 RSASHA256 MIIBszCCAVmgAwIBAgIUZQ==
"#
        )
    };
    env.zone("a.test", &zone(443, "52 22 23.000 N 4 53 32.000 E -2.00m"));
    // RFC 2317: a classless delegation in the parent reverse zone
    env.zone(
        "2.0.192.in-addr.arpa",
        "group: default\nrecords:\n  64/26:\n    NS: ns1.example.net.\n  \"65\":\n    CNAME: 65.64/26\n",
    );
    env.commit("every type");
    env.apply(&[], 0);
    env.assert_converged("after the load");
    let ns1 = env.lab.dns_addr("ns1").unwrap();
    let txt = crate::support::dig_short(ns1, "info.a.test.", "TXT").join("|");
    assert!(
        txt.contains(r#""first string" "second; \"quoted\" \\ string" "\195\169""#),
        "the strings are kept as given: {txt}"
    );
    let cname = crate::support::dig_short(ns1, "65.2.0.192.in-addr.arpa.", "CNAME").join(" ");
    // hickory, printing the answer, escapes the `/` that dig prints bare
    assert_eq!(cname, "65.64\\/26.2.0.192.in-addr.arpa.");
    env.zone("a.test", &zone(8443, "42 21 54 S 71 06 18 W -24m 30m"));
    env.commit("the port and the location change");
    env.apply(&[], 0);
    env.assert_converged("after the update");
    let https = crate::support::dig_short(ns1, "a.test.", "HTTPS").join(" ");
    assert!(https.contains("port=8443"), "{https}");
    // RFC 1876 by hand: 30 m is 3×10^3 cm; the precisions are the defaults (10000 m, 10 m);
    // 2^31 less the south latitude and the west longitude in thousandths of a second; the
    // altitude in centimetres above 100,000 m below the spheroid
    let loc = crate::support::dig_short(ns1, "a.test.", "TYPE29").join(" ");
    assert_eq!(loc, "\\# 16 0033161376e8d23070be15f000988d20");
    let generic = crate::support::dig_short(ns1, "a.test.", "TYPE65534").join(" ");
    assert_eq!(generic, "\\# 4 0a000001");
});
