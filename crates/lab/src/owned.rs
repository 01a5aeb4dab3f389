//! The owned lab: [`Lab`] starts its `named` processes as [`std::process::Child`]
//! handles, waits for them (no zombies), lets tests kill, pause, resume, restart and
//! `rndc` them, and stops them and releases its ports when dropped.

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::conf::secondary_conf_from;
use crate::detached::{remove_pid_file, wait_task_states};
use crate::error::{LabError, io_err};
use crate::keys::read_key_file;
use crate::probe::probe_soa;
use crate::process::{run_with_timeout, send_signal, spawn_named, tool, wait_ready};
use crate::setup::{check_conf, check_confs, ensure_loopback, write_lab_files};
use crate::spec::{LabServerSpec, LabSpec, normalize, validate};
use crate::{RNDC_TIMEOUT, STOP_TIMEOUT};

/// One server of a running [`Lab`].
#[derive(Debug)]
struct Server {
    spec: LabServerSpec,
    child: Option<Child>,
}

/// A running lab whose `named` processes belong to this process. Dropping it stops them
/// (see [`Lab::shutdown`]) and releases the ports [`LabSpec::for_test`] reserved.
#[derive(Debug)]
pub struct Lab {
    spec: LabSpec,
    servers: Vec<Server>,
}

impl Lab {
    /// Starts a lab: makes the paths absolute, adds missing loopback addresses to `lo`,
    /// writes keys and configurations, checks them with `named-checkconf`, starts the
    /// primary, then the secondaries, and waits until each answers a DNS query (any rcode).
    ///
    /// On error, whatever was started is stopped again.
    pub fn start(spec: LabSpec) -> Result<Lab, LabError> {
        let servers = spec
            .servers()
            .map(|s| Server {
                spec: s.clone(),
                child: None,
            })
            .collect();
        // From here on, Drop stops whatever runs and releases the ports.
        let mut lab = Lab { spec, servers };
        normalize(&mut lab.spec)?;
        validate(&lab.spec)?;
        ensure_loopback(&lab.spec)?;
        write_lab_files(&lab.spec, &|_| true)?;
        let names: Vec<String> = lab.servers.iter().map(|s| s.spec.name.clone()).collect();
        check_confs(&lab.spec, &names)?;
        lab.spawn(0)?;
        lab.wait_ready(0)?;
        for i in 1..lab.servers.len() {
            lab.spawn(i)?;
        }
        for i in 1..lab.servers.len() {
            lab.wait_ready(i)?;
        }
        Ok(lab)
    }

    /// The lab's spec, with absolute paths.
    pub fn spec(&self) -> &LabSpec {
        &self.spec
    }

    /// The base64 TSIG secret, read from [`LabSpec::tsig_key_file`].
    pub fn tsig_secret(&self) -> Result<String, LabError> {
        read_key_file(&self.spec.tsig_key_file).map(|(_, secret)| secret)
    }

    /// The address and port the server called `name` answers DNS queries on.
    pub fn dns_addr(&self, name: &str) -> Result<SocketAddr, LabError> {
        self.index(name).map(|i| self.servers[i].spec.dns_addr())
    }

    /// The pid of the server called `name`, if it has been started and not stopped or
    /// killed through the lab (it may have exited on its own since).
    pub fn pid(&self, name: &str) -> Option<u32> {
        let i = self.index(name).ok()?;
        self.servers[i].child.as_ref().map(Child::id)
    }

    /// Whether the server called `name` is running (possibly paused). Reaps it if it exited.
    pub fn is_running(&mut self, name: &str) -> Result<bool, LabError> {
        let i = self.index(name)?;
        Ok(self.running_child(i)?.is_some())
    }

    /// Whether the server called `name` answers a DNS query (any rcode) within `timeout`.
    pub fn answers(&self, name: &str, timeout: Duration) -> Result<bool, LabError> {
        let addr = self.dns_addr(name)?;
        Ok(probe_soa(addr, ".", timeout).is_ok())
    }

    /// Kills the server called `name` with SIGKILL and waits for it. Does nothing if it is
    /// not running.
    pub fn kill(&mut self, name: &str) -> Result<(), LabError> {
        let i = self.index(name)?;
        let server = &mut self.servers[i];
        if let Some(child) = server.child.as_mut() {
            let pid = child.id();
            // Fails only if the child was already reaped, which `wait` handles below.
            if let Err(source) = child.kill()
                && source.kind() != io::ErrorKind::InvalidInput
            {
                return Err(LabError::Signal {
                    server: server.spec.name.clone(),
                    signal: "KILL",
                    pid,
                    source,
                });
            }
            child.wait().map_err(|source| LabError::Wait {
                server: server.spec.name.clone(),
                source,
            })?;
            server.child = None;
        }
        remove_pid_file(&self.spec, name);
        Ok(())
    }

    /// Stops (SIGSTOP) the server called `name`: it keeps its sockets but answers nothing,
    /// like a hung server.
    /// Returns once all its threads are stopped (kill(2) returns before they are, and a
    /// thread still running could answer one more query).
    pub fn pause(&mut self, name: &str) -> Result<(), LabError> {
        let pid = self.signal_running(name, "STOP")?;
        wait_task_states(pid, true);
        Ok(())
    }

    /// Continues (SIGCONT) the server called `name` after [`Lab::pause`].
    pub fn resume(&mut self, name: &str) -> Result<(), LabError> {
        let pid = self.signal_running(name, "CONT")?;
        wait_task_states(pid, false);
        Ok(())
    }

    /// Stops the server called `name` cleanly: SIGCONT (a paused named ignores SIGTERM),
    /// SIGTERM, up to [`STOP_TIMEOUT`] for it to exit, then SIGKILL. Does nothing if it is
    /// not running.
    pub fn stop(&mut self, name: &str) -> Result<(), LabError> {
        let i = self.index(name)?;
        self.stop_indices(&[i]);
        Ok(())
    }

    /// Starts the server called `name` again after [`Lab::kill`] or [`Lab::stop`] (or after
    /// it died), with its existing configuration (checked again with `named-checkconf`, as
    /// the primary's `zones.conf` may have changed), and waits until it answers. A server
    /// that is running is only continued (SIGCONT) and checked.
    pub fn start_server(&mut self, name: &str) -> Result<(), LabError> {
        let i = self.index(name)?;
        if self.running_child(i)?.is_some() {
            self.resume(name)?;
        } else {
            ensure_loopback(&self.spec)?;
            check_confs(&self.spec, &[name.to_string()])?;
            self.spawn(i)?;
        }
        self.wait_ready(i)
    }

    /// Runs `rndc -c <rndc.conf of that server> ARGS...` and returns what it printed on
    /// stdout. Kills rndc after [`RNDC_TIMEOUT`] (rndc against a hung server hangs 60 s).
    pub fn rndc(&self, name: &str, args: &[&str]) -> Result<String, LabError> {
        self.index(name)?;
        let conf = self.spec.rndc_conf_path(name);
        let mut command = Command::new(tool("rndc"));
        command.arg("-c").arg(&conf).args(args);
        let joined = args.join(" ");
        match run_with_timeout(&mut command, RNDC_TIMEOUT)? {
            None => Err(LabError::RndcTimeout {
                server: name.to_string(),
                args: joined,
                timeout: RNDC_TIMEOUT,
            }),
            Some((status, stdout, _)) if status.success() => Ok(stdout),
            Some((status, stdout, stderr)) => Err(LabError::Rndc {
                server: name.to_string(),
                args: joined,
                status: status.to_string(),
                output: format!("{}{}", stderr, stdout).trim().to_string(),
            }),
        }
    }

    /// Points every secondary's catalog zones at `to` (another primary, see
    /// [`LabSpec::another_primary`]), as their operator would when the primary moves:
    /// rewrites their configuration and runs `rndc reconfig`.
    pub fn repoint_secondaries(&self, to: &LabServerSpec) -> Result<(), LabError> {
        for server in &self.spec.secondaries {
            let path = self.spec.named_conf_path(&server.name);
            fs::write(&path, secondary_conf_from(&self.spec, server, to))
                .map_err(io_err("write", &path))?;
            check_conf(&self.spec, &server.name)?;
            self.rndc(&server.name, &["reconfig"])?;
        }
        Ok(())
    }

    /// Every server's log, concatenated: for each server its `named.log` (older rotated
    /// versions first) and its `named.out`, each preceded by a `==> PATH <==` line. Tests
    /// grep it, e.g. for secrets that must not be logged.
    pub fn log_text(&self) -> String {
        let mut text = String::new();
        for server in &self.servers {
            let dir = self.spec.server_dir(&server.spec.name);
            let mut files: Vec<PathBuf> = (0..10)
                .rev()
                .map(|n| dir.join(format!("named.log.{n}")))
                .collect();
            files.push(dir.join("named.log"));
            files.push(dir.join("named.out"));
            for file in files {
                if let Ok(bytes) = fs::read(&file) {
                    text.push_str(&format!("==> {} <==\n", file.display()));
                    text.push_str(&String::from_utf8_lossy(&bytes));
                    if !text.ends_with('\n') {
                        text.push('\n');
                    }
                }
            }
        }
        text
    }

    /// Stops every server (SIGCONT and SIGTERM to all, up to [`STOP_TIMEOUT`] for them to
    /// exit, then SIGKILL) and waits for them. Called by `Drop`; calling it twice is fine.
    /// The files stay; the loopback addresses stay too (other labs may use them).
    pub fn shutdown(&mut self) {
        let all: Vec<usize> = (0..self.servers.len()).collect();
        self.stop_indices(&all);
    }

    fn index(&self, name: &str) -> Result<usize, LabError> {
        self.servers
            .iter()
            .position(|s| s.spec.name == name)
            .ok_or_else(|| LabError::UnknownServer {
                name: name.to_string(),
            })
    }

    /// The child of server `i` if it still runs; reaps it (and forgets it) if it exited.
    fn running_child(&mut self, i: usize) -> Result<Option<&mut Child>, LabError> {
        let server = &mut self.servers[i];
        let exited = match server.child.as_mut() {
            None => return Ok(None),
            Some(child) => child
                .try_wait()
                .map_err(|source| LabError::Wait {
                    server: server.spec.name.clone(),
                    source,
                })?
                .is_some(),
        };
        if exited {
            server.child = None;
            remove_pid_file(&self.spec, &self.servers[i].spec.name);
            return Ok(None);
        }
        Ok(self.servers[i].child.as_mut())
    }

    fn signal_running(&mut self, name: &str, signal: &'static str) -> Result<u32, LabError> {
        let i = self.index(name)?;
        let pid = match self.running_child(i)? {
            Some(child) => child.id(),
            None => {
                return Err(LabError::NotRunning {
                    server: name.to_string(),
                });
            }
        };
        send_signal(pid, signal).map_err(|source| LabError::Signal {
            server: name.to_string(),
            signal,
            pid,
            source,
        })?;
        Ok(pid)
    }

    fn spawn(&mut self, i: usize) -> Result<(), LabError> {
        let child = spawn_named(&self.spec, &self.servers[i].spec, false)?;
        self.servers[i].child = Some(child);
        Ok(())
    }

    fn wait_ready(&mut self, i: usize) -> Result<(), LabError> {
        let spec = &self.spec;
        let server = &mut self.servers[i];
        let name = server.spec.name.clone();
        let Some(child) = server.child.as_mut() else {
            return Err(LabError::NotRunning { server: name });
        };
        let result = wait_ready(spec, &server.spec, &mut || match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("cannot wait for it: {e}")),
        });
        if matches!(result, Err(LabError::Exited { .. })) {
            server.child = None;
            remove_pid_file(spec, &name);
        }
        result
    }

    /// Stops the given servers together: SIGCONT + SIGTERM to each, wait, SIGKILL.
    fn stop_indices(&mut self, indices: &[usize]) {
        let mut pending = Vec::new();
        for &i in indices {
            if let Some(child) = self.servers[i].child.as_mut() {
                if let Ok(None) = child.try_wait() {
                    let pid = child.id();
                    let _ = send_signal(pid, "CONT");
                    let _ = send_signal(pid, "TERM");
                }
                pending.push(i);
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            pending.retain(|&i| match self.servers[i].child.as_mut() {
                Some(child) => !matches!(child.try_wait(), Ok(Some(_)) | Err(_)),
                None => false,
            });
            if pending.is_empty() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        for &i in &pending {
            if let Some(child) = self.servers[i].child.as_mut() {
                let _ = child.kill();
            }
        }
        for &i in indices {
            if let Some(mut child) = self.servers[i].child.take() {
                let _ = child.wait();
            }
            remove_pid_file(&self.spec, &self.servers[i].spec.name);
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.shutdown();
        self.spec.release_ports();
    }
}
