//! Detached labs, for `zonekeeper lab up|down`: [`start_detached`] starts servers that
//! outlive the calling process, [`stop_detached`] finds them again through their pid files
//! (`<dir>/<name>/named.pid.run`) and stops them; and the `/proc` reading both kinds of lab
//! use to tell a live server from a gone one.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::error::{LabError, io_err};
use crate::process::{send_signal, spawn_named, wait_ready};
use crate::setup::{check_confs, ensure_loopback, write_lab_files};
use crate::spec::{LabServerSpec, LabSpec, normalize, validate};
use crate::{PID_FILE, STOP_TIMEOUT};

/// Starts a lab whose servers outlive the calling process (for `zonekeeper lab up`): each
/// `named` runs in its own session (`setsid`) and its pid is written to
/// `dir/<name>/named.pid.run`. Idempotent: a server whose pid file names a live named
/// running our configuration is left running (and continued, in case it was paused), and
/// its configuration is not rewritten; the others are configured and started. Returns once
/// every server answers.
///
/// Ports reserved by [`LabSpec::for_test`] are released: the running servers hold them.
pub fn start_detached(spec: LabSpec) -> Result<(), LabError> {
    let mut spec = spec;
    let result = start_detached_inner(&mut spec);
    spec.release_ports();
    result
}

fn start_detached_inner(spec: &mut LabSpec) -> Result<(), LabError> {
    normalize(spec)?;
    validate(spec)?;
    ensure_loopback(spec)?;
    let running: HashMap<String, u32> = spec
        .servers()
        .filter_map(|s| detached_pid(spec, &s.name).map(|pid| (s.name.clone(), pid)))
        .collect();
    write_lab_files(spec, &|name| !running.contains_key(name))?;
    let to_start: Vec<String> = spec
        .servers()
        .filter(|s| !running.contains_key(&s.name))
        .map(|s| s.name.clone())
        .collect();
    check_confs(spec, &to_start)?;

    let servers: Vec<LabServerSpec> = spec.servers().cloned().collect();
    let (primary, secondaries) = servers.split_at(1);
    for group in [primary, secondaries] {
        let mut started: Vec<(&LabServerSpec, Option<Child>)> = Vec::new();
        for server in group {
            match running.get(&server.name) {
                Some(&pid) => {
                    send_signal(pid, "CONT").map_err(|source| LabError::Signal {
                        server: server.name.clone(),
                        signal: "CONT",
                        pid,
                        source,
                    })?;
                    started.push((server, None));
                }
                None => started.push((server, Some(spawn_named(spec, server, true)?))),
            }
        }
        for (server, child) in started {
            match child {
                Some(mut child) => {
                    let result = wait_ready(spec, server, &mut || match child.try_wait() {
                        Ok(Some(status)) => Some(status.to_string()),
                        Ok(None) => None,
                        Err(e) => Some(format!("cannot wait for it: {e}")),
                    });
                    if result.is_err() {
                        let _ = child.kill();
                        let _ = child.wait();
                        remove_pid_file(spec, &server.name);
                    }
                    result?;
                    // Dropping the Child neither kills nor waits: the server runs on.
                }
                None => {
                    let pid = running.get(&server.name).copied().unwrap_or(0);
                    wait_ready(spec, server, &mut || {
                        (!pid_alive(pid)).then(|| "no longer running".to_string())
                    })?;
                }
            }
        }
    }
    Ok(())
}

/// Stops the servers of a lab started by [`start_detached`] (or left behind by a
/// [`Lab`](crate::Lab) whose process died), found through the pid files `dir/<name>/named.pid.run`. A pid is
/// signalled only if `/proc/PID/cmdline` names that server's `named.conf`. Each gets
/// SIGCONT and SIGTERM, up to [`STOP_TIMEOUT`] to exit, then SIGKILL; a zombie counts as
/// gone. A missing `dir` is not an error.
pub fn stop_detached(dir: &Path) -> Result<(), LabError> {
    let dir = match fs::canonicalize(dir) {
        Ok(dir) => dir,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(LabError::Io {
                action: "resolve",
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let entries = fs::read_dir(&dir).map_err(io_err("read directory", &dir))?;
    let mut pending: Vec<(u32, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_err("read directory", &dir))?;
        let server_dir = entry.path();
        let pid_file = server_dir.join(PID_FILE);
        let Ok(text) = fs::read_to_string(&pid_file) else {
            continue;
        };
        let conf = server_dir.join("named.conf");
        match text.trim().parse::<u32>() {
            Ok(pid) if pid_alive(pid) && cmdline_has(pid, &conf) => {
                let _ = send_signal(pid, "CONT");
                let _ = send_signal(pid, "TERM");
                pending.push((pid, pid_file));
            }
            _ => {
                let _ = fs::remove_file(&pid_file);
            }
        }
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    while !pending.is_empty() && Instant::now() < deadline {
        pending.retain(|(pid, pid_file)| {
            let alive = pid_alive(*pid);
            if !alive {
                let _ = fs::remove_file(pid_file);
            }
            alive
        });
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    for (pid, pid_file) in &pending {
        let _ = send_signal(*pid, "KILL");
        let _ = fs::remove_file(pid_file);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while pending.iter().any(|(pid, _)| pid_alive(*pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// The pid of a running named of this lab called `name`, from its pid file.
fn detached_pid(spec: &LabSpec, name: &str) -> Option<u32> {
    let text = fs::read_to_string(spec.server_dir(name).join(PID_FILE)).ok()?;
    let pid = text.trim().parse::<u32>().ok()?;
    (pid_alive(pid) && cmdline_has(pid, &spec.named_conf_path(name))).then_some(pid)
}

/// True while `pid` exists and is not a zombie (an exited process not yet reaped).
fn pid_alive(pid: u32) -> bool {
    if pid == 0 {
        return false;
    }
    !matches!(
        stat_state(Path::new(&format!("/proc/{pid}/stat"))),
        Some('Z' | 'X') | None
    )
}

/// The scheduler state letter of `/proc/PID/task/TID/stat` or `/proc/PID/stat`.
fn stat_state(stat_path: &Path) -> Option<char> {
    let stat = fs::read_to_string(stat_path).ok()?;
    // Format: "PID (COMM) STATE ..."; COMM may contain spaces and parentheses.
    let end = stat.rfind(')')?;
    stat[end + 1..].split_whitespace().next()?.chars().next()
}

/// Waits (up to 2 s) until every thread of `pid` is stopped (`stopped`) or none is.
pub(crate) fn wait_task_states(pid: u32, stopped: bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    let task_dir = PathBuf::from(format!("/proc/{pid}/task"));
    loop {
        let Ok(tasks) = fs::read_dir(&task_dir) else {
            return;
        };
        let done = tasks
            .flatten()
            .all(|task| match stat_state(&task.path().join("stat")) {
                Some('T' | 't') => stopped,
                Some('Z' | 'X') | None => true,
                Some(_) => !stopped,
            });
        if done || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether `/proc/PID/cmdline` has `path` as one of its arguments.
fn cmdline_has(pid: u32, path: &Path) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let want = path.as_os_str().as_encoded_bytes();
    cmdline.split(|&b| b == 0).any(|arg| arg == want)
}

pub(crate) fn remove_pid_file(spec: &LabSpec, name: &str) {
    let _ = fs::remove_file(spec.server_dir(name).join(PID_FILE));
}
