//! Prompts, exit codes and where state lives (issue 12, points 1 and 2).

use std::path::Path;

use crate::cli_state::{copied_example, files_below, zk_cmd, zk_in};
use crate::support::{Db, Env, text, tty, zone_yaml};

/// stdout and stderr with miette's frame undone, for searches.
fn flat(out: &std::process::Output) -> String {
    text(out)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn apply_takes_y_as_consent() {
    // Repro: `zonekeeper apply`, answered `y` on the terminal, applied the plan (exit 0),
    // where Terraform takes only `yes`.
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("one zone");
    let before = env.store_dump();
    let out = tty::run_typing(&mut env.command(&["apply"]), "y\n");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(flat(&out).contains("Apply cancelled."), "{}", text(&out));
    assert_eq!(env.store_dump(), before, "the store changed");
    assert_eq!(
        crate::support::dig_soa(env.lab.dns_addr("ns0").unwrap(), "a.test.").serving(),
        None,
        "the primary serves the zone"
    );
}

#[test]
fn plan_usage_error_exits_2_like_changes() {
    // Repro: `zonekeeper plan --detailed-exitcode --fromat json` exited 2 (clap's usage
    // error code), which a pipeline reads as "changes".
    let tmp = tempfile::tempdir().unwrap();
    let out = zk_in(
        tmp.path(),
        &["plan", "--detailed-exitcode", "--fromat", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(flat(&out).contains("--fromat"), "{}", text(&out));
}

#[test]
fn plan_from_another_directory_makes_a_new_empty_store() {
    // Repro: apply from inside the repository, then `cd elsewhere && zonekeeper --repo
    // ../repo plan`: a new empty store appeared in elsewhere/state/, and every zone was
    // shown as new.
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("one zone");
    let repo = env.repo.display().to_string();
    let out = zk_in(
        &env.repo,
        &["apply", "--auto-approve", "--verify-timeout", "20"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let elsewhere = env.dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let out = zk_in(
        &elsewhere,
        &["--repo", &repo, "plan", "--detailed-exitcode"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("create a.test."), "{}", text(&out));
    assert!(
        files_below(&elsewhere).is_empty(),
        "{:?}",
        files_below(&elsewhere)
    );
}

#[test]
fn read_only_commands_leave_no_store_file() {
    // Repro: `zonekeeper plan` (or status, show, drift, check, unlock …) in a repository
    // without a store created state/zonekeeper.sqlite in the working directory and went
    // on with it empty.
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("dns");
    copied_example(&repo, 53);
    // the key outside the repository, as any release took it
    let config = std::fs::read_to_string(repo.join("zonekeeper.yaml"))
        .unwrap()
        .replace(".zonekeeper/lab/tsig.key", "/etc/zonekeeper/tsig.key");
    std::fs::write(repo.join("zonekeeper.yaml"), config).unwrap();
    crate::cli_state::git(&repo, &["commit", "-qam", "key outside"]);
    let r = std::fs::canonicalize(&repo).unwrap();
    let store = r.join(".zonekeeper/zonekeeper.sqlite");
    let before = files_below(tmp.path());
    let shown = store.display().to_string();
    let run = |args: &[&str]| {
        let out = zk_in(&repo, args);
        assert_eq!(
            files_below(tmp.path()),
            before,
            "{args:?} made a file: {}",
            text(&out)
        );
        out
    };
    // plan goes on, read-only, saying where it looked
    let out = run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        flat(&out).contains(&format!("No store at {shown}: nothing is recorded")),
        "{}",
        text(&out)
    );
    assert!(flat(&out).contains("create example.com."), "{}", text(&out));
    for args in [
        &["status"][..],
        &["show", "zone", "example.com"][..],
        &["drift"][..],
        &["check"][..],
        &["maintenance", "ns1", "on"][..],
        &["confirm", "1", "1", "--yes"][..],
        &["reset", "1", "--yes"][..],
        &["cancel", "1", "--yes"][..],
        &["unlock", "5ca1ab1e5ca1ab1e", "--yes"][..],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(
            flat(&out).contains(&format!("no store at {shown}")),
            "{args:?}: {}",
            text(&out)
        );
    }
    let out = run(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // a relative --db is the working directory's, named absolute, and not made either
    let out = run(&["--db", "sub/x.sqlite", "status"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        flat(&out).contains(&format!("no store at {}/sub/x.sqlite", r.display())),
        "{}",
        text(&out)
    );
}

#[test]
fn mistyped_db_scheme_becomes_a_sqlite_file() {
    // Repro: `--db postgress://zk@127.0.0.1/zk` (a typo) became a SQLite file named so
    // (directories `postgress:/zk@127.0.0.1/` made), and apply went on with an empty store.
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("dns");
    copied_example(&repo, 53);
    // the key apply checks before the store is there, so that the store's URL is judged
    let key = repo.join(".zonekeeper/lab/tsig.key");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::write(&key, "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0\n").unwrap();
    let before = files_below(tmp.path());
    for (db, scheme) in [
        ("postgress://zk:hunter2@127.0.0.1/zk", "postgress"),
        ("sqlit:///tmp/zk.sqlite", "sqlit"),
        ("mysql://zk@127.0.0.1/zk", "mysql"),
    ] {
        for args in [
            &["status"][..],
            &["plan"][..],
            &["apply", "--auto-approve"][..],
        ] {
            let mut cmd = zk_cmd(&repo, args);
            let out = cmd.env("ZONEKEEPER_DB", db).output().unwrap();
            let said = flat(&out);
            assert_eq!(out.status.code(), Some(1), "{db} {args:?}: {said}");
            assert!(
                said.contains(&format!("URL scheme `{scheme}:`"))
                    && said.contains("postgres://")
                    && said.contains("sqlite:"),
                "{db} {args:?}: {said}"
            );
            assert!(!said.contains("hunter2"), "the password shown: {said}");
        }
    }
    assert_eq!(files_below(tmp.path()), before, "a file was made");
    assert!(!Path::new("/tmp/zk.sqlite").exists());
}

#[test]
fn copied_example_is_refused_for_its_own_key_file() {
    // Repro: `cp -r examples/. /tmp/x && cd /tmp/x && git init && git add -A && git
    // commit`, then `zonekeeper validate` there: "TSIG secret file is inside the
    // repository" (its relative secret_file was read from the working directory, and any
    // file inside the work tree refused, ignored by Git or not).
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("x");
    copied_example(&repo, 53);
    let out = zk_in(&repo, &["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(flat(&out).contains("3 zone(s)"), "{}", text(&out));
    // and from elsewhere
    let r = repo.display().to_string();
    let out = zk_in(tmp.path(), &["--repo", &r, "validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
