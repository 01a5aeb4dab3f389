//! Reading what will happen and what is (issue 12, point 4): `show plan FILE` shows a
//! saved plan as `plan` did, without a store; `show zone NAME` lists the records, the
//! difference between desired and recorded, and each server's serial; plans warn of
//! rollbacks and uncommitted files; times are RFC 3339; the JSON of `plan`, `show plan`,
//! `status` and `show zone` validates against schema/output/.

use std::process::Command;

use crate::both_stores;
use crate::support::{Db, Env, text, zone_yaml};

/// Asserts `value` is valid against `schema/output/<name>.schema.json`.
pub(crate) fn assert_schema(name: &str, value: &serde_json::Value) {
    let path = format!(
        "{}/schema/output/{name}.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{path}: {errors:#?}\n{value:#}");
}

/// Whether `value` is valid against the schema `name` (for the checks that it can fail).
fn schema_accepts(name: &str, value: &serde_json::Value) -> bool {
    let path = format!(
        "{}/schema/output/{name}.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap().is_valid(value)
}

/// Whether `s` is a time in UTC RFC 3339 as zonekeeper writes it (`2026-12-06T21:50:00Z`).
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// The binary with `args` only: no repository, no store (`--repo` and `--db` point at
/// nothing, to show they are not read).
fn zk_alone(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(args)
        .arg("--repo")
        .arg(dir.join("no-repo"))
        .arg("--db")
        .arg(dir.join("no-store.sqlite"))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("ZONEKEEPER_DB")
        .env_remove("ZONEKEEPER_REPO")
        .output()
        .unwrap()
}

#[test]
fn show_plan_shows_a_saved_plan_as_plan_did() {
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a zone");
    env.apply(&[], 0);
    env.zone("a.test", &zone_yaml("192.0.2.2"));
    env.commit("www moves");
    let file = env.dir.path().join("p.json");
    let planned = env.zk(&["plan", "--out", file.to_str().unwrap()]);
    assert_eq!(planned.status.code(), Some(0), "{}", text(&planned));
    let planned = String::from_utf8_lossy(&planned.stdout).to_string();

    let dir = tempfile::tempdir().unwrap();
    let shown = zk_alone(dir.path(), &["show", "plan", file.to_str().unwrap()]);
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown));
    let shown = String::from_utf8_lossy(&shown.stdout).to_string();
    assert!(shown.contains("~ update a.test."), "{shown}");
    assert!(
        shown.contains("- www.a.test. 300 IN A 192.0.2.1"),
        "{shown}"
    );
    assert!(
        shown.contains("+ www.a.test. 300 IN A 192.0.2.2"),
        "{shown}"
    );
    // as `plan` printed it (which goes on with the drift the store records)
    assert!(
        planned.starts_with(&shown),
        "plan:\n{planned}\nshow plan:\n{shown}"
    );
    assert!(
        !dir.path().join("no-store.sqlite").exists(),
        "no store is opened or made"
    );

    let json = zk_alone(
        dir.path(),
        &["show", "plan", file.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(v, saved, "the saved plan, as saved");
    assert_eq!(v["format"], "zonekeeper-plan/2");
    assert_schema("plan", &v);

    // A plan of the format before is read too; one of a later format is refused.
    let old = std::fs::read_to_string(&file)
        .unwrap()
        .replace("zonekeeper-plan/2", "zonekeeper-plan/1");
    std::fs::write(dir.path().join("old.json"), old).unwrap();
    let out = zk_alone(dir.path(), &["show", "plan", "old.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), shown);

    // The saved plan applies.
    env.apply(&[file.to_str().unwrap()], 0);
}

#[test]
fn show_plan_refuses_a_file_that_is_not_a_plan() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |name: &str, body: &str, says: &[&str]| {
        std::fs::write(dir.path().join(name), body).unwrap();
        let out = zk_alone(dir.path(), &["show", "plan", name]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        for s in says {
            assert!(err.contains(s), "{name}: wants {s:?} in\n{err}");
        }
        assert!(out.stdout.is_empty(), "{name}");
    };
    refused(
        "other.json",
        "{\"hello\": 1}",
        &["other.json is not a zonekeeper plan", "plan --out FILE"],
    );
    // a comma missing at the end of line 2: the next key, line 3 column 3
    refused(
        "broken.json",
        "{\n  \"format\": \"zonekeeper-plan/2\"\n  \"zones\": []\n}\n",
        &[
            "broken.json:3:3: not a zonekeeper plan",
            "expected `,` or `}`",
        ],
    );
    // JSON, but `zones` is no list: where its value ends, line 4
    refused(
        "wrong.json",
        "{\n  \"format\": \"zonekeeper-plan/2\",\n  \"revision\": \"r\",\n  \"zones\": \"none\"\n}\n",
        &[
            "wrong.json:4:",
            "not a zonekeeper plan",
            "expected a sequence",
        ],
    );
    refused(
        "later.json",
        "{\"format\": \"zonekeeper-plan/9\"}",
        &[
            "format zonekeeper-plan/9",
            "zonekeeper-plan/1 and zonekeeper-plan/2",
        ],
    );
    refused("gone.json", "", &["gone.json"]);
    std::fs::remove_file(dir.path().join("gone.json")).unwrap();
    let out = zk_alone(dir.path(), &["show", "plan", "gone.json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read plan gone.json"));
}

both_stores!(show_zone_lists_records_differences_and_serials, |db| {
    let env = Env::new(db);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a zone");
    env.apply(&[], 0);
    let json = |env: &Env| -> serde_json::Value {
        let out = env.zk(&["show", "zone", "a.test", "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = json(&env);
    assert_schema("show-zone", &v);
    assert_eq!(v["in_sync"], true);
    let recorded = v["recorded"]["serial"].as_u64().unwrap();
    let servers = v["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 3, "{v:#}");
    for s in servers {
        assert_eq!(s["serial"].as_u64(), Some(recorded), "{v:#}");
        assert_eq!(s["aa"], true);
    }
    let out = text(&env.zk(&["show", "zone", "a.test"]));
    assert!(
        out.contains("Records (desired and recorded): 8 record(s)"),
        "{out}"
    );

    // The primary is changed by hand (its serial moves past the recorded one), and the
    // desired state moves on without an apply.
    crate::drift::out_of_band(&env, "a.test.", "192.0.2.99");
    env.zone("a.test", &zone_yaml("192.0.2.2"));
    env.commit("www moves");
    let v = json(&env);
    assert_schema("show-zone", &v);
    assert_eq!(v["in_sync"], false);
    let diff = v["differences"].as_array().unwrap();
    assert_eq!(diff.len(), 1, "{v:#}");
    assert_eq!(diff[0]["owner"], "www.a.test.");
    assert_eq!(diff[0]["old"][0], "www.a.test. 300 IN A 192.0.2.1");
    assert_eq!(diff[0]["new"][0], "www.a.test. 300 IN A 192.0.2.2");
    let primary = &v["servers"][0];
    assert_eq!(primary["serial_differs"], true, "{v:#}");
    assert!(primary["serial"].as_u64().unwrap() > recorded);

    let out = env.zk(&["show", "zone", "a.test"]);
    assert_eq!(out.status.code(), Some(0));
    let out = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.contains("    - www.a.test. 300 IN A 192.0.2.1"),
        "{out}"
    );
    assert!(
        out.contains("    + www.a.test. 300 IN A 192.0.2.2"),
        "{out}"
    );
    let served = primary["serial"].as_u64().unwrap();
    let row = out
        .lines()
        .find(|l| l.trim_start().starts_with("ns0 "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        row.contains(&served.to_string())
            && row.contains(&format!("differs from the recorded serial {recorded}")),
        "{row}"
    );
    // the servers' table lines up: each address starts where its header does
    let lines: Vec<&str> = out.lines().collect();
    let head = lines.iter().position(|l| l.contains("SERVER")).unwrap();
    let at = lines[head].find("ADDRESS").unwrap();
    for l in &lines[head + 1..head + 4] {
        assert_eq!(l.find("127.0.0.").unwrap(), at, "{out}");
    }
    // every record, desired
    for record in [
        "a.test.",
        "mail.a.test.",
        "192.0.2.25",
        "2001:db8::25",
        "10 mail.a.test.",
    ] {
        assert!(out.contains(record), "{record} in\n{out}");
    }
});

#[test]
fn show_zone_summarises_a_zone_of_thousands_of_records() {
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a zone");
    env.apply(&[], 0);
    let mut yaml = String::from("group: default\nrecords:\n");
    for i in 0..1500 {
        yaml.push_str(&format!("  h{i}: {{ A: 192.0.2.{} }}\n", i % 250 + 1));
    }
    env.zone("big.test", &yaml);
    env.commit("a big zone");
    let out = env.zk(&["show", "zone", "big.test"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    // SOA, two NS, 1,500 A: 1,503 records, the first 100 shown
    assert!(
        shown.contains("Records (desired): 1503 record(s)"),
        "{shown}"
    );
    assert!(
        shown.contains("… and 1403 more record(s), not shown: `--all` shows every one"),
        "{shown}"
    );
    assert!(
        shown.lines().count() < 150,
        "{} lines",
        shown.lines().count()
    );
    let all = env.zk(&["show", "zone", "big.test", "--all"]);
    let all = String::from_utf8_lossy(&all.stdout).to_string();
    assert!(!all.contains("more record(s)"));
    assert!(all.lines().filter(|l| l.contains("192.0.2.")).count() >= 1500);
    let json = env.zk(&["show", "zone", "big.test", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["desired"]["records"].as_array().map(Vec::len), Some(1503));
    assert_schema("show-zone", &v);
}

#[test]
fn plans_warn_of_a_rollback_and_of_uncommitted_files() {
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    let first = env.commit("a zone");
    env.apply(&[], 0);
    env.zone("a.test", &zone_yaml("192.0.2.2"));
    let second = env.commit("www moves");
    env.apply(&[], 0);

    let clean = env.zk(&["plan"]);
    assert!(!text(&clean).contains("Warning"), "{}", text(&clean));
    let rollback = format!(
        "Warning: this plans revision {}, older than the applied revision {} (1 commit(s) after it): applying it is a rollback",
        &first[..12],
        &second[..12]
    );
    let out = env.zk(&["plan", "--rev", &first]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&rollback),
        "{}",
        text(&out)
    );
    let out = env.zk(&["plan", "--rev", &first, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = v["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{v:#}");
    assert!(warnings[0].as_str().unwrap().contains("rollback"));
    assert_schema("plan", &v);

    // Uncommitted files the plan of a commit does not read; not with --worktree.
    env.zone("b.test", &zone_yaml("192.0.2.3"));
    env.zone("a.test", &zone_yaml("192.0.2.4"));
    let out = env.zk(&["plan"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains(&format!(
            "Warning: the work tree has 2 uncommitted file(s) this plan of commit {} does not read: zones/a.test.yaml, zones/b.test.yaml",
            &second[..12]
        )),
        "{err}"
    );
    assert!(!err.contains("rollback"));
    let out = env.zk(&["plan", "--worktree"]);
    assert!(!text(&out).contains("Warning"), "{}", text(&out));

    // apply warns the same way before it acts
    let out = env.apply(&["--rev", &first], 0);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains(&rollback), "{err}");
    assert!(err.contains("uncommitted file(s)"), "{err}");
}

#[test]
fn times_are_rfc3339_in_status_and_plan_json() {
    let env = Env::new(Db::Sqlite);
    let zone = |addr: &str, cut: bool| {
        format!(
            "group: default\nrecords:\n  mail:\n    A:\n      ttl: 300\n      value: {addr}{}\n",
            if cut {
                "\n      cutover: {short_ttl: 30, soak: 60}"
            } else {
                ""
            }
        )
    };
    env.zone("a.test", &zone("192.0.2.25", false));
    env.commit("mail");
    env.apply(&[], 0);
    env.zone("a.test", &zone("198.51.100.25", true));
    env.commit("mail moves, cut over");
    // the renumber waits out the refresh and the old TTL (an hour and more)
    let out = env.apply(&[], 3);
    assert!(text(&out).contains("until 20"), "{}", text(&out));

    // a sweep, so that status has one to show
    let check = env.zk(&["check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let out = env.zk(&["status", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_schema("status", &v);
    assert!(
        is_rfc3339(v["last_sweep"]["started_at"].as_str().unwrap()),
        "{v:#}"
    );
    assert_eq!(v["format"], "zonekeeper-status/1");
    assert!(
        is_rfc3339(v["applied_revision"]["applied_at"].as_str().unwrap()),
        "{v:#}"
    );
    let steps = v["operations"][0]["steps"].as_array().unwrap();
    let waiting: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["not_before"].as_str())
        .collect();
    assert!(
        !waiting.is_empty() && waiting.iter().all(|t| is_rfc3339(t)),
        "{v:#}"
    );
    assert!(is_rfc3339(v["next"][0]["at"].as_str().unwrap()), "{v:#}");
    // a raw epoch is what the schema refuses
    let mut epoch = v.clone();
    epoch["applied_revision"]["applied_at"] = serde_json::json!(1_796_593_800);
    assert!(!schema_accepts("status", &epoch));

    let out = env.zk(&["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_schema("plan", &v);
    let steps = v["operations"][0]["steps"].as_array().unwrap();
    let times: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["not_before"].as_str())
        .collect();
    assert!(
        !times.is_empty() && times.iter().all(|t| is_rfc3339(t)),
        "{v:#}"
    );
    let mut epoch = v.clone();
    epoch["operations"][0]["steps"][1]["not_before"] = serde_json::json!(1_796_593_800);
    assert!(!schema_accepts("plan", &epoch));

    let status = text(&env.zk(&["status"]));
    assert!(
        !status.contains(" UTC"),
        "RFC 3339, not HH:MM:SS UTC: {status}"
    );
}
