//! Changes by `git push`: the hooks of examples/hooks/ installed in a real bare repository,
//! pushed to with the git command line. A bad push is refused and changes nothing; a good
//! one is applied and served by every server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::both_stores;
use crate::support::{Db, Env, text, zone_yaml};

/// A bare repository with zonekeeper's hooks, as examples/hooks/ ships them, run with
/// `env`'s store.
pub(crate) fn served_repository(env: &Env) -> PathBuf {
    let bare = env.dir.path().join("served.git");
    let init = Command::new("git")
        .args(["init", "--quiet", "--bare", "--initial-branch=main"])
        .arg(&bare)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", text(&init));
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hooks");
    for hook in ["pre-receive", "post-receive"] {
        let to = bare.join("hooks").join(hook);
        std::fs::copy(examples.join(hook), &to).unwrap();
    }
    bare
}

/// `git push` of the work repository's HEAD to `main` of `bare`, the hooks finding the
/// zonekeeper binary on PATH and the store in ZONEKEEPER_DB.
pub(crate) fn push(env: &Env, bare: &Path) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("git")
        .arg("-C")
        .arg(&env.repo)
        .args(["push", "--quiet"])
        .arg(bare)
        .arg("HEAD:refs/heads/main")
        .env("PATH", path)
        .env("ZONEKEEPER_DB", &env.db)
        .env("NO_COLOR", "1")
        .env_remove("ZONEKEEPER_REPO")
        .output()
        .unwrap()
}

/// The commit `main` of `bare` points at, if any.
fn tip(bare: &Path) -> Option<String> {
    let repo = git2::Repository::open_bare(bare).unwrap();
    let tip = repo.refname_to_id("refs/heads/main").ok();
    tip.map(|id| id.to_string())
}

/// Every server serves `zone` with AA, one serial.
fn served_everywhere(env: &Env, zone: &str) -> bool {
    let serials: Vec<Option<u32>> = env
        .servers()
        .iter()
        .map(|s| env.soa(s, zone).serving())
        .collect();
    serials[0].is_some() && serials.iter().all(|s| *s == serials[0])
}

both_stores!(
    a_bad_push_is_refused_and_a_good_one_served_everywhere,
    |db| {
        let env = Env::new(db);
        let bare = served_repository(&env);
        env.zone("a.test", &zone_yaml("192.0.2.1"));
        let first = env.commit("one zone");
        let out = push(&env, &bare);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("is valid"), "{}", text(&out));
        assert_eq!(tip(&bare).as_deref(), Some(first.as_str()));
        assert!(served_everywhere(&env, "a.test."), "{}", text(&out));
        let store = env.store_dump();

        // a bad revision followed by one that fixes it: every pushed revision is checked
        env.zone(
            "b.test",
            "group: default\nrecords:\n  www:\n    A: 192.0.2.300\n",
        );
        env.commit("a bad address");
        env.zone("b.test", &zone_yaml("192.0.2.2"));
        env.commit("fixed");
        let out = push(&env, &bare);
        let shown = text(&out);
        assert!(!out.status.success(), "{shown}");
        assert!(
            shown.contains("zones/b.test.yaml:4:"),
            "file:line:col: {shown}"
        );
        assert!(shown.contains("push refused"), "{shown}");
        assert_eq!(
            tip(&bare).as_deref(),
            Some(first.as_str()),
            "nothing stored"
        );
        assert_eq!(env.store_dump(), store, "nothing recorded");
        assert!(
            env.soa("ns1", "b.test.").serving().is_none(),
            "nothing served"
        );

        // the history without the bad revision goes through and is applied
        let reset = Command::new("git")
            .arg("-C")
            .arg(&env.repo)
            .args(["reset", "--quiet", "--hard", &first])
            .output()
            .unwrap();
        assert!(reset.status.success(), "{}", text(&reset));
        env.zone("b.test", &zone_yaml("192.0.2.2"));
        let good = env.commit("b.test, valid");
        let out = push(&env, &bare);
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(tip(&bare).as_deref(), Some(good.as_str()));
        assert!(served_everywhere(&env, "b.test."), "{}", text(&out));
        let plan = env.zk(&["plan", "--detailed-exitcode", "--rev", &good]);
        assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    }
);
