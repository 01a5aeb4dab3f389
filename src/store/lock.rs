//! The apply lock: only one apply (or saved plan) works on a store at a time.
//!
//! Each lock has a random **lock id**; its holder is that id, the host name and the
//! process id, all shown by `status` and named by `zonekeeper unlock LOCK-ID`. Nothing is
//! ever decided from a PID or a host name: under PID namespaces and on other hosts they
//! prove nothing.
//!
//! - **PostgreSQL**: the lock is a session-level advisory lock (`pg_try_advisory_lock`)
//!   held by one dedicated connection for the whole apply. PostgreSQL itself releases it
//!   when that session ends, so a crashed apply never leaves a lock behind. The row in
//!   `apply_lock` only says who holds it and in which session (backend PID); `unlock`
//!   ends that session, for a holder whose host vanished without closing its connection.
//! - **SQLite**: the row is a lease until `expires_at`, which a background task renews
//!   every [`RENEW_EVERY`] while the apply runs. An expired lease is taken over; a live
//!   one is not, unless the kernel proves its holder dead: the holder also keeps an
//!   exclusive `flock` on `<store file>.applylock`, which the kernel drops when the
//!   process dies (in any PID namespace). A live lease recorded by this host whose file
//!   lock nobody holds belongs to an apply that was killed, and is taken over at once; a
//!   lease of another host is only ever taken over once it has expired (its file lock may
//!   be invisible from here).
//!
//! When the holder loses its lock anyway (the lease was taken over after a stall, an
//! operator ran `unlock`, the PostgreSQL session dropped), [`ApplyLock::lost`] fires and
//! the caller stops the apply, as a `kill` would: every stage of an apply is safe to
//! repeat.

use std::time::Duration;

use sqlx::{Connection, Row};
use tokio::sync::{oneshot, watch};

use super::{Backend, Store, StoreError};

/// How often an advisory lock whose holder is not recorded (a session that is ending) is
/// tried again, 200 ms apart, before the apply is refused.
const ENDING_SESSION_TRIES: u32 = 10;

/// How long a SQLite lease lasts without renewal: a crashed apply's lock is taken over
/// at most this long after the crash. Long enough to survive several missed renewals
/// (a busy store waits up to 10 s per query).
pub const LEASE_SECS: i64 = 60;

/// How often the holder renews its SQLite lease (and checks its PostgreSQL session).
pub const RENEW_EVERY: Duration = Duration::from_secs(15);

/// The advisory lock key of zonekeeper's apply lock ("zkapply" in ASCII). Advisory locks
/// are per database: one store per database.
const ADVISORY_KEY: i64 = 0x7a6b_6170_706c_7900;

/// Who holds (or held) the lock, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockInfo {
    /// The lock's random id, for `zonekeeper unlock`.
    pub lock_id: String,
    /// The holder's host name.
    pub host: String,
    /// The holder's process id (on its host, in its PID namespace).
    pub pid: i64,
    /// When it was taken (Unix seconds).
    pub since: i64,
    /// SQLite: the end of the lease (Unix seconds).
    pub expires_at: Option<i64>,
    /// PostgreSQL: the backend PID of the session holding the advisory lock.
    pub session: Option<i64>,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "lock {} of host {} pid {}, since {}",
            self.lock_id,
            self.host,
            self.pid,
            utc(self.since)
        )?;
        if let Some(t) = self.expires_at {
            write!(f, ", lease until {}", utc(t))?;
        }
        if let Some(s) = self.session {
            write!(f, ", PostgreSQL session {s}")?;
        }
        Ok(())
    }
}

/// The lock as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockState {
    /// Nobody holds it.
    Free,
    /// It is held (a live lease, or an advisory lock whose session runs).
    Held(LockInfo),
    /// PostgreSQL: a session holds the advisory lock but no record names it yet.
    HeldUnrecorded {
        /// Its backend PID.
        session: i64,
    },
    /// A record whose lock is no longer in force (an expired lease, or a session that
    /// ended): the next apply takes it over.
    Stale(LockInfo),
}

/// A time for people: UTC, RFC 3339 (`2026-11-21T09:30:00Z`).
pub fn utc(t: i64) -> String {
    crate::model::text::utc(t)
}

/// The clock: the lease needs the real time at each renewal, not the command's start.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// This machine's host name.
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

/// A fresh lock id: 16 hex digits from the kernel's random source (or, failing that, a
/// hash of the time, host and PID, still unique enough to name one lock).
fn new_lock_id() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 8];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        use sha2::Digest;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let digest =
            sha2::Sha256::digest(format!("{nanos} {} {}", this_host(), std::process::id()));
        bytes.copy_from_slice(&digest[..8]);
    }
    crate::model::hex(&bytes)
}

fn info_of(row: &sqlx::any::AnyRow) -> LockInfo {
    LockInfo {
        lock_id: row.get(0),
        host: row.get(1),
        pid: row.get(2),
        since: row.get(3),
        expires_at: row.get(4),
        session: row.get(5),
    }
}

const SELECT_ROW: &str =
    "SELECT lock_id, host, pid, since, expires_at, session FROM apply_lock WHERE id = 1";

/// The apply lock, held. Release it with [`ApplyLock::release`]; dropped without release
/// (a panic), its SQLite lease runs out after [`LEASE_SECS`] and its PostgreSQL session
/// ends with the process.
#[derive(Debug)]
pub struct ApplyLock {
    info: LockInfo,
    taken_over: Option<LockInfo>,
    lost: watch::Receiver<Option<String>>,
    keeper: Keeper,
    /// SQLite: the kernel lock on `<store file>.applylock`, released when dropped.
    _flock: Option<std::fs::File>,
}

/// The kernel's word on a SQLite store's lock file.
enum Kernel {
    /// This process now holds it: no live apply of this kernel does.
    Held(std::fs::File),
    /// A live process holds it.
    Busy,
    /// No lock file here (in-memory store, a file system without locks): the lease alone
    /// decides.
    Unavailable,
}

/// Tries the exclusive `flock` on `<db_file>.applylock`.
fn kernel_lock(db_file: &str) -> Kernel {
    if db_file.is_empty() {
        return Kernel::Unavailable;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(format!("{db_file}.applylock"));
    let Ok(file) = file else {
        return Kernel::Unavailable;
    };
    match file.try_lock() {
        Ok(()) => Kernel::Held(file),
        Err(std::fs::TryLockError::WouldBlock) => Kernel::Busy,
        Err(std::fs::TryLockError::Error(_)) => Kernel::Unavailable,
    }
}

impl ApplyLock {
    /// Who holds it: this process.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// The stale lock this one replaced, if any (to tell the operator).
    pub fn taken_over(&self) -> Option<&LockInfo> {
        self.taken_over.as_ref()
    }

    /// Resolves when the lock is lost, with why; never while it holds.
    pub async fn lost(&self) -> String {
        let mut rx = self.lost.clone();
        loop {
            if let Some(why) = rx.borrow_and_update().clone() {
                return why;
            }
            if rx.changed().await.is_err() {
                // The keeper ended without a word: it was stopped, so the lock is released.
                return "the lock was released".into();
            }
        }
    }

    /// Releases the lock (stops the renewals, removes the record, ends the session).
    /// A failure to remove the record is logged: the lease runs out, the session ends.
    pub async fn release(mut self) {
        self.keeper.stop().await;
    }
}

/// The task that keeps a lock (renews a lease, holds a session) and its stop channel.
/// Dropped without [`Keeper::stop`] (a panic, a lock dropped unreleased), it is told to
/// stop all the same: a lease then runs out, a session is closed.
#[derive(Debug, Default)]
pub(super) struct Keeper {
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Keeper {
    /// Spawns `keep`, which ends when the receiver it is given fires.
    pub(super) fn spawn<F>(keep: impl FnOnce(oneshot::Receiver<()>) -> F) -> Keeper
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel();
        Keeper {
            stop: Some(stop),
            task: Some(tokio::spawn(keep(stopped))),
        }
    }

    /// Tells the task to stop and waits for it.
    pub(super) async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Keeper {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Store {
    /// Takes the apply lock, or says who holds it ([`StoreError::Locked`]). A SQLite lease
    /// that has expired is taken over; a live one never is.
    pub async fn lock(&self) -> Result<ApplyLock, StoreError> {
        self.lock_checking_every(RENEW_EVERY).await
    }

    /// [`Store::lock`], renewing (checking) every `every`.
    async fn lock_checking_every(&self, every: Duration) -> Result<ApplyLock, StoreError> {
        let info = LockInfo {
            lock_id: new_lock_id(),
            host: this_host(),
            pid: i64::from(std::process::id()),
            since: unix_now(),
            expires_at: None,
            session: None,
        };
        match self.backend {
            Backend::Sqlite => self.lease(info, every).await,
            Backend::Postgres => self.advisory(info, every).await,
        }
    }

    async fn lease(&self, mut info: LockInfo, every: Duration) -> Result<ApplyLock, StoreError> {
        let now = info.since;
        info.expires_at = Some(now + LEASE_SECS);
        let db_file: String =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_optional(&self.pool)
                .await?
                .unwrap_or_default();
        let before = sqlx::query(SELECT_ROW)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| info_of(&r));
        let flock = match kernel_lock(&db_file) {
            Kernel::Held(file) => Some(file),
            Kernel::Busy => return Err(locked(Backend::Sqlite, before.as_ref(), None)),
            Kernel::Unavailable => None,
        };
        // One statement: taken when free, expired, or left by a dead apply of this host.
        sqlx::query(
            "INSERT INTO apply_lock (id, lock_id, host, pid, since, expires_at, session) \
             VALUES (1, $1, $2, $3, $4, $5, NULL) ON CONFLICT (id) DO UPDATE SET \
             lock_id = excluded.lock_id, host = excluded.host, pid = excluded.pid, \
             since = excluded.since, expires_at = excluded.expires_at, session = NULL \
             WHERE apply_lock.expires_at IS NULL OR apply_lock.expires_at <= $6 \
             OR ($7 = 1 AND apply_lock.host = excluded.host)",
        )
        .bind(&info.lock_id)
        .bind(&info.host)
        .bind(info.pid)
        .bind(info.since)
        .bind(info.expires_at)
        .bind(now)
        .bind(i64::from(flock.is_some()))
        .execute(&self.pool)
        .await?;
        let now_row = sqlx::query(SELECT_ROW)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| info_of(&r));
        match now_row {
            Some(row) if row.lock_id == info.lock_id => {}
            Some(row) => return Err(locked(Backend::Sqlite, Some(&row), None)),
            None => return Err(locked(Backend::Sqlite, None, None)),
        }
        let taken_over = before.filter(|b| b.lock_id != info.lock_id);
        let (lost_tx, lost) = watch::channel(None);
        let (store, lock_id) = (self.clone(), info.lock_id.clone());
        let keeper =
            Keeper::spawn(move |stopped| renew_lease(store, lock_id, every, stopped, lost_tx));
        Ok(ApplyLock {
            info,
            taken_over,
            lost,
            keeper,
            _flock: flock,
        })
    }

    async fn advisory(&self, mut info: LockInfo, every: Duration) -> Result<ApplyLock, StoreError> {
        // A connection of its own, out of the pool: the lock lives as long as it does.
        let mut conn = self.pool.acquire().await?.detach();
        // A holder whose session is ending (a killed apply: PostgreSQL releases its lock a
        // moment after the socket closes) shows as no holder at all: try again briefly.
        for attempt in 1.. {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(ADVISORY_KEY)
                .fetch_one(&mut conn)
                .await?;
            if got {
                break;
            }
            let refusal = match self.lock_state().await? {
                LockState::Held(row) => locked(Backend::Postgres, Some(&row), None),
                LockState::HeldUnrecorded { session } => {
                    locked(Backend::Postgres, None, Some(session))
                }
                _ if attempt < ENDING_SESSION_TRIES => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                _ => locked(Backend::Postgres, None, None),
            };
            let _ = conn.close().await;
            return Err(refusal);
        }
        let recorded = async {
            let session: i64 = sqlx::query_scalar("SELECT CAST(pg_backend_pid() AS BIGINT)")
                .fetch_one(&mut conn)
                .await?;
            info.session = Some(session);
            let before = sqlx::query(SELECT_ROW)
                .fetch_optional(&mut conn)
                .await?
                .map(|r| info_of(&r));
            sqlx::query(
                "INSERT INTO apply_lock (id, lock_id, host, pid, since, expires_at, session) \
                 VALUES (1, $1, $2, $3, $4, NULL, $5) ON CONFLICT (id) DO UPDATE SET \
                 lock_id = excluded.lock_id, host = excluded.host, pid = excluded.pid, \
                 since = excluded.since, expires_at = NULL, session = excluded.session",
            )
            .bind(&info.lock_id)
            .bind(&info.host)
            .bind(info.pid)
            .bind(info.since)
            .bind(session)
            .execute(&mut conn)
            .await?;
            Ok::<_, sqlx::Error>(before)
        }
        .await;
        let before = match recorded {
            Ok(before) => before,
            Err(e) => {
                let _ = conn.close().await;
                return Err(e.into());
            }
        };
        let (lost_tx, lost) = watch::channel(None);
        let lock_id = info.lock_id.clone();
        let keeper =
            Keeper::spawn(move |stopped| hold_session(conn, lock_id, every, stopped, lost_tx));
        Ok(ApplyLock {
            info,
            taken_over: before,
            lost,
            keeper,
            _flock: None,
        })
    }

    /// The lock as it stands now.
    pub async fn lock_state(&self) -> Result<LockState, StoreError> {
        let row = sqlx::query(SELECT_ROW)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| info_of(&r));
        match self.backend {
            Backend::Sqlite => Ok(match row {
                None => LockState::Free,
                Some(r) if r.expires_at.is_some_and(|t| t > unix_now()) => LockState::Held(r),
                Some(r) => LockState::Stale(r),
            }),
            Backend::Postgres => {
                let session: Option<i64> = sqlx::query_scalar(
                    "SELECT CAST(pid AS BIGINT) FROM pg_locks WHERE locktype = 'advisory' AND granted \
                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                     AND ((CAST(classid AS BIGINT) << 32) | CAST(objid AS BIGINT)) = $1 AND objsubid = 1",
                )
                .bind(ADVISORY_KEY)
                .fetch_optional(&self.pool)
                .await?;
                Ok(match (session, row) {
                    (None, None) => LockState::Free,
                    (None, Some(r)) => LockState::Stale(r),
                    (Some(s), Some(r)) if r.session == Some(s) => LockState::Held(r),
                    (Some(s), _) => LockState::HeldUnrecorded { session: s },
                })
            }
        }
    }

    /// Removes lock `lock_id` for an operator who knows its holder is gone: a SQLite
    /// lease is deleted; on PostgreSQL the session holding it is ended (which releases
    /// the advisory lock; up to 10 s are given for it to exit) and its record removed. Refused unless `lock_id` is the lock
    /// recorded now. Returns what was removed and whether it was still in force.
    pub async fn break_lock(&self, lock_id: &str) -> Result<(LockInfo, bool), StoreError> {
        let state = self.lock_state().await?;
        let (info, in_force) = match state {
            LockState::Held(i) if i.lock_id == lock_id => (i, true),
            LockState::Stale(i) if i.lock_id == lock_id => (i, false),
            other => {
                return Err(StoreError::NoSuchLock {
                    wanted: lock_id.to_string(),
                    current: describe(&other),
                });
            }
        };
        if self.backend == Backend::Postgres
            && in_force
            && let Some(session) = info.session
        {
            sqlx::query("SELECT pg_terminate_backend(CAST($1 AS INTEGER), 10000)")
                .bind(session)
                .execute(&self.pool)
                .await?;
        }
        let gone = sqlx::query("DELETE FROM apply_lock WHERE id = 1 AND lock_id = $1")
            .bind(lock_id)
            .execute(&self.pool)
            .await?;
        if gone.rows_affected() == 0 {
            return Err(StoreError::NoSuchLock {
                wanted: lock_id.to_string(),
                current: describe(&self.lock_state().await?),
            });
        }
        Ok((info, in_force))
    }
}

/// Renews a SQLite lease until stopped; says when it was lost.
async fn renew_lease(
    store: Store,
    lock_id: String,
    every: Duration,
    mut stopped: oneshot::Receiver<()>,
    lost: watch::Sender<Option<String>>,
) {
    let mut last_renewed = unix_now();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = tokio::time::sleep(every) => {}
        }
        let now = unix_now();
        let renewed = sqlx::query(
            "UPDATE apply_lock SET expires_at = $1 WHERE id = 1 AND lock_id = $2 AND expires_at > $3",
        )
        .bind(now + LEASE_SECS)
        .bind(&lock_id)
        .bind(now)
        .execute(&store.pool)
        .await;
        match renewed {
            Ok(r) if r.rows_affected() == 1 => last_renewed = now,
            Ok(_) => {
                let _ = lost.send(Some(format!(
                    "lease {lock_id} is no longer this apply's (it expired and was taken over, or `zonekeeper unlock` removed it)"
                )));
                return;
            }
            Err(e) if now >= last_renewed + LEASE_SECS => {
                let _ = lost.send(Some(format!(
                    "lease {lock_id} could not be renewed before it expired: {}",
                    StoreError::from(e)
                )));
                return;
            }
            Err(e) => {
                tracing::warn!(error = %StoreError::from(e), "cannot renew the apply lock's lease; retrying")
            }
        }
    }
    if let Err(e) = sqlx::query("DELETE FROM apply_lock WHERE id = 1 AND lock_id = $1")
        .bind(&lock_id)
        .execute(&store.pool)
        .await
    {
        tracing::warn!(error = %StoreError::from(e), "cannot remove the apply lock's lease; it runs out by itself");
    }
}

/// Holds the PostgreSQL session of an advisory lock until stopped, checking it is alive;
/// says when it dropped.
async fn hold_session(
    mut conn: sqlx::AnyConnection,
    lock_id: String,
    every: Duration,
    mut stopped: oneshot::Receiver<()>,
    lost: watch::Sender<Option<String>>,
) {
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            _ = tokio::time::sleep(every) => {}
        }
        if let Err(e) = sqlx::query("SELECT 1").execute(&mut conn).await {
            let _ = lost.send(Some(format!(
                "the PostgreSQL session holding lock {lock_id} ended ({e}); an operator may have run `zonekeeper unlock`"
            )));
            return;
        }
    }
    // Record first, then the lock: a new holder's record is never removed.
    let _ = sqlx::query("DELETE FROM apply_lock WHERE id = 1 AND lock_id = $1")
        .bind(&lock_id)
        .execute(&mut conn)
        .await;
    let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(ADVISORY_KEY)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
}

mod words;
pub use words::describe;
use words::locked;

#[cfg(test)]
mod tests;
