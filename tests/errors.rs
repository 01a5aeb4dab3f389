//! Errors in the operator's words (issue 12, point 5), through the real binary: Git's and
//! the store's errors translated (one sentence, naming the repository, the host and port
//! or the file, and what to do; never libgit2's codes, never a password), a read-only
//! PostgreSQL role planning, the TSIG key file read by BIND's grammar and checked before
//! anything else happens.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::both_stores;
use crate::support::{Db, Env, commit_all, pg_admin_url, text, zone_yaml};

/// The binary with `args`, no store or repository from the environment.
fn zk(args: &[&str], repo: &Path, db: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(args)
        .arg("--repo")
        .arg(repo)
        .args(["--db", db])
        .env("NO_COLOR", "1")
        .env_remove("ZONEKEEPER_DB")
        .env_remove("ZONEKEEPER_REPO")
        .output()
        .unwrap()
}

/// `out` failed with exit 1 and a message holding every one of `said`, with no libgit2
/// code; its text (without white space) for more checks.
fn refused(out: &Output, said: &[&str]) -> String {
    let shown = text(out);
    // miette wraps lines (inside words, at a hyphen): compared without white space
    let bare = |t: &str| -> String {
        t.chars()
            .filter(|c| !c.is_whitespace() && !"│×╰─▶".contains(*c))
            .collect()
    };
    let flat = bare(&shown);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    for s in said {
        assert!(flat.contains(&bare(s)), "`{s}` in: {shown}");
    }
    assert!(
        !shown.contains("class=") && !shown.contains("code="),
        "{shown}"
    );
    flat
}

#[test]
fn git_errors_say_what_is_wrong_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.sqlite").display().to_string();
    let missing = dir.path().join("nowhere");
    let out = zk(&["validate"], &missing, &db);
    refused(
        &out,
        &[
            &format!("the repository {} does not exist", missing.display()),
            "--repo",
        ],
    );

    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let out = zk(&["plan"], &plain, &db);
    refused(
        &out,
        &[
            &format!("{} is not a Git repository", plain.display()),
            "git init",
        ],
    );

    let empty = dir.path().join("empty");
    git2::Repository::init(&empty).unwrap();
    let out = zk(&["plan"], &empty, &db);
    refused(
        &out,
        &[
            &format!("the repository {} has no commits yet", empty.display()),
            "--worktree",
        ],
    );

    let repo = dir.path().join("repo");
    git2::Repository::init(&repo).unwrap();
    std::fs::create_dir(repo.join("zones")).unwrap();
    std::fs::write(repo.join("zonekeeper.yaml"), "primary: {}\n").unwrap();
    std::fs::write(repo.join("zones/a.test.yaml"), "records: {}\n").unwrap();
    commit_all(&repo, "one commit");
    let out = zk(&["validate"], &repo.join("zones"), &db);
    refused(
        &out,
        &["is not a Git repository (it is inside the repository"],
    );
    let out = zk(&["validate", "--rev", "HEAD^{tree}"], &repo, &db);
    refused(
        &out,
        &["revision `HEAD^{tree}` of repository", "is not a commit"],
    );

    // a damaged object: the blob of zonekeeper.yaml overwritten
    let git = git2::Repository::open(&repo).unwrap();
    let blob = git
        .head()
        .unwrap()
        .peel_to_tree()
        .unwrap()
        .get_path(Path::new("zonekeeper.yaml"))
        .unwrap()
        .id()
        .to_string();
    let object = repo.join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    let mut perms = std::fs::metadata(&object).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).unwrap();
    std::fs::write(&object, b"not a zlib stream").unwrap();
    let out = zk(&["validate"], &repo, &db);
    refused(&out, &["is damaged", "git fsck"]);
    assert!(!Path::new(&db).exists(), "no store was made on the way");
}

/// Runs `status` against `url`; the run and how long it took.
fn status_at(url: &str) -> (Output, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = zk(&["status"], dir.path(), url);
    (out, started.elapsed())
}

#[test]
fn postgres_errors_name_host_and_port_within_5s_and_never_the_password() {
    let admin = pg_admin_url();
    let host_port = admin
        .rsplit_once('@')
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap()
        .to_string();
    let password = "hunter2-very-secret";
    // a role the server does not know, with a password
    let (out, _) = status_at(&format!(
        "postgres://nosuchrole:{password}@{host_port}/test"
    ));
    let shown = refused(
        &out,
        &[
            &format!("the PostgreSQL store at {host_port} refused role `nosuchrole`"),
            "pg_hba.conf",
        ],
    );
    assert!(!shown.contains(password), "{shown}");
    // a database that does not exist
    let (out, _) = status_at(&format!(
        "postgres://postgres@{host_port}/zk_no_such_database"
    ));
    refused(
        &out,
        &[
            &format!("the PostgreSQL server at {host_port} has no database `zk_no_such_database`"),
            "createdb",
        ],
    );
    // a host name that does not resolve
    let (out, took) = status_at(&format!(
        "postgres://zk:{password}@zk-no-such-host.invalid:5432/zk"
    ));
    let shown = refused(
        &out,
        &["cannot find the PostgreSQL host `zk-no-such-host.invalid`"],
    );
    assert!(!shown.contains(password), "{shown}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    // a host that takes the connection and never answers
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let (out, took) = status_at(&format!("postgres://zk:{password}@127.0.0.1:{port}/zk"));
    drop(silent);
    let shown = refused(
        &out,
        &[&format!(
            "cannot reach the PostgreSQL store at 127.0.0.1:{port}: no answer within 5 s"
        )],
    );
    assert!(
        !shown.contains(password) && !shown.contains("pool timed out"),
        "{shown}"
    );
    assert!(
        took >= Duration::from_secs(4) && took < Duration::from_secs(8),
        "took {took:?}"
    );
}

#[test]
fn sqlite_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    let (out, _) = status_at(&folder.display().to_string());
    refused(
        &out,
        &[&format!(
            "cannot open the SQLite store {}: it is a folder",
            folder.display()
        )],
    );
    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, "this is not a database, but it is long enough to look like a header for SQLite to read it as one..............").unwrap();
    let (out, _) = status_at(&junk.display().to_string());
    refused(
        &out,
        &[&format!(
            "the SQLite store {} is not an SQLite database",
            junk.display()
        )],
    );
    assert!(
        std::fs::read(&junk).unwrap().starts_with(b"this is not"),
        "left as it was"
    );
    // a store another process holds locked (BEGIN EXCLUSIVE) past the busy timeout
    let store = dir.path().join("store.sqlite");
    // an empty file is an empty SQLite database; status migrates it (it creates none)
    std::fs::write(&store, b"").unwrap();
    let (out, _) = status_at(&store.display().to_string());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let url = format!("sqlite://{}", store.display());
    crate::support::block_on(async move {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("BEGIN EXCLUSIVE")
            .execute(&mut c)
            .await
            .unwrap();
        let path = url.trim_start_matches("sqlite://").to_string();
        let (out, took) = tokio::task::spawn_blocking(move || status_at(&path))
            .await
            .unwrap();
        refused(&out, &["is locked by another process", "fuser"]);
        assert!(took < Duration::from_secs(20), "took {took:?}");
        sqlx::raw_sql("ROLLBACK").execute(&mut c).await.unwrap();
    });
}

both_stores!(a_read_only_role_runs_plan_status_and_show, |db| {
    let env = Env::new(db);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("one zone");
    env.apply(&[], 0);
    let before = env.store_dump();
    env.zone("a.test", &zone_yaml("192.0.2.2"));
    env.commit("a change to plan");
    let url = crate::ci::read_only_url(&env, db);
    for args in [&["plan"][..], &["status"], &["show", "zone", "a.test"]] {
        let out = env.zk_db(&url, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    }
    assert_eq!(env.store_dump(), before, "nothing was written");
    if db == Db::Sqlite {
        return;
    }
    // a store with a migration not applied: the read-only role is told who migrates it
    let owner = env.db.clone();
    crate::support::block_on(async move {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&owner).await.unwrap();
        sqlx::query("UPDATE _sqlx_migrations SET success = false WHERE version = 11")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let out = env.zk_db(&url, &["plan"]);
    let role = url
        .rsplit_once("://")
        .unwrap()
        .1
        .split('@')
        .next()
        .unwrap()
        .to_string();
    let user = pg_admin_url()
        .rsplit_once("://")
        .unwrap()
        .1
        .split('@')
        .next()
        .unwrap()
        .to_string();
    refused(
        &out,
        &[
            "(migration 11 and later are not applied)",
            &format!("role `{role}` may not change it"),
            &format!("a role that owns the schema (`{user}`, the owner of its tables)"),
        ],
    );
});

/// The key file of the lab of `env`, as written by the lab: its key statement.
fn lab_key(env: &Env) -> String {
    std::fs::read_to_string(&env.lab.spec().tsig_key_file).unwrap()
}

#[test]
fn the_key_file_is_read_by_its_grammar_and_checked_first() {
    let env = Env::new(Db::Sqlite);
    let key_file = env.dir.path().join("keys/zonekeeper.key");
    std::fs::create_dir_all(key_file.parent().unwrap()).unwrap();
    let config = std::fs::read_to_string(env.repo.join("zonekeeper.yaml")).unwrap();
    let lab_path = env.lab.spec().tsig_key_file.display().to_string();
    env.write(
        "zonekeeper.yaml",
        &config.replace(&lab_path, &key_file.display().to_string()),
    );
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a zone; the key in a file of several keys");
    let lab_key = lab_key(&env);
    let secret = lab_key
        .split("secret \"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let write = |text: &str| std::fs::write(&key_file, text).unwrap();
    // several keys and every kind of comment; the key is chosen by tsig.name
    write(&format!(
        "# keys of this host\nkey \"transfer\" {{ algorithm hmac-sha512; secret \"dHJhbnNmZXI=\"; }};\n/* zonekeeper's,\n   as tsig-keygen wrote it */\n{lab_key}// end\n"
    ));
    env.apply(&[], 0);
    assert!(env.soa(&env.servers()[0], "a.test.").serving().is_some());
    // the name zonekeeper.yaml gives is not in the file: the names found are listed
    write(
        "key \"transfer\" { algorithm hmac-sha256; secret \"dHJhbnNmZXI=\"; };\nkey other { algorithm hmac-sha256; secret \"b3RoZXI=\"; };\n",
    );
    env.zone("a.test", &zone_yaml("192.0.2.2"));
    env.commit("a change");
    let out = env.apply(&[], 1);
    let shown = refused(
        &out,
        &[
            &format!("{}: it has no key `zonekeeper`", key_file.display()),
            "`transfer`, `other`",
        ],
    );
    assert!(
        !shown.contains("dHJhbnNmZXI") && !shown.contains("Applied"),
        "{shown}"
    );
    // the algorithm disagrees with tsig.algorithm
    write(&lab_key.replace("hmac-sha256", "hmac-sha512"));
    let out = env.apply(&[], 1);
    let shown = refused(
        &out,
        &["key `zonekeeper` in", "is hmac-sha512", "tsig.algorithm"],
    );
    assert!(!shown.contains(&secret), "{shown}");
    // plan says it first too, as a warning (plan never uses the key), and goes on
    let out = env.zk(&["plan"]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.starts_with("Warning: key `zonekeeper` in"), "{shown}");
    assert!(!shown.contains(&secret), "{shown}");
    // a bare base64 secret still works
    write(&format!("{secret}\n"));
    env.apply(&[], 0);
    assert_eq!(
        crate::support::dig_short(env.lab.dns_addr("ns1").unwrap(), "www.a.test.", "A"),
        vec!["192.0.2.2"]
    );
}

#[test]
fn an_unset_secret_env_is_said_before_anything_else() {
    let env = Env::new(Db::Sqlite);
    let config = std::fs::read_to_string(env.repo.join("zonekeeper.yaml")).unwrap();
    let lab_path = env.lab.spec().tsig_key_file.display().to_string();
    env.write(
        "zonekeeper.yaml",
        &config.replace(
            &format!("secret_file: {lab_path}"),
            "secret_env: ZK_TEST_NEVER_SET",
        ),
    );
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a zone; the key in a variable");
    let out = env.zk(&["plan"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.starts_with("Warning: the environment variable ZK_TEST_NEVER_SET"),
        "{}",
        text(&out)
    );
    let out = env.apply(&[], 1);
    refused(
        &out,
        &[
            "the environment variable ZK_TEST_NEVER_SET that should hold the TSIG secret is not set",
            "secret_env",
        ],
    );
    assert_eq!(env.soa(&env.servers()[0], "a.test.").serving(), None);
    assert!(
        !Path::new(&env.db).exists() || env.store_dump().is_empty(),
        "nothing recorded"
    );
}
