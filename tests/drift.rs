//! Drift (issue 10, point 4) on a real BIND lab, each scenario on SQLite and PostgreSQL: a
//! zone changed on the primary outside zonekeeper (a TSIG-signed UPDATE sent by the test,
//! as `nsupdate` would) is found by `zonekeeper drift` record by record, shown by `plan`
//! and `status`, refused by a plain apply with both ways out named, and resolved either
//! way: `apply --overwrite-drift ZONE` (with and without a change of the desired state),
//! or `import --zone ZONE --from-primary` and a commit.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use zonekeeper::backend::update::{Update, Updater};
use zonekeeper::model::config::{SecretSource, TsigKeyRef};

use crate::both_stores;
use crate::support::{Db, Env, axfr, block_on, dig_short, text, zone_yaml};

/// Changes `zone` on the primary as an operator with `nsupdate` would: `www` gets another
/// address, `rogue` a TXT record; BIND bumps the serial itself.
pub(crate) fn out_of_band(env: &Env, zone: &str, www: &str) {
    let primary = env.lab.dns_addr("ns0").unwrap();
    let signer = signer(env);
    let origin = Name::from_ascii(zone).unwrap();
    let owner = |l: &str| Name::from_ascii(format!("{l}.{zone}")).unwrap();
    let mut u = Update::default();
    u.delete_rrset(owner("www"), RecordType::A);
    let ip: Ipv4Addr = www.parse().unwrap();
    u.add(Record::from_rdata(owner("www"), 300, RData::A(A(ip))));
    u.add(Record::from_rdata(
        owner("rogue"),
        300,
        RData::TXT(TXT::new(vec!["oob".into()])),
    ));
    block_on(async move {
        let updater = Updater::connect(primary, signer, Duration::from_secs(5))
            .await
            .unwrap();
        updater.send(&origin, &u, None).await.unwrap();
    });
}

/// The signer of the lab's TSIG key.
fn signer(env: &Env) -> hickory_proto::rr::TSigner {
    let key = TsigKeyRef {
        name: Name::from_ascii("zonekeeper.").unwrap(),
        algorithm: "hmac-sha256".into(),
        secret: SecretSource::File(env.lab.spec().tsig_key_file.clone()),
    };
    zonekeeper::backend::tsig::signer(&key).unwrap()
}

/// Every server (primary first) answers `zone` with AA at one serial; waits for the
/// secondaries to follow the primary (NOTIFY), at most 20 s. Returns that serial.
pub(crate) fn converged(env: &Env, zone: &str) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let serials: Vec<Option<u32>> = env
            .servers()
            .iter()
            .map(|s| env.soa(s, zone).serving())
            .collect();
        if serials[0].is_some() && serials.iter().all(|s| *s == serials[0]) {
            return serials[0].unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "{zone} not converged: {serials:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What every secondary answers for `name` `rtype`.
pub(crate) fn on_secondaries(env: &Env, name: &str, rtype: &str) -> Vec<Vec<String>> {
    env.servers()
        .iter()
        .skip(1)
        .map(|s| dig_short(env.lab.dns_addr(s).unwrap(), name, rtype))
        .collect()
}

/// Two zones applied; `a.test.` then changed on the primary outside zonekeeper.
fn drifted(db: Db) -> Env {
    let env = Env::new(db);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.zone("b.test", &zone_yaml("192.0.2.2"));
    env.commit("two zones");
    env.apply(&[], 0);
    out_of_band(&env, "a.test.", "192.0.2.66");
    converged(&env, "a.test.");
    env
}

/// `zonekeeper drift` finds exactly `a.test.`, record by record; exit 2.
fn drift_is_found(env: &Env) {
    let out = env.zk(&["drift"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("Drift in a.test.: the primary serves serial"),
        "{t}"
    );
    assert!(t.contains("- www.a.test. 300 IN A 192.0.2.1\n"), "{t}");
    assert!(t.contains("+ www.a.test. 300 IN A 192.0.2.66\n"), "{t}");
    assert!(t.contains("+ rogue.a.test. 300 IN TXT \"oob\"\n"), "{t}");
    assert!(!t.contains("Drift in b.test."), "{t}");
    assert!(t.contains("2 zone(s) checked: 1 drift"), "{t}");
    let json = env.zk(&["drift", "--zone", "a.test", "--format", "json"]);
    assert_eq!(json.status.code(), Some(2), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["drift"][0]["zone"], "a.test.", "{v}");
    assert_eq!(v["checked"], 1, "{v}");
    let clean = env.zk(&["drift", "--zone", "b.test."]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
}

/// `plan` and `status` show the drift the store recorded.
fn drift_is_shown(env: &Env) {
    let plan = env.zk(&["plan", "--detailed-exitcode"]);
    let t = text(&plan);
    assert_eq!(plan.status.code(), Some(2), "{t}");
    assert!(t.contains("Drift in a.test."), "{t}");
    assert!(t.contains("+ rogue.a.test. 300 IN TXT \"oob\""), "{t}");
    assert!(
        t.contains("zonekeeper apply --overwrite-drift a.test."),
        "{t}"
    );
    assert!(
        t.contains("zonekeeper import --zone a.test. --from-primary"),
        "{t}"
    );
    let json = env.zk(&["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["drift"]["zones"][0]["zone"], "a.test.", "{v}");
    let status = text(&env.zk(&["status"]));
    assert!(
        status.contains("Drift: 1 zone(s) served other than recorded: a.test."),
        "{status}"
    );
    let json = env.zk(&["status", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["drift"]["zones"], 1, "{v}");
}

both_stores!(overwrite_drift_puts_the_desired_state_back, |db| {
    let env = drifted(db);
    drift_is_found(&env);
    drift_is_shown(&env);
    let b_serial = converged(&env, "b.test.");
    // a named zone that does not drift: an error before anything is sent
    let out = env.apply(&["--overwrite-drift", "b.test"], 1);
    assert!(
        text(&out).contains("zone b.test. does not drift"),
        "{}",
        text(&out)
    );
    assert_eq!(
        converged(&env, "b.test."),
        b_serial,
        "nothing sent to b.test."
    );

    // a change of the desired state meets the drift: refused, both ways out named
    env.zone(
        "a.test",
        &zone_yaml("192.0.2.1").replace("192.0.2.25", "192.0.2.26"),
    );
    env.commit("mail.a.test moves");
    let out = env.apply(&[], 1);
    let t = text(&out);
    assert!(t.contains("changed outside zonekeeper (drift)"), "{t}");
    assert!(
        t.contains("zonekeeper apply --overwrite-drift a.test."),
        "{t}"
    );
    assert!(
        t.contains("zonekeeper import --zone a.test. --from-primary"),
        "{t}"
    );
    assert_eq!(
        dig_short(env.lab.dns_addr("ns0").unwrap(), "rogue.a.test.", "TXT"),
        ["\"oob\""],
        "the drift was not overwritten"
    );

    // overwritten, with the desired state's own change
    let drifted_serial = converged(&env, "a.test.");
    let out = env.apply(&["--overwrite-drift", "a.test."], 0);
    assert!(
        text(&out).contains("Overwriting drift in a.test."),
        "{}",
        text(&out)
    );
    let serial = converged(&env, "a.test.");
    assert!(
        serial > drifted_serial,
        "{serial} above the served {drifted_serial}"
    );
    let served = axfr(&env.lab, "a.test.").join("\n");
    assert!(!served.contains("rogue"), "{served}");
    assert!(
        served.contains("www.a.test. 300 IN A 192.0.2.1"),
        "{served}"
    );
    assert!(!served.contains("192.0.2.66"), "{served}");
    assert!(
        served.contains("mail.a.test. 300 IN A 192.0.2.26"),
        "{served}"
    );
    for answers in on_secondaries(&env, "www.a.test.", "A") {
        assert_eq!(answers, ["192.0.2.1"]);
    }
    for answers in on_secondaries(&env, "rogue.a.test.", "TXT") {
        assert!(answers.is_empty(), "{answers:?}");
    }
    assert_eq!(env.zk(&["drift"]).status.code(), Some(0), "no drift left");
    env.assert_converged("after --overwrite-drift");
    let status = text(&env.zk(&["status"]));
    assert!(status.contains("Drift: none found"), "{status}");
    assert!(status.contains("overwrite-drift"), "audit: {status}");

    // drift again, and the desired state unchanged: the flag alone brings the zone back
    out_of_band(&env, "a.test.", "192.0.2.77");
    converged(&env, "a.test.");
    assert_eq!(env.zk(&["drift"]).status.code(), Some(2));
    env.apply(&["--overwrite-drift", "a.test."], 0);
    converged(&env, "a.test.");
    let served = axfr(&env.lab, "a.test.").join("\n");
    assert!(
        !served.contains("rogue") && !served.contains("192.0.2.77"),
        "{served}"
    );
    for answers in on_secondaries(&env, "www.a.test.", "A") {
        assert_eq!(answers, ["192.0.2.1"]);
    }
    assert_eq!(env.zk(&["drift"]).status.code(), Some(0));
    env.assert_converged("after the second --overwrite-drift");
});

both_stores!(import_from_primary_keeps_what_the_primary_serves, |db| {
    let env = drifted(db);
    // no check yet: the apply that meets the drift refuses the zone and records the drift
    env.zone(
        "a.test",
        &zone_yaml("192.0.2.1").replace("192.0.2.25", "192.0.2.26"),
    );
    env.commit("mail.a.test moves");
    let out = env.apply(&[], 1);
    assert!(
        text(&out).contains("--overwrite-drift a.test."),
        "{}",
        text(&out)
    );
    let plan = text(&env.zk(&["plan"]));
    assert!(plan.contains("Drift in a.test."), "{plan}");
    assert!(
        plan.contains("+ rogue.a.test. 300 IN TXT \"oob\""),
        "{plan}"
    );
    assert_eq!(env.zk(&["drift"]).status.code(), Some(2));
    let served_serial = converged(&env, "a.test.");
    let out = env.zk(&["import", "--zone", "a.test", "--from-primary"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("Wrote zones/a.test.yaml"),
        "{}",
        text(&out)
    );
    let file = std::fs::read_to_string(env.repo.join("zones/a.test.yaml")).unwrap();
    assert!(file.contains("\"rogue\":\n    TXT: \"oob\""), "{file}");
    assert!(file.contains("A: \"192.0.2.66\""), "{file}");
    assert!(!file.contains("192.0.2.1\""), "{file}");
    assert!(
        file.contains(crate::support::LONG_TXT),
        "the long TXT as one text: {file}"
    );
    let valid = env.zk(&["validate", "--worktree"]);
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid));
    env.commit("a.test as the primary serves it");

    // the plan changes nothing on the servers for it; apply records it and sends nothing
    let plan = text(&env.zk(&["plan"]));
    assert!(!plan.contains("Drift in a.test."), "{plan}");
    assert!(
        !plan.contains("rogue.a.test. 300 IN TXT"),
        "no RRset change: {plan}"
    );
    assert!(
        plan.contains("Drift resolved in the desired state"),
        "{plan}"
    );
    env.apply(&[], 0);
    assert_eq!(converged(&env, "a.test."), served_serial, "nothing sent");
    assert_eq!(env.zk(&["drift"]).status.code(), Some(0), "drift cleared");
    env.assert_converged("after import and apply");
    let status = text(&env.zk(&["status"]));
    assert!(status.contains("Drift: none found"), "{status}");

    // a zone the primary does not serve: an error, nothing written
    let out = env.zk(&["import", "--zone", "nowhere.test", "--from-primary"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!env.repo.join("zones/nowhere.test.yaml").exists());
});

// The daemon's entry point: passes of `budget` zones after the store's cursor go round
// every zone and wrap; what they find is in the drift table.
both_stores!(passes_go_round_every_zone_after_the_cursor, |db| {
    use zonekeeper::drift::{ZoneCheck, pass};
    let env = drifted(db);
    let url = zonekeeper::store::db_url(&env.db).unwrap();
    let primary = env.lab.dns_addr("ns0").unwrap();
    let signer = signer(&env);
    block_on(async move {
        let store = zonekeeper::store::Store::open(&url).await.unwrap();
        let updater = Updater::connect(primary, signer, Duration::from_secs(5))
            .await
            .unwrap();
        let first = pass(&store, &updater, 100, 1).await.unwrap();
        assert!(
            matches!(&first.zones[..], [ZoneCheck::Drifts(d)] if d.zone == "a.test."),
            "{first:?}"
        );
        assert!(!first.wrapped);
        assert_eq!(store.drift_count().await.unwrap(), 1);
        let second = pass(&store, &updater, 101, 1).await.unwrap();
        assert_eq!(second.zones, [ZoneCheck::Clean("b.test.".into())]);
        assert_eq!(second.cursor.as_deref(), Some("b.test."));
        let third = pass(&store, &updater, 102, 5).await.unwrap();
        assert!(third.wrapped, "{third:?}");
        assert_eq!(third.zones.len(), 2, "each zone once: {third:?}");
        let cursor = store.drift_cursor().await.unwrap().unwrap();
        assert_eq!((cursor.last_zone.as_str(), cursor.wrapped), ("b.test.", 1));
        let rows = store.drifts(None).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].detected_at, 102, "replaced by the latest check");
        store.close().await;
    });
});
