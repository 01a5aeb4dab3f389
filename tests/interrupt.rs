//! Interrupting `apply` (issue 12, point 3), with the real binary and a real BIND lab:
//! SIGINT or SIGTERM while UPDATEs go out finishes the step under way, records it, stops,
//! says what was done and exits 130, and the store then records exactly what the primary
//! serves; a second signal exits at once; a signal at the prompt cancels with nothing
//! changed; a following apply resumes and converges. Every signal is sent once an
//! observable state shows the work under way (a zone's serial moved on the primary, a
//! line on stderr), never after a sleep.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Db, Env, block_on, text, zone_yaml};

/// A child process whose stdout and stderr are read as they come.
pub struct Running {
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// Copies everything `from` gives into `to`, until it ends.
fn drain(
    mut from: impl Read + Send + 'static,
    to: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            to.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

impl Running {
    /// Starts `cmd` with stdin closed and its output captured.
    pub fn spawn(cmd: Command) -> Running {
        Running::spawn_with(cmd, Stdio::null())
    }

    /// Starts `cmd` with `stdin` as given and its output captured.
    pub fn spawn_with(mut cmd: Command, stdin: Stdio) -> Running {
        let mut child = cmd
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            drain(child.stdout.take().unwrap(), out.clone()),
            drain(child.stderr.take().unwrap(), err.clone()),
        ];
        Running {
            child,
            out,
            err,
            readers,
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it wrote on stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }

    /// Waits until `cond` holds (checked every few milliseconds), failing the test when the
    /// process ends first or `limit` passes.
    pub fn wait_until(
        &mut self,
        what: &str,
        limit: Duration,
        mut cond: impl FnMut(&Running) -> bool,
    ) {
        let start = Instant::now();
        loop {
            if cond(self) {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "ended ({status}) before {what}:\n{}{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            assert!(
                start.elapsed() < limit,
                "no {what} within {limit:?}:\n{}{}",
                self.stdout(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Sends signal `sig` (`INT`, `TERM`) to it.
    pub fn signal(&self, sig: &str) {
        signal(self.pid(), sig);
    }

    /// Waits for it to end (at most `limit`): its exit code, stdout and stderr.
    pub fn finish(mut self, limit: Duration) -> (Option<i32>, String, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "still running after {limit:?}:\n{}{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        for r in std::mem::take(&mut self.readers) {
            r.join().unwrap();
        }
        (status.code(), self.stdout(), self.stderr())
    }
}

/// Sends signal `sig` to process `pid` with kill(1).
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{sig} {pid}");
}

/// The names of the `n` zones of these tests.
pub fn zone_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("z{i:04}.test.")).collect()
}

/// `n` zones created by a first apply, then each changed (its `www` address) and
/// committed: the next apply sends `n` UPDATEs. Returns each zone's serial on the primary
/// before the change.
pub fn changed_zones(env: &Env, n: usize) -> Vec<u32> {
    for z in zone_names(n) {
        env.zone(z.trim_end_matches('.'), &zone_yaml("192.0.2.1"));
    }
    env.commit(&format!("{n} zones"));
    env.apply(&[], 0);
    let before: Vec<u32> = zone_names(n)
        .iter()
        .map(|z| primary_serial(env, z).expect("served after the first apply"))
        .collect();
    for z in zone_names(n) {
        env.zone(z.trim_end_matches('.'), &zone_yaml("192.0.2.2"));
    }
    env.commit("every zone changed");
    before
}

/// The serial the primary serves for `zone`.
pub fn primary_serial(env: &Env, zone: &str) -> Option<u32> {
    env.soa(&env.servers()[0], zone).serving()
}

/// The serial the store records for each zone.
fn recorded_serials(env: &Env) -> std::collections::BTreeMap<String, u32> {
    let url = zonekeeper::store::db_url(&env.db).unwrap();
    block_on(async move {
        let s = zonekeeper::store::Store::open(&url).await.unwrap();
        let z = s.zone_map().await.unwrap();
        s.close().await;
        z.into_iter().map(|(name, z)| (name, z.serial)).collect()
    })
}

/// `apply --auto-approve` started, with a short progress interval.
fn start_apply(env: &Env, format: &str) -> Running {
    let mut cmd = env.command(&[
        "apply",
        "--auto-approve",
        "--verify-timeout",
        "20",
        "--format",
        format,
    ]);
    cmd.env("ZONEKEEPER_PROGRESS_INTERVAL_MS", "200");
    Running::spawn(cmd)
}

/// Waits until the primary serves a new serial for the first zone: UPDATEs are going out.
fn wait_for_updates(env: &Env, apply: &mut Running, before: &[u32]) {
    let first = zone_names(1).remove(0);
    apply.wait_until("the first zone's UPDATE", Duration::from_secs(120), |_| {
        primary_serial(env, &first).is_some_and(|s| s != before[0])
    });
}

/// After an interrupted apply: the store records exactly what the primary serves, some
/// zones were updated and some not (the apply stopped part way); then a new apply resumes
/// and every server serves every change.
fn assert_recorded_exactly_then_resumes(env: &Env, before: &[u32], context: &str) {
    let recorded = recorded_serials(env);
    let mut updated = 0;
    for (z, old) in zone_names(before.len()).iter().zip(before) {
        let served = primary_serial(env, z);
        assert_eq!(
            recorded.get(z).copied(),
            served,
            "{z}: the store records what the primary serves\n{context}"
        );
        updated += usize::from(served != Some(*old));
    }
    assert!(
        updated > 0,
        "some zones were updated before the stop\n{context}"
    );
    assert!(
        updated < before.len(),
        "the apply stopped part way ({updated} of {} updated)\n{context}",
        before.len()
    );
    let again = env.apply(&[], 0);
    assert!(
        text(&again).contains("Applied revision"),
        "{}",
        text(&again)
    );
    env.assert_converged("after resuming");
    let last = zone_names(before.len()).pop().unwrap();
    for z in [zone_names(1).remove(0), last] {
        let serials: Vec<Option<u32>> = env
            .servers()
            .iter()
            .map(|s| env.soa(s, &z).serving())
            .collect();
        assert!(
            serials[0].is_some() && serials.iter().all(|s| *s == serials[0]),
            "{z}: {serials:?}"
        );
        assert_ne!(serials[0], Some(before[0]), "{z} carries the change");
    }
}

/// One signal while UPDATEs go out: the message, the step finished and recorded, what was
/// done and how to resume, exit 130; the store says exactly what took effect.
/// With `json`, the report is the JSON one (`"state": "interrupted"`, checked against its
/// schema).
fn one_signal(db: Db, sig: &str, json: bool) {
    let env = Env::new(db);
    let before = changed_zones(&env, 400);
    let mut apply = start_apply(&env, if json { "json" } else { "text" });
    wait_for_updates(&env, &mut apply, &before);
    apply.signal(sig);
    let (code, out, err) = apply.finish(Duration::from_secs(60));
    let context = format!("{out}{err}");
    assert_eq!(code, Some(130), "{context}");
    assert!(
        err.contains("Interrupt received, finishing the current step…"),
        "{context}"
    );
    if json {
        let report: serde_json::Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}):\n{context}"));
        assert_eq!(report["state"], "interrupted", "{context}");
        assert_eq!(report["applied"], false, "{context}");
        assert!(report["left"].as_u64().is_some_and(|l| l > 0), "{context}");
        let schema =
            crate::schema::validator(&crate::schema::top().join("schema/output/apply.schema.json"));
        let why = crate::schema::why_not(&schema, &report);
        assert!(why.is_empty(), "{why:?}\n{context}");
    } else {
        assert!(
            out.contains("Interrupted: revision") && out.contains("is not applied yet"),
            "{context}"
        );
        assert!(
            out.contains("Run `zonekeeper apply` again to resume"),
            "{context}"
        );
        assert!(!context.contains("Applied revision"), "{context}");
    }
    assert_recorded_exactly_then_resumes(&env, &before, &context);
}

#[test]
fn sigint_during_apply_finishes_the_step_records_it_and_exits_130() {
    one_signal(Db::Sqlite, "INT", false);
}

#[test]
fn sigterm_during_apply_finishes_the_step_records_it_and_exits_130() {
    one_signal(Db::Postgres, "TERM", true);
}

/// A signal during the first apply of a fresh store, once the primary loaded the new
/// zones: exit 130, every zone the store records is served so, and the next apply (which
/// finds zones served that the store may not record yet) resumes and converges.
#[test]
fn sigint_while_zones_are_created_leaves_a_store_the_next_apply_resumes_from() {
    let env = Env::new(Db::Sqlite);
    for z in zone_names(400) {
        env.zone(z.trim_end_matches('.'), &zone_yaml("192.0.2.1"));
    }
    env.commit("400 zones");
    let mut apply = start_apply(&env, "text");
    let first = zone_names(1).remove(0);
    apply.wait_until("the zones loaded", Duration::from_secs(120), |_| {
        primary_serial(&env, &first).is_some()
    });
    apply.signal("INT");
    let (code, out, err) = apply.finish(Duration::from_secs(60));
    let context = format!("{out}{err}");
    assert_eq!(code, Some(130), "{context}");
    assert!(err.contains("Interrupt received"), "{context}");
    for (z, serial) in recorded_serials(&env) {
        assert_eq!(primary_serial(&env, &z), Some(serial), "{z}\n{context}");
    }
    let again = env.apply(&[], 0);
    assert!(
        text(&again).contains("Applied revision"),
        "{}",
        text(&again)
    );
    env.assert_converged("after resuming the creation");
    assert_eq!(recorded_serials(&env).len(), 400);
}

/// A second signal stops at once, even while the step under way cannot finish (the primary
/// hangs); the next apply resumes and converges.
#[test]
fn a_second_signal_exits_at_once_and_the_next_apply_resumes() {
    let mut env = Env::new(Db::Sqlite);
    let before = changed_zones(&env, 400);
    let mut apply = start_apply(&env, "text");
    wait_for_updates(&env, &mut apply, &before);
    let primary = env.servers()[0].clone();
    // the step under way now waits for a primary that does not answer
    env.lab.pause(&primary).unwrap();
    apply.signal("INT");
    apply.wait_until("the first signal's message", Duration::from_secs(10), |r| {
        r.stderr().contains("Interrupt received")
    });
    let sent = Instant::now();
    apply.signal("INT");
    let (code, out, err) = apply.finish(Duration::from_secs(30));
    let took = sent.elapsed();
    env.lab.resume(&primary).unwrap();
    let context = format!("{out}{err}");
    assert_eq!(code, Some(130), "{context}");
    assert!(err.contains("Second interrupt: stopping now"), "{context}");
    assert!(
        !out.contains("Interrupted: revision"),
        "no report: it did not wait for the step\n{context}"
    );
    assert!(
        took < Duration::from_secs(3),
        "exited at once, not after {took:?}"
    );
    let again = env.apply(&[], 0);
    assert!(
        text(&again).contains("Applied revision"),
        "{}",
        text(&again)
    );
    env.assert_converged("after a second signal");
}

/// `script(1)` running `command` on a pseudo-terminal (stdin, stdout and stderr), with its
/// own process id written to `pid_file` first; the child's exit code is script's.
pub fn on_pty(env: &Env, command: &str, pid_file: &Path, vars: &[(&str, &str)]) -> Running {
    let shell = format!("echo $$ > {}; exec {command}", pid_file.display());
    let mut cmd = Command::new("script");
    cmd.args(["-q", "-f", "-e", "-c", &shell, "/dev/null"])
        .current_dir(env.dir.path())
        .env("NO_COLOR", "1")
        .env_remove("ZONEKEEPER_DB")
        .env_remove("ZONEKEEPER_REPO")
        .envs(vars.iter().copied());
    // stdin stays open (a pipe nobody writes to): script keeps the terminal up
    Running::spawn_with(cmd, Stdio::piped())
}

/// The binary with `--repo` and `--db` of `env`, as a shell command line.
pub fn zk_line(env: &Env, args: &str) -> String {
    format!(
        "{} {args} --repo {} --db {}",
        env!("CARGO_BIN_EXE_zonekeeper"),
        env.repo.display(),
        env.db
    )
}

/// A signal while the prompt waits for an answer cancels: exit 130, nothing changed.
#[test]
fn a_signal_at_the_prompt_cancels_and_changes_nothing() {
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.1"));
    env.commit("a zone");
    let pid_file = env.dir.path().join("apply.pid");
    let mut apply = on_pty(&env, &zk_line(&env, "apply"), &pid_file, &[]);
    apply.wait_until("the prompt", Duration::from_secs(60), |r| {
        r.stdout().contains("Apply these changes?")
    });
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    signal(pid, "INT");
    let (code, out, err) = apply.finish(Duration::from_secs(30));
    let context = format!("{out}{err}");
    assert_eq!(code, Some(130), "{context}");
    assert!(out.contains("Apply cancelled"), "{context}");
    assert_eq!(
        primary_serial(&env, "a.test."),
        None,
        "the primary was not changed"
    );
    assert!(recorded_serials(&env).is_empty(), "nothing recorded");
    // the lock was let go: an apply now runs at once
    let again = env.apply(&[], 0);
    assert!(
        text(&again).contains("Applied revision"),
        "{}",
        text(&again)
    );
}
