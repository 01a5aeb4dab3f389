//! A test environment: a BIND lab (primary + 2 secondaries), a desired-state Git
//! repository pointing at it, a store (SQLite or PostgreSQL), and the real `zonekeeper`
//! binary to drive them. What the servers answer is seen through zonekeeper's one query
//! function, printed as `dig` prints it (`witness`).

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use zonekeeper_lab::{Lab, LabSpec};

pub mod tty;
mod witness;
pub use witness::{Soa, answer_lines, axfr, dig_short, dig_soa};

/// Which store a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The catalog zone of the test group.
pub const CATALOG: &str = "catalog.test.";

/// The catalog zone secondary `server` consumes for the group whose catalog is `catalog`.
pub fn member_catalog(server: &str, catalog: &str) -> String {
    format!("{server}.{catalog}")
}

/// A lab, a repository and a store.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub lab: Lab,
    pub repo: PathBuf,
    pub db: String,
    pg_name: Option<String>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The PostgreSQL database tests connect to for administration.
pub fn pg_admin_url() -> String {
    std::env::var("ZONEKEEPER_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Runs `f` to completion on a runtime of its own.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Runs `sql` (any number of statements) on the administration database.
pub fn pg_exec(sql: String) {
    use sqlx::Connection;
    block_on(async move {
        let mut c = sqlx::PgConnection::connect(&pg_admin_url())
            .await
            .expect("PostgreSQL at 127.0.0.1:5432 (scripts/test starts it)");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut c)
            .await
            .unwrap();
    });
}

/// The `zonekeeper.yaml` of a test repository, pointing at the lab: every secondary of
/// the lab, named `nsN.example.net.` in NS RRsets; `members` of them in the group, whose
/// zones get `ttl`.
pub fn config_yaml(lab: &Lab, members: &[&str], ttl: u32) -> String {
    config_yaml_with_primary(lab, lab.spec(), members, ttl)
}

/// Like [`config_yaml`], with the primary of `primary` (another lab's) instead.
pub fn config_yaml_with_primary(
    lab: &Lab,
    primary: &LabSpec,
    members: &[&str],
    ttl: u32,
) -> String {
    let p = primary;
    let s = lab.spec();
    let mut out = format!(
        "primary:\n  name: {}\n  address: {}\n  port: {}\n  tsig:\n    name: zonekeeper\n    secret_file: {}\n  control:\n    rndc_conf: {}\n    config_dir: {}\nsecondaries:\n",
        p.primary.name,
        p.primary.addr,
        p.primary.port,
        p.tsig_key_file.display(),
        p.primary_rndc_conf.display(),
        p.include_dir.display()
    );
    for sec in &s.secondaries {
        out.push_str(&format!(
            "  {}:\n    addresses: [{}]\n    port: {}\n    nameserver: {}.example.net.\n",
            sec.name, sec.addr, sec.port, sec.name
        ));
    }
    let ns: Vec<String> = members
        .iter()
        .map(|m| format!("{m}.example.net."))
        .collect();
    out.push_str(&format!(
        "groups:\n  default:\n    catalog: {CATALOG}\n    secondaries: [{}]\n    nameservers: [{}]\n    ttl: {ttl}\n    soa:\n      mname: ns0.example.net.\n      rname: hostmaster@example.net\n      refresh: 3600\n      retry: 60\n      expire: 1209600\n      minimum: 60\n",
        members.join(", "),
        ns.join(", ")
    ));
    out
}

/// A TXT value longer than one 255-byte character-string.
pub const LONG_TXT: &str = "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu5Yx1nGh7aJg2n4xQ3m1qfZp0bY8cT5wq2yVbVw0t4s6X1p2d3Q9k8J7m6L5n4B3v2C1x0Z9y8W7u6T5s4R3q2P1o0N9m8L7k6J5i4H3g2F1e0D9c8B7a6Z5y4X3w2V1u0T9s8R7q6P5o4N3m2L1k0J9i8H7g6F5e4D3c2B1a0Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0F9e8D7c6B5a4IDAQAB";

/// A small zone with a record whose address is `a`.
pub fn zone_yaml(a: &str) -> String {
    format!(
        "group: default\nrecords:\n  \"@\":\n    MX: 10 mail\n    TXT: \"{LONG_TXT}\"\n  www:\n    A: {a}\n  mail:\n    A: 192.0.2.25\n    AAAA: 2001:db8::25\n"
    )
}

impl Env {
    /// Starts a lab with two secondaries, both in the group, and makes a repository
    /// holding `zonekeeper.yaml`.
    pub fn new(db: Db) -> Env {
        Env::with(db, 2, &["ns1", "ns2"], 300)
    }

    /// Starts a lab with `secondaries` secondaries (all consuming the group's catalog),
    /// `members` of them in the group, zones with TTL `ttl`.
    pub fn with(db: Db, secondaries: usize, members: &[&str], ttl: u32) -> Env {
        Env::custom(
            db,
            secondaries,
            |_| {},
            |lab| config_yaml(lab, members, ttl),
        )
    }

    /// Starts a lab with `secondaries` secondaries, shaped further by `shape`, and a
    /// repository whose `zonekeeper.yaml` is `config(lab)`.
    pub fn custom(
        db: Db,
        secondaries: usize,
        shape: impl FnOnce(&mut LabSpec),
        config: impl FnOnce(&Lab) -> String,
    ) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut spec =
            LabSpec::for_test(&dir.path().join("lab"), secondaries, vec![CATALOG.into()]).unwrap();
        // Each secondary consumes its own catalog of the group: `<name>.catalog.test.`.
        spec.secondary_catalogs = spec
            .secondaries
            .iter()
            .map(|s| (s.name.clone(), vec![member_catalog(&s.name, CATALOG)]))
            .collect();
        shape(&mut spec);
        let lab = Lab::start(spec).unwrap();
        let repo = dir.path().join("repo");
        git2::Repository::init(&repo).unwrap();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let (db_url, pg_name) = match db {
            Db::Sqlite => (dir.path().join("store.sqlite").display().to_string(), None),
            Db::Postgres => {
                let name = format!("zk_test_{}_{n}", std::process::id());
                pg_exec(format!("DROP DATABASE IF EXISTS {name}"));
                pg_exec(format!("CREATE DATABASE {name}"));
                let admin = pg_admin_url();
                let base = admin
                    .rsplit_once('/')
                    .map(|(b, _)| b.to_string())
                    .unwrap_or(admin);
                (format!("{base}/{name}"), Some(name))
            }
        };
        let env = Env {
            dir,
            lab,
            repo,
            db: db_url,
            pg_name,
        };
        env.write("zonekeeper.yaml", &config(&env.lab));
        env
    }

    /// Writes a file of the repository's work tree.
    pub fn write(&self, path: &str, text: &str) {
        let full = self.repo.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    /// Writes `zones/<zone>.yaml`.
    pub fn zone(&self, zone: &str, text: &str) {
        self.write(&format!("zones/{zone}.yaml"), text);
    }

    /// Removes a file of the work tree.
    pub fn remove(&self, path: &str) {
        std::fs::remove_file(self.repo.join(path)).unwrap();
    }

    /// Commits the whole work tree (additions and removals); returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        commit_all(&self.repo, message)
    }

    /// Runs the real binary with `--repo` and `--db` set.
    pub fn zk(&self, args: &[&str]) -> Output {
        self.zk_env(args, &[])
    }

    /// Runs the real binary with `--repo`, `--db` and extra environment variables.
    pub fn zk_env(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        self.command(args)
            .envs(vars.iter().copied())
            .output()
            .unwrap()
    }

    /// Runs the real binary against this repository with another store, `db` (a path or
    /// URL: a read-only connection, another store).
    pub fn zk_db(&self, db: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .args(args)
            .arg("--repo")
            .arg(&self.repo)
            .arg("--db")
            .arg(db)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("ZONEKEEPER_DB")
            .env_remove("ZONEKEEPER_REPO")
            .output()
            .unwrap()
    }

    /// The real binary with `args`, `--repo` and `--db` set, run from the test's directory
    /// with stable output, not started yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_zonekeeper"));
        c.args(args)
            .arg("--repo")
            .arg(&self.repo)
            .arg("--db")
            .arg(&self.db)
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("ZONEKEEPER_DB")
            .env_remove("ZONEKEEPER_REPO");
        c
    }

    /// Runs `apply --auto-approve` plus `extra`, asserting the exit code.
    pub fn apply(&self, extra: &[&str], code: i32) -> Output {
        let mut args = vec!["apply", "--auto-approve"];
        args.extend_from_slice(extra);
        if !extra.contains(&"--verify-timeout") {
            args.extend(["--verify-timeout", "20"]);
        }
        let out = self.zk(&args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "apply {extra:?}\n{}",
            text(&out)
        );
        out
    }

    /// `plan --detailed-exitcode` finds nothing to do.
    pub fn assert_converged(&self, context: &str) {
        let plan = self.zk(&["plan", "--detailed-exitcode"]);
        assert_eq!(plan.status.code(), Some(0), "{context}: {}", text(&plan));
    }

    /// What server `name` answers for `zone` SOA (see [`dig_soa`]).
    pub fn soa(&self, name: &str, zone: &str) -> Soa {
        dig_soa(self.lab.dns_addr(name).unwrap(), zone)
    }

    /// The store's text columns, through the library.
    pub fn store_dump(&self) -> String {
        let url = zonekeeper::store::db_url(&self.db).unwrap();
        block_on(async move {
            let s = zonekeeper::store::Store::open(&url).await.unwrap();
            let d = s.dump_text().await.unwrap();
            s.close().await;
            d
        })
    }

    /// Every server, the primary first.
    pub fn servers(&self) -> Vec<String> {
        self.lab.spec().servers().map(|s| s.name.clone()).collect()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.lab.shutdown();
        if let Some(name) = &self.pg_name {
            pg_exec(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Arms `apply` runs to SIGKILL themselves (the real kill hook, `ZONEKEEPER_TEST_KILL_AT`)
/// at every step boundary of every run of one procedure, on one lab: the first run dies
/// at its 1st boundary, the next (resuming what the kill left) at its 2nd, and so on,
/// until a run ends before the boundary it was armed for (a complete run, which moves the
/// procedure on); the next run then dies at its 1st boundary again. Every complete run
/// moves on and every kill comes after more boundaries than the one before, so the
/// procedure always finishes. After `max` kills no run is armed.
///
/// Why this suffices though each kill resumes from the previous ones, not from a clean
/// run: the simulated fleet's crash test (tests/sim/crash.rs) crashes every procedure
/// after every store write of a clean run, one crash per fresh fleet, and checks that the
/// resumed run ends exactly as the clean one. These real-BIND tests show that the real
/// binary, real BIND and the real kill hook survive a kill at each boundary a run reaches
/// (start, mid-step with an action recorded but not its gate, end), many in one procedure,
/// at the cost of one lab instead of one lab per boundary.
pub struct Kills {
    max: usize,
    offset: usize,
    /// The kills, in order: the boundary of the run, and its description.
    pub at: Vec<(usize, String)>,
}

impl Kills {
    /// At most `max` kills.
    pub fn new(max: usize) -> Kills {
        Kills {
            max,
            offset: 1,
            at: Vec::new(),
        }
    }

    /// Runs `apply --auto-approve --verify-timeout SECS`, armed (see [`Kills`]); records a
    /// kill (the run died of a signal) and asserts it died at the boundary armed.
    pub fn apply(&mut self, env: &Env, verify_timeout: &str) -> Output {
        let args = [
            "apply",
            "--auto-approve",
            "--verify-timeout",
            verify_timeout,
        ];
        if self.at.len() >= self.max {
            return env.zk(&args);
        }
        let at = self.offset.to_string();
        let out = env.zk_env(&args, &[("ZONEKEEPER_TEST_KILL_AT", at.as_str())]);
        if out.status.code().is_none() {
            let t = text(&out);
            let what = t
                .split(&format!("SIGKILL at boundary {at} ("))
                .nth(1)
                .and_then(|rest| rest.split(')').next())
                .unwrap_or_else(|| panic!("killed, but not by the hook at boundary {at}:\n{t}"));
            eprintln!("killed at boundary {at} ({what})");
            self.at.push((self.offset, what.to_string()));
            self.offset += 1;
        } else {
            // The run ended before that boundary: the next is killed early again.
            self.offset = 1;
        }
        out
    }

    /// Asserts at least `n` kills happened.
    pub fn assert_at_least(&self, n: usize) {
        assert!(
            self.at.len() >= n,
            "only {} kill(s): {:?}",
            self.at.len(),
            self.at
        );
    }
}

/// stdout and stderr of a run, for messages and searches.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs a scenario on SQLite and on PostgreSQL, as two tests.
#[macro_export]
macro_rules! both_stores {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                ($body)(Db::Sqlite)
            }
            #[test]
            fn postgres() {
                ($body)(Db::Postgres)
            }
        }
    };
}

/// When `out` asks for a confirmation (`zonekeeper confirm OP STEP`), gives it; whether it
/// did.
pub fn confirm_if_asked(env: &Env, out: &Output) -> bool {
    let t = text(out);
    let Some(rest) = t.split("`zonekeeper confirm ").nth(1) else {
        return false;
    };
    let args: Vec<&str> = rest
        .split('`')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let done = env.zk(&["confirm", args[0], args[1], "--yes"]);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done));
    true
}

/// Commits the whole work tree of the repository at `repo` (additions and removals) as the
/// test operator; returns the commit id.
pub fn commit_all(repo: &std::path::Path, message: &str) -> String {
    let repo = git2::Repository::open(repo).unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.update_all(["*"], None).unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("Test Operator", "ops@example.net").unwrap();
    let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let parents: Vec<&git2::Commit> = parent.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
        .unwrap()
        .to_string()
}
