//! The apply lock and honest output: stale interactive plans, the lock, output (issue 7:
//! items 4, 14, 17 output).

#[allow(unused_imports)]
use crate::both_stores;
#[allow(unused_imports)]
use crate::support::{Db, Env, text, zone_yaml};

/// The apply lock's PostgreSQL advisory lock key (`src/store/lock.rs`).
const ADVISORY_KEY: i64 = 0x7a6b_6170_706c_7900;

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// What the primary answers for `www.<zone>` A.
fn www(env: &Env, zone: &str) -> String {
    let addr = env.lab.dns_addr("ns0").unwrap();
    crate::support::dig_short(addr, &format!("www.{zone}"), "A").join("\n")
}

/// The applied revision, per `status --format json`.
fn applied_commit(env: &Env) -> String {
    let out = env.zk(&["status", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["applied_revision"]["commit"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A lock held by someone else: on SQLite a lease row, and when the holder is of this
/// host its kernel lock on `<store>.applylock` too (as a live apply holds it); on
/// PostgreSQL an advisory lock held by a session of its own, with its record.
struct ForeignLock {
    rt: tokio::runtime::Runtime,
    session: Option<sqlx::PgConnection>,
    flock: Option<std::fs::File>,
}

impl ForeignLock {
    /// Lock `id` of `host` pid `pid`, in force (a lease expiring at `expires_at` on
    /// SQLite; a live session on PostgreSQL).
    fn take(env: &Env, db: Db, id: &str, host: &str, pid: i64, expires_at: i64) -> ForeignLock {
        use sqlx::Connection;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let session = rt.block_on(async {
            match db {
                Db::Sqlite => {
                    let mut c =
                        sqlx::SqliteConnection::connect(&format!("sqlite://{}", env.db))
                            .await
                            .unwrap();
                    sqlx::query("DELETE FROM apply_lock").execute(&mut c).await.unwrap();
                    sqlx::query(
                        "INSERT INTO apply_lock (id, lock_id, host, pid, since, expires_at) VALUES (1, $1, $2, $3, $4, $5)",
                    )
                    .bind(id)
                    .bind(host)
                    .bind(pid)
                    .bind(unix_now() - 100)
                    .bind(expires_at)
                    .execute(&mut c)
                    .await
                    .unwrap();
                    c.close().await.unwrap();
                    None
                }
                Db::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&env.db).await.unwrap();
                    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                        .bind(ADVISORY_KEY)
                        .fetch_one(&mut c)
                        .await
                        .unwrap();
                    assert!(got, "the lock is free before the test takes it");
                    sqlx::query("DELETE FROM apply_lock").execute(&mut c).await.unwrap();
                    sqlx::query(
                        "INSERT INTO apply_lock (id, lock_id, host, pid, since, expires_at, session) \
                         VALUES (1, $1, $2, $3, $4, NULL, pg_backend_pid())",
                    )
                    .bind(id)
                    .bind(host)
                    .bind(pid)
                    .bind(unix_now() - 100)
                    .execute(&mut c)
                    .await
                    .unwrap();
                    Some(c)
                }
            }
        });
        let flock = (db == Db::Sqlite && host == zonekeeper::store::this_host()).then(|| {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(format!("{}.applylock", env.db))
                .unwrap();
            f.try_lock().unwrap();
            f
        });
        ForeignLock { rt, session, flock }
    }

    /// The holder is gone: its lease ran out (SQLite: `expires_at` in the past) or its
    /// session ended (PostgreSQL), its record left behind.
    fn die(mut self, env: &Env) {
        use sqlx::Connection;
        let session = self.session.take();
        drop(self.flock.take());
        self.rt.block_on(async {
            match session {
                Some(c) => c.close().await.unwrap(),
                None => {
                    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", env.db))
                        .await
                        .unwrap();
                    sqlx::query("UPDATE apply_lock SET expires_at = $1")
                        .bind(unix_now() - 1)
                        .execute(&mut c)
                        .await
                        .unwrap();
                    c.close().await.unwrap();
                }
            }
        });
    }
}

/// stdout and stderr with miette's line wrapping undone, for searches.
fn flat(out: &std::process::Output) -> String {
    text(out)
        .lines()
        .map(|l| l.trim().trim_start_matches(['│', '×']).trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One zone applied, then a change committed: an apply has something to do.
fn applied_then_changed(env: &Env) -> String {
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a.test");
    env.apply(&[], 0);
    env.zone("a.test", &zone_yaml("192.0.2.2"));
    env.commit("a.test www .2")
}

// Repro: `apply` (interactive) shows the plan of C1 (a new zone b.test, www .2) and waits
// at its prompt; meanwhile C2 (b.test www .3) is applied with `--auto-approve`; answering
// "y" (consent then; "yes" now) puts C1's content back on the servers (www .2) and the store's revision back to C1. The prompt needs a terminal, so the interactive
// apply runs under `script` (a pty), as an operator's would.
both_stores!(interactive_apply_does_not_apply_a_stale_plan, |db| {
    use std::io::{Read, Write};
    let env = Env::new(db);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a.test");
    env.apply(&[], 0);
    env.zone("b.test", &zone_yaml("192.0.2.2"));
    let c1 = env.commit("b.test, www .2");
    let cmd = format!(
        "{} apply --verify-timeout 20 --repo {} --db {}",
        env!("CARGO_BIN_EXE_zonekeeper"),
        env.repo.display(),
        env.db
    );
    let mut interactive = std::process::Command::new("script")
        .args(["-qefc", &cmd, "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux)");
    let mut stdout = interactive.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("Apply these changes?") {
        let n = stdout.read(&mut byte).unwrap();
        assert!(
            n == 1,
            "apply ended before its prompt: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.push(byte[0]);
    }
    // Meanwhile, C2 with --auto-approve.
    env.zone("b.test", &zone_yaml("192.0.2.3"));
    let c2 = env.commit("b.test www .3");
    let concurrent = env.zk(&["apply", "--auto-approve", "--verify-timeout", "20"]);
    // The operator answers yes to the plan of C1.
    interactive
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"yes\n")
        .unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = interactive.wait().unwrap();
    drop(interactive.stdin.take());
    let first = format!("{}{rest}", String::from_utf8_lossy(&seen));
    if concurrent.status.code() == Some(0) {
        // C2 was applied: nothing may take the servers or the store back.
        assert_eq!(www(&env, "b.test."), "192.0.2.3", "{first}");
        assert_eq!(applied_commit(&env), c2, "{first}");
    } else {
        // C2 was refused because the interactive apply held the lock since it planned.
        let t = flat(&concurrent);
        assert!(t.contains("another apply holds the lock"), "{t}");
        assert_eq!(status.code(), Some(0), "{first}");
        assert!(first.contains("Applied revision"), "{first}");
        assert_eq!(applied_commit(&env), c1, "the approved plan was applied");
        assert_eq!(www(&env, "b.test."), "192.0.2.2", "{first}");
        env.apply(&[], 0);
        assert_eq!(www(&env, "b.test."), "192.0.2.3");
        assert_eq!(applied_commit(&env), c2);
    }
    env.assert_converged("after both applies");
});

// Repro: a lock row whose holder is on another host, or is a live but unrelated PID, or
// is malformed, is never taken over although the message says it will be; under a PID
// namespace (same host name, PID not visible) a second apply ignores a live lock.
both_stores!(
    lock_of_another_host_or_live_pid_is_not_taken_and_expired_lease_is,
    |db| {
        let env = Env::new(db);
        applied_then_changed(&env);
        let far = unix_now() + 3600;
        let host = zonekeeper::store::this_host();
        // Another host's apply, in force: refused, naming it, with advice that holds.
        let other = ForeignLock::take(&env, db, "0ddba11c0ffee001", "db7.example.net", 4242, far);
        let out = env.apply(&[], 1);
        let t = flat(&out);
        assert!(
            t.contains("another apply holds the lock")
                && t.contains("0ddba11c0ffee001")
                && t.contains("db7.example.net"),
            "{t}"
        );
        assert!(!t.contains("process is gone is taken over"), "{t}");
        assert_eq!(www(&env, "a.test."), "192.0.2.1", "nothing applied");
        // Its holder is gone (lease ran out / session ended): the next apply takes over.
        other.die(&env);
        let out = env.apply(&[], 0);
        assert!(
            flat(&out).contains("Took over lock 0ddba11c0ffee001"),
            "{}",
            flat(&out)
        );
        assert_eq!(www(&env, "a.test."), "192.0.2.2");

        // This host's name with a PID this PID namespace cannot see: still in force.
        env.zone("a.test", &zone_yaml("192.0.2.3"));
        env.commit("a.test www .3");
        let ns = ForeignLock::take(&env, db, "0ddba11c0ffee002", &host, 999_999_999, far);
        let out = env.apply(&[], 1);
        assert!(flat(&out).contains("0ddba11c0ffee002"), "{}", flat(&out));
        assert_eq!(www(&env, "a.test."), "192.0.2.2", "nothing applied");
        ns.die(&env);
        env.apply(&[], 0);
        assert_eq!(www(&env, "a.test."), "192.0.2.3");
    }
);

// Repro: `status` does not show the lock, there is no way to remove the lock of an apply
// whose host vanished, and times of the lock are not shown in UTC.
both_stores!(lock_shown_in_status_and_unlock_by_id, |db| {
    let env = Env::new(db);
    applied_then_changed(&env);
    let holder = ForeignLock::take(
        &env,
        db,
        "5ca1ab1e5ca1ab1e",
        "gone.example.net",
        77,
        unix_now() + 3600,
    );
    let status = text(&env.zk(&["status"]));
    assert!(
        status.contains(
            "Lock: held by lock 5ca1ab1e5ca1ab1e of host gone.example.net pid 77, since "
        ) && status.contains("zonekeeper unlock 5ca1ab1e5ca1ab1e"),
        "{status}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&env.zk(&["status", "--format", "json"]).stdout).unwrap();
    assert_eq!(json["lock"]["state"], "held", "{json}");
    assert_eq!(json["lock"]["lock_id"], "5ca1ab1e5ca1ab1e", "{json}");
    assert!(
        json["lock"]["since"]
            .as_str()
            .is_some_and(|s| s.ends_with('Z') && s.contains('T')),
        "{json}"
    );

    // The wrong id is refused; without --yes and a terminal, nothing happens.
    let wrong = env.zk(&["unlock", "0000000000000000", "--yes"]);
    assert_eq!(wrong.status.code(), Some(1), "{}", flat(&wrong));
    assert!(
        flat(&wrong).contains("there is no lock 0000000000000000"),
        "{}",
        flat(&wrong)
    );
    let unasked = env.zk(&["unlock", "5ca1ab1e5ca1ab1e"]);
    assert_eq!(unasked.status.code(), Some(1), "{}", text(&unasked));
    env.apply(&[], 1);

    let unlocked = env.zk(&["unlock", "5ca1ab1e5ca1ab1e", "--yes"]);
    assert_eq!(unlocked.status.code(), Some(0), "{}", flat(&unlocked));
    let said = flat(&unlocked);
    assert!(
        said.contains("5ca1ab1e5ca1ab1e") && said.contains("the lock is free"),
        "{said}"
    );
    assert!(text(&env.zk(&["status"])).contains("Lock: free"));
    env.apply(&[], 0);
    assert_eq!(www(&env, "a.test."), "192.0.2.2");
    drop(holder);
});

// Repro: with a read-only store (a read-only SQLite file; a PostgreSQL database or
// session in read-only mode), apply says "another apply is running (unknown ...)".
both_stores!(readonly_store_says_so, |db| {
    let env = Env::new(db);
    applied_then_changed(&env);
    let out = match db {
        Db::Sqlite => env.zk_db(
            &format!("sqlite://{}?mode=ro", env.db),
            &["apply", "--auto-approve"],
        ),
        Db::Postgres => {
            let options = "-c default_transaction_read_only=on";
            let sep = if env.db.contains('?') { '&' } else { '?' };
            let url = format!(
                "{}{sep}options={}",
                env.db,
                options.replace(' ', "%20").replace('=', "%3D")
            );
            env.zk_db(&url, &["apply", "--auto-approve"])
        }
    };
    let t = flat(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("the store is read-only"), "{t}");
    assert!(!t.contains("another apply"), "{t}");
    assert_eq!(www(&env, "a.test."), "192.0.2.1", "nothing applied");
    env.apply(&[], 0);
});

// Repro: an apply whose verification fails (a secondary hangs) prints "Applied revision
// X" and exits 1; one whose operation waits at a closed gate prints it and exits 3; the
// JSON of a failed apply says nothing else.
both_stores!(applied_not_printed_when_failed_or_waiting, |db| {
    let mut env = Env::with(db, 3, &["ns1", "ns2"], 2);
    applied_then_changed(&env);
    env.lab.pause("ns2").unwrap();
    let failed = env.apply(&["--verify-timeout", "2"], 1);
    let out = String::from_utf8_lossy(&failed.stdout).to_string();
    assert!(!out.contains("Applied revision"), "{}", text(&failed));
    assert!(out.contains("was NOT applied"), "{}", text(&failed));
    let json = env.apply(&["--verify-timeout", "2", "--format", "json"], 1);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        (json["applied"].as_bool(), json["state"].as_str()),
        (Some(false), Some("failed")),
        "{json}"
    );
    env.lab.resume("ns2").unwrap();
    let done = env.apply(&[], 0);
    assert!(
        String::from_utf8_lossy(&done.stdout).contains("Applied revision"),
        "{}",
        text(&done)
    );

    // ns3 joins while it hangs: the operation waits.
    env.lab.pause("ns3").unwrap();
    env.write(
        "zonekeeper.yaml",
        &crate::support::config_yaml(&env.lab, &["ns1", "ns2", "ns3"], 2),
    );
    env.commit("add ns3");
    let waiting = env.apply(&["--verify-timeout", "2"], 3);
    let out = String::from_utf8_lossy(&waiting.stdout).to_string();
    assert!(!out.contains("Applied revision"), "{}", text(&waiting));
    assert!(
        out.contains("not applied yet") && out.contains("waits"),
        "{}",
        text(&waiting)
    );
    env.lab.resume("ns3").unwrap();
});

/// Runs the real binary with its stdout a pipe whose reader is already closed.
fn into_closed_pipe(env: &Env, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    env.command(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap()
}

// Repro: `zonekeeper plan | head -1` panics ("failed printing to stdout: Broken pipe",
// exit 101); so do the other commands and the JSON output.
both_stores!(plan_into_closed_pipe_does_not_panic, |db| {
    let env = Env::new(db);
    applied_then_changed(&env);
    for args in [
        &["plan"][..],
        &["plan", "--format", "json"],
        &["plan", "--detailed-exitcode"],
        &["status"],
        &["status", "--format", "json"],
        &["validate"],
        &["show", "zone", "a.test"],
    ] {
        let out = into_closed_pipe(&env, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} ends quietly: {err}");
    }
});
