//! The daemon as a real process (`zonekeeper watch`), with `check` and `maintenance`: a
//! push observed and applied, a secondary stopped and seen BROKEN then OK, changes that do
//! not wait for it, SIGTERM mid-operation and a resumed run, and two daemons on one store
//! of which one leads and the other takes over when it is killed.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::both_stores;
use crate::hooks::{push, served_repository};
use crate::support::{Db, Env, text, zone_yaml};

/// A running `zonekeeper watch`, killed when dropped; its log in a file.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `watch` on `repo` (branch `rev`) with `env`'s store, sweeping every second.
    fn start(env: &Env, repo: &Path, rev: &str, name: &str) -> Daemon {
        Daemon::start_with(env, repo, rev, name, &[])
    }

    /// [`Daemon::start`] with environment variables `vars`.
    fn start_with(env: &Env, repo: &Path, rev: &str, name: &str, vars: &[(&str, &str)]) -> Daemon {
        let log = env.dir.path().join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
            .args([
                "watch",
                "--poll",
                "2",
                "--sweep-every",
                "1",
                "--max-backoff",
                "2",
            ])
            .args(["--verify-timeout", "8", "--rev", rev])
            .arg("--repo")
            .arg(repo)
            .arg("--db")
            .arg(&env.db)
            .current_dir(env.dir.path())
            .env("NO_COLOR", "1")
            .env("ZONEKEEPER_LOG", "info")
            .env_remove("ZONEKEEPER_DB")
            .env_remove("ZONEKEEPER_REPO")
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` (by name, e.g. TERM).
    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits for the process to exit; its exit code.
    fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the daemon did not exit within {timeout:?}:\n{}",
            self.log()
        );
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A webhook receiver on loopback: its URL, and the bodies POSTed to it.
fn hook_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut reader = BufReader::new(c.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            keep.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            let _ =
                c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (url, seen)
}

/// Polls `cond` every 200 ms until it holds or `secs` pass.
fn eventually(secs: u64, what: &str, mut cond: impl FnMut() -> bool, log: impl Fn() -> String) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("not within {secs} s: {what}\n{}", log());
}

/// `status --format json`.
fn status(env: &Env) -> serde_json::Value {
    let out = env.zk(&["status", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The state `status` shows for `server`.
fn state(env: &Env, server: &str) -> String {
    status(env)["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == server)
        .and_then(|s| s["state"].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// How many (zone, server) pairs `status` shows lagging.
fn lagging(env: &Env) -> i64 {
    status(env)["lagging"]["total"].as_i64().unwrap()
}

/// `name` answers `a.test.`'s www with `addr`.
fn serves(env: &Env, name: &str, addr: &str) -> bool {
    let at = env.lab.dns_addr(name).unwrap();
    crate::support::dig_short(at, "www.a.test.", "A") == [addr.to_string()]
}

both_stores!(
    the_daemon_applies_pushes_rides_out_a_dead_secondary_and_stops_on_sigterm,
    |db| {
        // three secondaries: the default quorum is two
        let mut env = Env::with(db, 3, &["ns1", "ns2", "ns3"], 60);
        let yaml = std::fs::read_to_string(env.repo.join("zonekeeper.yaml")).unwrap();
        env.write(
            "zonekeeper.yaml",
            &format!("{yaml}webhooks:\n  - url_env: ZK_TEST_HOOK\n    events: [server-broken]\n"),
        );
        let (hook_url, posted) = hook_receiver();
        let bare = served_repository(&env);
        env.zone("a.test", &zone_yaml("192.0.2.1"));
        env.commit("a.test");
        let out = push(&env, &bare);
        assert!(out.status.success(), "{}", text(&out));
        let mut daemon =
            Daemon::start_with(&env, &bare, "main", "watch", &[("ZK_TEST_HOOK", &hook_url)]);
        let log = || std::fs::read_to_string(env.dir.path().join("watch.log")).unwrap_or_default();

        // a push is observed and applied by the daemon, the hook leaving it to it
        env.zone("a.test", &zone_yaml("192.0.2.2"));
        env.commit("www moves");
        eventually(10, "the daemon leads", || log().contains("leading"), log);
        eventually(
            5,
            "status shows the daemon",
            || text(&env.zk(&["status"])).contains("Daemon: leads on host"),
            log,
        );
        let out = push(&env, &bare);
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("applied by the daemon"),
            "{}",
            text(&out)
        );
        let all = ["ns0", "ns1", "ns2", "ns3"];
        eventually(
            30,
            "every server serves the push",
            || all.iter().all(|s| serves(&env, s, "192.0.2.2")),
            log,
        );

        // a secondary stopped is seen BROKEN; a change does not wait for it
        env.lab.stop("ns3").unwrap();
        eventually(
            20,
            "ns3 seen BROKEN",
            || state(&env, "ns3") == "BROKEN",
            log,
        );
        // ... and reported to the webhook
        eventually(
            10,
            "the webhook told",
            || !posted.lock().unwrap().is_empty(),
            log,
        );
        let body: serde_json::Value = serde_json::from_str(&posted.lock().unwrap()[0]).unwrap();
        assert_eq!(body["event"], "server-broken", "{body}");
        assert_eq!(body["server"], "ns3", "{body}");
        env.zone("a.test", &zone_yaml("192.0.2.3"));
        env.commit("www moves again");
        let started = Instant::now();
        assert!(push(&env, &bare).status.success());
        eventually(
            20,
            "the change served without ns3",
            || {
                ["ns0", "ns1", "ns2"]
                    .iter()
                    .all(|s| serves(&env, s, "192.0.2.3"))
            },
            log,
        );
        eventually(
            10,
            "the revision recorded as applied",
            || {
                env.zk(&["plan", "--detailed-exitcode", "--rev", "HEAD"])
                    .status
                    .code()
                    == Some(0)
            },
            log,
        );
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "it waited for ns3: {:?}\n{}",
            started.elapsed(),
            log()
        );
        assert!(lagging(&env) >= 1, "ns3's missed change is shown");

        // back, it catches up and is seen OK, nothing lagging
        env.lab.start_server("ns3").unwrap();
        eventually(
            40,
            "ns3 seen OK and caught up",
            || state(&env, "ns3") == "OK" && lagging(&env) == 0,
            log,
        );
        assert!(serves(&env, "ns3", "192.0.2.3"));

        // SIGTERM mid-operation: ns2 paused (not known down), the pass waits for it; the
        // daemon finishes the step, records it, exits 0
        env.lab.pause("ns2").unwrap();
        let passes = log().matches("applying revision").count();
        env.zone("a.test", &zone_yaml("192.0.2.4"));
        env.commit("www moves a third time");
        assert!(push(&env, &bare).status.success());
        eventually(
            10,
            "the pass under way",
            || log().matches("applying revision").count() > passes,
            log,
        );
        daemon.signal("TERM");
        assert_eq!(daemon.wait(Duration::from_secs(30)), Some(0), "{}", log());
        assert!(log().contains("stopped after"), "{}", log());
        let shown = text(&env.zk(&["status"]));
        assert!(shown.contains("Daemon: none leads"), "{shown}");
        env.lab.resume("ns2").unwrap();

        // a new daemon resumes: the change is served everywhere and recorded
        let mut again = Daemon::start(&env, &bare, "main", "again");
        let log2 = || std::fs::read_to_string(env.dir.path().join("again.log")).unwrap_or_default();
        eventually(
            40,
            "served everywhere after the resume",
            || all.iter().all(|s| serves(&env, s, "192.0.2.4")),
            log2,
        );
        eventually(
            20,
            "recorded as applied",
            || {
                env.zk(&["plan", "--detailed-exitcode", "--rev", "HEAD"])
                    .status
                    .code()
                    == Some(0)
            },
            log2,
        );

        // a second signal exits at once, mid-pass; the next run resumes
        env.lab.pause("ns2").unwrap();
        let passes = log2().matches("applying revision").count();
        env.zone("a.test", &zone_yaml("192.0.2.5"));
        env.commit("www moves a fourth time");
        assert!(push(&env, &bare).status.success());
        eventually(
            10,
            "the pass under way",
            || log2().matches("applying revision").count() > passes,
            log2,
        );
        // past the UPDATE, into the wait for the paused ns2 (up to the verify timeout)
        std::thread::sleep(Duration::from_millis(1500));
        again.signal("TERM");
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            again.child.try_wait().unwrap().is_none(),
            "still in its step: {}",
            log2()
        );
        again.signal("TERM");
        let stopped = Instant::now();
        assert_eq!(again.wait(Duration::from_secs(10)), Some(130), "{}", log2());
        assert!(stopped.elapsed() < Duration::from_secs(3), "at once");
        env.lab.resume("ns2").unwrap();
        let third = Daemon::start(&env, &bare, "main", "third");
        eventually(
            40,
            "served everywhere after the second resume",
            || all.iter().all(|s| serves(&env, s, "192.0.2.5")),
            || third.log(),
        );
    }
);

both_stores!(
    two_daemons_one_leads_the_other_takes_over_within_seconds_of_a_sigkill,
    |db| {
        let env = Env::new(db);
        env.zone("a.test", &zone_yaml("192.0.2.1"));
        env.commit("a.test");
        let first = Daemon::start(&env, &env.repo, "HEAD", "first");
        let l1 = || std::fs::read_to_string(env.dir.path().join("first.log")).unwrap_or_default();
        eventually(
            20,
            "the first daemon leads and applies",
            || l1().contains("leading") && serves(&env, "ns2", "192.0.2.1"),
            l1,
        );
        let second = Daemon::start(&env, &env.repo, "HEAD", "second");
        let l2 = || std::fs::read_to_string(env.dir.path().join("second.log")).unwrap_or_default();
        eventually(
            10,
            "the second stands by",
            || l2().contains("standing by"),
            l2,
        );
        assert!(!l2().contains("leading"), "{}", l2());

        first.signal("KILL");
        let killed = Instant::now();
        eventually(10, "the second leads", || l2().contains("leading"), l2);
        assert!(killed.elapsed() < Duration::from_secs(10));
        drop(first);

        // and it reconciles
        env.zone("a.test", &zone_yaml("192.0.2.9"));
        env.commit("www moves");
        eventually(
            30,
            "the new leader applies a commit",
            || {
                ["ns0", "ns1", "ns2"]
                    .iter()
                    .all(|s| serves(&env, s, "192.0.2.9"))
            },
            l2,
        );
        // a change on the primary behind zonekeeper's back is found by the sweeps' content
        // checks, shown, and left for the operator to resolve
        crate::drift::out_of_band(&env, "a.test.", "192.0.2.66");
        eventually(
            20,
            "the drift found by the daemon",
            || status(&env)["drift"]["zones"] == 1,
            l2,
        );
        assert!(l2().contains("drift"), "{}", l2());
        let plan = env.zk(&["plan", "--detailed-exitcode"]);
        assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
        std::thread::sleep(Duration::from_secs(3));
        assert!(
            serves(&env, "ns0", "192.0.2.66"),
            "never overwritten silently"
        );
        // the operator keeps what the primary serves: imported, committed, applied by the
        // daemon, and the drift is gone
        let out = env.zk(&["import", "--zone", "a.test", "--from-primary"]);
        assert!(out.status.success(), "{}", text(&out));
        env.commit("keep what the primary serves");
        eventually(
            20,
            "the drift cleared by the daemon",
            || status(&env)["drift"]["zones"] == 0,
            l2,
        );
        env.assert_converged("after the import");
        drop(second);
    }
);

both_stores!(
    check_sees_a_stopped_secondary_and_maintenance_takes_it_out,
    |db| {
        let mut env = Env::new(db);
        // a group of two waits for both unless its quorum says one
        let yaml = std::fs::read_to_string(env.repo.join("zonekeeper.yaml")).unwrap();
        env.write(
            "zonekeeper.yaml",
            &yaml.replace(
                "    secondaries: [ns1, ns2]\n",
                "    secondaries: [ns1, ns2]\n    quorum: 1\n",
            ),
        );
        env.zone("a.test", &zone_yaml("192.0.2.1"));
        env.zone("b.test", &zone_yaml("192.0.2.1"));
        env.commit("two zones");
        env.apply(&[], 0);
        let check = env.zk(&["check"]);
        assert_eq!(check.status.code(), Some(0), "{}", text(&check));

        env.lab.stop("ns2").unwrap();
        let check = env.zk(&["check", "--format", "json"]);
        assert_eq!(check.status.code(), Some(2), "{}", text(&check));
        let v: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
        let ns2 = v["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "ns2")
            .unwrap();
        assert_eq!(ns2["state"], "BROKEN", "{v}");
        assert_eq!(ns2["zones_lagging"], 2, "{v}");
        assert_eq!(v["lagging"].as_array().unwrap().len(), 2);

        let out = env.zk(&["maintenance", "ns2", "on"]);
        assert!(out.status.success(), "{}", text(&out));
        let check = env.zk(&["check"]);
        assert_eq!(check.status.code(), Some(0), "{}", text(&check));
        assert!(text(&check).contains("in maintenance"), "{}", text(&check));
        let shown = text(&env.zk(&["status"]));
        assert!(shown.contains("MAINTENANCE since"), "{shown}");

        // a change goes through without it, and says so
        env.zone("a.test", &zone_yaml("192.0.2.2"));
        env.commit("www moves");
        let out = env.apply(&["--verify-timeout", "5"], 0);
        assert!(
            text(&out).contains("Not waited for: ns2 (in maintenance"),
            "{}",
            text(&out)
        );

        // back: the sweep verifies what it missed
        env.lab.start_server("ns2").unwrap();
        let out = env.zk(&["maintenance", "ns2", "off"]);
        assert!(out.status.success(), "{}", text(&out));
        eventually(
            30,
            "ns2 caught up",
            || env.zk(&["check"]).status.code() == Some(0),
            || text(&env.zk(&["check"])),
        );
        assert!(serves(&env, "ns2", "192.0.2.2"));

        // an unknown server is refused, naming the known ones
        let out = env.zk(&["maintenance", "ns9", "on"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out).contains("ns1, ns2"), "{}", text(&out));
    }
);

both_stores!(
    the_daemon_carries_a_staged_operation_through_its_gates,
    |db| {
        // a secondary leaves the group: the parent is confirmed by hand, then the NS TTL
        // (3 s) is waited out; the daemon wakes for each gate by itself
        let env = Env::with(db, 2, &["ns1", "ns2"], 3);
        env.zone("a.test", &zone_yaml("192.0.2.1"));
        env.commit("a.test");
        env.apply(&[], 0);
        let _daemon = Daemon::start(&env, &env.repo, "HEAD", "watch");
        let log = || std::fs::read_to_string(env.dir.path().join("watch.log")).unwrap_or_default();
        env.write(
            "zonekeeper.yaml",
            &crate::support::config_yaml(&env.lab, &["ns1"], 3),
        );
        env.commit("remove ns2");
        eventually(
            20,
            "the operation waits for its confirmation",
            || crate::support::confirm_if_asked(&env, &env.zk(&["status"])),
            log,
        );
        let confirmed = Instant::now();
        eventually(
            30,
            "ns2 stops serving a.test. once the TTL is waited out",
            || env.soa("ns2", "a.test.").status == "REFUSED",
            log,
        );
        assert!(
            confirmed.elapsed() >= Duration::from_secs(3),
            "the TTL was waited out"
        );
        eventually(
            20,
            "the operation done and the revision applied",
            || {
                status(&env)["operations"]
                    .as_array()
                    .is_some_and(|o| o.is_empty())
                    && env.zk(&["plan", "--detailed-exitcode"]).status.code() == Some(0)
            },
            log,
        );
        assert!(env.soa("ns1", "a.test.").serving().is_some());
    }
);
