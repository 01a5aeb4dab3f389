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
//! Facts this crate relies on (BIND 9.18): named listens only on addresses configured on
//! an interface, so secondaries' addresses such as 127.0.0.2 are added to `lo`; with `-f`
//! named stays in the foreground and still logs per its `logging` block, but messages from
//! before the configuration is read go to syslog, so the configuration is checked with
//! `named-checkconf` first; and `rndc` against a stopped (SIGSTOP) server hangs for 60 s,
//! so [`Lab::rndc`] gives up after 5 s.
//!
//! # Layout
//!
//! - `spec`: [`LabSpec`] and [`LabServerSpec`], test specs, and the checks a spec passes.
//! - `owned`: [`Lab`], the lab whose `named` processes belong to this process.
//! - `detached`: [`start_detached`] and [`stop_detached`], for `zonekeeper lab up|down`.
//! - `setup`: loopback addresses, key files, configuration files, `named-checkconf`.
//! - `conf`: the `named.conf` of the primary and of a secondary.
//! - `keys`: BIND key files (TSIG and rndc).
//! - `process`: starting `named`, signals, readiness, commands with a time limit.
//! - `probe`: [`probe_soa`], the SOA query the lab waits with (through `zonekeeper_query`,
//!   the one way zonekeeper asks a server).
//! - `ports`: test port reservation with lock files ([`try_reserve_port`]).
//! - `error`: [`LabError`].

use std::time::Duration;

mod conf;
mod detached;
mod error;
mod keys;
mod owned;
mod ports;
mod probe;
mod process;
mod setup;
mod spec;

pub use detached::{start_detached, stop_detached};
pub use error::LabError;
pub use owned::Lab;
pub use ports::{release_port, try_reserve_port};
pub use probe::{ProbeAnswer, probe_soa};
pub use spec::{LabServerSpec, LabSpec};

/// The secondaries' default `serial-query-rate` (BIND's own default is 20 per second).
pub const DEFAULT_SERIAL_QUERY_RATE: u32 = 1000;

/// The secondaries' default `max-refresh-time`, in seconds (BIND's own is four weeks): a
/// secondary that missed a NOTIFY catches up within 30 s. At tens of thousands of zones
/// use more ([`LabSpec::max_refresh_time`]): each zone's refresh is an SOA query.
pub const DEFAULT_MAX_REFRESH_TIME: u32 = 30;

/// The `named` binary every lab server runs.
pub const NAMED_PATH: &str = "/usr/sbin/named";

/// How long a starting server may take to answer its first DNS query.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// How long [`Lab::rndc`] waits for `rndc` before it kills it.
pub const RNDC_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a stop waits after SIGTERM before it sends SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Interval between readiness probes.
pub(crate) const READY_POLL: Duration = Duration::from_millis(20);

/// How long one readiness probe waits for an answer.
pub(crate) const READY_PROBE_TIMEOUT: Duration = Duration::from_millis(50);

/// Ports [`LabSpec::for_test`] picks from. The range ends below Linux's default ephemeral
/// range (32768-60999), from which named picks its own random query ports and the kernel
/// picks client ports, so a lab's listening port never collides with one of those.
pub const TEST_PORT_FIRST: u16 = 20000;
/// The last port of that range.
pub const TEST_PORT_LAST: u16 = 32000;

/// How many candidate ports [`LabSpec::for_test`] tries before it gives up.
pub(crate) const TEST_PORT_TRIES: usize = 4000;

/// Name of the pid file the lab writes next to each server's configuration.
pub(crate) const PID_FILE: &str = "named.pid.run";
