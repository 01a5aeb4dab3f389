//! A throw-away BIND 9 lab on loopback: one primary `named` and N secondary `named`
//! processes, each with its own directory, configuration, log, rndc control port and rndc
//! key. The secondaries follow the primary through catalog zones (RFC 9432, BIND 9.18
//! `catalog-zones`).
//!
//! The lab does not create the primary's zones: the primary's `named.conf` includes
//! `<include_dir>/zones.conf`, which another part of zonekeeper writes (zone stanzas and
//! zone files) before it runs `rndc reconfig`. The lab only creates that file, empty, when
//! it is absent.
//!
//! Two ways to run a lab:
//!
//! - [`Lab`] owns its `named` processes as [`std::process::Child`] handles, waits for them
//!   (no zombies) and stops them when dropped. The integration tests use it, usually with a
//!   spec from [`LabSpec::for_test`], which picks ports that no other lab of this machine
//!   uses, so that many labs can run at once.
//! - [`start_detached`] and [`stop_detached`] start servers that outlive the calling process
//!   and find them again through pid files (`<dir>/<name>/named.pid.run`); the
//!   `zonekeeper lab up` demo uses them.
//!
//! Layout of a server's directory `<dir>/<name>/`: `named.conf`, `rndc.key`, `rndc.conf`,
//! `named.log` (the server's log, see [`Lab::log_text`]), `named.out` (its stdout and
//! stderr), `named.pid` (written by named), `named.pid.run` (written by the lab),
//! `session.key`, and on secondaries `catz/` (catalog member zones) and the catalog zone
//! files.
//!
//! Facts this module relies on (BIND 9.18): named listens only on addresses configured on
//! an interface, so secondaries' addresses such as 127.0.0.2 are added to `lo`; with `-f`
//! named stays in the foreground and still logs per its `logging` block, but messages from
//! before the configuration is read go to syslog, so the configuration is checked with
//! `named-checkconf` first; and `rndc` against a stopped (SIGSTOP) server hangs for 60 s,
//! so [`Lab::rndc`] gives up after 5 s.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, UdpSocket};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The secondaries' default `serial-query-rate` (BIND's own default is 20 per second).
pub const DEFAULT_SERIAL_QUERY_RATE: u32 = 1000;

/// The `named` binary every lab server runs.
pub const NAMED_PATH: &str = "/usr/sbin/named";

/// How long a starting server may take to answer its first DNS query.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// How long [`Lab::rndc`] waits for `rndc` before it kills it.
pub const RNDC_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a stop waits after SIGTERM before it sends SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Interval between readiness probes.
const READY_POLL: Duration = Duration::from_millis(20);

/// How long one readiness probe waits for an answer.
const READY_PROBE_TIMEOUT: Duration = Duration::from_millis(50);

/// Ports [`LabSpec::for_test`] picks from. The range ends below Linux's default ephemeral
/// range (32768-60999), from which named picks its own random query ports and the kernel
/// picks client ports, so a lab's listening port never collides with one of those.
pub const TEST_PORT_FIRST: u16 = 20000;
/// The last port of that range.
pub const TEST_PORT_LAST: u16 = 32000;

/// How many candidate ports [`LabSpec::for_test`] tries before it gives up.
const TEST_PORT_TRIES: usize = 4000;

/// Name of the pid file the lab writes next to each server's configuration.
const PID_FILE: &str = "named.pid.run";

/// One `named` server of a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabServerSpec {
    /// Name of the server; also the name of its directory under [`LabSpec::dir`]
    /// (letters, digits, `-`, `_` and `.` only).
    pub name: String,
    /// Address the server listens on (and sends NOTIFY, SOA queries and transfers from).
    pub addr: Ipv4Addr,
    /// DNS port, UDP and TCP.
    pub port: u16,
    /// rndc control port, on 127.0.0.1.
    pub rndc_port: u16,
}

impl LabServerSpec {
    /// The address and port the server answers DNS queries on.
    pub fn dns_addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.addr, self.port))
    }
}

/// Everything needed to build a lab: where it lives, its servers, its catalogs and keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabSpec {
    /// Lab root; each server gets `dir/<name>/`. Made absolute when the lab starts.
    pub dir: PathBuf,
    /// The primary, which serves the zones of `<include_dir>/zones.conf` and the catalogs.
    pub primary: LabServerSpec,
    /// The secondaries, which follow the primary through the catalogs.
    pub secondaries: Vec<LabServerSpec>,
    /// Catalog zone names (e.g. `catalog.default.zonekeeper.`) that every secondary consumes
    /// from the primary; with or without the trailing dot.
    pub catalogs: Vec<String>,
    /// Per secondary (by name), the catalogs it consumes instead of `catalogs`: a secondary
    /// serves only the groups it belongs to.
    pub secondary_catalogs: std::collections::BTreeMap<String, Vec<String>>,
    /// Name of the TSIG key (hmac-sha256) used for transfers and UPDATEs, e.g. `zonekeeper`.
    pub tsig_key_name: String,
    /// BIND key file holding the TSIG key; created if absent, kept if present.
    pub tsig_key_file: PathBuf,
    /// Where the primary's `rndc.conf` is written (zonekeeper runs `rndc -c <this>`).
    pub primary_rndc_conf: PathBuf,
    /// Directory of `zones.conf`, which the primary's `named.conf` includes; the directory
    /// and an empty `zones.conf` are created if absent.
    pub include_dir: PathBuf,
    /// The secondaries' `serial-query-rate` (see [`DEFAULT_SERIAL_QUERY_RATE`]).
    pub serial_query_rate: u32,
}

impl LabSpec {
    /// A spec for tests: primary `ns0` on 127.0.0.1, secondaries `ns1`, `ns2`, ... on
    /// 127.0.0.2, 127.0.0.3, ..., all on one DNS port that is free on all those addresses
    /// (UDP and TCP), and rndc ports that are free too. The key file (`dir/tsig.key`, key
    /// `zonekeeper`), the primary's rndc.conf (`dir/ns0/rndc.conf`) and the include
    /// directory (`dir/include`) all live under `dir`.
    ///
    /// Safe to call from many threads and processes at once: each port is reserved with a
    /// lock file under `std::env::temp_dir()/zonekeeper-lab-ports/`, held (with `flock`) by
    /// this process until the [`Lab`] started from the spec is dropped, which removes the
    /// file. A lock file left behind by a process that died is unlocked and is taken over.
    /// If no lab is started from the spec, its ports stay reserved until the process exits.
    pub fn for_test(
        dir: &Path,
        n_secondaries: usize,
        catalogs: Vec<String>,
    ) -> Result<LabSpec, LabError> {
        if n_secondaries > 253 {
            return Err(LabError::InvalidSpec {
                reason: format!("{n_secondaries} secondaries do not fit in 127.0.0.2-127.0.0.254"),
            });
        }
        let addrs: Vec<Ipv4Addr> = (0..=n_secondaries)
            .map(|i| Ipv4Addr::new(127, 0, 0, (i + 1) as u8))
            .collect();
        let ports = pick_test_ports(&addrs, n_secondaries + 1)?;
        let (dns_port, rndc_ports) = ports;
        let server = |i: usize| LabServerSpec {
            name: format!("ns{i}"),
            addr: addrs[i],
            port: dns_port,
            rndc_port: rndc_ports[i],
        };
        Ok(LabSpec {
            dir: dir.to_path_buf(),
            primary: server(0),
            secondaries: (1..=n_secondaries).map(server).collect(),
            catalogs,
            secondary_catalogs: Default::default(),
            tsig_key_name: "zonekeeper".to_string(),
            tsig_key_file: dir.join("tsig.key"),
            primary_rndc_conf: dir.join("ns0").join("rndc.conf"),
            include_dir: dir.join("include"),
            serial_query_rate: DEFAULT_SERIAL_QUERY_RATE,
        })
    }

    /// All servers, the primary first.
    pub fn servers(&self) -> impl Iterator<Item = &LabServerSpec> {
        std::iter::once(&self.primary).chain(self.secondaries.iter())
    }

    /// The server called `name`, if the lab has one.
    pub fn server(&self, name: &str) -> Option<&LabServerSpec> {
        self.servers().find(|s| s.name == name)
    }

    /// The directory of the server called `name`: `dir/<name>`.
    pub fn server_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The `named.conf` of the server called `name`.
    pub fn named_conf_path(&self, name: &str) -> PathBuf {
        self.server_dir(name).join("named.conf")
    }

    /// The `rndc.conf` that controls the server called `name`: [`LabSpec::primary_rndc_conf`]
    /// for the primary, `dir/<name>/rndc.conf` for the others.
    pub fn rndc_conf_path(&self, name: &str) -> PathBuf {
        if name == self.primary.name {
            self.primary_rndc_conf.clone()
        } else {
            self.server_dir(name).join("rndc.conf")
        }
    }

    /// The file the primary includes: `<include_dir>/zones.conf`.
    pub fn zones_conf_path(&self) -> PathBuf {
        self.include_dir.join("zones.conf")
    }

    /// A lab of one more primary, for this lab's secondaries to move to: `name` on `addr`
    /// with this lab's DNS port and TSIG key, in directory `dir`, with an rndc port of its
    /// own. Catalogs name primaries without a port, so the secondaries reach it on the port
    /// they use for everything (their `port` option).
    pub fn another_primary(
        &self,
        dir: &Path,
        name: &str,
        addr: Ipv4Addr,
    ) -> Result<LabSpec, LabError> {
        let (_, rndc) = pick_test_ports(&[], 1)?;
        let primary = LabServerSpec {
            name: name.to_string(),
            addr,
            port: self.primary.port,
            rndc_port: rndc[0],
        };
        Ok(LabSpec {
            dir: dir.to_path_buf(),
            primary,
            secondaries: Vec::new(),
            catalogs: Vec::new(),
            secondary_catalogs: Default::default(),
            tsig_key_name: self.tsig_key_name.clone(),
            tsig_key_file: self.tsig_key_file.clone(),
            primary_rndc_conf: dir.join(name).join("rndc.conf"),
            include_dir: dir.join("include"),
            serial_query_rate: self.serial_query_rate,
        })
    }

    /// Every port the spec uses (DNS ports, then rndc ports), without duplicates.
    fn ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self.servers().map(|s| s.port).collect();
        ports.extend(self.servers().map(|s| s.rndc_port));
        let mut seen = HashSet::new();
        ports.retain(|p| seen.insert(*p));
        ports
    }
}

/// Errors of the lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The spec is unusable (duplicate names or ports, bad characters, ...).
    #[error("invalid lab spec: {reason}")]
    InvalidSpec {
        /// What is wrong.
        reason: String,
    },
    /// A file or directory operation failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done, e.g. `write`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A command could not be run at all (missing binary, fork failure, ...).
    #[error("cannot run {command}")]
    Spawn {
        /// The command line.
        command: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `ip addr add ADDR/32 dev lo` failed.
    #[error("cannot add {addr} to lo (ip addr add): {output}")]
    AddAddress {
        /// The address.
        addr: Ipv4Addr,
        /// What `ip` printed.
        output: String,
    },
    /// A key file exists but holds no usable key.
    #[error("bad key file {}: {reason}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `named-checkconf` rejected a server's configuration.
    #[error("named-checkconf rejected {} of {server}: {output}", path.display())]
    CheckConf {
        /// The server.
        server: String,
        /// Its `named.conf`.
        path: PathBuf,
        /// What `named-checkconf` printed.
        output: String,
    },
    /// A `named` exited before it answered a query.
    #[error(
        "named {server} exited ({status}) before it answered; end of its named.out and named.log:\n{tail}"
    )]
    Exited {
        /// The server.
        server: String,
        /// Its exit status.
        status: String,
        /// The last lines of its `named.out` and `named.log`.
        tail: String,
    },
    /// A `named` did not answer a query in time.
    #[error("named {server} did not answer on {addr} within {} s; end of its named.out and named.log:\n{tail}", waited.as_secs())]
    NotReady {
        /// The server.
        server: String,
        /// Where it should have answered.
        addr: SocketAddr,
        /// How long the lab waited.
        waited: Duration,
        /// The last lines of its `named.out` and `named.log`.
        tail: String,
    },
    /// The lab has no server of that name.
    #[error("no server {name} in this lab")]
    UnknownServer {
        /// The name asked for.
        name: String,
    },
    /// The server is not running (never started, killed or stopped).
    #[error("named {server} is not running")]
    NotRunning {
        /// The server.
        server: String,
    },
    /// Sending a signal to a server failed.
    #[error("cannot send SIG{signal} to named {server} (pid {pid})")]
    Signal {
        /// The server.
        server: String,
        /// The signal, e.g. `STOP`.
        signal: &'static str,
        /// The server's pid.
        pid: u32,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Waiting for a server's process failed.
    #[error("cannot wait for named {server}")]
    Wait {
        /// The server.
        server: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `rndc` exited with an error.
    #[error("rndc {args} on {server} failed ({status}): {output}")]
    Rndc {
        /// The server.
        server: String,
        /// The rndc arguments.
        args: String,
        /// rndc's exit status.
        status: String,
        /// What rndc printed (stderr, then stdout).
        output: String,
    },
    /// `rndc` did not finish in time (the server is probably stopped or hung) and was killed.
    #[error("rndc {args} on {server} did not finish within {} s", timeout.as_secs())]
    RndcTimeout {
        /// The server.
        server: String,
        /// The rndc arguments.
        args: String,
        /// How long it was given.
        timeout: Duration,
    },
    /// [`LabSpec::for_test`] found no free ports.
    #[error("no free ports for a lab in {first}-{last} after {tries} tries")]
    NoFreePorts {
        /// First port of the range searched.
        first: u16,
        /// Last port of the range searched.
        last: u16,
        /// How many candidates were tried.
        tries: usize,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> LabError + use<> {
    let path = path.to_path_buf();
    move |source| LabError::Io {
        action,
        path,
        source,
    }
}

fn spawn_err(command: &Command) -> impl FnOnce(io::Error) -> LabError + '_ {
    move |source| LabError::Spawn {
        command: command_line(command),
        source,
    }
}

fn command_line(command: &Command) -> String {
    let mut line = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

// ---------------------------------------------------------------------------------------
// The owned lab

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
        release_ports(&self.spec);
    }
}

// ---------------------------------------------------------------------------------------
// Detached labs

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
    release_ports(&spec);
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

/// Stops the servers of a lab started by [`start_detached`] (or left behind by a [`Lab`]
/// whose process died), found through the pid files `dir/<name>/named.pid.run`. A pid is
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
fn wait_task_states(pid: u32, stopped: bool) {
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

fn remove_pid_file(spec: &LabSpec, name: &str) {
    let _ = fs::remove_file(spec.server_dir(name).join(PID_FILE));
}

// ---------------------------------------------------------------------------------------
// Processes

/// Path of a BIND tool: /usr/sbin or /usr/bin if there, else looked up in PATH.
fn tool(name: &str) -> PathBuf {
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
fn send_signal(pid: u32, signal: &str) -> io::Result<()> {
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
fn spawn_named(spec: &LabSpec, server: &LabServerSpec, detached: bool) -> Result<Child, LabError> {
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
fn wait_ready(
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
fn run_with_timeout(
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

// ---------------------------------------------------------------------------------------
// DNS probe

/// What a server answered to [`probe_soa`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeAnswer {
    /// The response code (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED, ...).
    pub rcode: u8,
    /// The AA (authoritative answer) bit.
    pub authoritative: bool,
    /// The TC (truncated) bit.
    pub truncated: bool,
    /// Number of records in the answer section.
    pub answer_count: u16,
}

/// Sends one non-recursive `qname IN SOA` query over UDP (a hand-built message, no TSIG)
/// and returns the header of the answer. Errors: the name is not valid, nothing answered
/// within `timeout` (`TimedOut`), or the port is closed (`ConnectionRefused`).
pub fn probe_soa(server: SocketAddr, qname: &str, timeout: Duration) -> io::Result<ProbeAnswer> {
    static NEXT_ID: AtomicU32 = AtomicU32::new(0);
    let id = (NEXT_ID.fetch_add(1, Ordering::Relaxed) as u16) ^ (std::process::id() as u16);
    let query = build_query(id, qname, 6)?;
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)?;
    // Connected, so that an ICMP port-unreachable shows up as ConnectionRefused at once.
    socket.connect(server)?;
    socket.send(&query)?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer"));
        }
        socket.set_read_timeout(Some(left))?;
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer"));
            }
            Err(e) => return Err(e),
        };
        if n >= 12 && buf[0..2] == id.to_be_bytes() && buf[2] & 0x80 != 0 {
            return Ok(ProbeAnswer {
                rcode: buf[3] & 0x0f,
                authoritative: buf[2] & 0x04 != 0,
                truncated: buf[2] & 0x02 != 0,
                answer_count: u16::from_be_bytes([buf[6], buf[7]]),
            });
        }
    }
}

/// A DNS query message: header (one question, RD=0) and the question.
fn build_query(id: u16, qname: &str, qtype: u16) -> io::Result<Vec<u8>> {
    let mut msg = Vec::with_capacity(12 + qname.len() + 6);
    msg.extend_from_slice(&id.to_be_bytes());
    msg.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in qname
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        if label.len() > 63 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("label longer than 63 bytes in {qname:?}"),
            ));
        }
        msg.push(label.len() as u8);
        msg.extend_from_slice(label.as_bytes());
    }
    msg.push(0);
    if msg.len() > 12 + 255 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("name too long: {qname:?}"),
        ));
    }
    msg.extend_from_slice(&qtype.to_be_bytes());
    msg.extend_from_slice(&1u16.to_be_bytes()); // class IN
    Ok(msg)
}

// ---------------------------------------------------------------------------------------
// Spec checks and files

/// Makes the spec's paths absolute (named changes into its `directory`); creates `dir`.
fn normalize(spec: &mut LabSpec) -> Result<(), LabError> {
    fs::create_dir_all(&spec.dir).map_err(io_err("create directory", &spec.dir))?;
    spec.dir = fs::canonicalize(&spec.dir).map_err(io_err("resolve", &spec.dir))?;
    for path in [
        &mut spec.tsig_key_file,
        &mut spec.primary_rndc_conf,
        &mut spec.include_dir,
    ] {
        *path = std::path::absolute(&*path).map_err(io_err("resolve", path))?;
    }
    Ok(())
}

fn validate(spec: &LabSpec) -> Result<(), LabError> {
    let bad = |reason: String| Err(LabError::InvalidSpec { reason });
    let mut names = HashSet::new();
    let mut dns = HashSet::new();
    let mut rndc = HashSet::new();
    for s in spec.servers() {
        let name_ok = !s.name.is_empty()
            && s.name != "."
            && s.name != ".."
            && s.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return bad(format!("server name {:?} is not a plain file name", s.name));
        }
        if !names.insert(s.name.as_str()) {
            return bad(format!("two servers are called {}", s.name));
        }
        if s.port == 0 || s.rndc_port == 0 {
            return bad(format!("server {} has port 0", s.name));
        }
        if !dns.insert((s.addr, s.port)) {
            return bad(format!("two servers listen on {}", s.dns_addr()));
        }
        if !rndc.insert(s.rndc_port) {
            return bad(format!("rndc port {} is used twice", s.rndc_port));
        }
    }
    for s in spec.servers() {
        if s.addr == Ipv4Addr::LOCALHOST && rndc.contains(&s.port) {
            return bad(format!(
                "port {} of {} is also an rndc port on 127.0.0.1",
                s.port, s.name
            ));
        }
    }
    let word_ok = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | ';' | '{' | '}' | '\\'))
    };
    if !word_ok(&spec.tsig_key_name) {
        return bad(format!("TSIG key name {:?}", spec.tsig_key_name));
    }
    for cat in spec
        .catalogs
        .iter()
        .chain(spec.secondary_catalogs.values().flatten())
    {
        if !word_ok(cat.trim_end_matches('.')) || cat.contains('/') {
            return bad(format!("catalog zone name {cat:?}"));
        }
    }
    for path in [
        &spec.dir,
        &spec.tsig_key_file,
        &spec.primary_rndc_conf,
        &spec.include_dir,
    ] {
        let text = path.to_string_lossy();
        if text.contains('"') || text.contains('\\') || path.to_str().is_none() {
            return bad(format!("path {} cannot go in named.conf", path.display()));
        }
    }
    if spec.serial_query_rate == 0 {
        return bad("serial-query-rate 0".to_string());
    }
    Ok(())
}

/// Adds each loopback address of the lab that `lo` lacks (`ip addr add A/32 dev lo`):
/// named listens only on addresses configured on an interface. "File exists" (another lab
/// was faster) is fine. Addresses are never removed: parallel labs share them.
fn ensure_loopback(spec: &LabSpec) -> Result<(), LabError> {
    static LOCK: Mutex<()> = Mutex::new(());
    let mut wanted: Vec<Ipv4Addr> = spec
        .servers()
        .map(|s| s.addr)
        .filter(|a| a.is_loopback() && *a != Ipv4Addr::LOCALHOST)
        .collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(());
    }
    let _guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut show = Command::new("ip");
    show.args(["-4", "-o", "addr", "show", "dev", "lo"]);
    let output = show.output().map_err(spawn_err(&show))?;
    let listing = String::from_utf8_lossy(&output.stdout);
    let present: HashSet<Ipv4Addr> = listing
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            words.find(|w| *w == "inet")?;
            words.next()?.split('/').next()?.parse().ok()
        })
        .collect();
    for addr in wanted.into_iter().filter(|a| !present.contains(a)) {
        let mut add = Command::new("ip");
        add.args(["addr", "add", &format!("{addr}/32"), "dev", "lo"]);
        let output = add.output().map_err(spawn_err(&add))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() && !stderr.contains("File exists") {
            return Err(LabError::AddAddress {
                addr,
                output: stderr.trim().to_string(),
            });
        }
        tracing::debug!(%addr, "added loopback address");
    }
    Ok(())
}

/// Writes keys, `zones.conf` (if absent) and every configuration; `named.conf` only for the
/// servers `configure` accepts (not for running detached servers), rndc.conf for all.
fn write_lab_files(spec: &LabSpec, configure: &dyn Fn(&str) -> bool) -> Result<(), LabError> {
    ensure_key_file(&spec.tsig_key_file, &spec.tsig_key_name)?;
    fs::create_dir_all(&spec.include_dir).map_err(io_err("create directory", &spec.include_dir))?;
    let zones_conf = spec.zones_conf_path();
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&zones_conf)
    {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(LabError::Io {
                action: "create",
                path: zones_conf,
                source,
            });
        }
    }
    for server in spec.servers() {
        let dir = spec.server_dir(&server.name);
        fs::create_dir_all(&dir).map_err(io_err("create directory", &dir))?;
        let key_name = rndc_key_name(server);
        let key_path = dir.join("rndc.key");
        ensure_key_file(&key_path, &key_name)?;
        let (_, secret) = read_key_file(&key_path)?;
        let rndc_conf = format!(
            "// rndc.conf for {name} of a zonekeeper lab; generated by zonekeeper::lab.\n\
             {key}\
             options {{\n  default-key \"{key_name}\";\n  default-server 127.0.0.1;\n  default-port {port};\n}};\n",
            name = server.name,
            key = key_text(&key_name, &secret),
            port = server.rndc_port,
        );
        let mut rndc_paths = vec![dir.join("rndc.conf")];
        if server.name == spec.primary.name && spec.primary_rndc_conf != rndc_paths[0] {
            rndc_paths.push(spec.primary_rndc_conf.clone());
        }
        for path in rndc_paths {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
            }
            write_private(&path, &rndc_conf)?;
        }
        if !configure(&server.name) {
            continue;
        }
        let conf = if server.name == spec.primary.name {
            primary_conf(spec, server)
        } else {
            let catz = dir.join("catz");
            fs::create_dir_all(&catz).map_err(io_err("create directory", &catz))?;
            secondary_conf(spec, server)
        };
        let conf_path = spec.named_conf_path(&server.name);
        fs::write(&conf_path, conf).map_err(io_err("write", &conf_path))?;
    }
    Ok(())
}

/// Runs `named-checkconf` on the named servers' configurations, in parallel.
fn check_confs(spec: &LabSpec, names: &[String]) -> Result<(), LabError> {
    let results: Vec<Result<(), LabError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = names
            .iter()
            .map(|name| scope.spawn(move || check_conf(spec, name)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(LabError::InvalidSpec {
                        reason: "named-checkconf thread panicked".to_string(),
                    })
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

fn check_conf(spec: &LabSpec, name: &str) -> Result<(), LabError> {
    let path = spec.named_conf_path(name);
    let mut command = Command::new(tool("named-checkconf"));
    command.arg(&path);
    let output = command.output().map_err(spawn_err(&command))?;
    if output.status.success() {
        return Ok(());
    }
    Err(LabError::CheckConf {
        server: name.to_string(),
        path,
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .trim()
        .to_string(),
    })
}

fn rndc_key_name(server: &LabServerSpec) -> String {
    format!("rndc-{}", server.name)
}

fn key_text(name: &str, secret: &str) -> String {
    format!("key \"{name}\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{secret}\";\n}};\n")
}

/// Creates a BIND key file with a fresh hmac-sha256 secret (32 bytes from /dev/urandom)
/// unless a non-empty one exists; an existing one must define the key `name`.
fn ensure_key_file(path: &Path, name: &str) -> Result<(), LabError> {
    match fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => {
            let (found, _) = read_key_file(path)?;
            if !found
                .trim_end_matches('.')
                .eq_ignore_ascii_case(name.trim_end_matches('.'))
            {
                return Err(LabError::KeyFile {
                    path: path.to_path_buf(),
                    reason: format!("it defines key {found:?}, not {name:?}"),
                });
            }
            return Ok(());
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(LabError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            });
        }
    }
    let mut secret = [0u8; 32];
    let urandom = Path::new("/dev/urandom");
    File::open(urandom)
        .and_then(|mut f| f.read_exact(&mut secret))
        .map_err(io_err("read", urandom))?;
    let text = key_text(name, &BASE64.encode(secret));
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err("create directory", parent))?;
    }
    // Write a temporary file, then link it into place: the key file appears complete, and
    // if a concurrent caller created it first, theirs is kept.
    let tmp = temp_sibling(path);
    write_private(&tmp, &text)?;
    let placed = match fs::hard_link(&tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            if fs::metadata(path).map(|m| m.len() == 0).unwrap_or(false) {
                fs::rename(&tmp, path).map_err(io_err("write", path))
            } else {
                Ok(())
            }
        }
        Err(source) => Err(LabError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        }),
    };
    let _ = fs::remove_file(&tmp);
    placed?;
    read_key_file(path).map(|_| ())
}

fn temp_sibling(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{file}.{}.{n}.tmp", std::process::id()))
}

/// Writes a file readable by its owner only (it holds a secret).
fn write_private(path: &Path, text: &str) -> Result<(), LabError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err("write", path))?;
    file.write_all(text.as_bytes())
        .map_err(io_err("write", path))
}

/// Reads the key name and base64 secret of a BIND key file.
fn read_key_file(path: &Path) -> Result<(String, String), LabError> {
    let text = fs::read_to_string(path).map_err(io_err("read", path))?;
    let bad = |reason: &str| LabError::KeyFile {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let quoted_after = |keyword: &str| -> Option<String> {
        let start = text.find(keyword)? + keyword.len();
        let rest = &text[start..];
        let open = rest.find('"')?;
        let rest = &rest[open + 1..];
        let close = rest.find('"')?;
        Some(rest[..close].to_string())
    };
    let name = quoted_after("key").ok_or_else(|| bad("no `key \"NAME\"`"))?;
    let secret = quoted_after("secret").ok_or_else(|| bad("no `secret \"...\"`"))?;
    if BASE64.decode(&secret).map(|s| s.is_empty()).unwrap_or(true) {
        return Err(bad("the secret is not base64"));
    }
    Ok((name, secret))
}

// ---------------------------------------------------------------------------------------
// named.conf

/// Key and control channel includes, and logging: the same for every server.
fn common_head(spec: &LabSpec, server: &LabServerSpec, role: &str) -> String {
    let dir = spec.server_dir(&server.name);
    format!(
        r#"// named.conf of {name}, the {role} of a zonekeeper lab.
// Generated by zonekeeper::lab; rewritten when the lab starts.
include "{tsig}";   // TSIG key "{tsig_name}" (hmac-sha256), shared by the lab
include "{dir}/rndc.key";   // key "{rndc_key}", for this server's control channel only
controls {{
  inet 127.0.0.1 port {rndc_port} allow {{ 127.0.0.1; }} keys {{ "{rndc_key}"; }};
}};
logging {{
  channel lab_log {{
    file "{dir}/named.log" versions 3 size 50m;
    // dynamic = info, or debug level N after `rndc trace N`
    severity dynamic;
    print-time yes;
    print-category yes;
    print-severity yes;
  }};
  category default {{ lab_log; }};
  category lame-servers {{ null; }};
}};
"#,
        name = server.name,
        tsig = spec.tsig_key_file.display(),
        tsig_name = spec.tsig_key_name,
        dir = dir.display(),
        rndc_key = rndc_key_name(server),
        rndc_port = server.rndc_port,
    )
}

/// Options shared by every server: own paths and addresses, authoritative only, and the
/// tuning that keeps tests fast.
fn common_options(spec: &LabSpec, server: &LabServerSpec) -> String {
    let dir = spec.server_dir(&server.name);
    format!(
        r#"  directory "{dir}";
  pid-file "{dir}/named.pid";
  session-keyfile "{dir}/session.key";   // the default is under /run/named, which may not exist
  listen-on port {port} {{ {addr}; }};
  listen-on-v6 {{ none; }};
  // Outgoing NOTIFY/SOA/AXFR from our own address: on lo the kernel would otherwise
  // pick 127.0.0.1 for everyone and address ACLs could not tell the servers apart.
  query-source address {addr};
  notify-source {addr};
  transfer-source {addr};
  recursion no;                 // authoritative only: an unknown zone gets REFUSED
  dnssec-validation no;         // no trust-anchor maintenance files
  allow-query {{ any; }};
  minimal-responses yes;
  // Test speed: little pacing of SOA queries and NOTIFYs, many parallel transfers.
  // serial-query-rate (default 20/s) paces a secondary's SOA refresh queries: 1000 new
  // zones are served in about 2 s at 1000/s; for 10,000 zones at once use 250 (about
  // 50 s, no failed refreshes): faster rates made a quarter of them fail and retry
  // about 25 s later.
  serial-query-rate {rate};
  notify-rate 10000;
  startup-notify-rate 10000;
  transfers-in 100;             // per secondary (default 10)
  transfers-per-ns 100;         // per secondary, from one primary (default 2)
  // The primary must allow at least the sum of its secondaries' transfers-in, or it
  // answers AXFR with SERVFAIL ("AXFR request denied: quota reached") and a never-loaded
  // secondary zone retries only after 45-60 s.
  transfers-out 1000;
  tcp-clients 1000;
  // The default TCP listen backlog is 10: hundreds of parallel AXFRs overflow it
  // (nstat TcpExtListenOverflows) and SYN retries add 1-15 s tails.
  tcp-listen-queue 1024;
  // Bursts of thousands of SOA queries overflow the default 208 KiB UDP buffer
  // (UdpRcvbufErrors; each loss costs a 5 s retry). Capped by net.core.rmem_max.
  udp-receive-buffer 4194304;
  // Short timers, so that a secondary that missed a NOTIFY catches up quickly (the
  // defaults min-refresh-time 300 and min-retry-time 500 would make it minutes).
  min-refresh-time 1;
  max-refresh-time 30;
  min-retry-time 1;
  max-retry-time 5;
"#,
        dir = dir.display(),
        port = server.port,
        addr = server.addr,
        rate = spec.serial_query_rate,
    )
}

fn primary_conf(spec: &LabSpec, server: &LabServerSpec) -> String {
    format!(
        r#"{head}options {{
{options}  allow-new-zones yes;          // rndc addzone/delzone
  allow-transfer {{ key "{key}"; }};   // AXFR/IXFR only with the TSIG key
  // NOTIFY goes only where a zone's own also-notify says (zonekeeper renders it per
  // zone), and at once: the default notify-delay of 5 s delays back-to-back changes.
  notify explicit;
  notify-delay 0;
}};
// The zones (catalogs included) are zonekeeper's: it writes this file and the zone
// files, then runs `rndc reconfig`.
include "{zones}";
"#,
        head = common_head(spec, server, "primary"),
        options = common_options(spec, server),
        key = spec.tsig_key_name,
        zones = spec.zones_conf_path().display(),
    )
}

fn secondary_conf(spec: &LabSpec, server: &LabServerSpec) -> String {
    secondary_conf_from(spec, server, &spec.primary)
}

/// A secondary's configuration, its catalogs transferred from `from`.
fn secondary_conf_from(spec: &LabSpec, server: &LabServerSpec, from: &LabServerSpec) -> String {
    let primary = format!(
        "{} port {} key \"{}\"",
        from.addr, from.port, spec.tsig_key_name
    );
    let catalogs: Vec<&str> = spec
        .secondary_catalogs
        .get(&server.name)
        .unwrap_or(&spec.catalogs)
        .iter()
        .map(|c| c.trim_end_matches('.'))
        .collect();
    let mut catalog_zones = String::new();
    if !catalogs.is_empty() {
        catalog_zones.push_str("  catalog-zones {\n");
        for cat in &catalogs {
            catalog_zones.push_str(&format!(
                "    zone \"{cat}\"\n      default-primaries {{ {primary}; }}\n      zone-directory \"catz\"\n      min-update-interval 0;\n"
            ));
        }
        catalog_zones.push_str("  };\n");
    }
    let mut zones = String::new();
    for cat in &catalogs {
        zones.push_str(&format!(
            "zone \"{cat}\" {{\n  type secondary;\n  file \"{cat}.db\";\n  primaries {{ {primary}; }};\n}};\n"
        ));
    }
    format!(
        r#"{head}options {{
{options}  allow-new-zones yes;          // rndc addzone/delzone
  // The port of primaries named without one, as catalog zones name them (primaries.ext).
  port {port};
  allow-transfer {{ none; }};
  notify no;                    // secondaries notify nobody
  allow-notify {{ {paddr}; }};    // NOTIFY from the primary
  // The member zones of each catalog (RFC 9432) are added and removed by named itself.
  // min-update-interval defaults to 5 s: catalog changes closer together wait for it
  // ("new zone version came too soon, deferring update"); 0 = never wait.
{catalog_zones}}};
// SOA refresh queries to the primary over TCP: under bursts (thousands of new zones)
// about 1 in 1000 UDP SOA replies got lost and cost a 5 s retry.
server {paddr} {{ tcp-only yes; }};
// The catalogs themselves.
{zones}"#,
        head = common_head(spec, server, "secondary"),
        options = common_options(spec, server),
        paddr = from.addr,
        port = server.port,
    )
}

// ---------------------------------------------------------------------------------------
// Test port reservation

/// Lock files this process holds, by port. The `File` keeps the `flock`.
fn reservations() -> MutexGuard<'static, HashMap<u16, File>> {
    static RESERVED: OnceLock<Mutex<HashMap<u16, File>>> = OnceLock::new();
    RESERVED
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn port_lock_dir() -> PathBuf {
    std::env::temp_dir().join("zonekeeper-lab-ports")
}

fn port_lock_path(port: u16) -> PathBuf {
    port_lock_dir().join(format!("{port}.lock"))
}

/// Tries to reserve `port` for this process: creates `<port>.lock` with `create_new` (or
/// opens a leftover one) and takes an exclusive `flock` on it. The lock is ours only if
/// the path still names the locked file afterwards (its owner may have removed it in
/// between). A lock held by a live process means the port is taken; the kernel drops the
/// locks of dead processes, so their leftover files are taken over. The lock directory is
/// created here, so a fresh machine (an empty `TMPDIR`) needs nothing made beforehand.
pub fn try_reserve_port(port: u16) -> Result<bool, LabError> {
    let mut reserved = reservations();
    if reserved.contains_key(&port) {
        return Ok(false);
    }
    let lock_dir = port_lock_dir();
    fs::create_dir_all(&lock_dir).map_err(io_err("create directory", &lock_dir))?;
    let path = port_lock_path(port);
    let file = match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            match OpenOptions::new().write(true).open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
                Err(source) => {
                    return Err(LabError::Io {
                        action: "open",
                        path,
                        source,
                    });
                }
            }
        }
        Err(source) => {
            return Err(LabError::Io {
                action: "create",
                path,
                source,
            });
        }
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Ok(false),
        Err(fs::TryLockError::Error(source)) => {
            return Err(LabError::Io {
                action: "lock",
                path,
                source,
            });
        }
    }
    let same = match (file.metadata(), fs::metadata(&path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    };
    if !same {
        return Ok(false);
    }
    // For people looking at the directory: who holds it.
    let _ = file.set_len(0);
    let _ = (&file).write_all(format!("{}\n", std::process::id()).as_bytes());
    reserved.insert(port, file);
    Ok(true)
}

/// Releases a port this process reserved: removes the lock file while still holding the
/// lock, then drops the lock.
pub fn release_port(port: u16) {
    if let Some(file) = reservations().remove(&port) {
        let _ = fs::remove_file(port_lock_path(port));
        drop(file);
    }
}

fn release_ports(spec: &LabSpec) {
    for port in spec.ports() {
        release_port(port);
    }
}

/// Whether `port` can be bound on every address (TCP, and UDP if `udp`).
fn port_is_free(addrs: &[Ipv4Addr], port: u16, udp: bool) -> bool {
    addrs.iter().all(|&addr| {
        TcpListener::bind((addr, port)).is_ok() && (!udp || UdpSocket::bind((addr, port)).is_ok())
    })
}

/// Picks and reserves a DNS port free (UDP and TCP) on all `addrs` and `n_rndc` rndc ports
/// free (TCP) on 127.0.0.1.
fn pick_test_ports(addrs: &[Ipv4Addr], n_rndc: usize) -> Result<(u16, Vec<u16>), LabError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let span = u64::from(TEST_PORT_LAST - TEST_PORT_FIRST) + 1;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0);
    let seed = splitmix64(
        (u64::from(std::process::id()) << 32)
            ^ COUNTER
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x9e37_79b9)
            ^ nanos,
    );
    let start = seed % span;
    let mut candidates = (0..span).map(move |i| TEST_PORT_FIRST + ((start + i) % span) as u16);

    let mut taken: Vec<u16> = Vec::new();
    let mut tries = 0usize;
    let mut next =
        |addrs: &[Ipv4Addr], udp: bool, taken: &mut Vec<u16>| -> Result<bool, LabError> {
            for port in candidates.by_ref() {
                tries += 1;
                if tries > TEST_PORT_TRIES {
                    return Ok(false);
                }
                if !try_reserve_port(port)? {
                    continue;
                }
                if port_is_free(addrs, port, udp) {
                    taken.push(port);
                    return Ok(true);
                }
                release_port(port);
            }
            Ok(false)
        };
    // No addresses: rndc ports only.
    let mut ok = addrs.is_empty() || next(addrs, true, &mut taken)?;
    for _ in 0..n_rndc {
        if !ok {
            break;
        }
        ok = next(&[Ipv4Addr::LOCALHOST], false, &mut taken)?;
    }
    if !ok {
        for port in taken {
            release_port(port);
        }
        return Err(LabError::NoFreePorts {
            first: TEST_PORT_FIRST,
            last: TEST_PORT_LAST,
            tries: TEST_PORT_TRIES,
        });
    }
    if addrs.is_empty() {
        return Ok((0, taken));
    }
    let dns = taken[0];
    Ok((dns, taken[1..].to_vec()))
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_soa_query_is_17_bytes() {
        let q = build_query(0x1234, ".", 6).unwrap();
        assert_eq!(
            q,
            vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1]
        );
        let q = build_query(1, "catalog.test.", 6).unwrap();
        assert_eq!(&q[12..], b"\x07catalog\x04test\x00\x00\x06\x00\x01");
    }

    #[test]
    fn key_file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        ensure_key_file(&path, "zonekeeper").unwrap();
        let (name, secret) = read_key_file(&path).unwrap();
        assert_eq!(name, "zonekeeper");
        assert_eq!(BASE64.decode(&secret).unwrap().len(), 32);
        // kept when present
        ensure_key_file(&path, "zonekeeper").unwrap();
        assert_eq!(read_key_file(&path).unwrap().1, secret);
        assert!(matches!(
            ensure_key_file(&path, "other"),
            Err(LabError::KeyFile { .. })
        ));
    }

    #[test]
    fn port_lock_reserve_release_and_takeover() {
        // Find a port in the range that nobody holds right now.
        let port = (TEST_PORT_LAST - 50..=TEST_PORT_LAST)
            .find(|&p| try_reserve_port(p).unwrap())
            .unwrap();
        let path = port_lock_path(port);
        assert!(path.exists());
        // Held: neither this process nor another open file description gets it.
        assert!(!try_reserve_port(port).unwrap());
        let other = File::open(&path).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(other);
        release_port(port);
        assert!(!path.exists());
        // A leftover, unlocked file (its process died) is taken over.
        fs::write(&path, "999999\n").unwrap();
        assert!(try_reserve_port(port).unwrap());
        release_port(port);
        assert!(!path.exists());
    }
}
