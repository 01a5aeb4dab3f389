//! Issue 12, "Terraform-grade command line": defects of help, logging and schemas.

use std::path::Path;

use crate::cli_help::zk_in;
use crate::schema::{corpus, disagreements, judge, read_json, schema_links};
use crate::support::{Db, Env, text, zone_yaml};

/// Reproduction: the editor schemas accepted files `validate` refuses: MX preference
/// 70000, SRV port 70000, CAA flag 300, 64-byte labels, `w!w` owners, `ttl: "300"`,
/// `port: 0`, `cutover` on TXT, bad `parent_servers` (18 of 59 cases disagreed). Each of
/// those corpus cases: validate refuses it and now so does the schema (port 0: validate
/// accepted it, now refuses), but `ttl: "300"`, which both now accept.
#[test]
fn editor_schema_accepts_what_validate_refuses() {
    let named = [
        "mx-preference-70000",
        "srv-port-70000",
        "caa-flag-300",
        "owner-label-64",
        "owner-bang",
        "ttl-string",
        "port-0",
        "txt-cutover",
        "parent-servers-name",
        "parent-servers-port-99999",
    ];
    let cases: Vec<_> = corpus()
        .into_iter()
        .filter(|c| {
            let stem = c.path.file_stem().unwrap().to_string_lossy().into_owned();
            named
                .iter()
                .any(|n| stem.split_once('-').map(|(_, name)| name) == Some(*n))
        })
        .collect();
    assert_eq!(
        cases.len(),
        named.len(),
        "every named case is in the corpus"
    );
    let verdicts = judge(&cases);
    for (case, v) in cases.iter().zip(&verdicts) {
        // `ttl: "300"`: validate reads a quoted number as the number; the schema now too
        let quoted = case.path.to_string_lossy().ends_with("ttl-string.yaml");
        assert_eq!(
            v.validate,
            quoted,
            "{}: {}",
            case.path.display(),
            v.problems
        );
        assert_eq!(
            v.schema.is_empty(),
            v.validate,
            "{}: the editor schema and validate disagree: {} {:?}",
            case.path.display(),
            v.problems,
            v.schema
        );
    }
    assert!(disagreements(&cases, &verdicts).is_empty());
}

/// Reproduction: `cp -r examples /srv/dns && cd /srv/dns`: the YAML files' `$schema`
/// links (`../schema/…`, `../../schema/…`) pointed outside the copy, so editors lost the
/// schema. Now each link, resolved from a copy of examples/ alone, is a schema file inside
/// the copy.
#[test]
fn schema_links_break_when_example_is_copied() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("dns");
    let cp = std::process::Command::new("cp")
        .arg("-r")
        .arg(&examples)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(cp.success());
    let links = schema_links(&copy);
    assert!(links.len() >= 4, "{links:?}");
    let copy = copy.canonicalize().unwrap();
    for (file, target) in links {
        let target = target
            .canonicalize()
            .unwrap_or_else(|e| panic!("{}: $schema {} ({e})", file.display(), target.display()));
        assert!(
            target.starts_with(&copy),
            "{}: $schema points outside the copy: {}",
            file.display(),
            target.display()
        );
        let schema = read_json(&target);
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema",
            "{}",
            target.display()
        );
        let wanted = if file.ends_with("zonekeeper.yaml") {
            "zonekeeper.yaml"
        } else {
            "zones/<zone>.yaml"
        };
        assert_eq!(schema["title"], wanted, "{}", file.display());
    }
}

/// Reproduction: to see what zonekeeper does, the only way was
/// `ZONEKEEPER_LOG=debug zonekeeper plan`, which floods stderr with every SQL statement
/// (sqlx logs each one), and there was no `-v`. Now `-vv` shows zonekeeper's debug lines
/// and not one statement of the store.
#[test]
fn verbose_floods_output_with_sql() {
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.10"));
    env.commit("a.test");
    env.apply(&[], 0);
    env.zone("a.test", &zone_yaml("192.0.2.11"));
    env.commit("a.test: www moves");
    let out = env.zk(&["-vv", "plan"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains(" DEBUG zonekeeper") || log.contains(" INFO zonekeeper"),
        "{log}"
    );
    for sql in ["sqlx::query", "SELECT ", "INSERT ", "PRAGMA "] {
        assert!(!log.contains(sql), "{sql} in the -vv log:\n{log}");
    }
    // asked for by name, the statements are there: ZONEKEEPER_LOG wins
    let asked = zk_in(
        &[
            "--repo",
            env.repo.to_str().unwrap(),
            "--db",
            &env.db,
            "plan",
        ],
        env.dir.path(),
        &[("ZONEKEEPER_LOG", "sqlx=debug")],
    );
    assert_eq!(asked.status.code(), Some(0), "{}", text(&asked));
    assert!(
        String::from_utf8_lossy(&asked.stderr).contains("sqlx::query"),
        "{}",
        text(&asked)
    );
}
