//! [`LabError`], the lab's typed errors, and the helpers that build its I/O and spawn
//! variants.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

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
    /// [`LabSpec::for_test`](crate::LabSpec::for_test) found no free ports.
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

pub(crate) fn io_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(io::Error) -> LabError + use<> {
    let path = path.to_path_buf();
    move |source| LabError::Io {
        action,
        path,
        source,
    }
}

pub(crate) fn spawn_err(command: &Command) -> impl FnOnce(io::Error) -> LabError + '_ {
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
