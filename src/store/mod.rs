//! The recorded state: what zonekeeper applied, kept in SQLite (default, a file under
//! `state/`) or PostgreSQL (`--db postgres://…`), through one set of runtime queries.
//!
//! It holds the applied revision, each zone's group, serial and canonical content, the
//! groups and servers as applied with their last check, an audit entry per applied change,
//! and the lock that keeps two applies apart ([`lock`]). Secrets are never stored.

pub mod lock;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Row, SqlSafeStr};

use crate::model::config::PrimaryRef;

mod operations;
mod zones;

pub use operations::{NewOperationRow, OperationRow, Operator, StepRow};
pub use zones::ZoneIntent;

pub use lock::{ApplyLock, LockInfo, LockState, this_host};

/// The default store when neither `--db` nor `ZONEKEEPER_DB` says otherwise.
pub const DEFAULT_DB: &str = "state/zonekeeper.sqlite";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Connecting failed.
    #[error("cannot open the store {url}: {source}")]
    Open {
        /// The URL, without password.
        url: String,
        /// Why.
        #[source]
        source: sqlx::Error,
    },
    /// The schema could not be brought up to date.
    #[error("cannot migrate the store: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
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
/// (read_only_sql_transaction), 53100 (disk_full) and 53000 (insufficient_resources);
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
                    "25006" => Some(Unwritable::ReadOnly),
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

/// The last revision applied in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRevision {
    /// Commit id.
    pub commit_id: String,
    /// Its author.
    pub author: String,
    /// Its first line.
    pub summary: String,
    /// When it was applied (Unix seconds).
    pub applied_at: i64,
}

/// A zone as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedZone {
    /// Zone name, lower case with the trailing dot.
    pub name: String,
    /// Its group.
    pub group: String,
    /// The serial the primary serves.
    pub serial: u32,
    /// Hash of the content without serial.
    pub content_hash: String,
    /// Canonical content, SOA first (empty in index listings).
    pub content: String,
    /// Whether every server of its group was seen serving `serial`.
    pub verified: bool,
    /// The commit it was applied from.
    pub commit_id: String,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When (Unix seconds).
    pub at: i64,
    /// Commit id.
    pub commit_id: String,
    /// Commit author.
    pub author: String,
    /// `create`, `update`, `delete`, `catalog-add`, `catalog-remove`, `config`…
    pub action: String,
    /// The zone or server it concerns.
    pub target: String,
    /// What changed.
    pub detail: String,
}

/// A server as recorded, with its last check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRow {
    /// Name.
    pub name: String,
    /// primary or secondary.
    pub role: String,
    /// Address(es) and port.
    pub address: String,
    /// bind or knot.
    pub software: String,
    /// Groups it belongs to.
    pub groups: String,
    /// Last check (Unix seconds).
    pub last_check_at: Option<i64>,
    /// OK, RETRY or BROKEN.
    pub last_state: Option<String>,
    /// What the last check said.
    pub last_message: Option<String>,
}

/// A group as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    /// Name.
    pub name: String,
    /// Catalog zone.
    pub catalog: String,
    /// Member secondaries.
    pub secondaries: Vec<String>,
    /// Apex NS names.
    pub nameservers: Vec<String>,
}

impl RecordedZone {
    /// How a desired zone is recorded once the primary serves it at `serial`.
    pub fn of(zone: &crate::model::Zone, serial: u32, commit_id: &str) -> RecordedZone {
        RecordedZone {
            name: crate::model::ascii(&zone.name),
            group: zone.group.clone(),
            serial,
            content_hash: zone.content_hash(),
            content: zone.canonical_text(serial),
            verified: false,
            commit_id: commit_id.to_string(),
        }
    }
}

impl GroupRow {
    /// How a desired group is recorded.
    pub fn of(g: &crate::model::Group) -> GroupRow {
        GroupRow {
            name: g.name.clone(),
            catalog: crate::model::ascii(&g.catalog),
            secondaries: g.secondaries.clone(),
            nameservers: g.nameservers.iter().map(|n| n.to_string()).collect(),
        }
    }
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Turns `--db` into a URL: a bare path is an SQLite file.
pub fn db_url(db: Option<&str>) -> String {
    let db = db.unwrap_or(DEFAULT_DB);
    if db.starts_with("postgres://") || db.starts_with("postgresql://") || db.starts_with("sqlite:")
    {
        db.to_string()
    } else {
        format!("sqlite://{db}?mode=rwc")
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The migrations of `backend`: (number, name, SQL). Numbers are the files' own, so a
/// number taken by another change stays free until its file arrives.
fn migrations(backend: Backend) -> Vec<(i64, &'static str, &'static str)> {
    match backend {
        Backend::Sqlite => vec![
            (
                1,
                "init",
                include_str!("../../migrations/sqlite/0001_init.sql"),
            ),
            (
                2,
                "operations",
                include_str!("../../migrations/sqlite/0002_operations.sql"),
            ),
            (
                3,
                "primary",
                include_str!("../../migrations/sqlite/0003_primary.sql"),
            ),
            (
                4,
                "zone_intents",
                include_str!("../../migrations/sqlite/0004_zone_intents.sql"),
            ),
            (
                5,
                "operations timing",
                include_str!("../../migrations/sqlite/0005_operations_timing.sql"),
            ),
            (
                6,
                "lock",
                include_str!("../../migrations/sqlite/0006_lock.sql"),
            ),
        ],
        Backend::Postgres => vec![
            (
                1,
                "init",
                include_str!("../../migrations/postgres/0001_init.sql"),
            ),
            (
                2,
                "operations",
                include_str!("../../migrations/postgres/0002_operations.sql"),
            ),
            (
                3,
                "primary",
                include_str!("../../migrations/postgres/0003_primary.sql"),
            ),
            (
                4,
                "zone_intents",
                include_str!("../../migrations/postgres/0004_zone_intents.sql"),
            ),
            (
                5,
                "operations timing",
                include_str!("../../migrations/postgres/0005_operations_timing.sql"),
            ),
            (
                6,
                "lock",
                include_str!("../../migrations/postgres/0006_lock.sql"),
            ),
        ],
    }
}

fn migrator(backend: Backend) -> Migrator {
    Migrator::with_migrations(
        migrations(backend)
            .into_iter()
            .map(|(number, name, sql)| {
                Migration::new(
                    number,
                    name.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl Store {
    /// Opens (and creates or migrates) the store at `url`.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        if backend == Backend::Sqlite
            && let Some(path) = url
                .strip_prefix("sqlite://")
                .map(|p| p.split('?').next().unwrap_or(p))
            && let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
        {
            let _ = std::fs::create_dir_all(dir);
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 1 } else { 4 })
            .connect(url)
            .await
            .map_err(|source| StoreError::Open {
                url: redact(url),
                source,
            })?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA busy_timeout = 10000")
                .execute(&pool)
                .await?;
        }
        migrator(backend).run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e)
            | sqlx::migrate::MigrateError::ExecuteMigration(e, _)
                if unwritable(&e).is_some() =>
            {
                StoreError::from(e)
            }
            other => StoreError::Migrate(other),
        })?;
        Ok(Store { pool, backend })
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The last revision applied in full.
    pub async fn applied_revision(&self) -> Result<Option<AppliedRevision>, StoreError> {
        let row = sqlx::query(
            "SELECT commit_id, author, summary, applied_at FROM applied_revision WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| AppliedRevision {
            commit_id: r.get(0),
            author: r.get(1),
            summary: r.get(2),
            applied_at: r.get(3),
        }))
    }

    /// [`Store::zone_index`] by zone name.
    pub async fn zone_map(
        &self,
    ) -> Result<std::collections::BTreeMap<String, RecordedZone>, StoreError> {
        Ok(self
            .zone_index()
            .await?
            .into_iter()
            .map(|z| (z.name.clone(), z))
            .collect())
    }

    /// Every recorded zone without its content (cheap, for diffs by hash).
    pub async fn zone_index(&self) -> Result<Vec<RecordedZone>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, grp, serial, content_hash, verified, commit_id FROM zones ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| RecordedZone {
                name: r.get(0),
                group: r.get(1),
                serial: r.get::<i64, _>(2) as u32,
                content_hash: r.get(3),
                content: String::new(),
                verified: r.get::<i64, _>(4) != 0,
                commit_id: r.get(5),
            })
            .collect())
    }

    /// One recorded zone with its content.
    pub async fn zone(&self, name: &str) -> Result<Option<RecordedZone>, StoreError> {
        let row = sqlx::query("SELECT name, grp, serial, content_hash, verified, commit_id, content FROM zones WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| RecordedZone {
            name: r.get(0),
            group: r.get(1),
            serial: r.get::<i64, _>(2) as u32,
            content_hash: r.get(3),
            verified: r.get::<i64, _>(4) != 0,
            commit_id: r.get(5),
            content: r.get(6),
        }))
    }

    /// Records zones as applied (created or updated), each with its audit entry, in one
    /// transaction.
    pub async fn record_zones(
        &self,
        zones: &[(RecordedZone, AuditEntry)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (z, audit) in zones {
            sqlx::query(
                "INSERT INTO zones (name, grp, serial, content_hash, content, verified, commit_id, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (name) DO UPDATE SET grp = excluded.grp, serial = excluded.serial, \
                 content_hash = excluded.content_hash, content = excluded.content, verified = excluded.verified, \
                 commit_id = excluded.commit_id, updated_at = excluded.updated_at",
            )
            .bind(&z.name)
            .bind(&z.group)
            .bind(i64::from(z.serial))
            .bind(&z.content_hash)
            .bind(&z.content)
            .bind(i64::from(z.verified))
            .bind(&z.commit_id)
            .bind(audit.at)
            .execute(&mut *tx)
            .await?;
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks zones as verified (or not).
    pub async fn set_verified(&self, names: &[String], verified: bool) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for n in names {
            sqlx::query("UPDATE zones SET verified = $1 WHERE name = $2")
                .bind(i64::from(verified))
                .bind(n)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets deleted zones, each with its audit entry.
    pub async fn delete_zones(&self, zones: &[(String, AuditEntry)]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (name, audit) in zones {
            sqlx::query("DELETE FROM zones WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            insert_audit(&mut tx, audit).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Adds audit entries on their own.
    pub async fn audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for e in entries {
            insert_audit(&mut tx, e).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest audit entries, newest first.
    pub async fn audit_tail(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query("SELECT at, commit_id, author, action, target, detail FROM audit ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                at: r.get(0),
                commit_id: r.get(1),
                author: r.get(2),
                action: r.get(3),
                target: r.get(4),
                detail: r.get(5),
            })
            .collect())
    }

    /// Records a revision as applied in full, with the groups and servers it describes.
    pub async fn set_applied(
        &self,
        rev: &AppliedRevision,
        groups: &[GroupRow],
        servers: &[ServerRow],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO applied_revision (id, commit_id, author, summary, applied_at) VALUES (1, $1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET commit_id = excluded.commit_id, author = excluded.author, \
             summary = excluded.summary, applied_at = excluded.applied_at",
        )
        .bind(&rev.commit_id)
        .bind(&rev.author)
        .bind(&rev.summary)
        .bind(rev.applied_at)
        .execute(&mut *tx)
        .await?;
        replace_groups(&mut tx, groups).await?;
        let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
        let existing = sqlx::query("SELECT name FROM servers")
            .fetch_all(&mut *tx)
            .await?;
        for row in existing {
            let name: String = row.get(0);
            if !names.contains(&name.as_str()) {
                sqlx::query("DELETE FROM servers WHERE name = $1")
                    .bind(&name)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        for s in servers {
            sqlx::query(
                "INSERT INTO servers (name, role, address, software, groups) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (name) DO UPDATE SET role = excluded.role, address = excluded.address, \
                 software = excluded.software, groups = excluded.groups",
            )
            .bind(&s.name)
            .bind(&s.role)
            .bind(&s.address)
            .bind(&s.software)
            .bind(&s.groups)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The primary changes were last sent to, if any.
    pub async fn primary(&self) -> Result<Option<PrimaryRef>, StoreError> {
        let row = sqlx::query(
            "SELECT name, address, rndc, rndc_conf, config_dir FROM primary_server WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|r| {
            Some(PrimaryRef {
                name: r.get(0),
                addr: r.get::<String, _>(1).parse().ok()?,
                rndc: r.get::<String, _>(2).into(),
                rndc_conf: r.get::<String, _>(3).into(),
                config_dir: r.get::<String, _>(4).into(),
            })
        }))
    }

    /// Records the primary changes go to.
    pub async fn set_primary(&self, p: &PrimaryRef, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO primary_server (id, name, address, rndc, rndc_conf, config_dir, updated_at) \
             VALUES (1, $1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
             address = excluded.address, rndc = excluded.rndc, rndc_conf = excluded.rndc_conf, \
             config_dir = excluded.config_dir, updated_at = excluded.updated_at",
        )
        .bind(&p.name)
        .bind(p.addr.to_string())
        .bind(p.rndc.display().to_string())
        .bind(p.rndc_conf.display().to_string())
        .bind(p.config_dir.display().to_string())
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The groups as applied.
    pub async fn groups(&self) -> Result<Vec<GroupRow>, StoreError> {
        let rows =
            sqlx::query("SELECT name, catalog, secondaries, nameservers FROM groups ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        let split = |s: String| s.split_whitespace().map(str::to_string).collect();
        Ok(rows
            .into_iter()
            .map(|r| GroupRow {
                name: r.get(0),
                catalog: r.get(1),
                secondaries: split(r.get(2)),
                nameservers: split(r.get(3)),
            })
            .collect())
    }

    /// The servers as applied, with their last check.
    pub async fn servers(&self) -> Result<Vec<ServerRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, role, address, software, groups, last_check_at, last_state, last_message FROM servers ORDER BY role, name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ServerRow {
                name: r.get(0),
                role: r.get(1),
                address: r.get(2),
                software: r.get(3),
                groups: r.get(4),
                last_check_at: r.get(5),
                last_state: r.get(6),
                last_message: r.get(7),
            })
            .collect())
    }

    /// Records the result of checking a server (creating its row if needed).
    pub async fn set_server_health(&self, server: &ServerRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO servers (name, role, address, software, groups, last_check_at, last_state, last_message) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO UPDATE SET \
             last_check_at = excluded.last_check_at, last_state = excluded.last_state, last_message = excluded.last_message",
        )
        .bind(&server.name)
        .bind(&server.role)
        .bind(&server.address)
        .bind(&server.software)
        .bind(&server.groups)
        .bind(server.last_check_at)
        .bind(&server.last_state)
        .bind(&server.last_message)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the groups as they now are (an operation took over their change).
    pub async fn set_groups(&self, groups: &[GroupRow]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        replace_groups(&mut tx, groups).await?;
        tx.commit().await?;
        Ok(())
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

async fn replace_groups(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    groups: &[GroupRow],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM groups").execute(&mut **tx).await?;
    for g in groups {
        sqlx::query(
            "INSERT INTO groups (name, catalog, secondaries, nameservers) VALUES ($1, $2, $3, $4)",
        )
        .bind(&g.name)
        .bind(&g.catalog)
        .bind(g.secondaries.join(" "))
        .bind(g.nameservers.join(" "))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn insert_audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    e: &AuditEntry,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO audit (at, commit_id, author, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(e.at)
        .bind(&e.commit_id)
        .bind(&e.author)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(db_url(None), "sqlite://state/zonekeeper.sqlite?mode=rwc");
        assert_eq!(db_url(Some("/tmp/x.db")), "sqlite:///tmp/x.db?mode=rwc");
        assert_eq!(db_url(Some("postgres://u@h/db")), "postgres://u@h/db");
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    }

    #[tokio::test]
    async fn sqlite_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let url = db_url(Some(dir.path().join("s.db").to_str().unwrap()));
        let store = Store::open(&url).await.unwrap();
        assert!(store.applied_revision().await.unwrap().is_none());
        let z = RecordedZone {
            name: "example.com.".into(),
            group: "default".into(),
            serial: 2026112100,
            content_hash: "h".into(),
            content: "example.com. 3600 IN SOA …".into(),
            verified: false,
            commit_id: "c1".into(),
        };
        let audit = AuditEntry {
            at: 1,
            commit_id: "c1".into(),
            author: "a".into(),
            action: "create".into(),
            target: "example.com.".into(),
            detail: "".into(),
        };
        store
            .record_zones(&[(z.clone(), audit.clone())])
            .await
            .unwrap();
        assert_eq!(store.zone("example.com.").await.unwrap().unwrap(), z);
        assert_eq!(store.zone_index().await.unwrap()[0].serial, 2026112100);
        store
            .delete_zones(&[("example.com.".into(), audit)])
            .await
            .unwrap();
        assert!(store.zone("example.com.").await.unwrap().is_none());
        assert_eq!(store.audit_tail(10).await.unwrap().len(), 2);
    }
}
