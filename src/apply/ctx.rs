//! What every part of the executor shares and depends on nothing else of it: the apply's
//! options and report, the context an operation's steps act in ([`Ctx`]), the connection to a primary, where servers answer, and the
//! crash-test boundary hook (`Ctx::boundary`; the real one is `effects::KillHook`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::catalogs;
use super::effects::{Control, Effects, Sender};
use super::error::ApplyError;
use crate::desired::DesiredState;
use crate::model::{Config, Primary};
use crate::store::{AuditEntry, Store};

/// How to apply.
#[derive(Debug, Clone)]
pub struct Options {
    /// Carry out deletions.
    pub allow_delete: bool,
    /// Take over zones the primary already serves although the store never recorded them.
    pub adopt: bool,
    /// How long servers get to serve a new serial.
    pub verify_timeout: Duration,
    /// Unix time now.
    pub now: i64,
    /// Today as YYYYMMDD.
    pub today: u32,
    /// The primary, the network and the clock (real ones but in the simulated fleet).
    pub effects: Effects,
    /// Asked to stop (SIGINT, SIGTERM): the step under way finishes and is recorded,
    /// nothing more starts. `None`: nobody can ask.
    pub stop: Option<crate::stop::Stop>,
    /// Counts what is done, for a progress display.
    pub meter: crate::progress::Meter,
}

impl Options {
    /// Whether a stop was asked for: start nothing more.
    pub fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(crate::stop::Stop::requested)
    }
}

/// What an apply did.
#[derive(Debug, Default)]
pub struct Report {
    /// Zones created on the primary.
    pub created: Vec<String>,
    /// Zones updated.
    pub updated: Vec<String>,
    /// Zones deleted.
    pub deleted: Vec<String>,
    /// Zones every server was seen serving.
    pub verified: Vec<String>,
    /// Deletions skipped for want of `--allow-delete`.
    pub skipped_deletes: Vec<String>,
    /// Failures, each naming zone and server.
    pub failures: Vec<String>,
    /// Whether the revision was recorded as applied.
    pub revision_recorded: bool,
    /// An operation waits at a closed gate: what for.
    pub waiting: Option<String>,
    /// When to look again (Unix seconds): the earliest wait or back-off end of the waiting
    /// operations; `None` when none waits for a time.
    pub requeue_at: Option<i64>,
    /// Secondaries zone changes did not wait for (the quorum held without them).
    pub missed: Vec<Missed>,
    /// A stop was asked for: the step under way finished and was recorded, nothing more
    /// started. How many zone operations were left (not started, or their gate not yet
    /// seen to hold) for the next apply.
    pub interrupted: Option<usize>,
}

/// A secondary zone changes did not wait for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Missed {
    /// Its name.
    pub server: String,
    /// Why: in maintenance, or BROKEN at the last check.
    pub why: String,
    /// How many zone changes it has to catch up on (recorded as lagging; sweeps verify
    /// it once it answers).
    pub zones: usize,
}

impl Report {
    /// Whether everything planned was done.
    pub fn complete(&self) -> bool {
        self.failures.is_empty()
            && self.skipped_deletes.is_empty()
            && self.waiting.is_none()
            && self.interrupted.is_none()
    }
}

/// Each server's checks in this run: how many passed, and the message of each that failed.
pub(super) type Health = BTreeMap<String, (usize, Vec<String>)>;

/// An audit entry of this revision: `action` on `target` at `now`.
pub(super) fn audit(
    desired: &DesiredState,
    now: i64,
    action: &str,
    target: &str,
    detail: String,
) -> AuditEntry {
    AuditEntry {
        at: now,
        commit_id: desired.revision.id.clone(),
        author: desired.revision.author.clone(),
        action: action.into(),
        target: target.into(),
        detail,
    }
}

/// A name from canonical text (the root when it does not parse).
pub(super) use crate::model::name_of as name;

/// The control channel of `primary` and a signed connection to it.
pub(super) async fn connect(
    opts: &Options,
    primary: &crate::model::Primary,
) -> Result<(Box<dyn Control>, Box<dyn Sender>), ApplyError> {
    opts.effects.connector.connect(primary).await
}

/// Where each group's secondaries answer.
pub(super) fn group_sockets(config: &Config, group: &str) -> Vec<(String, SocketAddr)> {
    config
        .group_secondaries(group)
        .into_iter()
        .flat_map(|s| s.sockets().into_iter().map(move |a| (s.name.clone(), a)))
        .collect()
}

/// Where a server answers: from the desired state, else as recorded.
pub(in crate::apply) async fn sockets(
    ctx: &Ctx<'_>,
    server: &str,
) -> Result<Vec<SocketAddr>, ApplyError> {
    if let Some(s) = ctx.desired.config.secondaries.get(server) {
        return Ok(s.sockets());
    }
    let rows = ctx.store.servers().await?;
    Ok(catalogs::server_sockets(&ctx.desired.config, &rows, server))
}

/// What an apply needs to drive operations.
pub struct Ctx<'a> {
    /// The store.
    pub store: &'a Store,
    /// The desired state (all zones: a membership change reloads every file).
    pub desired: &'a DesiredState,
    /// The primary changes go to: the desired one, or the old one while it moves away.
    pub primary: &'a Primary,
    /// The primary's configuration.
    pub control: &'a dyn Control,
    /// The signed connection to the primary.
    pub updater: &'a dyn Sender,
    /// Apply options (clock, verify timeout).
    pub opts: &'a Options,
}

impl Ctx<'_> {
    /// Unix time now, read from the clock (never before the apply's start): a step's
    /// finish, a wait's end and a back-off are counted from the moment they happen, not
    /// from the start of a long apply.
    pub fn now(&self) -> i64 {
        self.opts.effects.clock.unix().max(self.opts.now)
    }
}

impl Ctx<'_> {
    /// The crash-test boundary `what`: called right after a store write (see
    /// [`super::effects::Boundary`]).
    pub async fn boundary(&self, what: &str) {
        self.opts.effects.boundary(what).await;
    }
}
