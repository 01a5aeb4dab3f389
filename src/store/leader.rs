//! Leadership among daemons sharing a store: one `zonekeeper watch` leads (reconciles,
//! sweeps), the others stand by and take over when it is gone. No consensus of our own:
//!
//! - **PostgreSQL**: a session-level advisory lock, held by a connection of its own for as
//!   long as the daemon leads. PostgreSQL releases it when that session ends, so a leader
//!   killed with SIGKILL (its socket closed by the kernel) frees it at once; a standby
//!   trying every second takes over within seconds. The holder checks its session every
//!   [`CHECK_EVERY`]; when the session is gone it has lost leadership and says so.
//! - **SQLite** (one machine): an exclusive `flock` on `<store file>.leader`, which the
//!   kernel drops when the process dies.
//!
//! Leading is not applying: each reconcile pass still takes the apply lock
//! ([`super::lock`]), so an operator's `apply` between two passes is welcome.

use std::time::Duration;

use sqlx::Row;
use tokio::sync::{oneshot, watch};

use super::lock::Keeper;
use super::{Backend, Store, StoreError};

/// The advisory lock key of leadership ("zklead" in ASCII).
const LEADER_KEY: i64 = 0x7a6b_6c65_6164_0000;

/// How often a PostgreSQL leader checks that its session still holds the lock.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);

/// Leadership, held until dropped (or [`Leadership::release`]d).
#[derive(Debug)]
pub struct Leadership {
    lost: watch::Receiver<Option<String>>,
    keeper: Keeper,
    _flock: Option<std::fs::File>,
}

impl Leadership {
    /// Resolves when leadership is lost, with why; never while it holds.
    pub async fn lost(&self) -> String {
        let mut rx = self.lost.clone();
        loop {
            if let Some(why) = rx.borrow_and_update().clone() {
                return why;
            }
            if rx.changed().await.is_err() {
                // no keeper (SQLite): the kernel lock holds while the process lives
                std::future::pending::<()>().await;
            }
        }
    }

    /// Gives leadership up.
    pub async fn release(mut self) {
        self.keeper.stop().await;
    }
}

impl Store {
    /// Tries to lead: `Some` when this process leads now, `None` when another does.
    pub async fn try_lead(&self) -> Result<Option<Leadership>, StoreError> {
        match self.backend {
            Backend::Sqlite => {
                let path = self.leader_file().await?;
                let Some(path) = path else {
                    // an in-memory store: nobody else can share it
                    return Ok(Some(held(None, Keeper::default(), None)));
                };
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|e| StoreError::Leader(format!("cannot open {path}: {e}")))?;
                match file.try_lock() {
                    Ok(()) => Ok(Some(held(None, Keeper::default(), Some(file)))),
                    Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                    Err(std::fs::TryLockError::Error(e)) => {
                        Err(StoreError::Leader(format!("cannot lock {path}: {e}")))
                    }
                }
            }
            Backend::Postgres => {
                let mut conn = self.pool.acquire().await?.detach();
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(LEADER_KEY)
                    .fetch_one(&mut conn)
                    .await?;
                if !got {
                    use sqlx::Connection;
                    let _ = conn.close().await;
                    return Ok(None);
                }
                let (lost_tx, lost) = watch::channel(None);
                let keeper = Keeper::spawn(move |stopped| keep_session(conn, stopped, lost_tx));
                Ok(Some(held(Some(lost), keeper, None)))
            }
        }
    }

    /// Whether a daemon leads now (a `post-receive` hook then leaves the push to it).
    pub async fn led(&self) -> Result<bool, StoreError> {
        match self.backend {
            Backend::Sqlite => {
                let Some(path) = self.leader_file().await? else {
                    return Ok(false);
                };
                let Ok(file) = std::fs::OpenOptions::new().read(true).open(&path) else {
                    return Ok(false);
                };
                Ok(matches!(
                    file.try_lock_shared(),
                    Err(std::fs::TryLockError::WouldBlock)
                ))
            }
            Backend::Postgres => {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                     AND ((CAST(classid AS BIGINT) << 32) | CAST(objid AS BIGINT)) = $1 AND objsubid = 1",
                )
                .bind(LEADER_KEY)
                .fetch_one(&self.pool)
                .await?;
                Ok(n > 0)
            }
        }
    }

    /// `<store file>.leader`, or None for an in-memory SQLite store.
    async fn leader_file(&self) -> Result<Option<String>, StoreError> {
        let file: String =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or_default();
        Ok((!file.is_empty()).then(|| format!("{file}.leader")))
    }
}

/// What the leading daemon last said of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonRow {
    /// Its host.
    pub host: String,
    /// Its process id there.
    pub pid: i64,
    /// Since when it leads (Unix seconds).
    pub since: i64,
    /// When it was last awake.
    pub seen_at: i64,
    /// The tip of the tracked branch it last looked at.
    pub revision: String,
    /// When it wakes next at the latest.
    pub next_wake: i64,
    /// When it sweeps next.
    pub next_sweep: i64,
}

impl Store {
    /// Records what the leading daemon says of itself.
    pub async fn set_daemon(&self, d: &DaemonRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO daemon (id, host, pid, since, seen_at, revision, next_wake, next_sweep) \
             VALUES (1, $1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET host = excluded.host, \
             pid = excluded.pid, since = excluded.since, seen_at = excluded.seen_at, \
             revision = excluded.revision, next_wake = excluded.next_wake, next_sweep = excluded.next_sweep",
        )
        .bind(&d.host)
        .bind(d.pid)
        .bind(d.since)
        .bind(d.seen_at)
        .bind(&d.revision)
        .bind(d.next_wake)
        .bind(d.next_sweep)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What the last leading daemon said of itself, if one ever led.
    pub async fn daemon(&self) -> Result<Option<DaemonRow>, StoreError> {
        let row = sqlx::query(
            "SELECT host, pid, since, seen_at, revision, next_wake, next_sweep FROM daemon WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| DaemonRow {
            host: r.get(0),
            pid: r.get(1),
            since: r.get(2),
            seen_at: r.get(3),
            revision: r.get(4),
            next_wake: r.get(5),
            next_sweep: r.get(6),
        }))
    }
}

/// Leadership held, watched by `lost` (none: it cannot be lost while the process lives).
fn held(
    lost: Option<watch::Receiver<Option<String>>>,
    keeper: Keeper,
    flock: Option<std::fs::File>,
) -> Leadership {
    Leadership {
        lost: lost.unwrap_or_else(|| watch::channel(None).1),
        keeper,
        _flock: flock,
    }
}

/// Holds the leader's PostgreSQL session: checks it every [`CHECK_EVERY`], says when it is
/// gone, and unlocks and closes it when told to stop.
async fn keep_session(
    mut conn: sqlx::AnyConnection,
    mut stopped: oneshot::Receiver<()>,
    lost: watch::Sender<Option<String>>,
) {
    use sqlx::Connection;
    loop {
        tokio::select! {
            _ = &mut stopped => {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(LEADER_KEY).execute(&mut conn).await;
                let _ = conn.close().await;
                return;
            }
            () = tokio::time::sleep(CHECK_EVERY) => {
                if let Err(e) = sqlx::query("SELECT 1").execute(&mut conn).await {
                    let _ = lost.send(Some(format!("the PostgreSQL session that held leadership ended: {e}")));
                    return;
                }
            }
        }
    }
}
