//! Processes: finding BIND's tools, starting `named` (owned or in a session of its own),
//! sending signals, waiting until a server answers, and running a command with a time
//! limit (`rndc` against a hung server would hang 60 s).

use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::error::{LabError, io_err, spawn_err};
use crate::probe::probe_soa;
use crate::spec::{LabServerSpec, LabSpec};
use crate::{NAMED_PATH, PID_FILE, READY_POLL, READY_PROBE_TIMEOUT, READY_TIMEOUT};

/// Path of a BIND tool: /usr/sbin or /usr/bin if there, else looked up in PATH.
pub(crate) fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    PathBuf::from(name)
}

/// Sends a signal (by name, e.g. `TERM`) with the `kill` utility, which keeps this
/// module free of `unsafe` and of per-architecture signal numbers.
pub(crate) fn send_signal(pid: u32, signal: &str) -> io::Result<()> {
    let output = Command::new("kill")
        .arg("-s")
        .arg(signal)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "kill -s {signal} {pid}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Starts `named -f -n 1 -c <conf>` for one server, output appended to `named.out`, and
/// writes its pid file. `detached` puts it in a session of its own (`setsid`); otherwise
/// it gets a process group of its own, so a terminal's Ctrl-C reaches only the test.
pub(crate) fn spawn_named(
    spec: &LabSpec,
    server: &LabServerSpec,
    detached: bool,
) -> Result<Child, LabError> {
    let dir = spec.server_dir(&server.name);
    let out_path = dir.join("named.out");
    let out = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&out_path)
        .map_err(io_err("open", &out_path))?;
    let err = out.try_clone().map_err(io_err("open", &out_path))?;
    let mut command = if detached {
        let mut c = Command::new("setsid");
        c.arg(NAMED_PATH);
        c
    } else {
        let mut c = Command::new(NAMED_PATH);
        c.process_group(0);
        c
    };
    // -f: stay in the foreground (we keep the pid) and still log per the logging block
    // (-g would send everything to stderr). -n 1: one worker thread is plenty for tests.
    command
        .args(["-f", "-n", "1", "-c"])
        .arg(spec.named_conf_path(&server.name))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    let child = command.spawn().map_err(spawn_err(&command))?;
    let pid_path = dir.join(PID_FILE);
    fs::write(&pid_path, format!("{}\n", child.id())).map_err(io_err("write", &pid_path))?;
    Ok(child)
}

/// Polls the server with a DNS query every [`READY_POLL`] until it answers (any rcode),
/// `exited` reports that the process is gone, or [`READY_TIMEOUT`] passes.
pub(crate) fn wait_ready(
    spec: &LabSpec,
    server: &LabServerSpec,
    exited: &mut dyn FnMut() -> Option<String>,
) -> Result<(), LabError> {
    let start = Instant::now();
    let addr = server.dns_addr();
    loop {
        if probe_soa(addr, ".", READY_PROBE_TIMEOUT).is_ok() {
            tracing::debug!(server = %server.name, %addr, elapsed_ms = start.elapsed().as_millis() as u64, "lab server answers");
            return Ok(());
        }
        if let Some(status) = exited() {
            return Err(LabError::Exited {
                server: server.name.clone(),
                status,
                tail: server_tail(spec, &server.name),
            });
        }
        if start.elapsed() >= READY_TIMEOUT {
            return Err(LabError::NotReady {
                server: server.name.clone(),
                addr,
                waited: READY_TIMEOUT,
                tail: server_tail(spec, &server.name),
            });
        }
        std::thread::sleep(READY_POLL);
    }
}

/// The last lines of a server's `named.out` and `named.log`.
fn server_tail(spec: &LabSpec, name: &str) -> String {
    let dir = spec.server_dir(name);
    let mut text = String::new();
    for file in ["named.out", "named.log"] {
        let path = dir.join(file);
        let content = fs::read(&path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let lines: Vec<&str> = content.lines().collect();
        let from = lines.len().saturating_sub(15);
        text.push_str(&format!("--- {} ---\n", path.display()));
        for line in &lines[from..] {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

/// Runs a command with stdout and stderr captured; kills it after `timeout`. `None` means
/// it timed out.
pub(crate) fn run_with_timeout(
    command: &mut Command,
    timeout: Duration,
) -> Result<Option<(ExitStatus, String, String)>, LabError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(spawn_err(command))?;
    // Read both pipes on threads, so a chatty command cannot block on a full pipe.
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(source) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(spawn_err(command)(source));
            }
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok(status.map(|s| (s, stdout, stderr)))
}
