//! zonekeeper keeps a fleet of authoritative DNS servers (one hidden primary and groups of
//! secondaries fed by catalog zones) in line with a desired state held in Git.
//!
//! # Layout
//!
//! - [`model`]: names, TTLs, serials, RRsets, zones, servers and groups. Pure data, no I/O.
//! - [`desired`]: reads the desired state from a Git revision, parses YAML with source
//!   spans and validates it; errors are miette diagnostics pointing at `file:line:col`.
//! - [`store`]: the recorded state (SQLite by default, PostgreSQL for teams).
//! - [`clock`]: the clock the executor reads and waits on (simulated in tests).
//! - [`live`]: probes of what the servers really answer (SOA serial, AA flag).
//! - [`plan`]: the pure diff of desired against recorded, and its rendering.
//! - [`backend`]: how changes reach the servers: TSIG-signed RFC 2136 UPDATEs, catalog
//!   zones (RFC 9432), the primary's rendered configuration and `rndc`.
//! - [`apply`]: the executor that carries a plan out, verifies it and records it.
//! - [`health`]: the sweep that asks every server about each of its zones and records
//!   each server's state (OK, RETRY, BROKEN) and the zones it lags on.
//! - [`drift`]: zones the primary serves other than recorded, found by transfer, and how
//!   the operator resolves them.
//! - [`import`]: bringing an existing fleet in: zone files, `named.conf`, transfers.
//! - [`progress`]: how far an apply is, counted by the driver; [`stop`]: SIGINT/SIGTERM
//!   asking `apply` and the daemon to stop after the step under way.
//!
//! The throw-away BIND lab of the demo and the tests is the workspace crate `zonekeeper-lab`
//! (`crates/lab`); the `lab` command (`cli::lab`, cargo feature `lab`, on by default) uses it.

pub mod apply;
pub mod backend;
pub mod cli;
pub mod clock;
pub mod desired;
pub mod drift;
pub mod health;
pub mod import;
pub mod live;
pub mod model;
pub mod plan;
pub mod procedures;
pub mod progress;
pub mod stop;
pub mod store;
