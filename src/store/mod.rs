//! The recorded state: what zonekeeper applied, kept in SQLite (default, a file in the
//! repository's `.zonekeeper/`) or PostgreSQL (`--db postgres://…`), through one set of runtime queries.
//!
//! It holds the applied revision, each zone's group, serial and canonical content, the
//! groups and servers as applied with their last check, an audit entry per applied change,
//! and the lock that keeps two applies apart ([`lock`]). Secrets are never stored.
//!
//! # Layout
//!
//! One file per concern, each adding its queries to [`Store`]; every public item is
//! re-exported here, so callers name `store::…` only.
//!
//! - this file: [`StoreError`] (and how a read-only or full store is recognised),
//!   [`Backend`], [`Store`] itself, and [`Store::dump_text`] for tests;
//! - `location.rs`: where the store is ([`Location`]: `--db`, or the default
//!   `<repository top>/.zonekeeper/zonekeeper.sqlite`), and the state directories made
//!   with a `.gitignore` ([`create_state_dir`]);
//! - `connect.rs`: reaching the store, and why it could not be reached in the operator's
//!   words ([`ConnectError`]: host and port, file, what to do; never the password);
//! - `open.rs`: redaction, [`Store::open`] and the list of
//!   migrations (their SQL lives in one tree, `migrations/NNNN_name.sql`, for both
//!   dialects; the dialect differences are placeholders rendered in `open.rs`);
//! - `zones.rs`: recorded zones ([`RecordedZone`]) and the zone intents written before an
//!   UPDATE is sent ([`ZoneIntent`]);
//! - `fleet.rs`: groups ([`GroupRow`]), servers and their health ([`ServerRow`]), and the
//!   primary;
//! - `health.rs`: what the last sweep saw ([`SweepRecord`]): zones servers lag on
//!   ([`LagRow`]), and secondaries in maintenance;
//! - `audit.rs`: the audit trail ([`AuditEntry`]) and the revision applied in full
//!   ([`AppliedRevision`]);
//! - `drift.rs`: zones the primary serves other than recorded ([`DriftRow`]) and the
//!   content pass's cursor ([`DriftCursor`]);
//! - `operations.rs`: staged operations and their steps ([`OperationRow`]);
//! - `serial_floor.rs`: the serials imported zones had ([`SerialFloor`]), which their
//!   first apply continues;
//! - [`lock`]: the apply lock ([`ApplyLock`]).

pub mod leader;
pub mod lock;

use sqlx::{AnyPool, Row};

mod audit;
mod connect;
mod drift;
mod fleet;
mod health;
mod location;
mod open;
mod operations;
mod serial_floor;
mod zones;

pub use audit::{AppliedRevision, AuditEntry};
pub use connect::{CONNECT_TIMEOUT, ConnectError};
pub use drift::{DriftCursor, DriftRow};
pub use fleet::{GroupRow, ServerRow};
pub use health::{LagRow, LastSweep, ServerCheck, SweepRecord};
pub use location::{Location, LocationError, STATE_DIR, create_state_dir, db_url};
pub use operations::{NewOperationRow, OperationRow, Operator, StepRow};
pub use serial_floor::SerialFloor;
pub use zones::{RecordedZone, ZoneIntent};

pub use leader::{DaemonRow, Leadership};
pub use lock::{ApplyLock, LockInfo, LockState, this_host};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Leadership could not be tried (the lock file of a SQLite store).
    #[error("cannot take part in leadership: {0}")]
    Leader(String),
    /// The store could not be reached or opened: why, naming it, and what to do.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Opening failed otherwise.
    #[error("cannot open the store {url}: {reason}")]
    Open {
        /// The URL, without password.
        url: String,
        /// Why (without password).
        reason: String,
    },
    /// The schema could not be brought up to date.
    #[error("cannot migrate the store: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The schema is older than this release and the store (or the role) refuses the
    /// change.
    #[error(
        "the store's schema is older than this zonekeeper (migration {first} and later are not applied), and {this} may not change it: run any zonekeeper command once with a role that owns the schema{owner}, then again with this one"
    )]
    Outdated {
        /// The first migration not applied.
        first: i64,
        /// Who may not: ``role `ci` `` or `this connection (the file is read-only)`.
        this: String,
        /// Who may, when known: `` (`zonekeeper`, the owner of its tables)``.
        owner: String,
    },
    /// A query failed.
    #[error("store query failed: {0}")]
    Query(#[source] sqlx::Error),
    /// The store refuses writes: a read-only file, file system, database or session.
    #[error("the store is read-only: {0}")]
    ReadOnly(#[source] sqlx::Error),
    /// The store's disk (or its quota) is full.
    #[error("the disk is full: {0}")]
    Full(#[source] sqlx::Error),
    /// Another apply holds the lock.
    #[error("another apply holds the lock: {holder}. {advice}")]
    Locked {
        /// Who holds it, with its lock id, host, PID and times (UTC).
        holder: String,
        /// What to do.
        advice: String,
    },
    /// A row the store holds is not as zonekeeper writes it.
    #[error("the store holds a row zonekeeper did not write: {0}")]
    Corrupt(String),
    /// `unlock` named a lock that is not the one recorded.
    #[error("there is no lock {wanted}: {current}")]
    NoSuchLock {
        /// The lock id asked for.
        wanted: String,
        /// What the lock is now.
        current: String,
    },
}

impl From<sqlx::Error> for StoreError {
    /// A read-only or full store says so: neither is "another apply is running".
    fn from(e: sqlx::Error) -> StoreError {
        match unwritable(&e) {
            Some(Unwritable::ReadOnly) => StoreError::ReadOnly(e),
            Some(Unwritable::Full) => StoreError::Full(e),
            None => StoreError::Query(e),
        }
    }
}

/// Why a store cannot take a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unwritable {
    ReadOnly,
    Full,
}

/// Recognises a read-only or full store: SQLite result codes `SQLITE_READONLY` (8) and
/// `SQLITE_FULL` (13), extended codes included; PostgreSQL SQLSTATEs 25006
/// (read_only_sql_transaction), 42501 (insufficient_privilege: a role that may only
/// read), 53100 (disk_full) and 53000 (insufficient_resources);
/// and the operating system's errors of the same meaning.
fn unwritable(e: &sqlx::Error) -> Option<Unwritable> {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code()?;
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                return match code.as_ref() {
                    // read_only_sql_transaction, insufficient_privilege
                    "25006" | "42501" => Some(Unwritable::ReadOnly),
                    "53100" | "53000" => Some(Unwritable::Full),
                    _ => None,
                };
            }
            match code.parse::<i64>().ok()? & 0xff {
                8 => Some(Unwritable::ReadOnly),
                13 => Some(Unwritable::Full),
                _ => None,
            }
        }
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ReadOnlyFilesystem => Some(Unwritable::ReadOnly),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                Some(Unwritable::Full)
            }
            _ => None,
        },
        _ => None,
    }
}

/// Which database the store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Every text column of every table, concatenated: lets tests prove what is not stored.
    pub async fn dump_text(&self) -> Result<String, StoreError> {
        let mut out = String::new();
        for (table, cols) in [
            ("applied_revision", "commit_id, author, summary"),
            ("zones", "name, grp, content_hash, content, commit_id"),
            ("groups", "name, catalog, secondaries, nameservers"),
            (
                "servers",
                "name, role, address, software, groups, COALESCE(last_state, ''), COALESCE(last_message, '')",
            ),
            ("audit", "commit_id, author, action, target, detail"),
            ("zone_serial_floor", "name, source"),
            (
                "primary_server",
                "name, address, rndc, rndc_conf, config_dir",
            ),
        ] {
            let q = format!("SELECT {cols} FROM {table}");
            for row in sqlx::query(sqlx::AssertSqlSafe(q))
                .fetch_all(&self.pool)
                .await?
            {
                for i in 0..row.len() {
                    out.push_str(&row.get::<String, _>(i));
                    out.push('\n');
                }
            }
        }
        Ok(out)
    }
}
