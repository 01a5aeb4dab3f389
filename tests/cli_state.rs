//! Where state lives and how prompts consent (issue 12, points 1 and 2), through the real
//! binary: the example repository copied anywhere and run from inside and from elsewhere
//! with a real lab, relative paths of zonekeeper.yaml read from the repository's top,
//! secret files Git ignores, `yes` as the only consent on a real pseudo-terminal, and
//! usage errors exiting 1 for every verb.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{Db, Env, text, tty, zone_yaml};

/// The real binary in `cwd`, with no store or repository from the environment.
pub(crate) fn zk_in(cwd: &Path, args: &[&str]) -> Output {
    zk_cmd(cwd, args).output().unwrap()
}

/// The real binary in `cwd`, not started yet.
pub(crate) fn zk_cmd(cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zonekeeper"));
    c.args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("ZONEKEEPER_DB")
        .env_remove("ZONEKEEPER_REPO");
    c
}

/// Runs `git` in `repo`, asserting success; its stdout.
pub(crate) fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Test Operator",
            "-c",
            "user.email=ops@example.net",
        ])
        .args(args)
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The files below `dir`, relative, sorted (for "nothing was created").
pub(crate) fn files_below(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() && !p.ends_with(".git") {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// `examples/` copied to `dir` and committed, as the README says, with the servers' DNS
/// port `port` instead of 53 (tests run beside other labs).
pub(crate) fn copied_example(dir: &Path, port: u16) {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    std::fs::create_dir_all(dir).unwrap();
    let cp = Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", examples.display()))
        .arg(dir)
        .output()
        .unwrap();
    assert!(cp.status.success(), "{}", text(&cp));
    let config = dir.join("zonekeeper.yaml");
    let yaml = std::fs::read_to_string(&config).unwrap();
    assert_eq!(yaml.matches("port: 53\n").count(), 3, "{yaml}");
    std::fs::write(
        &config,
        yaml.replace("port: 53\n", &format!("port: {port}\n")),
    )
    .unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "the example"]);
}

/// Stops the lab of a repository when the test ends, passed or not.
struct LabDown(PathBuf);

impl Drop for LabDown {
    fn drop(&mut self) {
        let repo = self.0.display().to_string();
        let _ = zk_in(&self.0, &["--repo", &repo, "lab", "down"]);
    }
}

#[test]
fn the_copied_example_works_from_inside_and_from_elsewhere() {
    let tmp = tempfile::tempdir().unwrap();
    // a DNS port free on 127.0.0.1-3, held for the test
    let ports = zonekeeper_lab::LabSpec::for_test(&tmp.path().join("ports"), 2, vec![]).unwrap();
    let repo = tmp.path().join("dns");
    copied_example(&repo, ports.primary.port);
    let repo = std::fs::canonicalize(&repo).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let r = repo.display().to_string();

    let out = zk_in(&repo, &["validate"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "validate inside: {}",
        text(&out)
    );
    let _down = LabDown(repo.clone());
    let out = zk_in(&repo, &["lab", "up"]);
    assert_eq!(out.status.code(), Some(0), "lab up: {}", text(&out));
    assert!(
        text(&out).contains(&format!("{r}/.zonekeeper/lab")),
        "{}",
        text(&out)
    );
    let ignore = std::fs::read_to_string(repo.join(".zonekeeper/.gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
    assert!(repo.join(".zonekeeper/lab/tsig.key").is_file());

    // from elsewhere, before any apply: plan says where it looked and creates nothing
    let store = repo.join(".zonekeeper/zonekeeper.sqlite");
    let out = zk_in(&elsewhere, &["--repo", &r, "plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!(
            "No store at {}: nothing is recorded, every zone is shown as new",
            store.display()
        )),
        "{}",
        text(&out)
    );
    assert!(!store.exists(), "plan made the store");
    assert!(files_below(&elsewhere).is_empty());

    let out = zk_in(
        &repo,
        &["apply", "--auto-approve", "--verify-timeout", "20"],
    );
    assert_eq!(out.status.code(), Some(0), "apply: {}", text(&out));
    assert!(store.is_file());
    // Git sees nothing of the state: the lab's keys and the store are ignored
    assert_eq!(git(&repo, &["status", "--porcelain", "--ignored=no"]), "");
    let head = git(&repo, &["rev-parse", "HEAD"]).trim().to_string();

    // the same store from inside and from elsewhere
    let inside = zk_in(&repo, &["status", "--format", "json"]);
    let outside = zk_in(&elsewhere, &["--repo", &r, "status", "--format", "json"]);
    for (what, out) in [("inside", &inside), ("elsewhere", &outside)] {
        assert_eq!(out.status.code(), Some(0), "{what}: {}", text(out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["applied_revision"]["commit"], head, "{what}: {json}");
    }
    let out = zk_in(&elsewhere, &["--repo", &r, "plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        files_below(&elsewhere).is_empty(),
        "{:?}",
        files_below(&elsewhere)
    );

    let out = zk_in(&elsewhere, &["--repo", &r, "lab", "down"]);
    assert_eq!(out.status.code(), Some(0), "lab down: {}", text(&out));
    assert!(
        text(&out).contains(&format!("lab in {r}/.zonekeeper/lab stopped")),
        "{}",
        text(&out)
    );
}

/// `text` without blanks and miette's frame, so a message wrapped anywhere still matches.
fn squeeze(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '│')
        .collect()
}

/// stdout and stderr of `out`, squeezed.
fn squeezed(out: &Output) -> String {
    squeeze(&text(out))
}

/// The lab's key copied into the repository at `keys/tsig.key`, and the rndc.conf at
/// `keys/rndc.conf`, named by relative paths in zonekeeper.yaml.
fn relative_keys(env: &Env) {
    let spec = env.lab.spec();
    std::fs::create_dir_all(env.repo.join("keys")).unwrap();
    std::fs::copy(&spec.tsig_key_file, env.repo.join("keys/tsig.key")).unwrap();
    std::fs::copy(&spec.primary_rndc_conf, env.repo.join("keys/rndc.conf")).unwrap();
    let config = std::fs::read_to_string(env.repo.join("zonekeeper.yaml"))
        .unwrap()
        .replace(&spec.tsig_key_file.display().to_string(), "keys/tsig.key")
        .replace(
            &spec.primary_rndc_conf.display().to_string(),
            "./keys/rndc.conf",
        );
    assert!(config.contains("secret_file: keys/tsig.key"), "{config}");
    env.write("zonekeeper.yaml", &config);
}

#[test]
fn relative_paths_of_the_config_are_read_from_the_repository_top() {
    let env = Env::new(Db::Sqlite);
    relative_keys(&env);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    // not ignored: refused, with the line to add to .gitignore
    env.commit("keys in the work tree");
    let out = env.zk(&["validate"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        squeezed(&out).contains(&squeeze("is committed to Git (as keys/tsig.key)")),
        "committed: {}",
        text(&out)
    );
    // out of Git again, then ignored
    git(&env.repo, &["rm", "-q", "--cached", "-r", "keys"]);
    git(&env.repo, &["commit", "-qm", "keys out"]);
    let out = env.zk(&["validate"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = squeezed(&out);
    assert!(
        said.contains(&squeeze("Git does not ignore it (as keys/tsig.key)"))
            && said.contains(&squeeze(
                "add `/keys/tsig.key` (or its directory) to the repository's .gitignore"
            )),
        "not ignored: {}",
        text(&out)
    );
    env.write(".gitignore", "/keys/\n");
    env.commit("keys ignored");
    // staged by force: tracked, refused
    git(&env.repo, &["add", "-f", "keys/tsig.key"]);
    let out = env.zk(&["validate"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        squeezed(&out).contains(&squeeze("and Git tracks it (as keys/tsig.key)")),
        "{}",
        text(&out)
    );
    git(&env.repo, &["rm", "-q", "--cached", "keys/tsig.key"]);

    // ignored and untracked: valid; the key and rndc.conf are read from the repository's
    // top although zonekeeper runs in its parent directory
    assert_ne!(
        std::fs::canonicalize(env.dir.path()).unwrap(),
        std::fs::canonicalize(&env.repo).unwrap()
    );
    assert!(!env.dir.path().join("keys").exists());
    let out = env.zk(&["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    env.apply(&[], 0);
    assert_eq!(
        crate::support::dig_short(env.lab.dns_addr("ns1").unwrap(), "www.a.test.", "A"),
        vec!["192.0.2.1"]
    );
    env.assert_converged("applied with relative key paths");
}

/// `cmd` with `typed` answered on a terminal.
fn answering(mut cmd: Command, typed: &str) -> Output {
    tty::run_typing(&mut cmd, typed)
}

#[test]
fn apply_consents_only_to_yes() {
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("one zone");
    let before = env.store_dump();
    let ns1 = env.lab.dns_addr("ns1").unwrap();
    for typed in ["\n", "\x04", "no\n", "YES\n", "yes please\n", "ye\n"] {
        let out = answering(env.command(&["apply"]), typed);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{typed:?}: {t}");
        assert!(
            t.contains("Apply these changes?")
                && t.contains("Only 'yes' will be accepted to approve.")
                && t.contains("Apply cancelled."),
            "{typed:?}: {t}"
        );
        assert!(!t.contains("Applied revision"), "{typed:?}: {t}");
        assert_eq!(env.store_dump(), before, "{typed:?}: the store changed");
        assert_eq!(
            crate::support::dig_soa(env.lab.dns_addr("ns0").unwrap(), "a.test.").serving(),
            None,
            "{typed:?}: the primary serves the zone"
        );
    }
    let out = answering(env.command(&["apply", "--verify-timeout", "20"]), "yes\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("Applied revision"), "{}", text(&out));
    assert_eq!(
        crate::support::dig_short(ns1, "www.a.test.", "A"),
        vec!["192.0.2.1"]
    );
}

/// A store at `db` holding a stale apply lock `id` of another host.
fn store_with_stale_lock(db: &Path, id: &str) {
    let url = zonekeeper::store::db_url(db.to_str().unwrap()).unwrap();
    crate::support::block_on(async move {
        let store = zonekeeper::store::Store::open(&url).await.unwrap();
        store.close().await;
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query(
            "INSERT INTO apply_lock (id, lock_id, host, pid, since, expires_at) VALUES (1, $1, 'gone.example.net', 77, 1000, 2000)",
        )
        .bind(id)
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    });
}

#[test]
fn unlock_consents_only_to_yes() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("store.sqlite");
    let id = "5ca1ab1e5ca1ab1e";
    store_with_stale_lock(&db, id);
    let d = db.display().to_string();
    let status = || text(&zk_in(tmp.path(), &["--db", &d, "status"]));
    assert!(status().contains(id), "{}", status());
    for typed in ["y\n", "\n", "\x04"] {
        let out = answering(zk_cmd(tmp.path(), &["--db", &d, "unlock", id]), typed);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{typed:?}: {t}");
        assert!(
            t.contains("Only 'yes' will be accepted to approve.")
                && t.contains("Unlock cancelled: the lock stays; nothing changed."),
            "{typed:?}: {t}"
        );
        assert!(
            status().contains(id),
            "{typed:?}: the lock went: {}",
            status()
        );
    }
    let out = answering(zk_cmd(tmp.path(), &["--db", &d, "unlock", id]), "yes\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!status().contains(id), "{}", status());
}

/// A store at `db` holding operation 1, active, of two pending steps.
fn store_with_operation(db: &Path) {
    let url = zonekeeper::store::db_url(db.to_str().unwrap()).unwrap();
    crate::support::block_on(async move {
        let store = zonekeeper::store::Store::open(&url).await.unwrap();
        let zones = vec!["a.test.".to_string()];
        let row = zonekeeper::store::NewOperationRow {
            kind: "add-secondary",
            group: "default",
            server: "ns3",
            zones: &zones,
            revision: "c1",
            steps: vec![
                ("provision".into(), "{}".into()),
                ("delegation".into(), "{}".into()),
            ],
        };
        assert_eq!(store.create_operation(&row, 10).await.unwrap(), 1);
        store.close().await;
    });
}

#[test]
fn confirm_reset_and_cancel_consent_only_to_yes() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("store.sqlite");
    store_with_operation(&db);
    let d = db.display().to_string();
    let status = || {
        let out = zk_in(tmp.path(), &["--db", &d, "status", "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["operations"].clone()
    };
    let before = status();
    assert_eq!(before[0]["id"], 1, "{before}");
    for (args, said) in [
        (
            &["confirm", "1", "2"][..],
            "Confirm cancelled: step 2 of operation 1 still waits; nothing changed.",
        ),
        (
            &["reset", "1"][..],
            "Reset cancelled: operation 1 is left as it was; nothing changed.",
        ),
        (
            &["cancel", "1"][..],
            "Cancel cancelled: operation 1 goes on; nothing changed.",
        ),
    ] {
        for typed in ["y\n", "\n", "\x04"] {
            let mut cmd = zk_cmd(tmp.path(), &[&["--db", &d][..], args].concat());
            let out = tty::run_typing(&mut cmd, typed);
            let t = text(&out);
            assert_eq!(out.status.code(), Some(1), "{args:?} {typed:?}: {t}");
            assert!(
                t.contains("Only 'yes' will be accepted to approve.") && t.contains(said),
                "{args:?} {typed:?}: {t}"
            );
            assert_eq!(
                status(),
                before,
                "{args:?} {typed:?}: the operation changed"
            );
        }
    }
    let mut cmd = zk_cmd(tmp.path(), &["--db", &d, "cancel", "1"]);
    let out = tty::run_typing(&mut cmd, "yes\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("Operation 1 cancelled"),
        "{}",
        text(&out)
    );
    assert_ne!(status(), before);
}

/// Every verb, with its path of subcommands, as clap knows them.
fn verbs() -> Vec<Vec<String>> {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, path: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let mut p = path.to_vec();
            p.push(sub.get_name().to_string());
            out.push(p.clone());
            walk(sub, &p, out);
        }
    }
    let mut out = Vec::new();
    walk(&zonekeeper::cli::Cli::command(), &[], &mut out);
    out
}

#[test]
fn usage_errors_exit_1_for_every_verb() {
    let tmp = tempfile::tempdir().unwrap();
    let verbs = verbs();
    assert!(verbs.len() > 15, "{verbs:?}");
    for verb in &verbs {
        let v: Vec<&str> = verb.iter().map(String::as_str).collect();
        for extra in [&["--no-such-flag"][..], &["--format", "yaml"][..]] {
            let args = [&v[..], extra].concat();
            let out = zk_in(tmp.path(), &args);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
            assert!(!out.stderr.is_empty(), "{args:?}: the error is shown");
        }
        for ok in ["--help", "--version"] {
            let args = [&v[..], &[ok][..]].concat();
            let out = zk_in(tmp.path(), &args);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        }
    }
    // missing arguments and bad values
    for args in [
        &["confirm", "1"][..],
        &["unlock"][..],
        &["maintenance", "ns1"][..],
        &["show", "zone"][..],
        &["maintenance", "ns1", "sideways"][..],
        &["confirm", "one", "1"][..],
        &["apply", "--verify-timeout", "soon"][..],
        &["no-such-verb"][..],
        &[][..],
    ] {
        let out = zk_in(tmp.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
    }
    assert!(
        files_below(tmp.path()).is_empty(),
        "{:?}",
        files_below(tmp.path())
    );
}
